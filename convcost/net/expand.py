"""Spec layers -> a tree of :class:`~convcost.cost.graph.Node` with shapes and costs.

A leaf spec kind (bn, act, pool, linear, ...) lowers to its op through the registry
(:data:`convcost.cost.registry.SPEC_OPS`); every other kind has its expander in
:data:`EXPANDERS` (conv units and blocks). Every leaf is costed by
:func:`convcost.cost.registry.cost`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from convcost.cost.graph import INPUT, Node, Wire
from convcost.cost.opkind import Op
from convcost.cost.ops.act import Activation
from convcost.cost.ops.conv import Conv2d, resolve_padding
from convcost.cost.ops.merge import Add, Concat, Scale
from convcost.cost.ops.norm import BatchNorm
from convcost.cost.ops.pool import AdaptivePool
from convcost.cost.ops.reduce import Mean
from convcost.cost.ops.shuffle import Shuffle
from convcost.cost.registry import SPEC_OPS, cost, label
from convcost.cost.value import Padding, Pair, Shape
from convcost.errors import ShapeError, SpecError
from convcost.net import containers
from convcost.spec.loader import LayerSpec
from convcost.spec.wiring import INPUT as FROM_INPUT


def make_divisible(value: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision's ``_make_divisible``: round to a multiple of ``divisor``, never below 90 %."""
    floor = divisor if min_value is None else min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class Scaling:
    """The width multiplier α and the channel rounding rule."""

    alpha: float = 1.0
    divisor: int | None = None

    def channels(self, count: int, mode: str, path: str) -> int:
        alpha = 1.0 if mode == "fixed" else max(1.0, self.alpha) if mode == "grow" else self.alpha
        scaled = make_divisible(count * alpha, self.divisor) if self.divisor else int(count * alpha)
        if scaled < 1:
            raise SpecError(f"{count} channels at α={alpha:g} round to {scaled}", path=path)
        return scaled


Inputs = tuple[Shape, ...]
"""The shapes of the tensors a layer reads (one, or several for a merge)."""


@dataclass(frozen=True)
class _Lowering:
    """What a leaf kind's ``lower`` may need: the layer's path, the input check, its channels,
    the shapes it reads and the field that names them."""

    expander: Expander
    fields: Mapping[str, Any]
    path: str
    inputs: Inputs
    via: str  # the field naming the inputs; "": the layer's from

    @property
    def inputs_path(self) -> str:
        return self.via or f"{self.path}.from"

    @property
    def checks_inputs(self) -> bool:
        return self.expander.checks_inputs

    def channels(self, key: str) -> int:
        return self.expander.ch(self.fields, self.path, key)


class Expander:
    """Turns validated layer specs into costed nodes for one input shape and scaling."""

    def __init__(self, scaling: Scaling) -> None:
        self.scaling = scaling
        # Declared in_channels / in_features describe the spec as written (α = 1).
        self.checks_inputs = scaling.alpha == 1.0

    # -- primitives ---------------------------------------------------------------------
    def leaf(self, name: str, op: Op, x: Shape, path: str) -> Node:
        try:
            result = cost(op, x)
        except ShapeError as err:
            raise SpecError(f"{name}: {err}", path=path) from None
        return Node(params=result.params, macs=result.macs, name=name, label=label(op),
                    input_shape=x, output_shape=result.output_shape, op=op, source=path)

    def block(self, name: str, kind: str, x: Shape, children: Sequence[Node], path: str,
              roles: Sequence[str] = (), split: bool = False,
              wires: Sequence[Wire] = ()) -> Node:
        """A block of ``children``: in sequence, wired by their ``roles`` (see flow_wires), or
        by the ``wires`` given."""
        if not wires and roles:  # no wires: the children in sequence (Node.wiring)
            wires = flow_wires(name, children, roles, split)
        # every block ends in its last child: the last layer, or the merge / post of the others
        return Node(params=sum(c.params for c in children), macs=sum(c.macs for c in children),
                    name=name, label=kind, input_shape=x, output_shape=children[-1].output_shape,
                    children=tuple(children), wires=tuple(wires), source=path)

    def chain(self, x: Shape, makers: Sequence[Callable[[Shape], Node]]) -> list[Node]:
        """Apply node makers in sequence, threading the output shape."""
        nodes: list[Node] = []
        for make in makers:
            node = make(x)
            nodes.append(node)
            x = node.output_shape
        return nodes

    def conv_unit(self, name: str, x: Shape, path: str, *, out: int, kernel: Pair = (1, 1),
                  stride: Pair = (1, 1), padding: Padding | str = "auto",
                  dilation: Pair = (1, 1), groups: int = 1, bias: bool = False,
                  bn: bool = True, act: str | None = None) -> Node:
        """A convolution, optionally followed by BatchNorm and an activation (one block)."""
        op = Conv2d(x[1], out, kernel, stride, resolve_padding(padding, kernel, dilation),
                    dilation, groups, bias)
        if not bn and act is None:
            return self.leaf(name, op, x, path)
        makers: list[Callable[[Shape], Node]] = [lambda s: self.leaf(f"{name}.conv", op, s, path)]
        if bn:
            makers.append(lambda s: self.leaf(f"{name}.bn", BatchNorm(s[1]), s, path))
        if act is not None:
            fn: str = act
            makers.append(lambda s: self.leaf(f"{name}.act", Activation(fn), s, path))
        children = self.chain(x, makers)
        kind = "+".join([children[0].label, *(["bn"] if bn else []), *([act] if act else [])])
        return self.block(name, kind, x, children, path)

    # -- spec layers --------------------------------------------------------------------
    def layer(self, spec: LayerSpec, xs: Inputs) -> list[Node]:
        if self.checks_inputs and spec.in_channels is not None and spec.in_channels != xs[0][1]:
            raise SpecError(f"must match the previous layer's {xs[0][1]} output channels, "
                            f"got {spec.in_channels}", path=f"{spec.path}.in_channels")
        nodes: list[Node] = []
        for i in range(spec.repeat):
            fields = dict(spec.fields)
            if i > 0 and spec.kind != "pool" and "stride" in fields:
                fields["stride"] = (1, 1)
            name = f"{spec.name}.{i}" if spec.repeat > 1 else spec.name
            node = self.kind(spec.kind, name, xs, fields, spec.path)
            nodes.append(node)
            xs = (node.output_shape,)
        return nodes

    def kind(self, kind: str, name: str, xs: Inputs, fields: Mapping[str, Any], path: str,
             via: str = "") -> Node:
        """One layer of spec kind ``kind``: a leaf op through the registry, else its expander;
        ``via`` is the field that names its inputs (default: its ``from``)."""
        leaf = SPEC_OPS.get(kind)
        if leaf is None:
            if len(xs) != 1:
                _arity(kind, 1, False, len(xs), via or f"{path}.from")
            return EXPANDERS[kind](self, name, xs[0], fields, path)
        assert leaf.lower is not None, f"leaf kind {kind} declares a spec but no lower"
        if len(xs) != leaf.inputs:
            _arity(kind, leaf.inputs, leaf.variadic, len(xs), via or f"{path}.from")
        lowering = _Lowering(self, fields, path, xs, via)
        return self.leaf(name, leaf.lower(fields, xs[0], lowering), xs[0], path)

    def layers(self, specs: Sequence[LayerSpec], x: Shape, prefix: str = "",
               source: str = INPUT) -> tuple[list[Node], list[Wire]]:
        """Nodes of ``specs`` and their wires: each reads its ``from:`` (default: the previous
        layer, the first ``source``); names get ``prefix``. A plain chain from the block input
        gets no wires (:attr:`Node.wiring`: in sequence)."""
        graph = source != INPUT or any(spec.inputs for spec in specs)
        named: dict[str, Node] = {}  # spec name -> the node that holds its output
        nodes: list[Node] = []
        wires: list[Wire] = []
        refs: tuple[str, ...] = (source,)
        shapes: Inputs = (x,)
        for spec in specs:
            if spec.inputs:
                refs = tuple(source if n == FROM_INPUT else named[n].name for n in spec.inputs)
                shapes = tuple(x if n == FROM_INPUT else named[n].output_shape
                               for n in spec.inputs)
            produced = self.layer(replace(spec, name=prefix + spec.name) if prefix else spec,
                                  shapes)
            if spec.shares is not None:
                produced = [sharing(node, named, spec) for node in produced]
            for node in produced:
                if graph:
                    wires.append(Wire(len(nodes), refs, (node.name,)))
                nodes.append(node)
                refs = (node.name,)
            named[spec.name] = produced[-1]
            if spec.alias:  # the last copy of a repeated template
                named[spec.alias] = produced[-1]
            shapes = (produced[-1].output_shape,)
        return nodes, wires

    def ch(self, fields: Mapping[str, Any], path: str, key: str = "out_channels") -> int:
        return self.scaling.channels(fields[key], fields.get("width", "scaled"), f"{path}.{key}")


def _conv(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    return e.conv_unit(name, x, path, out=e.ch(f, path), kernel=f["kernel_size"],
                          stride=f["stride"], padding=f["padding"], dilation=f["dilation"],
                          groups=f["groups"], bias=f["bias"], bn=f["bn"], act=f["act"])


def _dwconv(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    return e.conv_unit(name, x, path, out=x[1] * f["multiplier"], kernel=f["kernel_size"],
                          stride=f["stride"], padding=f["padding"], dilation=f["dilation"],
                          groups=x[1], bias=f["bias"], bn=f["bn"], act=f["act"])


def _pwconv(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    return e.conv_unit(name, x, path, out=e.ch(f, path), groups=f["groups"],
                          bias=f["bias"], bn=f["bn"], act=f["act"])


def _dsconv(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
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


def _se(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    """A standalone squeeze-excitation of its input (torchvision's SqueezeExcitation)."""
    squeeze = None if f["squeeze_channels"] is None else e.ch(f, path, "squeeze_channels")
    return _squeeze_excite(e, name, x, f, x[1], path, squeeze)


def _inverted_residual(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
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


def _fused_mbconv(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
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


def _basic_block(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    out, stride, dilation = e.ch(f, path), f["stride"], f["dilation"]
    return _resnet(e, name, "basic_block", x, path, stride, out, [
        lambda s: e.conv_unit(f"{name}.conv1", s, path, out=out, kernel=(3, 3),
                                 stride=stride, dilation=dilation, act="relu"),
        lambda s: e.conv_unit(f"{name}.conv2", s, path, out=out, kernel=(3, 3),
                                 dilation=dilation),
    ])


def _bottleneck(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
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


def _shuffle_unit(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
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


def flow_wires(name: str, children: Sequence[Node], roles: Sequence[str],
               split: bool = False) -> tuple[Wire, ...]:
    """The wires of a merge block, from each child's role, in execution order.

    ``side`` children run first, in sequence on the block input (no side: the input itself);
    then the ``main`` children on the input; then the ``merge`` child on (side, main); then the
    ``post`` children on its output. With ``split``, the input is first cut into two channel
    halves: the first stands for the side, the main children run on the second.
    """
    names = [child.name for child in children]
    by_role = {role: [i for i, r in enumerate(roles) if r == role] for role in dict.fromkeys(roles)}
    wires: list[Wire] = []

    def chain(indices: Sequence[int], source: str) -> str:
        for i in indices:
            wires.append(Wire(i, (source,), (names[i],)))
            source = names[i]
        return source

    other, main_in = INPUT, INPUT
    if split:
        other, main_in = f"{name}@0", f"{name}@1"
        wires.append(Wire(None, (INPUT,), (other, main_in)))
    other = chain(by_role.get("side", []), other)
    main = chain(by_role.get("main", []), main_in)
    (merge,) = by_role["merge"]
    wires.append(Wire(merge, (other, main), (names[merge],)))
    chain(by_role.get("post", []), names[merge])
    return tuple(wires)


Expand = Callable[[Expander, str, Shape, Mapping[str, Any], str], Node]
"""``(expander, name, input shape, fields, path) -> node`` of one spec kind."""


def sharing(node: Node, named: Mapping[str, Node], spec: LayerSpec) -> Node:
    """``node`` reusing the weights of the earlier layer ``spec.shares``: the same weight
    shapes, its own params 0 (they are counted at that layer), its MACs as they are."""
    path = f"{spec.path}.shares"
    target = named.get(str(spec.shares))
    if target is None:
        known = ", ".join(named) or "none"
        raise SpecError(f"{spec.shares!r} is not an earlier layer of the same list (earlier: "
                        f"{known[:200]})", path=path)
    weights = [leaf.op for leaf in node.leaves() if leaf.params]
    if weights != [leaf.op for leaf in target.leaves() if leaf.params]:
        raise SpecError(f"cannot share the weights of {spec.shares!r}: their shapes differ",
                        path=path)
    return replace(_unshared(node), shares=target.name)


def _unshared(node: Node) -> Node:
    """``node`` with no params of its own, in every descendant."""
    return replace(node, params=0, children=tuple(_unshared(c) for c in node.children))


def _arity(kind: str, wants: int, variadic: bool, got: int, path: str) -> None:
    """A layer of ``kind`` reads ``wants`` tensors (or more, ``variadic``): ``got`` must fit."""
    if got == wants or (variadic and got > wants):
        return
    if wants == 1:
        raise SpecError(f"{kind} reads one tensor, got {got}", path=path)
    more = " or more" if variadic else ""
    raise SpecError(f"{kind} reads {wants}{more} tensors, got {got}: name them with from:, "
                    "e.g. from: [a, b]", path=path)


EXPANDERS: Mapping[str, Expand] = MappingProxyType({
    "conv": _conv, "dwconv": _dwconv, "pwconv": _pwconv, "dsconv": _dsconv,
    "inverted_residual": _inverted_residual, "basic_block": _basic_block,
    "bottleneck": _bottleneck, "shuffle_unit": _shuffle_unit, "fused_mbconv": _fused_mbconv,
    "sequential": containers.sequential, "residual": containers.residual,
    "parallel": containers.parallel, "split": containers.split, "se": _se,
})
"""Spec kind -> its expander, for every kind that is not a leaf op of the registry."""


def expand(layers: Sequence[LayerSpec], x: Shape, scaling: Scaling) -> tuple[list[Node],
                                                                            list[Wire]]:
    """Costed top-level nodes for ``layers`` on input shape ``x``, and their wires."""
    return Expander(scaling).layers(layers, x)


def output_names(layers: Sequence[LayerSpec], outputs: Sequence[str]) -> tuple[str, ...]:
    """The node names of the top-level layers named in ``outputs`` (a repeat's last copy)."""
    last = {spec.name: f"{spec.name}.{spec.repeat - 1}" if spec.repeat > 1 else spec.name
            for spec in layers}
    last.update({spec.alias: spec.name for spec in layers if spec.alias})
    return tuple(last[name] for name in outputs)
