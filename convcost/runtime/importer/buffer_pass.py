"""A buffer that an MLP runs on once, whatever the batch (ViT-RelPos's ``RelPosMlp`` over its
log-spaced coordinates ``rel_coords_log`` [2w − 1, 2w − 1, 2]): the buffer becomes a ``param`` of
no params that is not expanded to the batch (``expand: false``), and the ops that run on it,
traced without a batch axis, get one of size 1 (their dims moved by one). The spec then runs
them once, as the model does: their linears' MACs counted once at any batch, as FlopCounterMode
counts them. Pure IR.

The run ends where the model gives the tensor its batch axis (``bias.unsqueeze(0)``: no layer
then) or where an attention reads it as its mask (broadcast over the batch). A run with any
other op in it, or read by any other op, is left as it was (an opaque layer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from convcost.runtime.importer.ir import IRGraph, IRNode, frozen

LIFTED = frozenset({"linear", "act", "dropout", "identity", "reshape", "transpose", "gather"})
"""The ops a run may hold: each has the same meaning with a leading axis of 1."""


def lifted(node: IRNode) -> IRNode:
    """``node`` on a tensor with a leading axis of 1: its shape, and the dims it names, moved."""
    attrs, rank = dict(node.attrs), len(node.shape)
    if node.op == "reshape" and isinstance(attrs.get("free"), int):
        attrs["free"] += 1
    if node.op == "transpose" and attrs.get("permute"):
        attrs["dims"] = (0, *(d % rank + 1 for d in attrs["dims"]))
    elif node.op == "transpose":
        attrs["dims"] = tuple(d + 1 if d >= 0 else d for d in attrs["dims"])
    if node.op == "gather":
        attrs["dim"] += 1
    return replace(node, shape=(1, *node.shape), attrs=frozen(attrs))


def _ends(reader: IRNode, tensor: IRNode) -> bool:
    """Whether ``reader`` of the run's ``tensor`` ends the run: it gives the tensor its batch
    axis (``unsqueeze(0)``), or an attention reads it as its mask."""
    if reader.op == "reshape":
        return reader.shape == (1, *tensor.shape)
    return reader.op == "attention" and reader.inputs[3:] == (tensor.name,)


def run_from(graph: IRGraph, seed: IRNode, users: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    """The names of the ops that run on ``seed``'s output alone, ``seed`` first; None when one
    of them is no :data:`LIFTED` op or a reader neither joins nor ends the run."""
    run, pending = [seed.name], [seed]
    while pending:
        node = pending.pop()
        for name in dict.fromkeys(users.get(node.name, ())):
            reader = graph.node(name)
            if name in run or _ends(reader, node):
                continue
            if reader.op not in LIFTED or not set(reader.inputs) <= set(run) or reader.shared:
                return None
            run.append(name)
            pending.append(reader)
    return run if seed.name not in graph.outputs and not set(run) & set(graph.outputs) else None


def _seed(node: IRNode) -> bool:
    """A linear module run on a buffer alone (no traced input; its weight a parameter)."""
    return node.op == "linear" and not node.inputs and bool(node.params) and not node.shared \
        and isinstance(node.attr("in_features"), int)


def _buffer(seed: IRNode, taken: set[str]) -> IRNode:
    """The ``param`` of no params, unexpanded, that the seed linear reads."""
    name = next(n for n in (f"buffer_{i}" if i else "buffer" for i in range(len(taken) + 1))
                if n not in taken)  # fx's way: the layer is named by its module and "buffer"
    module = seed.module.rsplit(".", 1)[0] if "." in seed.module else ""  # its parent
    return IRNode(name, "param", module, (), (1, *seed.shape[:-1], seed.attr("in_features")), 0,
                  attrs=frozen(dict(expand=False)), target="buffer")


def lift_buffer_runs(graph: IRGraph) -> IRGraph:
    """``graph`` with each run of ops on a buffer alone read by a ``param`` and given a batch
    axis of 1 (:func:`run_from`)."""
    users, taken = graph.consumers(), {n.name for n in graph.nodes}
    buffers: dict[str, IRNode] = {}  # seed -> the param it reads
    moved: set[str] = set()
    for node in graph.nodes:
        run = run_from(graph, node, users) if _seed(node) else None
        if run is not None:
            buffers[node.name] = _buffer(node, taken)
            taken.add(buffers[node.name].name)
            moved.update(run)
    if not buffers:
        return graph
    nodes: list[IRNode] = []
    for node in graph.nodes:
        buffer = buffers.get(node.name)
        if buffer is not None:
            nodes.append(buffer)
            node = replace(node, inputs=(buffer.name,))
        nodes.append(lifted(node) if node.name in moved else node)
    return replace(graph, nodes=tuple(nodes))
