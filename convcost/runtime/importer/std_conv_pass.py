"""A conv whose weight is standardised first (timm's ``StdConv2d``, ``ScaledStdConv2d``: the
weight parameter reshaped to ``[1, Cout, -1]``, ``F.batch_norm`` in training mode, optionally
times a gain, reshaped back) becomes one ``std_conv`` node. Pure IR.

The ops computing the weight must all be of the conv's module, read nothing but parameters,
be read by nothing else, include one batch norm, and hold exactly the conv's weight (and a
gain of ``Cout``) in params; anything else stays as it was (an opaque layer, never a guess).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from convcost.runtime.importer.ir import IRGraph, IRNode, frozen


def _weight_ops(graph: IRGraph, users: Mapping[str, tuple[str, ...]], conv: IRNode) -> list[IRNode] | None:
    """The ops that compute ``conv``'s weight from parameters alone; None when they do not."""
    if len(conv.inputs) != 2:
        return None
    found: dict[str, IRNode] = {}
    pending = [conv.inputs[1]]
    while pending:
        node = graph.node(pending.pop())
        if node.op == "input" or node.module != conv.module:  # shared: reshape_as reads the weight
            return None
        found[node.name] = node
        pending += [t for t in node.inputs if t not in found]
    inside = {*found, conv.name}
    if any(r not in inside for name in found for r in users.get(name, ())):
        return None
    return list(found.values())


def _std_conv(graph: IRGraph, users: Mapping[str, tuple[str, ...]], conv: IRNode) -> IRNode | None:
    ops = _weight_ops(graph, users, conv)
    a = conv.attrs
    if ops is None or sum(n.op == "bn" for n in ops) != 1:
        return None
    weight = a["out_channels"] * a["in_channels"] // a["groups"] * math.prod(a["kernel"])
    held = sum(n.params for n in ops)
    if held not in (weight, weight + a["out_channels"]):
        return None
    return replace(conv, op="std_conv", inputs=conv.inputs[:1], params=conv.params + held,
                   attrs=frozen({**a, "gain": held != weight}))


def fuse_std_convs(graph: IRGraph) -> IRGraph:
    """``graph`` with each weight-standardised conv one ``std_conv`` node."""
    users = graph.consumers()
    fused: dict[str, IRNode] = {}
    gone: set[str] = set()
    for node in graph.nodes:
        std = _std_conv(graph, users, node) if node.op == "conv" else None
        if std is not None:
            fused[node.name] = std
            gone.update(n.name for n in _weight_ops(graph, users, node) or ())
    if not fused:
        return graph
    return replace(graph, nodes=tuple(fused.get(n.name, n) for n in graph.nodes if n.name not in gone))
