"""``y.expand_as(x)`` read only by a ``mul`` that broadcasts it (ECA's gate ``x * y.expand_as(x)``)
is the broadcast the ``mul`` does itself: the ``mul`` reads ``y``. Pure IR.

``expand_as`` is a view (no work, no params); the ``mul``'s output keeps the expanded shape, so
its count does not change. Any other reader keeps the ``expand_as`` (an opaque layer, flagged).
"""

from __future__ import annotations

from dataclasses import replace

from convcost.runtime.importer.ir import IRGraph, IRNode

EXPAND_AS = ("Tensor.expand_as", "aten.expand_as")  # x.expand_as(y): fx, torch.export (no kind)


def _broadcasts(small: tuple[int, ...], big: tuple[int, ...]) -> bool:
    return len(small) == len(big) and all(s in (b, 1) for s, b in zip(small, big, strict=True))


def _gate_only(node: IRNode, readers: list[IRNode], source: IRNode) -> bool:
    return bool(readers) and _broadcasts(source.shape, node.shape) and all(
        r.op == "mul" and len(r.inputs) == 2 and "scalar" not in r.attrs and r.shape == node.shape
        for r in readers)


def drop_broadcast_expands(graph: IRGraph) -> IRGraph:
    """``graph`` with each ``expand_as`` that only broadcasting ``mul``s read dropped."""
    users = graph.consumers()
    gone: dict[str, str] = {}  # the expand_as -> the tensor it expanded
    for node in graph.nodes:
        if node.target not in EXPAND_AS or node.params or not node.inputs:
            continue
        readers = [graph.node(r) for r in users.get(node.name, ())]
        if _gate_only(node, readers, graph.node(node.inputs[0])):
            gone[node.name] = node.inputs[0]
    if not gone:
        return graph
    return replace(graph, nodes=tuple(replace(n, inputs=tuple(gone.get(t, t) for t in n.inputs))
                                      for n in graph.nodes if n.name not in gone))
