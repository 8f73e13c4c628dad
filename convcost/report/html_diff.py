"""Diff mode of ``convcost report A --against B``: the matching of :mod:`convcost.net.diff`
(B before, A after) laid onto A's layers, in the report's (execution) order. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from convcost.cost.dataflow import trace
from convcost.cost.graph import Node
from convcost.net.diff import LayerChange, ModelDiff, shape_text
from convcost.report.render import signed

STATUSES = ("added", "changed", "renamed", "same")
"""What a layer of A may be against B (a removed layer is B's: listed, not drawn)."""


@dataclass(frozen=True)
class DiffMarks:
    """Each layer's status and what changed (aligned with the report's layers), and the
    baseline's layers that the model lacks (removed)."""

    against: str
    status: tuple[str, ...]
    changes: tuple[str, ...]
    removed: tuple[str, ...]

    def count(self, status: str) -> int:
        return self.status.count(status)


def change_text(row: LayerChange) -> str:
    """``params +1.20 K, MACs +3.61 M, output 1×24×56×56 → 1×32×56×56, was stage1.conv``."""
    parts = [f"{what} {signed(int(fig.change))}" for what, fig in
             (("params", row.figure("params")), ("MACs", row.figure("macs")))
             if row.status == "changed" and fig.change]
    before, after = row.shapes
    if row.status == "changed" and before is not None and after is not None and before != after:
        parts.append(f"output {shape_text(before)} → {shape_text(after)}")
    if row.before is not None and row.after is not None and row.before.kind != row.after.kind:
        parts.append(f"kind {row.before.kind} → {row.after.kind}")
    if row.old_name is not None:
        parts.append(f"was {row.old_name}")
    return ", ".join(parts)


def diff_marks(result: ModelDiff, root: Node, against: str) -> DiffMarks:
    """Lay ``result`` (whose ``after`` is the profile of ``root``, in ``root.leaves()`` order)
    onto the report's layers: the leaves of ``root`` in execution order."""
    order = [step.node for step in trace(root).steps]
    by_figures = {id(row.after): row for row in result.layers if row.after is not None}
    by_node = {id(leaf): by_figures[id(figures)]
               for leaf, figures in zip(root.leaves(), result.after.layers, strict=True)}
    rows = [by_node[id(node)] for node in order]
    return DiffMarks(against, tuple(row.status for row in rows), tuple(change_text(r) for r in rows),
                     tuple(r.name for r in result.layers if r.status == "removed"))
