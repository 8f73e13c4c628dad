"""Property: for random small specs, every analytic figure equals torch's and fvcore's.

Specs mix conv, dwconv, pwconv, dsconv, inverted residuals with and without SE, residual
blocks, shuffle units, BN, activations, pools, identity, flatten, linear and dropout, the
leaves of the open format (transposed convs, upsampling, group/layer/instance norms, layer
scale, mean, SE, a linear per position, a channel shuffle, a channel slice, zero padding,
TF SAME padding, PReLU and the other new activations),
and the graph: merges (add, concat, mul) of the previous layer with an earlier one or the input
(``from:``), an interpolate of the previous layer to an earlier one's size, parallel branches,
channel splits and residual containers (gates included), some of them inside ``sequential``
groups or user-defined blocks (``${k // 2}`` arguments), at random channels, strides, kernels,
paddings, dilations, groups, resolutions, batches and bias. Each spec is built layer by layer:
a drawn layer the analysis rejects (kernel larger than the input, say) is dropped, so every
example is a valid network. For each, ``verify`` must find fvcore's ``by_module()`` = the
fvcore convention per node, params and output shapes = torch, and FlopCounterMode = 2 × paper
MACs.
"""

from __future__ import annotations

import itertools
from typing import Any

from helpers import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from convcost.cost.ops import ACTIVATIONS
from convcost.errors import ConvcostError
from convcost.net.analysis import Analysis, analyze
from convcost.runtime.verify import verify
from convcost.spec.loader import parse_spec

acts = st.sampled_from(ACTIVATIONS)
kernels = st.one_of(st.sampled_from([1, 2, 3, 5]), st.lists(st.sampled_from([1, 2, 3]), min_size=2,
                                                               max_size=2))
strides = st.sampled_from([1, 1, 2])
paddings = st.one_of(st.sampled_from(["auto", "same", "tf_same"]), st.integers(0, 2))
channels = st.integers(1, 32)


def _divisor(draw: st.DrawFn, *counts: int) -> int:
    """A group count dividing every one of ``counts``."""
    common = [g for g in range(1, min(counts) + 1) if all(c % g == 0 for c in counts)]
    return draw(st.sampled_from(common))


def _conv_fields(draw: st.DrawFn) -> dict[str, Any]:
    stride = draw(strides)
    padding = draw(paddings)
    return {"kernel_size": draw(kernels), "stride": 1 if padding == "same" else stride,
            "padding": padding, "dilation": draw(st.sampled_from([1, 1, 2])),
            "bias": draw(st.booleans()), "bn": draw(st.booleans()),
            "act": draw(st.one_of(st.none(), acts))}


def _se(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    return {"reduction": draw(st.sampled_from([2, 4])), "divisor": draw(st.sampled_from([None, 8])),
            "base": draw(st.sampled_from(["expanded", "input"])), "act": draw(acts),
            "gate": draw(st.sampled_from(["hardsigmoid", "sigmoid"]))}


def _spatial_layer(draw: st.DrawFn, c: int) -> dict[str, Any]:
    """A layer on an [N, C, H, W] input with ``c`` channels."""
    kind = draw(st.sampled_from(["conv", "dwconv", "pwconv", "dsconv", "inverted_residual",
                                 "basic_block", "shuffle_unit", "bn", "act", "pool", "graph",
                                 "identity"]))
    if kind == "graph":
        return _graph_leaf(draw, c)
    if kind == "conv":
        out = draw(channels)
        return {"kind": kind, "out_channels": out, "groups": _divisor(draw, c, out),
                **_conv_fields(draw)}
    if kind == "dwconv":
        return {"kind": kind, "multiplier": draw(st.integers(1, 2)), **_conv_fields(draw)}
    if kind == "pwconv":
        out = draw(channels)
        fields = _conv_fields(draw)
        return {"kind": kind, "out_channels": out, "groups": _divisor(draw, c, out),
                **{k: fields[k] for k in ("bias", "bn", "act")}}
    if kind == "dsconv":
        return {"kind": kind, "out_channels": draw(channels), "kernel_size": draw(kernels),
                "stride": draw(strides), "act": draw(acts), "bias": draw(st.booleans())}
    if kind == "inverted_residual":
        width = (st.fixed_dictionaries({"expand_ratio": st.sampled_from([1, 2, 3])})
                 | st.fixed_dictionaries({"expanded_channels": channels}))
        return {"kind": kind, "out_channels": draw(st.sampled_from([c, draw(channels)])),
                **draw(width), "kernel_size": draw(st.sampled_from([3, 5])),
                "stride": draw(strides), "act": draw(acts), "se": _se(draw),
                "residual": draw(st.sampled_from(["auto", "never"]))}
    if kind == "basic_block":
        return {"kind": kind, "out_channels": draw(channels), "stride": draw(strides)}
    if kind == "shuffle_unit":
        stride = draw(strides)
        out = c if stride == 1 else 2 * draw(st.integers(1, 16))
        return {"kind": kind, "out_channels": out, "stride": stride}
    if kind == "bn":
        return {"kind": kind, "affine": draw(st.booleans())}
    if kind == "act":
        return _act(draw)
    if kind == "identity":
        return {"kind": kind}
    return _pool(draw)


def _act(draw: st.DrawFn) -> dict[str, Any]:
    fn = draw(acts)
    if fn == "relu":  # nn.ReLU or F.relu in forward
        return {"kind": "act", "fn": fn, "functional": draw(st.booleans())}
    return {"kind": "act", "fn": fn, **({"per_channel": draw(st.booleans())} if fn == "prelu" else {})}


def _graph_leaf(draw: st.DrawFn, c: int) -> dict[str, Any]:
    """A leaf kind of the open format on an [N, C, H, W] input with ``c`` channels."""
    kind = draw(st.sampled_from(["conv_transpose", "upsample", "groupnorm", "layernorm",
                                 "instancenorm", "layer_scale", "mean", "se", "linear",
                                 "shuffle", "slice", "pad"]))
    if kind == "conv_transpose":
        out, stride = draw(channels), draw(st.integers(1, 3))
        return {"kind": kind, "out_channels": out, "groups": _divisor(draw, c, out),
                "kernel_size": draw(kernels), "stride": stride, "padding": draw(st.integers(0, 1)),
                "output_padding": draw(st.integers(0, stride - 1)),
                "dilation": draw(st.sampled_from([1, 1, 2])), "bias": draw(st.booleans())}
    if kind == "upsample":
        by = draw(st.one_of(st.fixed_dictionaries({"scale": st.sampled_from([2, 1.5, 3, 0.5])}),
                            st.fixed_dictionaries({"size": st.integers(1, 9)})))
        mode = draw(st.sampled_from(["nearest", "bilinear"]))
        corners = draw(st.booleans()) if mode == "bilinear" else False
        return {"kind": kind, "mode": mode, "align_corners": corners, **by}
    if kind == "groupnorm":
        return {"kind": kind, "groups": _divisor(draw, c), "affine": draw(st.booleans())}
    if kind in ("layernorm", "instancenorm"):
        return {"kind": kind, "affine": draw(st.booleans())}
    if kind == "mean":
        return {"kind": kind, "keepdim": draw(st.booleans())}
    if kind == "linear":  # per position, over the channels (ConvNeXt)
        return {"kind": kind, "out_features": draw(channels), "per_position": True,
                "bias": draw(st.booleans())}
    if kind == "shuffle":  # view/transpose/view over groups dividing the channels
        return {"kind": kind, "groups": _divisor(draw, c)}
    if kind == "pad":  # zeros: left, right, top, bottom
        return {"kind": kind, "pad": draw(st.lists(st.integers(0, 2), min_size=4, max_size=4))}
    if kind == "slice":  # x[:, start:end], end omitted: to the last channel
        start = draw(st.integers(0, c - 1))
        end = draw(st.one_of(st.none(), st.integers(start + 1, c)))
        return {"kind": kind, "start": start, **({} if end is None else {"end": end})}
    if kind == "se":
        return {"kind": kind, "squeeze_channels": draw(st.one_of(st.none(), channels)),
                "act": draw(acts), "gate": draw(st.sampled_from(["hardsigmoid", "sigmoid"]))}
    return {"kind": kind}


def _pool(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(["avg", "max"]))
    form = draw(st.sampled_from(["window", "global", "adaptive"]))
    if form == "global":
        return {"kind": "pool", "op": op, "global": True}
    if form == "adaptive":
        return {"kind": "pool", "op": op, "output_size": draw(st.integers(1, 3))}
    kernel = draw(st.integers(1, 3))
    return {"kind": "pool", "op": op, "kernel_size": kernel,
            "stride": draw(st.one_of(st.none(), st.integers(1, 2))),
            "padding": draw(st.integers(0, kernel // 2)), "ceil_mode": draw(st.booleans()),
            "functional": draw(st.booleans())}


def _flat_layer(draw: st.DrawFn) -> dict[str, Any]:
    """A layer on a flat [N, F] input."""
    kind = draw(st.sampled_from(["linear", "linear", "bn", "act", "dropout"]))
    if kind == "linear":
        return {"kind": kind, "out_features": draw(channels), "bias": draw(st.booleans())}
    if kind == "bn":
        return {"kind": kind, "affine": draw(st.booleans())}
    if kind == "act":
        return _act(draw)
    return {"kind": kind, "p": 0.5}


def _grouped(draw: st.DrawFn, spec: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """``layer`` as it is, in a ``sequential``, or as the use of a new block whose integer values
    are arguments (passed doubled, halved back by ``${k // 2}``)."""
    form = draw(st.sampled_from(["plain", "plain", "sequential", "block"]))
    if form == "sequential":
        return {"kind": "sequential", "layers": [layer], "repeat": draw(st.integers(1, 2))}
    if form == "plain":
        return layer
    blocks = spec.setdefault("blocks", {})
    args = {k: v for k, v in layer.items() if type(v) is int}
    body = {k: f"${{{k} // 2}}" if k in args else v for k, v in layer.items()}
    blocks[f"b{len(blocks)}"] = {"args": list(args), "layers": [body]}
    return {"kind": f"b{len(blocks) - 1}", **{k: 2 * v for k, v in args.items()}}


MERGES = st.sampled_from(["concat", "add", "mul"])


def _gate(draw: st.DrawFn, c: int) -> dict[str, Any]:
    """A squeeze-excitation body: global pool, a 1×1 conv back to ``c`` channels, a gate."""
    return {"kind": "sequential", "layers": [
        {"kind": "pool", "op": "avg", "global": True},
        {"kind": "conv", "out_channels": c, "kernel_size": 1, "bias": True,
         "act": draw(st.sampled_from(["sigmoid", "hardsigmoid"]))}]}


def _partition(draw: st.DrawFn, c: int, parts: int) -> list[int] | None:
    """``parts`` positive sizes summing to ``c``, or None (equal chunks)."""
    if c < parts or draw(st.booleans()):
        return None
    cuts = sorted(draw(st.lists(st.integers(1, c - 1), min_size=parts - 1, max_size=parts - 1,
                                unique=True))) if c > parts else list(range(1, parts))
    edges = [0, *cuts, c]
    return [b - a for a, b in itertools.pairwise(edges)]


def _branch(draw: st.DrawFn, c: int, out: int) -> dict[str, Any]:
    """A layer on ``c`` channels that keeps H×W and gives ``out`` channels (a branch)."""
    kinds = ["conv", "pwconv"] + (["dwconv", "bn", "act", "identity"] if out == c else [])
    kind = draw(st.sampled_from(kinds))
    if kind in ("conv", "pwconv"):
        fields = _conv_fields(draw)
        layer = {"kind": kind, "out_channels": out, "groups": _divisor(draw, c, out),
                 **{k: fields[k] for k in ("bias", "bn", "act")}}
        return {**layer, "kernel_size": draw(st.sampled_from([1, 3, 5]))} if kind == "conv" else layer
    if kind == "dwconv":
        return {"kind": kind, "kernel_size": draw(st.sampled_from([3, 5])),
                "act": draw(st.one_of(st.none(), acts))}
    if kind == "bn":
        return {"kind": kind, "affine": draw(st.booleans())}
    return {"kind": "act", "fn": draw(acts)} if kind == "act" else {"kind": kind}


def _graph_layer(draw: st.DrawFn, c: int, count: int) -> dict[str, Any]:
    """A merge of the previous layer with an earlier one (``from:``), or a container."""
    form = draw(st.sampled_from(["merge", "parallel", "split", "residual", "interpolate"]))
    merge = draw(MERGES)
    previous = f"layers.{count - 1}" if count else "input"
    other = draw(st.sampled_from(["input", *(f"layers.{i}" for i in range(count))]))
    if form == "merge":
        return {"kind": merge, "from": [previous, other]}
    if form == "interpolate":  # to the size of an earlier map (a flat one is refused, dropped)
        mode = draw(st.sampled_from(["nearest", "bilinear"]))
        corners = draw(st.booleans()) if mode == "bilinear" else False
        return {"kind": "interpolate", "mode": mode, "align_corners": corners,
                "from": [previous, other]}
    count_branches = 2 if merge == "mul" else draw(st.integers(2, 3))
    if form == "parallel":
        outs = [c if merge != "concat" else draw(channels) for _ in range(count_branches)]
        return {"kind": "parallel", "merge": merge,
                "branches": [_branch(draw, c, out) for out in outs]}
    if form == "split":
        sizes = _partition(draw, c, count_branches)
        if sizes is None and c % count_branches and c > count_branches:
            sizes = [1] * (count_branches - 1) + [c - count_branches + 1]
        chunks = sizes or [max(1, c // count_branches)] * count_branches
        out = draw(channels)
        return {"kind": "split", "merge": merge, **({"sizes": sizes} if sizes else {}),
                "branches": [_branch(draw, size, size if merge == "concat" else out)
                             for size in chunks]}
    body = _gate(draw, c) if merge == "mul" else _spatial_layer(draw, c)
    shortcut = draw(st.one_of(st.none(), st.just([{"kind": "pwconv", "out_channels": c}])))
    return {"kind": "residual", "merge": merge, "layers": [body],
            **({"shortcut": shortcut} if shortcut else {})}


def _analyse(spec: dict[str, Any]) -> Analysis | None:
    try:
        return analyze(parse_spec(spec))
    except ConvcostError:
        return None


@st.composite
def small_specs(draw: st.DrawFn) -> Analysis:
    size = st.integers(4, 32)
    spec: dict[str, Any] = {
        "name": "random",
        "input": {"channels": draw(st.integers(1, 8)), "height": draw(size), "width": draw(size),
                  "batch": draw(st.integers(1, 2))},
        "layers": [],
    }
    analysis: Analysis | None = None
    flat = False
    for _ in range(draw(st.integers(1, 6))):
        shape = analysis.root.output_shape if analysis else (1, spec["input"]["channels"])
        if not flat and draw(st.integers(0, 5)) == 0:
            layer: dict[str, Any] = {"kind": "flatten"}
        elif not flat and draw(st.integers(0, 2)) == 0:
            layer = _graph_layer(draw, shape[1], len(spec["layers"]))
        else:
            layer = _flat_layer(draw) if flat else _spatial_layer(draw, shape[1])
            layer = _grouped(draw, spec, layer)
        tried = _analyse({**spec, "layers": [*spec["layers"], layer]})
        if tried is not None:  # else: the drawn layer does not fit its input; leave it out
            spec["layers"].append(layer)
            analysis, flat = tried, len(tried.root.output_shape) == 2  # flatten, mean
    if analysis is None:
        spec["layers"] = [{"kind": "conv", "out_channels": draw(channels), "kernel_size": 1}]
        analysis = _analyse(spec)
    assert analysis is not None
    return analysis


@settings(max_examples=examples(200), deadline=None)
@given(small_specs())
def test_random_specs_agree_with_torch_and_fvcore(analysis: Analysis) -> None:
    result = verify(analysis)
    assert result.mismatches() == []
    assert result.torch_params == analysis.totals.params
    assert result.counter_flops == 2 * analysis.totals.macs
    assert len(result.layers) == sum(1 for level, _ in analysis.root.walk() if level)
