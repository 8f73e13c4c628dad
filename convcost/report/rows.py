"""Tidy per-layer rows: one dict per layer, shared by the JSON ``layers`` and the CSV table.

The keys are fixed ASCII names. JSON rows carry every key (``null`` where a flag did not ask
for the figure); CSV writes the base columns, then only the columns the flags asked for.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from convcost.cost.graph import Node
from convcost.report.safe_text import clean

if TYPE_CHECKING:
    from convcost.conventions.convention import Counting
    from convcost.cost.memory import ModelMemory, NodeMemory
    from convcost.cost.receptive import ModelRF, ReceptiveField
    from convcost.cost.roofline import ModelEstimate
    from convcost.cost.training import Training

BASE = ("name", "parent", "kind", "op_class", "out_c", "out_h", "out_w", "out_shape", "layout",
        "params", "macs", "flops")
"""``out_c``/``out_h``/``out_w``: a C×H×W output's sizes (else null but C); ``out_shape``: the
output's sizes after the batch, of any rank (CSV: ``16x112x112``); ``layout``: what each axis
of the whole output shape is (``NCHW``, ``NCL``, ``NLC``, ...)."""
JSON_ONLY = ("depth", "count")  # depth in the tree; the --convention count (paper MACs by default)
MEMORY = ("weight_bytes", "input_bytes", "output_bytes", "mem_access_bytes", "intensity",
          "live_bytes", "memory_status")
ROOFLINE = ("time_s", "compute_s", "memory_s", "bound")
TRAINING = ("forward_macs", "grad_input_macs", "grad_weight_macs", "training_macs")
AXIS_NAMES = {1: "l", 2: "hw", 3: "dhw"}
"""The names of the spatial axes of a field of 1, 2 or 3 axes (CSV columns)."""


def rf_keys(axes: int = 2) -> tuple[str, ...]:
    """The CSV columns of a receptive field of ``axes`` axes: ``rf_size_h`` … ``rf_padding_w``."""
    return tuple(f"rf_{what}_{axis}" for what in ("size", "jump", "padding")
                 for axis in AXIS_NAMES[axes])


RF = rf_keys()
KEYS = (*BASE, *JSON_ONLY, *MEMORY, *ROOFLINE, *TRAINING, "receptive_field")


@dataclass(frozen=True)
class Figures:
    """What the flags computed for one tree: each part None when not asked for."""

    counting: Counting | None = None
    memory: ModelMemory | None = None
    estimate: ModelEstimate | None = None
    training: Training | None = None
    rfs: ModelRF | None = None  # receptive fields (JSON rows always carry them)
    rf: bool = False  # --rf: the receptive-field CSV columns
    layouts: Mapping[int, str] | None = None  # id(node) -> its output's layout (dataflow.layouts)

    def csv_columns(self) -> list[str]:
        """The base columns, then the flags' columns in a fixed order."""
        columns = list(BASE)
        if self.counting is not None and not self.counting.default:
            columns.append(count_column(self.counting))
        if self.memory is not None:
            columns += MEMORY
        if self.estimate is not None:
            columns += ROOFLINE
        if self.training is not None:
            columns += TRAINING
        if self.rf:
            columns += rf_keys(len(self.rfs.output.axes)) if self.rfs is not None else RF
        return columns


def count_column(counting: Counting) -> str:
    """The CSV name of a ``--convention``/``--flops`` count: ``thop_macs``, ``paper_flops``."""
    return f"{counting.convention.name}_{counting.unit.lower()}"


def op_class(node: Node) -> str | None:
    """The op class of a leaf as ``convcost conventions`` groups them; None for a block."""
    if node.op is None:
        return None
    from convcost.cost.registry import RULE_CLASSES, rule_keys

    return RULE_CLASSES.get(rule_keys(node.op)[0], node.label)


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def base_row(node: Node, parent: str | None, depth: int, layout: str | None = None) -> dict[str, Any]:
    from convcost.cost.layout import channel_axis, default_layout, spatial_sizes

    shape = node.output_shape
    layout = layout or default_layout(len(shape))
    hw = spatial_sizes(shape, layout) if len(layout) == len(shape) == 4 else ()
    c = shape[channel_axis(layout)] if "C" in layout and len(layout) == len(shape) else None
    return {"name": node.name, "parent": parent, "kind": node.label, "op_class": op_class(node),
            "out_c": c, "out_h": hw[0] if hw else None, "out_w": hw[1] if hw else None,
            "out_shape": list(shape[1:]), "layout": layout, "params": node.params,
            "macs": node.macs, "flops": node.flops, "depth": depth}


def memory_part(mem: NodeMemory | None) -> dict[str, Any]:
    if mem is None:
        return dict.fromkeys(MEMORY)
    return {"weight_bytes": mem.weight_bytes, "input_bytes": mem.input_bytes,
            "output_bytes": mem.output_bytes, "mem_access_bytes": mem.mem_access_bytes,
            "intensity": _float(mem.intensity), "live_bytes": mem.live_bytes,
            "memory_status": mem.status or None}


def roofline_part(node: Node, est: ModelEstimate | None) -> dict[str, Any]:
    if est is None:
        return dict.fromkeys(ROOFLINE)
    if not node.is_leaf:
        return {"time_s": float(est.seconds_of(node)), "compute_s": None, "memory_s": None,
                "bound": None}
    leaf = est.of(node)
    return {"time_s": float(leaf.seconds), "compute_s": float(leaf.compute_s),
            "memory_s": float(leaf.memory_s), "bound": leaf.bound or None}


def training_part(forward: int, grad_input: int, grad_weight: int) -> dict[str, Any]:
    return {"forward_macs": forward, "grad_input_macs": grad_input,
            "grad_weight_macs": grad_weight, "training_macs": forward + grad_input + grad_weight}


def _training_of(node: Node, result: Training | None) -> dict[str, Any]:
    if result is None:
        return dict.fromkeys(TRAINING)
    parts = [result.of(leaf) for leaf in node.leaves()]
    return training_part(sum(p.forward_macs for p in parts), sum(p.grad_input_macs for p in parts),
                         sum(p.grad_weight_macs for p in parts))


def node_row(node: Node, parent: str | None, depth: int, figures: Figures) -> dict[str, Any]:
    """Every key of :data:`KEYS` for one node of an analysed tree."""
    counting = figures.counting
    row = base_row(node, parent, depth, (figures.layouts or {}).get(id(node)))
    row["count"] = node.macs if counting is None else counting.count(node)
    row.update(memory_part(None if figures.memory is None else figures.memory.of(node)))
    row.update(roofline_part(node, figures.estimate))
    row.update(_training_of(node, figures.training))
    row["receptive_field"] = None if figures.rfs is None else rf_json(figures.rfs.of(node))
    return row


def rf_number(value: Fraction) -> int | float:
    """An exact receptive-field figure: an int, or a float when fractional."""
    return value.numerator if value.denominator == 1 else float(value)


def rf_json(rf: ReceptiveField) -> dict[str, Any]:
    """A field in JSON: a figure per axis ([h, w] of an image; ints, floats when fractional)
    and ``whole``."""
    return {"size": [rf_number(v) for v in rf.size], "jump": [rf_number(v) for v in rf.jump],
            "padding": [rf_number(v) for v in rf.padding], "whole": rf.whole}


def rf_flat(field: Mapping[str, Any] | None) -> dict[str, Any]:
    """The CSV columns of a JSON field: ``rf_size_h`` … ``rf_padding_w``."""
    if field is None:
        return dict.fromkeys(RF)
    return {f"rf_{what}_{axis}": field[what][i] for what in ("size", "jump", "padding")
            for i, axis in enumerate(AXIS_NAMES[len(field["size"])])}


def tree_rows(root: Node, figures: Figures, max_depth: int | None = None
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(leaves, blocks)`` of a tree; blocks down to ``max_depth`` (all when None)."""
    leaves: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []

    def visit(node: Node, parent: str | None, depth: int) -> None:
        if node.is_leaf:
            leaves.append(node_row(node, parent, depth, figures))
        elif max_depth is None or depth <= max_depth:
            blocks.append(node_row(node, parent, depth, figures))
        for child in node.children:
            visit(child, node.name, depth + 1)

    for child in root.children:
        visit(child, None, 1)
    return leaves, blocks


def _cell(value: Any) -> Any:
    """A CSV cell: empty for None; text with control characters escaped (safe_text)."""
    if value is None:
        return ""
    if isinstance(value, list):  # a shape
        return "x".join(map(str, value))
    return clean(value) if isinstance(value, str) else value


def tidy_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
             names: Mapping[str, str] | None = None) -> str:
    """One header, one row per entry; ``names`` maps a column to the row key it shows."""
    rename = names or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[rename.get(c, c)]) for c in columns])
    return out.getvalue()
