"""The composite spec kinds: conv units (``conv``, ``dwconv``, ``pwconv``) and the blocks
of known networks (``dsconv``, ``inverted_residual``, ``fused_mbconv``, ``basic_block``,
``bottleneck``, ``shuffle_unit``, ``se``), each an expander of
:data:`convcost.net.expand.EXPANDERS`: ``(expander, name, input shape, fields, path) -> node``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from convcost.cost.graph import Node
from convcost.cost.ops.act import Activation
from convcost.cost.ops.merge import Add, Concat, Scale
from convcost.cost.ops.pool import AdaptivePool
from convcost.cost.ops.reduce import Mean
from convcost.cost.ops.shuffle import Shuffle
from convcost.cost.value import Pair, Shape
from convcost.errors import SpecError

if TYPE_CHECKING:
    from convcost.net.expand import Expander


def make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision's ``_make_divisible``: round to a multiple of ``divisor``, never below 90 %."""
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def conv(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    return e.conv_unit(name, x, path, out=e.ch(f, path), kernel=f["kernel_size"],
                          stride=f["stride"], padding=f["padding"], dilation=f["dilation"],
                          groups=f["groups"], bias=f["bias"], bn=f["bn"], act=f["act"])


def dwconv(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    return e.conv_unit(name, x, path, out=x[1] * f["multiplier"], kernel=f["kernel_size"],
                          stride=f["stride"], padding=f["padding"], dilation=f["dilation"],
                          groups=x[1], bias=f["bias"], bn=f["bn"], act=f["act"])


def pwconv(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    return e.conv_unit(name, x, path, out=e.ch(f, path), groups=f["groups"],
                          bias=f["bias"], bn=f["bn"], act=f["act"])


def dsconv(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    out, act = e.ch(f, path), f["act"]
    makers: list[Callable[[Shape], Node]] = [
        lambda s: e.conv_unit(f"{name}.dw", s, path, out=s[1], kernel=f["kernel_size"],
                                 stride=f["stride"], groups=s[1], bias=f["bias"], act=act)]
    _maybe_se(e, name, makers, f["se"], x[1], x[1], path)
    makers.append(lambda s: e.conv_unit(f"{name}.pw", s, path, out=out, bias=f["bias"], act=act))
    return e.block(name, "dsconv", x, e.chain(x, makers), path)


def _maybe_se(e: Expander, name: str, makers: list[Callable[[Shape], Node]],
              se: Mapping[str, Any] | None, expanded: int, cin: int, path: str) -> None:
    """Append a squeeze-excitation maker when ``se`` is given; its base width is the hidden
    width ``expanded`` or the block input ``cin`` (``se.base``)."""
    if se is not None:
        base = expanded if se["base"] == "expanded" else cin
        makers.append(lambda s: _squeeze_excite(e, f"{name}.se", s, se, base, f"{path}.se"))


def _squeeze_excite(e: Expander, name: str, x: Shape, se: Mapping[str, Any], base: int,
                   path: str, squeeze: int | None = None) -> Node:
    if squeeze is None:
        squeeze = base // se["reduction"]
        squeeze = make_divisible(squeeze, se["divisor"]) if se["divisor"] else max(1, squeeze)
    channels = x[1]
    children = e.chain(x, [
        lambda s: e.leaf(f"{name}.pool", Mean(keepdim=True) if se["squeeze"] == "mean"
                         else AdaptivePool("avg", (1, 1)), s, path),
        lambda s: e.conv_unit(f"{name}.fc1", s, path, out=squeeze, bias=True, bn=False),
        lambda s: e.leaf(f"{name}.act", Activation(se["act"]), s, path),
        lambda s: e.conv_unit(f"{name}.fc2", s, path, out=channels, bias=True, bn=False),
        lambda s: e.leaf(f"{name}.gate", Activation(se["gate"]), s, path),
    ])
    children.append(e.leaf(f"{name}.scale", Scale(), x, path))  # x · gate
    return e.block(name, "se", x, children, path, roles=[*["main"] * 5, "merge"])


def se(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    """A standalone squeeze-excitation of its input (torchvision's SqueezeExcitation)."""
    squeeze = None if f["squeeze_channels"] is None else e.ch(f, path, "squeeze_channels")
    return _squeeze_excite(e, name, x, f, x[1], path, squeeze)


def inverted_residual(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    cin, out, act = x[1], e.ch(f, path), f["act"]
    if f["expand_ratio"] is not None:
        hidden = round(cin * f["expand_ratio"])
    else:
        hidden = e.ch(f, path, "expanded_channels")
    makers: list[Callable[[Shape], Node]] = []
    if hidden != cin or f["expand"] == "always":
        makers.append(lambda s: e.conv_unit(f"{name}.expand", s, path, out=hidden, act=act))
    makers.append(lambda s: e.conv_unit(f"{name}.dw", s, path, out=hidden,
                                           kernel=f["kernel_size"], stride=f["stride"],
                                           dilation=f["dilation"], groups=hidden, act=act))
    _maybe_se(e, name, makers, f["se"], hidden, cin, path)
    makers.append(lambda s: e.conv_unit(f"{name}.project", s, path, out=out))
    return _maybe_residual(e, name, "inverted_residual", x, e.chain(x, makers), f, path)


def _maybe_residual(e: Expander, name: str, kind: str, x: Shape, children: list[Node],
                    f: Mapping[str, Any], path: str) -> Node:
    """The block of ``children``, plus ``add`` (x + f(x)) when ``residual: auto`` and the
    output has the input's shape (stride 1, in = out channels)."""
    if f["residual"] == "auto" and children[-1].output_shape == x:
        children.append(e.leaf(f"{name}.add", Add(), x, path))  # x + f(x)
        roles = [*["main"] * (len(children) - 1), "merge"]
        return e.block(name, kind, x, children, path, roles=roles)
    return e.block(name, kind, x, children, path)


def fused_mbconv(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    """EfficientNetV2's Fused-MBConv: k×k expand conv (+ bn + act), 1×1 project (+ bn); with
    hidden = input, a single k×k conv + bn + act to out_channels."""
    cin, out, act = x[1], e.ch(f, path), f["act"]
    hidden = round(cin * f["expand_ratio"])
    if hidden == cin:
        children = [e.conv_unit(f"{name}.expand", x, path, out=out, kernel=f["kernel_size"],
                                stride=f["stride"], act=act)]
    else:
        children = e.chain(x, [
            lambda s: e.conv_unit(f"{name}.expand", s, path, out=hidden, kernel=f["kernel_size"],
                                  stride=f["stride"], act=act),
            lambda s: e.conv_unit(f"{name}.project", s, path, out=out)])
    return _maybe_residual(e, name, "fused_mbconv", x, children, f, path)


def _resnet(e: Expander, name: str, kind: str, x: Shape, path: str, stride: Pair, out: int,
            body: Sequence[Callable[[Shape], Node]]) -> Node:
    children = e.chain(x, body)
    roles = ["main"] * len(children)
    if stride != (1, 1) or x[1] != out:
        children.append(e.conv_unit(f"{name}.downsample", x, path, out=out, stride=stride))
        roles.append("side")
    children.append(e.leaf(f"{name}.add", Add(), children[-1].output_shape, path))
    children.append(e.leaf(f"{name}.act", Activation("relu"), children[-1].output_shape, path))
    return e.block(name, kind, x, children, path, roles=[*roles, "merge", "post"])


def basic_block(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    out, stride, dilation = e.ch(f, path), f["stride"], f["dilation"]
    return _resnet(e, name, "basic_block", x, path, stride, out, [
        lambda s: e.conv_unit(f"{name}.conv1", s, path, out=out, kernel=(3, 3),
                                 stride=stride, dilation=dilation, act="relu"),
        lambda s: e.conv_unit(f"{name}.conv2", s, path, out=out, kernel=(3, 3),
                                 dilation=dilation),
    ])


def bottleneck(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    out, stride, groups = e.ch(f, path), f["stride"], f["groups"]
    mid = out // 4 if f["mid_channels"] is None else e.ch(f, path, "mid_channels")
    makers: list[Callable[[Shape], Node]] = [
        lambda s: e.conv_unit(f"{name}.conv1", s, path, out=mid, act="relu"),
        lambda s: e.conv_unit(f"{name}.conv2", s, path, out=mid, kernel=(3, 3), stride=stride,
                                 dilation=f["dilation"], groups=groups, act="relu")]
    _maybe_se(e, name, makers, f["se"], mid, x[1], path)
    makers.append(lambda s: e.conv_unit(f"{name}.conv3", s, path, out=out))
    return _resnet(e, name, "bottleneck", x, path, stride, out, makers)


def _shuffle_branch(e: Expander, name: str, x: Shape, path: str, out: int, stride: Pair,
                    expand_first: bool) -> Node:
    dw: Callable[[Shape], Node] = lambda s: e.conv_unit(  # noqa: E731
        f"{name}.dw", s, path, out=s[1], kernel=(3, 3), stride=stride, groups=s[1])
    makers = [
        *([lambda s: e.conv_unit(f"{name}.pw1", s, path, out=out, act="relu")]
          if expand_first else []),
        dw,
        lambda s: e.conv_unit(f"{name}.pw2", s, path, out=out, act="relu"),
    ]
    return e.block(name, "branch", x, e.chain(x, makers), path)


def shuffle_unit(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    out, stride, cin = e.ch(f, path), f["stride"], x[1]
    if out % 2:
        raise SpecError(f"must be even (two branches of out/2), got {out}",
                        path=f"{path}.out_channels")
    half = out // 2
    children: list[Node] = []
    split = stride == (1, 1)  # stride 1: x1, x2 = chunk(x, 2); concat(x1, branch2(x2))
    if split and cin != out:
        raise SpecError(f"a stride-1 unit keeps its channels: input has {cin}, "
                        f"out_channels is {out}", path=f"{path}.out_channels")
    if not split:  # stride 2: concat(branch1(x), branch2(x))
        children.append(_shuffle_branch(e, f"{name}.branch1", x, path, half, stride,
                                        expand_first=False))
    main_in = (x[0], cin - half, *x[2:]) if split else x
    main = _shuffle_branch(e, f"{name}.branch2", main_in, path, half, stride, expand_first=True)
    children.append(main)
    children.append(e.leaf(f"{name}.concat", Concat(half), main.output_shape, path))
    children.append(e.leaf(f"{name}.shuffle", Shuffle(2), children[-1].output_shape, path))
    roles = [*([] if split else ["side"]), "main", "merge", "post"]
    return e.block(name, "shuffle_unit", x, children, path, roles=roles, split=split)
