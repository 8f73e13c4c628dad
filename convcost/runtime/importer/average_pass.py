"""Averaged heads: ``(head(x) + head_dist(x)) / 2`` (DeiT, LeViT, RepViT distilled models)
becomes one ``average`` of the heads. Pure IR.

The add must sum n tensors of its own shape and be read by the division alone, which divides
by the constant n.
"""

from __future__ import annotations

from dataclasses import replace

from convcost.runtime.importer.ir import IRGraph, IRNode, frozen


def _averaged(add: IRNode, div: IRNode, graph: IRGraph) -> bool:
    shapes = [graph.node(t).shape for t in add.inputs]
    count = len(add.inputs)
    return (add.op == "add" and "scalar" not in add.attrs and count > 1 and div.inputs == (add.name,)
            and div.attr("scalar") == count and all(s == add.shape for s in shapes))


def fuse_averages(graph: IRGraph) -> IRGraph:
    """``graph`` with each add that only a division by its input count reads made an ``average``."""
    users = graph.consumers()
    fused: dict[str, IRNode] = {}  # the add's name -> the average that replaces its division
    for node in graph.nodes:
        readers = users.get(node.name, ())
        if node.op == "add" and len(readers) == 1 and _averaged(node, graph.node(readers[0]), graph):
            div = graph.node(readers[0])
            fused[node.name] = replace(div, op="average", inputs=node.inputs, attrs=frozen({}),
                                       module=node.module)
    if not fused:
        return graph
    averages = {a.name: a for a in fused.values()}
    return replace(graph, nodes=tuple(averages.get(n.name, n) for n in graph.nodes if n.name not in fused))
