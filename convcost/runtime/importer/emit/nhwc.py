"""Channels-last stretches: ``x.permute(0, 2, 3, 1)``, ops on the last axis, and back.

ConvNeXt (and any model written NHWC for its 1×1 layers) permutes to channels-last, runs
``nn.Linear``/``nn.LayerNorm``/activations on the channel axis and permutes back. Each such
op is the spec's op on NCHW: a ``linear`` over the channels is a ``linear`` with
``per_position`` (params Cin·Cout + Cout, MACs H·W·Cin·Cout), a ``layernorm`` over the
channels is ``layernorm``. The permutes themselves cost nothing and write no layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from convcost.runtime.importer.emit.leaves import Layer, leaf_layers
from convcost.runtime.importer.ir import IRGraph, IRNode, Shape

TO_NHWC = (0, 2, 3, 1)
TO_NCHW = (0, 3, 1, 2)
_ELEMENTWISE = frozenset({"act", "dropout", "identity"})


def permutes(node: IRNode, dims: tuple[int, ...]) -> bool:
    """Whether ``node`` permutes a 4-D tensor by ``dims``."""
    return node.op == "transpose" and len(node.shape) == 4 and tuple(node.attr("dims", ())) == dims


def to_nchw(shape: Shape) -> Shape:
    """``[N, H, W, C]`` -> ``[N, C, H, W]``."""
    return (shape[0], shape[3], shape[1], shape[2])


def nhwc_layers(node: IRNode, shape: Shape) -> list[Layer] | None:
    """The spec layers of ``node`` on a channels-last view of an NCHW ``shape`` ([] for the
    permute back); None if none."""
    if permutes(node, TO_NCHW):
        return []
    if len(node.shape) != 4:
        return None
    if node.op == "linear":
        layer: Layer = {"kind": "linear", "out_features": node.attr("out_features"), "per_position": True}
        return [layer if node.attr("bias") else {**layer, "bias": False}]
    if node.op == "mul" and len(node.inputs) == 1 and node.params == shape[1] and "scalar" not in node.attrs:
        return [{"kind": "layer_scale"}]  # γ · x, γ of the C channels (EdgeNeXt's ConvEncoder)
    if node.op == "layernorm" and tuple(node.attr("normalized", ())) == (shape[1],):
        norm: Layer = {"kind": "layernorm"}
        return [norm if node.attr("affine", True) else {**norm, "affine": False}]
    return leaf_layers(node, shape) if node.op in _ELEMENTWISE else None


def wrapped(nodes: Sequence[IRNode]) -> IRNode | None:
    """The one op of a ``permute -> op -> permute back`` group (torchvision's LayerNorm2d)."""
    if len(nodes) == 3 and permutes(nodes[0], TO_NHWC) and permutes(nodes[2], TO_NCHW):
        return nodes[1]
    return None


def nhwc_after(node: IRNode, layers: list[Layer], nhwc: bool) -> bool:
    """Whether ``node``'s output is a channels-last view, given its ``layers`` and whether its
    input is one: still (any op but the permute back), or now (a permute to it that wrote none)."""
    return not permutes(node, TO_NCHW) if nhwc else layers == [] and permutes(node, TO_NHWC)


_STRUCTURAL = frozenset({"transpose", "reshape", "view", "roll", "pad", "window_partition",
                         "window_reverse", "shifted_window_attention", "patch_merge", "matmul",
                         "attention", "flatten", "unflatten", "chunk", "split", "concat"})


def opens_view(graph: IRGraph, readers: Mapping[str, tuple[str, ...]], node: IRNode) -> bool:
    """Whether ``node`` permutes to channels-last and every path from it runs through 4-D
    per-position ops into a permute back (ConvNeXt's block): a view of an NCHW tensor, no layer;
    else (Swin, channels-last to its head, windows and attention on the way) a ``permute`` layer."""
    if not permutes(node, TO_NHWC):
        return False
    seen, pending = {node.name}, [node.name]
    while pending:
        tensor = pending.pop()
        if tensor in graph.outputs:
            return False
        for name in readers.get(tensor, ()):
            node = graph.node(name)
            if permutes(node, TO_NCHW):
                continue
            if len(node.shape) != 4 or node.op in _STRUCTURAL:
                return False
            if name not in seen:
                seen.add(name)
                pending.append(name)
    return True
