"""A tuple's item that no op and no output reads is dropped: fx keeps the ``getitem`` of an
unpacking whether or not its name is used (``x, _ = self.lstm(x)``: the LSTM's last states).
It is a view of a tuple: no work, no params. Pure IR."""

from __future__ import annotations

from dataclasses import replace

from convcost.runtime.importer.ir import IRGraph


def drop_unread_items(graph: IRGraph) -> IRGraph:
    """``graph`` without the ``getitem`` nodes nothing reads."""
    users = graph.consumers()
    unread = {n.name for n in graph.nodes
              if n.op == "getitem" and not users.get(n.name) and n.name not in graph.outputs}
    return replace(graph, nodes=tuple(n for n in graph.nodes if n.name not in unread)) if unread else graph
