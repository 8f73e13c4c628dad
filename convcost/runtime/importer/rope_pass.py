"""A rotary position embedding applied to a tensor becomes one ``rope`` node. Pure IR.

timm's ``apply_rot_embed_cat(x, emb, half=True)`` (EVA, DINOv3, Qwen3-VL, DeepSeek) and HF's
``apply_rotary_pos_emb`` trace to ``x * cos + cat([-x2, x1], -1) * sin``, with ``x1, x2`` the
halves of x's last dim (``x.chunk(2, -1)`` or two slices); with ``half=False`` (EVA-02) the
rotation is ``stack([-x[..., 1::2], x[..., ::2]], -1).reshape(x.shape)``; and ``cos``/``sin`` **tables**:
tensors no input and no parameter reaches (computed from the token grid: ``_build_grid``,
sin, cos; or from buffers alone, which the tracer folds into the ``mul`` as its state). That
``add`` becomes a ``rope`` node reading ``x``; its ``mul``s, the ``neg``/``cat`` of the
rotation and the tables no other op reads are dropped (they hold no parameter and no MAC:
FlopCounterMode counts none of them). A table made with MACs (Gemma4's angles,
``inv_freq @ positions``: a matmul FlopCounterMode counts) stays, read by the rope after ``x``,
and what it reads, a table made with none, is a ``param`` of no params (a buffer).

Around it: a dtype cast (``.to(dtype)``, ``.type_as(v)``) of a tensor keeps its shape and
holds no MAC: it is an ``identity`` of the tensor (of a parameter read directly, Qwen3's
``pos_embed.to(x.dtype)``: a ``param``); a ``cat`` with an empty tensor (``q[:, :, :0]``,
no prefix token) is the other tensor. Any other form stays as it was (opaque, flagged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from convcost.cost.ops.rope import NEGATIONS
from convcost.runtime.importer.ir import IRGraph, IRNode, frozen
from convcost.runtime.importer.selfcheck import node_macs

CASTS = frozenset({"Tensor.to", "Tensor.type_as", "Tensor.float", "Tensor.type", "aten.to", "aten.type_as"})
"""x.to(dtype), x.type_as(y), x.float(): a cast, no shape change (fx and torch.export names)."""


# the opaque ops (fx and aten names, last part) FlopCounterMode counts: a table one makes is
# none (its MACs are not known, so it cannot be kept as a counted layer)
_CONTRACTIONS = frozenset({"matmul", "mm", "bmm", "einsum", "linear", "addmm", "baddbmm",
                           "conv1d", "conv2d", "conv3d", "convolution"})


def tables(graph: IRGraph) -> frozenset[str]:
    """The tensors no model input and no parameter reaches (sin/cos tables, grids), made with
    MACs too (Gemma4's ``inv_freq @ positions``, a matmul FlopCounterMode counts: a rope reads
    it, :func:`sources`, so that it is counted); none made by an opaque contraction."""
    found: set[str] = set()
    for node in graph.nodes:
        if node.op != "input" and not node.params and not node.shared \
                and all(t in found for t in node.inputs) \
                and not (node.op == "opaque" and node.target.rsplit(".", 1)[-1] in _CONTRACTIONS):
            found.add(node.name)
    return frozenset(found)


def sources(graph: IRGraph, names: Sequence[str], constant: frozenset[str]) -> tuple[str, ...]:
    """The tables made with MACs that the tables ``names`` are computed from, in graph order."""
    found: set[str] = set()
    seen: set[str] = set()
    stack = [n for n in names if n in constant]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph.node(name)
        if node_macs(node):
            found.add(name)
        else:
            stack.extend(t for t in node.inputs if t in constant)
    return tuple(n.name for n in graph.nodes if n.name in found)


def _halves(graph: IRGraph, a: IRNode, b: IRNode) -> str | None:
    """The tensor ``a`` and ``b`` are the first and second halves of (its last dim), or None."""
    if a.inputs[:1] != b.inputs[:1] or len(a.inputs) != 1:
        return None
    if a.op == b.op == "getitem":
        source = graph.node(a.inputs[0])
        last = len(source.shape) - 1
        if source.op == "chunk" and source.attr("dim") == last and len(source.attr("sizes", ())) == 2 \
                and (a.attr("index"), b.attr("index")) == (0, 1):
            return source.inputs[0]
        return None
    if a.op == b.op == "slice":
        x = graph.node(a.inputs[0])
        d, last = x.shape[-1], len(x.shape) - 1
        half = (*x.shape[:-1], d // 2)
        bounds = [(n.attr("dim"), n.attr("start"), n.attr("end"), n.attr("step", 1)) for n in (a, b)]
        read = all(n.attr("start") is None for n in (a, b)) \
            or bounds == [(last, 0, d // 2, 1), (last, d // 2, d, 1)]  # fx slices of traced sizes: none
        return x.name if read and a.shape == b.shape == half and a.name != b.name and not d % 2 else None
    return None


def _negated_first(graph: IRGraph, node: IRNode, op: str) -> tuple[IRNode, IRNode] | None:
    """``cat([-a, b], -1)`` / ``stack([-a, b], -1)`` (``op``): ``(the negation, b)``, or None."""
    if node.op != op or len(node.inputs) != 2 or node.attr("dim") not in (-1, len(node.shape) - 1):
        return None
    neg, other = graph.node(node.inputs[0]), graph.node(node.inputs[1])
    if neg.op != "opaque" or neg.target not in NEGATIONS or len(neg.inputs) != 1:
        return None
    return neg, other


def _strided(node: IRNode, start: int) -> bool:
    """``x[..., start::2]``: every other element of the last dim."""
    rank = len(node.shape)
    return node.op == "slice" and len(node.inputs) == 1 and node.attr("dim") == rank - 1 \
        and node.attr("start") == start and node.attr("step") == 2


def _interleaved(graph: IRGraph, name: str) -> tuple[str, tuple[str, ...]] | None:
    """timm's ``rot(x)``: ``stack([-x[..., 1::2], x[..., ::2]], -1).reshape(x.shape)``:
    ``(x, the nodes of the rotation)``, or None."""
    shaped = graph.node(name)
    if shaped.op != "reshape" or len(shaped.inputs) != 1:
        return None
    stack = graph.node(shaped.inputs[0])
    pair = _negated_first(graph, stack, "stack")
    if pair is None:
        return None
    neg, even = pair
    odd = graph.node(neg.inputs[0])
    if not (_strided(odd, 1) and _strided(even, 0)) or odd.inputs != even.inputs \
            or graph.node(even.inputs[0]).shape != shaped.shape:
        return None
    return even.inputs[0], (shaped.name, stack.name, neg.name, odd.name, even.name)


def _rotated(graph: IRGraph, name: str) -> tuple[str, tuple[str, ...]] | None:
    """``cat([-x2, x1], -1)``: ``(x, the nodes of the rotation)``, or None."""
    cat = graph.node(name)
    pair = _negated_first(graph, cat, "concat")
    if pair is None:
        return None
    neg, first = pair
    second = graph.node(neg.inputs[0])
    x = _halves(graph, first, second)
    if x is None:
        return None
    parts = (cat.name, neg.name, first.name, second.name, *first.inputs[:1])
    return x, tuple(p for p in dict.fromkeys(parts) if p != x)


def _product(node: IRNode, constant: frozenset[str]) -> str | None:
    """The tensor a ``mul`` multiplies by a table (or by module state: a table computed from
    buffers alone, which the tracer folds into the op), or None."""
    if node.op != "mul" or "scalar" in node.attrs or node.params:
        return None
    if len(node.inputs) == 1 and node.attr("state"):
        return node.inputs[0]
    if len(node.inputs) != 2:
        return None
    a, b = node.inputs
    if (a in constant) == (b in constant):
        return None
    return b if a in constant else a


def _rope(graph: IRGraph, add: IRNode,
          constant: frozenset[str]) -> tuple[str, bool, tuple[str, ...]] | None:
    """``x·cos + rotate(x)·sin`` ending on ``add``: ``(x, rotate_half or interleaved, its other
    nodes)``, or None."""
    if add.op != "add" or len(add.inputs) != 2 or "scalar" in add.attrs or add.params:
        return None
    for plain, turned in (add.inputs, add.inputs[::-1]):
        x, r = _product(graph.node(plain), constant), _product(graph.node(turned), constant)
        if x is None or r is None or graph.node(x).shape != add.shape:
            continue
        for half, form in ((True, _rotated), (False, _interleaved)):
            rotation = form(graph, r)
            if rotation is not None and rotation[0] == x:
                return x, half, (plain, turned, *rotation[1])
    return None


def _cast(node: IRNode, graph: IRGraph) -> bool:
    return node.op == "opaque" and node.target in CASTS and bool(node.inputs) and not node.params \
        and graph.node(node.inputs[0]).shape == node.shape


def _empty(graph: IRGraph, name: str) -> bool:
    return 0 in graph.node(name).shape


def _rewritten(graph: IRGraph, constant: frozenset[str]) -> tuple[list[IRNode], set[str]]:
    """The nodes with each rotation one ``rope``, casts identities; the nodes it dropped."""
    nodes: list[IRNode] = []
    dropped: set[str] = set()
    for node in graph.nodes:
        found = _rope(graph, node, constant)
        if found is not None:
            x, half, parts = found
            read = [t for mul in parts[:2] for t in graph.node(mul).inputs]  # x, its tables
            nodes.append(replace(node, op="rope", inputs=(x, *sources(graph, read, constant)),
                                 attrs=frozen({"half": half}),
                                 target=f"x * cos + {'rotate_half' if half else 'rot'}(x) * sin"))
            dropped.update(parts)
        elif _cast(node, graph):
            nodes.append(replace(node, op="identity", inputs=node.inputs[:1], attrs=frozen({})))
        elif node.op == "opaque" and node.target in CASTS and not node.inputs and node.params:
            nodes.append(replace(node, op="param", attrs=frozen({})))  # pos_embed.to(x.dtype)
        elif node.op == "concat" and len(node.inputs) > 1 and any(_empty(graph, t) for t in node.inputs) \
                and not all(_empty(graph, t) for t in node.inputs):
            kept = tuple(t for t in node.inputs if not _empty(graph, t))
            nodes.append(replace(node, op="identity", inputs=kept, attrs=frozen({})) if len(kept) == 1
                         else replace(node, inputs=kept))
        else:
            nodes.append(node)
    return nodes, dropped


def _unread(nodes: Sequence[IRNode], outputs: Sequence[str], droppable: set[str]) -> set[str]:
    """``droppable`` nodes nothing kept reads, found from the end."""
    counts: dict[str, int] = {}
    for node in nodes:
        for t in node.inputs:
            counts[t] = counts.get(t, 0) + 1
    gone: set[str] = set()
    for node in reversed(nodes):
        if node.name in droppable and not counts.get(node.name) and node.name not in outputs:
            gone.add(node.name)
            for t in node.inputs:
                counts[t] -= 1
    return gone


def _as_buffers(graph: IRGraph, nodes: list[IRNode], constant: frozenset[str]) -> list[IRNode]:
    """``nodes`` with what a table made with MACs reads (a table made with none: Gemma4's
    ``inv_freq`` expanded, the positions) a ``param`` of no params, a buffer it reads."""
    counted = {t for node in nodes if node.op == "rope" for t in node.inputs[1:]}
    buffers = {t for name in counted for t in graph.node(name).inputs
               if t in constant and not sources(graph, [t], constant)}
    return [replace(n, op="param", inputs=(), attrs=frozen({"buffer": True})) if n.name in buffers
            else n for n in nodes]


def fuse_ropes(graph: IRGraph) -> IRGraph:
    """``graph`` with each rotary embedding one ``rope`` node (see the module docstring)."""
    constant = tables(graph)
    nodes, dropped = _rewritten(graph, constant)
    nodes = _as_buffers(graph, nodes, constant)
    if nodes == list(graph.nodes):
        return graph
    empty = {n.name for n in nodes if 0 in n.shape and not n.params}
    gone = _unread(nodes, graph.outputs, dropped | set(constant) | empty)
    return replace(graph, nodes=tuple(n for n in nodes if n.name not in gone))
