"""SAM's decomposed relative-position bias as torch.export records it (timm's
``vision_transformer_sam.get_decomposed_rel_pos_bias``, inlined) becomes one ``rel_pos`` op of
the ``bias`` variant reading q. Pure IR.

The ops: q ``[B, h·w, C]`` reshaped to ``[B, h, w, C]``; two einsums of it, ``bhwc,hkc->bhwk``
and ``bhwc,wkc->bhwk``, each with a table gathered by constant distances (a node that reads no
traced tensor and holds the table's params: Lh·C, Lw·C); each result unsqueezed, the two
summed (``[B, h, w, kh, kw]``) and reshaped to the bias ``[B, h·w, kh·kw]``. Each op read
only by the next; the bias keeps its name, so its readers (SDPA's mask) read the one op.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from convcost.runtime.importer.ir import IRGraph, IRNode, frozen, rewritten

EQUATIONS = ("bhwc,hkc->bhwk", "bhwc,wkc->bhwk")


def _only(graph: IRGraph, users: Mapping[str, tuple[str, ...]], name: str, op: str,
          reader: str) -> IRNode | None:
    """The node ``name`` when it is an ``op`` that ``reader`` alone reads."""
    node = graph.node(name)
    return node if node.op == op and users.get(name, ()) == (reader,) else None


def _terms(graph: IRGraph, users: Mapping[str, tuple[str, ...]],
           add: IRNode) -> list[tuple[IRNode, IRNode, IRNode]] | None:
    """(unsqueeze, einsum, table) of each of the add's two inputs, in the equations' order."""
    if len(add.inputs) != 2 or "scalar" in add.attrs:
        return None
    terms = []
    for name, equation in zip(add.inputs, EQUATIONS, strict=True):
        spread = _only(graph, users, name, "reshape", add.name)
        if spread is None or len(spread.inputs) != 1:
            return None
        einsum = _only(graph, users, spread.inputs[0], "einsum", spread.name)
        if einsum is None or einsum.attr("equation") != equation or len(einsum.inputs) != 2:
            return None
        table = graph.node(einsum.inputs[1])
        if table.inputs or not table.params or users.get(table.name, ()) != (einsum.name,):
            return None
        terms.append((spread, einsum, table))
    return terms


def _fused(graph: IRGraph, users: Mapping[str, tuple[str, ...]],
           add: IRNode) -> tuple[IRNode, frozenset[str]] | None:
    """The ``rel_pos`` node that replaces the bias reshape after ``add``, and the nodes it
    absorbs; None when the ops are not SAM's."""
    terms, readers = _terms(graph, users, add), users.get(add.name, ())
    out = graph.node(readers[0]) if len(readers) == 1 else None
    if terms is None or out is None or out.op != "reshape" or len(out.shape) != 3:
        return None
    (spread_h, einsum_h, table_h), (spread_w, einsum_w, table_w) = terms
    grid = graph.node(einsum_h.inputs[0])
    if einsum_w.inputs[0] != grid.name or grid.op != "reshape" or len(grid.inputs) != 1 \
            or set(users.get(grid.name, ())) != {einsum_h.name, einsum_w.name}:
        return None
    query = graph.node(grid.inputs[0]).shape
    if len(grid.shape) != 4 or any(t.params % grid.shape[3] for t in (table_h, table_w)):
        return None
    b, h, w, c = grid.shape
    k_size = (einsum_h.shape[-1], einsum_w.shape[-1])
    if query != (b, h * w, c) or out.shape != (b, h * w, math.prod(k_size)) \
            or spread_h.shape != (b, h, w, k_size[0], 1) or spread_w.shape != (b, h, w, 1, k_size[1]):
        return None
    attrs = dict(query=query, q_size=(h, w), k_size=k_size, cls=False, bias=True,
                 tables=(table_h.params // c, table_w.params // c))
    node = replace(out, op="rel_pos", inputs=grid.inputs, params=table_h.params + table_w.params,
                   attrs=frozen(attrs), module=add.module)
    absorbed = (add, grid, spread_h, einsum_h, table_h, spread_w, einsum_w, table_w)
    return node, frozenset(n.name for n in absorbed)


def fuse_rel_pos_biases(graph: IRGraph) -> IRGraph:
    """``graph`` with each of SAM's decomposed rel-pos biases one ``rel_pos`` op (``bias``)."""
    users = graph.consumers()
    found = (_fused(graph, users, node) for node in graph.nodes if node.op == "add")
    return rewritten(graph, (f for f in found if f is not None))
