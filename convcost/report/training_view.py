"""Presentation of ``--training``: forward, grad-input and grad-weight MACs per layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from convcost.cost.graph import Node
from convcost.cost.training import Training
from convcost.cost.value import FLOPS_PER_MAC
from convcost.net.analysis import Analysis
from convcost.report.model_view import frontier, labelled_nodes
from convcost.report.render import Column, Report, human

NOTE = ("grad-input = grad-weight = forward MACs per conv/linear (any groups); matmul, attention: "
        "each matmul again per operand needing a gradient; none before the first parameter. "
        "FLOPs = 2 × MACs.")


def lower_bound_note(result: Training) -> str | None:
    """One line when some leaf's backward is not counted (no backward rule, an opaque layer):
    the backward and training totals are then lower bounds."""
    if result.complete:
        return None
    kinds = ", ".join(f"{kind} ×{n}" for kind, n in sorted(result.no_backward_rule.items()))
    return (f"LOWER BOUND: the training MACs leave out the backward of {kinds} (no backward "
            "rule, or an opaque layer)")


@dataclass(frozen=True)
class Row:
    label: str
    kind: str
    forward: int
    grad_input: int
    grad_weight: int

    @property
    def total(self) -> int:
        return self.forward + self.grad_input + self.grad_weight


def _row(label: str, node: Node, result: Training) -> Row:
    parts = [result.of(leaf) for leaf in node.leaves()]
    return Row(label, node.label, sum(p.forward_macs for p in parts),
               sum(p.grad_input_macs for p in parts), sum(p.grad_weight_macs for p in parts))


def _columns(machine: bool) -> list[Column]:
    size: Any = str if machine else human
    names = (("forward_macs", "grad_input_macs", "grad_weight_macs", "total_macs") if machine
             else ("forward MACs", "grad-input MACs", "grad-weight MACs", "training MACs"))
    values = (lambda r: r.forward, lambda r: r.grad_input, lambda r: r.grad_weight,
              lambda r: r.total)
    return [Column(name, value, size) for name, value in zip(names, values, strict=True)]


def training_reports(analysis: Analysis, result: Training, depth: int | None,
                     machine: bool) -> list[Report]:
    if machine:
        nodes = [(node.name, node) for _, node in frontier(analysis.root, depth)]
    else:
        nodes = labelled_nodes(analysis.root, depth)
    rows = [_row(label, node, result) for label, node in nodes]
    columns = [Column("name" if machine else "layer", lambda r: r.label, justify="left"),
               Column("kind", lambda r: r.kind, justify="left"), *_columns(machine)]
    styles = ["" if node.is_leaf else "bold" for _, node in nodes]
    layers = Report(f"{analysis.model}: training (forward + backward)", columns, rows,
                    styles=styles)
    return [layers, totals_report(analysis.model, result)]


def totals_report(name: str, result: Training) -> Report:
    rows = [("forward", result.forward_macs), ("grad-input", result.grad_input_macs),
            ("grad-weight", result.grad_weight_macs), ("backward", result.backward_macs),
            ("training step", result.total_macs),
            ("training step FLOPs (2 × MACs)", FLOPS_PER_MAC * result.total_macs)]
    columns = [Column("total", lambda r: r[0], justify="left"),
               Column("MACs", lambda r: r[1], human), Column("exact", lambda r: f"{r[1]:,}")]
    ratio = result.total_macs / result.forward_macs if result.forward_macs else 0.0
    short = lower_bound_note(result)
    return Report(f"{name}: training totals ({ratio:.3f}× forward)", columns, rows,
                  [NOTE] if short is None else [short, NOTE])


def training_json(result: Training) -> dict[str, Any]:
    """The model-level (or one variant's) training totals."""
    return {
        "forward_macs": result.forward_macs, "grad_input_macs": result.grad_input_macs,
        "grad_weight_macs": result.grad_weight_macs, "backward_macs": result.backward_macs,
        "total_macs": result.total_macs, "total_flops": FLOPS_PER_MAC * result.total_macs,
        "complete": result.complete, "no_backward_rule": dict(result.no_backward_rule),
    }


def layer_training_report(results: Mapping[str, Training]) -> Report:
    rows = [Row(name, "", r.forward_macs, r.grad_input_macs, r.grad_weight_macs)
            for name, r in results.items()]
    columns = [Column("variant", lambda r: r.label, justify="left"), *_columns(False)]
    notes = ["each variant as an inner layer: its input needs a gradient. " + NOTE]
    return Report("variants: training (forward + backward)", columns, rows, notes,
                  styles=("", "dim", "dim", "bold green"))
