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

from convcost.cost.graph import INPUT, Node, Wire, new_node
from convcost.cost.opkind import Op
from convcost.cost.ops.act import Activation
from convcost.cost.ops.conv import Conv2d, resolve_padding
from convcost.cost.ops.norm import BatchNorm
from convcost.cost.registry import SPEC_OPS, costed
from convcost.cost.value import Padding, Pair, Shape
from convcost.errors import ShapeError, SpecError
from convcost.net import composites, containers, token_blocks
from convcost.net.composites import make_divisible
from convcost.spec.loader import LayerSpec
from convcost.spec.wiring import INPUT as FROM_INPUT


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
            result, text = costed(op, x)
        except ShapeError as err:
            raise SpecError(f"{name}: {err}", path=path) from None
        return new_node(result.params, result.macs, name, text, x, result.output_shape, op=op,
                        source=path)

    def block(self, name: str, kind: str, x: Shape, children: Sequence[Node], path: str,
              roles: Sequence[str] = (), split: bool = False,
              wires: Sequence[Wire] = ()) -> Node:
        """A block of ``children``: in sequence, wired by their ``roles`` (see flow_wires), or
        by the ``wires`` given."""
        if not wires and roles:  # no wires: the children in sequence (Node.wiring)
            wires = flow_wires(name, children, roles, split)
        params = macs = 0
        for child in children:
            params += child.params
            macs += child.macs
        # every block ends in its last child: the last layer, or the merge / post of the others
        return new_node(params, macs, name, kind, x, children[-1].output_shape,
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
        children = [self.leaf(f"{name}.conv", op, x, path)]
        kind = children[0].label
        if bn:
            s = children[-1].output_shape
            children.append(self.leaf(f"{name}.bn", BatchNorm(s[1]), s, path))
            kind += "+bn"
        if act is not None:
            s = children[-1].output_shape
            children.append(self.leaf(f"{name}.act", Activation(act), s, path))
            kind += f"+{act}" if act else ""
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
               source: str = INPUT, inputs: Mapping[str, tuple[str, Shape]] | None = None
               ) -> tuple[list[Node], list[Wire]]:
        """Nodes of ``specs`` and their wires: each reads its ``from:`` (default: the previous
        layer, the first ``source``; the model's named ``inputs``: name -> (wire name, shape));
        names get ``prefix``. A plain chain from the block input gets no wires
        (:attr:`Node.wiring`: in sequence)."""
        given = {FROM_INPUT: (source, x), **(inputs or {})}
        graph = source != INPUT or any(spec.inputs for spec in specs)
        named: dict[str, Node] = {}  # spec name -> the node that holds its output
        nodes: list[Node] = []
        wires: list[Wire] = []
        refs: tuple[str, ...] = (source,)
        shapes: Inputs = (x,)
        for spec in specs:
            if spec.inputs:
                refs = tuple(given[n][0] if n in given else named[n].name for n in spec.inputs)
                shapes = tuple(given[n][1] if n in given else named[n].output_shape
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


def flow_wires(name: str, children: Sequence[Node], roles: Sequence[str],
               split: bool = False) -> tuple[Wire, ...]:
    """The wires of a merge block, from each child's role, in execution order.

    ``side`` children run first, in sequence on the block input (no side: the input itself);
    then the ``main`` children on the input; then the ``merge`` child on (side, main); then the
    ``post`` children on its output. With ``split``, the input is first cut into two channel
    halves: the first stands for the side, the main children run on the second.
    """
    names = [child.name for child in children]
    by_role: dict[str, list[int]] = {}
    for i, role in enumerate(roles):
        by_role.setdefault(role, []).append(i)
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
    "conv": composites.conv, "dwconv": composites.dwconv, "pwconv": composites.pwconv,
    "dsconv": composites.dsconv, "inverted_residual": composites.inverted_residual,
    "basic_block": composites.basic_block, "bottleneck": composites.bottleneck,
    "shuffle_unit": composites.shuffle_unit, "fused_mbconv": composites.fused_mbconv,
    "sequential": containers.sequential, "residual": containers.residual,
    "parallel": containers.parallel, "split": containers.split, "se": composites.se,
    "patch_embed": token_blocks.patch_embed,
})
"""Spec kind -> its expander, for every kind that is not a leaf op of the registry."""


def expand(layers: Sequence[LayerSpec], x: Shape, scaling: Scaling,
           inputs: Mapping[str, tuple[str, Shape]] | None = None) -> tuple[list[Node], list[Wire]]:
    """Costed top-level nodes for ``layers`` on input shape ``x`` (and the model's named
    ``inputs``: name -> (wire name, shape)), and their wires."""
    return Expander(scaling).layers(layers, x, inputs=inputs)


def output_names(layers: Sequence[LayerSpec], outputs: Sequence[str]) -> tuple[str, ...]:
    """The node names of the top-level layers named in ``outputs`` (a repeat's last copy)."""
    last = {spec.name: f"{spec.name}.{spec.repeat - 1}" if spec.repeat > 1 else spec.name
            for spec in layers}
    last.update({spec.alias: spec.name for spec in layers if spec.alias})
    return tuple(last[name] for name in outputs)
