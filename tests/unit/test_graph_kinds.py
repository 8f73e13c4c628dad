"""The leaf kinds of the open format as spec layers: lowering, figures, errors, conventions.

Figures are worked by hand in the comments (paper convention: conv MACs only, no bias).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from convcost.conventions.explain import by_class
from convcost.conventions.rules import CONVENTIONS, PTFLOPS
from convcost.cost.graph import Node
from convcost.cost.receptive import receptive_fields
from convcost.errors import SpecError
from convcost.net.analysis import Analysis, analyze, separable_pairs
from convcost.spec.loader import parse_spec


def _analyse(*layers: dict[str, Any], channels: int = 4, size: int = 8, batch: int = 1,
             alpha: float = 1.0) -> Analysis:
    spec = {"name": "t", "input": {"channels": channels, "resolution": size, "batch": batch},
            "width_multiplier": alpha, "layers": list(layers)}
    return analyze(parse_spec(spec))


def _leaf(analysis: Analysis, name: str) -> Node:
    return next(leaf for leaf in analysis.leaves() if leaf.name == name)


# (layers, output shape, params, MACs)
SPECS: dict[str, tuple[list[dict[str, Any]], tuple[int, ...], int, int]] = {
    # U-Net up: 4 -> 2 channels, 2×2 stride 2 on 8×8 -> 16×16
    "conv_transpose": ([{"kind": "conv_transpose", "out_channels": 2, "kernel_size": 2,
                         "stride": 2, "bias": True}], (1, 2, 16, 16),
                       34,  # 4·2·2·2 + 2
                       2_048),  # 1·8·8·4·2·4
    # TF SAME 3×3 stride 2 on 8×8: ceil(8/2) = 4
    "conv tf_same": ([{"kind": "conv", "out_channels": 6, "stride": 2, "padding": "tf_same"}],
                     (1, 6, 4, 4),
                     216,  # 6·4·9
                     3_456),  # 1·6·4·4·4·9
    # depthwise TF SAME 5×5 stride 2 on 8×8: ceil(8/2) = 4; pad total (4-1)·2 + 5 - 8 = 3
    "dwconv tf_same": ([{"kind": "dwconv", "kernel_size": 5, "stride": 2, "padding": "tf_same"}],
                       (1, 4, 4, 4),
                       100,  # 4·1·25
                       1_600),  # 1·4·4·4·1·25
    "upsample scale": ([{"kind": "upsample", "scale": 2}], (1, 4, 16, 16), 0, 0),
    "upsample size": ([{"kind": "upsample", "size": [5, 11], "mode": "bilinear"}],
                      (1, 4, 5, 11), 0, 0),
    # DeepLab's ASPP pooling branch: pool to 1×1, a 1×1 conv, back to the input's 8×8
    "interpolate": ([{"kind": "pool", "name": "p", "op": "avg", "global": True},
                     {"kind": "conv", "out_channels": 2, "kernel_size": 1},
                     {"kind": "interpolate", "mode": "bilinear", "from": ["layers.1", "input"]}],
                    (1, 2, 8, 8), 8, 8),  # conv params 4·2 = 8, MACs 1·1·1·2·4 = 8
    "groupnorm": ([{"kind": "groupnorm", "groups": 2}], (1, 4, 8, 8), 8, 0),  # 2·4
    "layernorm": ([{"kind": "layernorm"}], (1, 4, 8, 8), 8, 0),  # 2·4
    "instancenorm": ([{"kind": "instancenorm"}], (1, 4, 8, 8), 0, 0),  # torch: affine off
    "prelu shared": ([{"kind": "act", "fn": "prelu"}], (1, 4, 8, 8), 1, 0),
    "prelu per channel": ([{"kind": "act", "fn": "prelu", "per_channel": True}], (1, 4, 8, 8),
                          4, 0),
    "mean": ([{"kind": "mean"}], (1, 4), 0, 0),
    "mean over H": ([{"kind": "mean", "dims": [2]}], (1, 4, 8), 0, 0),  # [1, 4, 8, 8] -> [1, 4, 8]
    # F.avg_pool2d(x, 3, 1, 1) on 8×8: 8+2-3+1 = 8; F.max_pool2d(x, 3, 2): (8-3)//2+1 = 3
    "pool functional avg": ([{"kind": "pool", "op": "avg", "kernel_size": 3, "stride": 1,
                              "padding": 1, "functional": True}], (1, 4, 8, 8), 0, 0),
    "pool functional max": ([{"kind": "pool", "op": "max", "kernel_size": 3, "stride": 2,
                              "functional": True}], (1, 4, 3, 3), 0, 0),
    "relu functional": ([{"kind": "act", "fn": "relu", "functional": True}], (1, 4, 8, 8), 0, 0),
    "layer_scale": ([{"kind": "layer_scale"}], (1, 4, 8, 8), 4, 0),  # one γ per channel
    "scalar": ([{"kind": "scalar", "value": 0.125}], (1, 4, 8, 8), 0, 0),  # a number: nothing learnt
    # SE on 4 channels: squeeze 4 // 4 = 1 -> _make_divisible(1, 8) = 8
    "se": ([{"kind": "se"}], (1, 4, 8, 8),
           76,  # fc1 4·8 + 8 = 40, fc2 8·4 + 4 = 36 (pool, activations, scale: none)
           64),  # fc1 1·8·4 = 32, fc2 1·4·8 = 32
    # explicit squeeze 2, no divisor: fc1 4·2 + 2 = 10, fc2 2·4 + 4 = 12
    "se squeeze_channels": ([{"kind": "se", "squeeze_channels": 2, "gate": "sigmoid"}],
                            (1, 4, 8, 8), 22, 16),  # MACs 1·2·4 + 1·4·2
}


@pytest.mark.parametrize("name", SPECS)
def test_spec_layer_figures(name: str) -> None:
    layers, shape, params, macs = SPECS[name]
    analysis = _analyse(*layers)
    assert (analysis.root.output_shape, analysis.totals.params, analysis.totals.macs) == (
        shape, params, macs)


def test_se_squeeze_channels_scale_with_alpha() -> None:
    # α = 0.5: squeeze 8 -> int(8·0.5) = 4 (no divisor); fc1 16·4 + 4 = 68, fc2 4·16 + 16 = 80
    analysis = _analyse({"kind": "conv", "out_channels": 32, "kernel_size": 1},
                        {"kind": "se", "squeeze_channels": 8, "name": "se"}, alpha=0.5)
    assert _leaf(analysis, "se.fc1").output_shape == (1, 4, 1, 1)
    assert analysis.root.children[1].params == 68 + 80


ERRORS = {
    "upsample neither": ({"kind": "upsample"}, "layers[0]: give exactly one of scale and size"),
    "upsample both": ({"kind": "upsample", "scale": 2, "size": 4},
                      "layers[0]: give exactly one of scale and size"),
    "align_corners nearest": ({"kind": "upsample", "scale": 2, "align_corners": True},
                              "layers[0].align_corners: align_corners needs mode bilinear"),
    "interpolate align_corners nearest": (
        {"kind": "interpolate", "align_corners": True, "from": ["input", "input"]},
        "layers[0].align_corners: align_corners needs mode bilinear"),
    "interpolate one input": ({"kind": "interpolate"}, "interpolate reads 2 tensors, got 1"),
    "per_channel relu": ({"kind": "act", "fn": "relu", "per_channel": True},
                         "layers[0].per_channel: per_channel needs fn prelu"),
    "groupnorm groups": ({"kind": "groupnorm", "groups": 3},
                         "groupnorm groups 3 must divide the 4 channels"),
    "bad padding": ({"kind": "conv", "out_channels": 4, "padding": "tf-same"},
                    "must be auto, same, tf_same, an integer or an [h, w] pair"),
    "output_padding": ({"kind": "conv_transpose", "out_channels": 4, "kernel_size": 2,
                        "stride": 2, "output_padding": 2}, "output_padding 2 must be smaller"),
    "conv_transpose kernel": ({"kind": "conv_transpose", "out_channels": 4},
                              "layers[0].kernel_size: missing required field"),
    "functional global pool": ({"kind": "pool", "op": "avg", "global": True, "functional": True},
                               "layers[0]: functional: true is for a windowed pool"),
    "functional elu": ({"kind": "act", "fn": "elu", "functional": True},
                       "layers[0].functional: functional needs fn relu"),
    "sum neither": ({"kind": "sum"}, "layers[0].dim: missing required field (dim, or dims)"),
    "max both": ({"kind": "max", "dim": 1, "dims": [2, 3]}, "layers[0].dims: give dim or dims"),
    "sum over the batch": ({"kind": "sum", "dims": [0, 2]}, "layers[0].dims[0]: must be a positive"),
    "sum twice": ({"kind": "sum", "dims": [2, 2]}, "layers[0].dims: sum dims [2, 2] must be distinct"),
    "max of all": ({"kind": "max", "dims": [1, 2, 3]},
                   "layers[0].dims: max over dims [1, 2, 3] of [1, 4, 8, 8] leaves no dim"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_spec_errors(name: str) -> None:
    layer, message = ERRORS[name]
    with pytest.raises(SpecError) as err:
        _analyse(layer)
    assert message in str(err.value)


def test_interpolate_reads_its_reference_for_the_size_only() -> None:
    """Resizing the input to the size of a 5×5 conv's output: the field is the input's own
    (1 pixel), not the union with the conv's 5; the bytes read are x's only."""
    from convcost.cost.memory import model_memory

    analysis = _analyse({"kind": "conv", "name": "big", "out_channels": 4, "kernel_size": 5},
                        {"kind": "interpolate", "name": "resize", "from": ["input", "big"]})
    resize = _leaf(analysis, "resize")
    assert receptive_fields(analysis.root).of(resize).h.size == 1
    memory = {m.node.name: m for m in model_memory(analysis.root).leaves}
    assert memory["resize"].input_bytes == 4 * 8 * 8 * 4  # x: 4·8·8 float32 elements, not big's too


def test_interpolate_needs_a_map_for_its_size() -> None:
    with pytest.raises(SpecError) as err:
        _analyse({"kind": "flatten", "name": "flat"},
                 {"kind": "interpolate", "from": ["input", "flat"]})
    assert str(err.value).endswith(
        "layers[1].from: interpolate takes its size from a C×H×W map, got 256")  # 4·8·8


# on [2, 4, 8, 8] (N = 2, I = 512): pool avg 3×3/1 pad 1 -> [2, 4, 8, 8] (O = 512), pool max
# 3×3/2 -> [2, 4, 3, 3], relu; per convention: fvcore, thop, ptflops, torchinfo, torch
FUNCTIONAL_COUNTS: dict[str, tuple[dict[str, Any], tuple[int, int, int, int, int], str]] = {
    # nn.AvgPool2d: thop numel(out) = 512; ptflops hook I / N + patched F.avg_pool2d I = 768
    "avg module": ({"kind": "pool", "kernel_size": 3, "op": "avg", "stride": 1, "padding": 1},
                   (0, 512, 768, 0, 0), "aten::avg_pool2d"),
    # F.avg_pool2d in forward: no module for thop; ptflops only its patched F: I = 512
    "avg functional": ({"kind": "pool", "kernel_size": 3, "op": "avg", "stride": 1,
                        "padding": 1, "functional": True}, (0, 0, 512, 0, 0), "aten::avg_pool2d"),
    "max module": ({"kind": "pool", "kernel_size": 3, "op": "max", "stride": 2},
                   (0, 0, 768, 0, 0), "aten::max_pool2d"),  # ptflops 512/2 + 512
    "max functional": ({"kind": "pool", "kernel_size": 3, "op": "max", "stride": 2,
                        "functional": True}, (0, 0, 512, 0, 0), "aten::max_pool2d"),
    # nn.ReLU: ptflops hook I / N + patched F.relu I = 768; F.relu: I = 512; fvcore ignores
    # aten::relu as free (not unsupported)
    "relu module": ({"kind": "act", "fn": "relu"}, (0, 0, 768, 0, 0), ""),
    "relu functional": ({"kind": "act", "fn": "relu", "functional": True}, (0, 0, 512, 0, 0), ""),
}


@pytest.mark.parametrize("name", FUNCTIONAL_COUNTS)
def test_functional_op_counts(name: str) -> None:
    layer, counts, unsupported = FUNCTIONAL_COUNTS[name]
    analysis = _analyse(layer, batch=2)
    tools = ("fvcore", "thop", "ptflops", "torchinfo", "torch")
    assert tuple(CONVENTIONS[tool].total(analysis) for tool in tools) == counts
    # the same aten op for the module and F.*
    assert CONVENTIONS["fvcore"].unsupported(analysis.root) == (
        {unsupported: 1} if unsupported else {})


def test_ptflops_truncates_its_sum_not_each_upsample() -> None:
    """Two upsamples to 9×11 at batch 2: ptflops' hooks count numel(out) / N² = 297 / 2 each,
    its F.interpolate numel(out) = 594 each: 2·(148.5 + 594) = 1485, not 2·742 (run for real
    in tests/torch/test_tool_rules.py)."""
    analysis = _analyse({"kind": "upsample", "size": [9, 11], "name": "a"},
                        {"kind": "upsample", "size": [9, 11], "name": "b"},
                        channels=3, size=5, batch=2)
    assert [PTFLOPS.rules["upsample_nearest"].formula(leaf) for leaf in analysis.leaves()] == [
        Fraction(1485, 2), Fraction(1485, 2)]
    assert PTFLOPS.total(analysis) == 1485
    assert by_class(PTFLOPS, analysis.root)["upsample"] == 1485


def test_tf_same_conv_counts_its_pad_as_a_term() -> None:
    analysis = _analyse({"kind": "conv", "out_channels": 6, "stride": 2, "padding": "tf_same",
                         "bias": True})
    leaf = analysis.leaves()[0]
    fvcore = CONVENTIONS["fvcore"]
    assert [key for key, _ in fvcore.terms(leaf)] == ["conv", "tf_same_pad", "conv_bias"]
    assert fvcore.count(leaf) == 3_456  # the conv; the pad and the bias count 0
    assert fvcore.unsupported(analysis.root) == {"aten::pad": 1}


# (layers, RF size, jump, effective padding) of the output on one axis, input 16×16
RF: dict[str, tuple[list[dict[str, Any]], Fraction, Fraction, Fraction]] = {
    # 3×3 stride 2 TF SAME on 16: pad total (8-1)·2 + 3 - 16 = 1 -> (0, 1): no left padding
    "tf_same": ([{"kind": "conv", "out_channels": 4, "stride": 2, "padding": "tf_same"}],
                Fraction(3), Fraction(2), Fraction(0)),
    # 2×2 stride 2 transposed: window span 1/2 + 1 = 3/2, stride 1/2, left pad (1 - 0)/2 = 1/2;
    # r = 1 + (3/2 - 1) = 3/2; start = (1/4 - 1/2) = -1/4; padding (3/2 - 1)/2 + 1/4 = 1/2
    "conv_transpose": ([{"kind": "conv_transpose", "out_channels": 4, "kernel_size": 2,
                         "stride": 2}], Fraction(3, 2), Fraction(1, 2), Fraction(1, 2)),
    # nearest ×2: span 1, jump 1/2, left pad (2 - 1)/(2·2) = 1/4: start -1/4, padding 1/4
    "upsample": ([{"kind": "upsample", "scale": 2}], Fraction(1), Fraction(1, 2), Fraction(1, 4)),
}


@pytest.mark.parametrize("name", RF)
def test_receptive_field_rules(name: str) -> None:
    layers, size, jump, padding = RF[name]
    analysis = _analyse(*layers, size=16)
    rf = receptive_fields(analysis.root).output
    assert (rf.h.size, rf.h.jump, rf.h.padding) == (size, jump, padding)


def test_mean_makes_the_field_whole() -> None:
    analysis = _analyse({"kind": "mean", "keepdim": True}, size=16)
    assert receptive_fields(analysis.root).output.whole


@pytest.mark.parametrize("between", [
    [{"kind": "layernorm"}],  # ConvNeXt: dw 7×7, LayerNorm, pw
    [{"kind": "groupnorm", "groups": 2}, {"kind": "act", "fn": "gelu"}],
    [{"kind": "instancenorm"}, {"kind": "layer_scale"}, {"kind": "act", "fn": "prelu"}],
])
def test_separable_pair_runs_through_the_norms_and_layer_scale(between: list[dict[str, Any]]
                                                               ) -> None:
    analysis = _analyse({"kind": "dwconv", "kernel_size": 7, "name": "dw"}, *between,
                        {"kind": "pwconv", "out_channels": 16, "name": "pw"})
    pairs = separable_pairs(analysis)
    assert [(p.depthwise.name, p.pointwise.name) for p in pairs] == [("dw", "pw")]
    # 7×7 standard 4 -> 16 on 8×8: 1·16·8·8·4·49 MACs
    assert pairs[0].standard_macs == 200_704


def test_no_pair_through_an_upsample() -> None:
    analysis = _analyse({"kind": "dwconv", "name": "dw"}, {"kind": "upsample", "scale": 2},
                        {"kind": "pwconv", "out_channels": 16, "name": "pw"})
    assert separable_pairs(analysis) == []


@pytest.mark.parametrize(("inputs", "calls"), [(2, 1), (3, 2), (5, 4)])
def test_an_n_ary_add_is_n_minus_1_binary_adds_to_fvcore_and_ptflops(inputs: int,
                                                                      calls: int) -> None:
    # a + b + c runs as (a + b) + c: n inputs are n − 1 aten::add calls (fvcore, unsupported)
    # and n − 1 unpatched Tensor.__add__ (ptflops); thop misses the one Add module once
    names = [f"b{i}" for i in range(inputs)]
    branches = [{"kind": "pwconv", "name": n, "out_channels": 4, "from": "input"} for n in names]
    analysis = _analyse(*branches, {"kind": "add", "name": "s", "from": names})
    assert CONVENTIONS["fvcore"].unsupported(analysis.root) == {"aten::add": calls}
    assert CONVENTIONS["thop"].unsupported(analysis.root) == {"Add (a + b)": 1}
    assert sum(CONVENTIONS["ptflops"].unsupported(analysis.root).values()) == calls
