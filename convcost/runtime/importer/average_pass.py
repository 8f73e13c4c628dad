"""Averaged heads: ``(head(x) + head_dist(x)) / 2`` (DeiT, LeViT, RepViT distilled models) and
``torch.mean(torch.stack(heads, dim=0), dim=0)`` (CrossViT) become one ``average`` of the heads;
summed heads, ``torch.stack(logits).sum(0)`` (EfficientViM's), one ``add`` of them. Pure IR.

The add must sum n tensors of its own shape and be read by the division alone, which divides
by the constant n; the stack must put n tensors of one shape on a new first dim, read by a mean
over that dim alone (both zero MACs, as the average's add and division).
"""

from __future__ import annotations

from dataclasses import replace

from convcost.runtime.importer.ir import IRGraph, IRNode, frozen


def _averaged(add: IRNode, div: IRNode, graph: IRGraph) -> bool:
    shapes = [graph.node(t).shape for t in add.inputs]
    count = len(add.inputs)
    return (add.op == "add" and "scalar" not in add.attrs and count > 1 and div.inputs == (add.name,)
            and div.attr("scalar") == count and all(s == add.shape for s in shapes))


def _stacked(stack: IRNode, mean: IRNode, graph: IRGraph, op: str = "mean") -> bool:
    shapes = [graph.node(t).shape for t in stack.inputs]
    return (stack.op == "stack" and stack.attr("dim") == 0 and len(shapes) > 1
            and mean.op == op and mean.inputs == (stack.name,)
            and tuple(mean.attr("dims", ())) in ((0,), (-len(stack.shape),))
            and not mean.attr("keepdim") and mean.attr("dtype") is None
            and all(s == mean.shape for s in shapes))


def fuse_averages(graph: IRGraph) -> IRGraph:
    """``graph`` with each add that only a division by its input count reads, and each stack on a
    new first dim that only a mean over it reads, made an ``average``; a stack only a sum over
    that dim reads, an ``add``."""
    users = graph.consumers()
    fused: dict[str, IRNode] = {}  # the add's name -> the average that replaces its division
    for node in graph.nodes:
        readers = users.get(node.name, ())
        reader = graph.node(readers[0]) if len(readers) == 1 else None
        if reader is None:
            continue
        if _averaged(node, reader, graph) or _stacked(node, reader, graph):
            fused[node.name] = replace(reader, op="average", inputs=node.inputs, attrs=frozen({}),
                                       module=node.module)
        elif _stacked(node, reader, graph, "sum"):
            fused[node.name] = replace(reader, op="add", inputs=node.inputs, attrs=frozen({}),
                                       module=node.module)
    if not fused:
        return graph
    averages = {a.name: a for a in fused.values()}
    return replace(graph, nodes=tuple(averages.get(n.name, n) for n in graph.nodes if n.name not in fused))
