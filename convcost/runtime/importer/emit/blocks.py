"""Composite kinds recognised in a group of IR ops, kept only when they reproduce it exactly.

Each matcher proposes spec layers (dsconv, inverted_residual with or without SE,
basic_block, bottleneck, shuffle_unit, a conv unit) from the ops of one module. A proposal
stands only if convcost's own expansion of it, on the group's input shape, has the same
multiset of op signatures (every conv's sizes, BN widths, activation functions, merges),
the same output shape and the same parameter count as the traced ops.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from convcost.cost.graph import Node
from convcost.cost.imports import Signature
from convcost.cost.imports import spec_size as size
from convcost.cost.registry import OPS, op_kind
from convcost.errors import SpecError
from convcost.runtime.importer.emit.leaves import Layer, conv_unit
from convcost.runtime.importer.ir import OWN_OPS, IRNode, Shape

SKIPPED = frozenset({"getitem", "chunk", "split"})  # the importer's own bookkeeping ops


def ir_signature(node: IRNode) -> Signature | None:
    """What a traced op contributes to a block's identity (its kind's ``Imports.signature``);
    None for pure bookkeeping (a reshape, a dropout, a tuple item)."""
    if node.op in OWN_OPS:
        return None if node.op in SKIPPED else ("other", node.op)
    imports = OPS[node.op].imports
    if imports.bookkeeping:
        return None
    return (imports.signature(node) if imports.signature else None) or ("other", node.op)


def node_signature(node: Node) -> Signature:
    """The same signature for a leaf of convcost's expansion (its kind's ``OpKind.signature``)."""
    op = node.op
    read = op_kind(op).signature if op is not None else None
    return (read(op) if read is not None and op is not None else None) or ("other", node.label)


def expand_one(layer: Layer, shape: Shape) -> Node | None:
    """convcost's analysis of ``layer`` alone on an input of ``shape``; None if it is invalid."""
    from convcost.net.analysis import analyze
    from convcost.spec.loader import parse_spec

    if len(shape) != 4:
        return None
    spec = {"name": "probe", "input": {"batch": shape[0], "channels": shape[1], "height": shape[2],
                                        "width": shape[3]}, "layers": [{**layer, "name": "probe"}]}
    try:
        return analyze(parse_spec(spec)).root.children[0]
    except SpecError:
        return None


def reproduces(layer: Layer, nodes: Sequence[IRNode], shape: Shape) -> bool:
    """Whether convcost's expansion of ``layer`` is exactly the traced ``nodes``."""
    node = expand_one(layer, shape)
    params = sum(n.params for n in nodes)
    again = params == 0 and any(n.shared for n in nodes)  # a module run again: it shares: its weights
    if node is None or node.output_shape != nodes[-1].shape or (node.params != params and not again):
        return False
    ours = Counter(s for s in map(node_signature, node.leaves()) if s is not None)
    theirs = Counter(s for s in map(ir_signature, nodes) if s is not None)
    return ours == theirs


def _convs(nodes: Sequence[IRNode]) -> list[IRNode]:
    return [n for n in nodes if n.op == "conv"]


def _is_dw(conv: IRNode) -> bool:
    a = conv.attrs
    return bool(a["groups"] == a["in_channels"] == a["out_channels"] > 1)


def _act_after(nodes: Sequence[IRNode], producer: IRNode) -> str | None:
    """The activation applied to ``producer`` (directly or after its BN)."""
    current = producer.name
    for node in nodes:
        if current in node.inputs and node.op in ("bn", "identity", "dropout"):
            current = node.name
        elif current in node.inputs and node.op == "act":
            return str(node.attr("fn"))
    return None


def _se_options(nodes: Sequence[IRNode], hidden: int, cin: int) -> Iterator[dict[str, Any] | None]:
    """No SE, or every SE parameter set whose squeeze width equals the traced fc1's."""
    fcs = [n for n in _convs(nodes) if n.attr("kernel") == (1, 1) and n.attr("bias")]
    if len(fcs) != 2:
        yield None
        return
    squeeze, act, gate = fcs[0].attr("out_channels"), _act_after(nodes, fcs[0]), _act_after(nodes, fcs[1])
    mean = {"squeeze": "mean"} if any(n.op == "mean" for n in nodes) else {}
    from convcost.net.composites import make_divisible

    # the usual reductions first (MobileNetV3: expanded/8/4; EfficientNet: input/none/4)
    for reduction in dict.fromkeys((4, 16, 8, 2, 1, *range(3, 65))):
        for base, channels, divisor in (("expanded", hidden, 8), ("input", cin, None),
                                        ("expanded", hidden, None), ("input", cin, 8)):
            rounded = make_divisible(channels // reduction, divisor) if divisor else max(
                1, channels // reduction)
            if rounded == squeeze:
                yield {"reduction": reduction, "divisor": divisor, "base": base, "act": act,
                       "gate": gate, **mean}


def inverted_residual(nodes: Sequence[IRNode], shape: Shape) -> Iterator[Layer]:
    dws = [n for n in _convs(nodes) if _is_dw(n)]
    if len(dws) != 1 or not any(n.op == "conv" and n is not dws[0] for n in nodes):
        return
    dw, cin = dws[0], shape[1]
    hidden, out = dw.attr("in_channels"), _convs(nodes)[-1].attr("out_channels")
    width = {"expand_ratio": hidden // cin} if hidden % cin == 0 else {"expanded_channels": hidden}
    base: Layer = {"kind": "inverted_residual", **width, "out_channels": out,
                   "kernel_size": size(dw.attr("kernel")), "stride": size(dw.attr("stride")),
                   "act": _act_after(nodes, dw)}
    if tuple(dw.attr("dilation")) != (1, 1):
        base["dilation"] = size(dw.attr("dilation"))
    if not any(n.op == "add" for n in nodes) and nodes[-1].shape == shape:
        base["residual"] = "never"
    for se in _se_options(nodes, hidden, cin):
        yield base if se is None else {**base, "se": se}


def dsconv(nodes: Sequence[IRNode], shape: Shape) -> Iterator[Layer]:
    convs = _convs(nodes)
    if len(convs) == 2 and _is_dw(convs[0]):
        layer: Layer = {"kind": "dsconv", "out_channels": convs[1].attr("out_channels"),
                        "kernel_size": size(convs[0].attr("kernel")),
                        "stride": size(convs[0].attr("stride")), "act": _act_after(nodes, convs[0])}
        yield {**layer, "bias": True} if convs[0].attr("bias") else layer


def fused_mbconv(nodes: Sequence[IRNode], shape: Shape) -> Iterator[Layer]:
    """EfficientNetV2's Fused-MBConv: a k×k conv (+ a 1×1 project), and its residual add."""
    convs = _convs(nodes)
    if not 1 <= len(convs) <= 2 or _is_dw(convs[0]) or convs[0].attr("kernel") == (1, 1):
        return
    first, cin = convs[0], shape[1]
    hidden = first.attr("out_channels")
    if len(convs) == 2 and (hidden % cin or convs[1].attr("kernel") != (1, 1)):
        return
    layer: Layer = {"kind": "fused_mbconv", "out_channels": convs[-1].attr("out_channels"),
                    "expand_ratio": hidden // cin if len(convs) == 2 else 1,
                    "kernel_size": size(first.attr("kernel")), "stride": size(first.attr("stride")),
                    "act": _act_after(nodes, first)}
    if not any(n.op == "add" for n in nodes) and nodes[-1].shape == shape:
        layer["residual"] = "never"
    yield layer


def _squeezes(nodes: Sequence[IRNode]) -> list[IRNode]:
    """A squeeze-excitation's two 1×1 convs: those whose output is 1×1 in a larger block."""
    fcs = [c for c in _convs(nodes) if c.shape[2:] == (1, 1) and c.attr("kernel") == (1, 1)]
    return fcs if len(fcs) == 2 and nodes[-1].shape[2:] != (1, 1) else []


def resnet_block(nodes: Sequence[IRNode], shape: Shape) -> Iterator[Layer]:
    squeeze = _squeezes(nodes)
    convs = [c for c in _convs(nodes) if c not in squeeze]
    readers = [c for c in convs if convs and c.inputs == convs[0].inputs]  # conv1 and downsample
    options = [[c for c in convs if c is not r] for r in readers] if len(readers) == 2 else [convs]
    for main in options:
        for layer in _resnet_layers(main):
            if not squeeze or layer["kind"] != "bottleneck":
                yield layer
                continue
            for se in _se_options(nodes, main[0].attr("out_channels"), shape[1]):
                if se is not None:
                    yield {**layer, "se": se}


def _resnet_layers(main: Sequence[IRNode]) -> Iterator[Layer]:
    if len(main) == 2 and all(c.attr("kernel") == (3, 3) for c in main):
        yield {"kind": "basic_block", "out_channels": main[1].attr("out_channels"),
               "stride": size(main[0].attr("stride"))}
    if len(main) == 3:
        out, mid = main[2].attr("out_channels"), main[0].attr("out_channels")
        layer: Layer = {"kind": "bottleneck", "out_channels": out, "stride": size(main[1].attr("stride"))}
        if mid != out // 4:
            layer["mid_channels"] = mid
        if main[1].attr("groups") > 1:
            layer["groups"] = main[1].attr("groups")
        yield layer


def shuffle_unit(nodes: Sequence[IRNode], shape: Shape) -> Iterator[Layer]:
    if any(n.op == "concat" for n in nodes) and any(ir_signature(n) == ("shuffle",) for n in nodes):
        strides = [c.attr("stride") for c in _convs(nodes) if c.attr("stride") != (1, 1)]
        yield {"kind": "shuffle_unit", "out_channels": nodes[-1].shape[1],
               "stride": size(strides[0]) if strides else 1}


def conv_block(nodes: Sequence[IRNode], shape: Shape) -> Iterator[Layer]:
    if any(n.op == "dropout" and n.attr("p") is not None for n in nodes):
        return  # a dropout module is a layer of its own
    unit = conv_unit([n for n in nodes if n.op not in SKIPPED])
    if unit is not None:
        yield unit


MATCHERS: tuple[Callable[[Sequence[IRNode], Shape], Iterator[Layer]], ...] = (
    conv_block, dsconv, inverted_residual, fused_mbconv, resnet_block, shuffle_unit,
)


def recognise(nodes: Sequence[IRNode], shape: Shape) -> Layer | None:
    """The first composite (or conv unit) that reproduces ``nodes`` exactly, or None."""
    for matcher in MATCHERS:
        for layer in matcher(nodes, shape):
            if reproduces(layer, nodes, shape):
                return layer
    return None
