"""Presentation of ``--memory``: bytes, memory access cost, peak activations and the roofline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcost.cost.graph import Node
from convcost.cost.memory import DTYPES, ModelMemory, NodeMemory
from convcost.cost.roofline import ModelEstimate
from convcost.net.analysis import Analysis
from convcost.report.model_view import frontier, labelled_nodes
from convcost.report.render import Column, Report, human, percent, shape
from convcost.report.rows import memory_part


def _per_byte(value: Fraction | None) -> str:
    return "—" if value is None else f"{float(value):.2f}"


def _micros(value: Fraction | None) -> str:
    return "—" if value is None else f"{float(value) * 1e6:.2f}"


@dataclass(frozen=True)
class Row:
    """A table row: a node's memory, and its estimated time and bound (leaves only)."""

    label: str
    memory: NodeMemory
    seconds: Fraction | None = None
    bound: str = ""


def _row(label: str, node: Node, mem: ModelMemory, est: ModelEstimate | None) -> Row:
    if est is None:
        return Row(label, mem.of(node))
    return Row(label, mem.of(node), est.seconds_of(node), est.of(node).bound if node.is_leaf else "")


def _columns(est: ModelEstimate | None, machine: bool, bound: bool = True) -> list[Column]:
    """Columns shared by the model and layer memory tables (exact values for machines)."""
    size: Any = str if machine else human

    def head(human_header: str, machine_header: str) -> str:
        return machine_header if machine else human_header

    columns = [
        Column("params", lambda r: r.memory.params, size),
        Column(head("weights (B)", "weight_bytes"), lambda r: r.memory.weight_bytes, size),
        Column(head("input (B)", "input_bytes"), lambda r: r.memory.input_bytes, size),
        Column(head("output (B)", "output_bytes"), lambda r: r.memory.output_bytes, size),
        Column(head("mem access (B)", "mem_access_bytes"), lambda r: r.memory.mem_access_bytes,
               size),
        Column(head("FLOPs", "flops"), lambda r: r.memory.flops, size),
        Column(head("FLOPs/B", "intensity"), lambda r: r.memory.intensity, _per_byte),
        Column(head("live (B)", "live_bytes"), lambda r: r.memory.live_bytes, size),
    ]
    if est is not None:
        columns += [
            Column("time_s", lambda r: float(r.seconds)) if machine else
            Column("est. (µs)", lambda r: r.seconds, _micros),
            *([Column("bound", lambda r: r.bound, justify="left")] if bound else []),
        ]
    return columns


def _title(mem: ModelMemory, what: str) -> str:
    fused = ", BN folded" if mem.fused_bn else ""
    return f"{what}: memory at {mem.dtype} ({mem.element_bytes} B/element{fused})"


def memory_layers_report(analysis: Analysis, mem: ModelMemory, est: ModelEstimate | None,
                         depth: int | None, machine: bool) -> Report:
    if machine:
        nodes = [(node.name, node) for _, node in frontier(analysis.root, depth)]
        head = [Column("name", lambda r: r.label, justify="left"),
                Column("kind", lambda r: r.memory.node.label, justify="left")]
    else:
        nodes = labelled_nodes(analysis.root, depth)
        head = [Column("layer", lambda r: r.label, justify="left"),
                Column("kind", lambda r: r.memory.node.label, justify="left"),
                Column("output C×H×W", lambda r: r.memory.node.output_shape[1:], shape)]
    rows = [_row(label, node, mem, est) for label, node in nodes]
    styles = [_style(row, mem) for row in rows]
    return Report(_title(mem, analysis.model), [*head, *_columns(est, machine)], rows,
                  styles=styles)


def _style(row: Row, mem: ModelMemory) -> str:
    if not row.memory.node.is_leaf:
        return "bold"
    if row.memory.status:
        return "dim"
    if row.memory.node.name == mem.peak_leaf:
        return "bold red"
    return "yellow" if row.bound == "memory" else ""


def memory_totals_report(mem: ModelMemory, est: ModelEstimate | None) -> Report:
    rows: list[tuple[str, int | Fraction | None, str]] = [
        ("params" + (" (BN folded)" if mem.fused_bn else ""), mem.params, ""),
        ("MACs", mem.macs, "unchanged by folding" if mem.fused_bn else ""),
        *((f"model size, {name} (B)", size, f"{DTYPES[name]} B/param")
          for name, size in mem.sizes.items()),
        ("input (B)", mem.input_bytes, ""),
        ("output (B)", mem.output_bytes, ""),
        ("peak activations (B)", mem.peak_bytes, f"at {mem.peak_leaf}"),
        ("memory access (B)", mem.mem_access_bytes, "input + weights + output, every layer"),
        ("FLOPs / byte", mem.intensity, "whole model"),
    ]
    if est is not None:
        rows += [
            ("est. time", Seconds(est.seconds), est.roof.label),
            ("memory-bound time", Seconds(est.bound_seconds("memory")),
             percent(est.bound_seconds("memory"), est.seconds or 1) + " of the estimate"),
            ("ridge (FLOPs/B)", est.roof.ridge, "below: memory-bound"),
        ]
    columns = [
        Column("total", lambda r: r[0], justify="left"),
        Column("value", lambda r: r[1], _total_value),
        Column("exact", lambda r: r[1], _total_exact),
        Column("note", lambda r: r[2], justify="left"),
    ]
    return Report(_title(mem, "totals"), columns, rows)


def _total_value(value: int | Fraction | None) -> str:
    if isinstance(value, int):
        return human(value)
    if isinstance(value, Seconds):
        return _time(value)
    return _per_byte(value)


def _time(seconds: Fraction) -> str:
    """``0.00877…`` -> ``8.78 ms``; below a millisecond in µs."""
    for scale, unit in ((1, "s"), (Fraction(1, 1000), "ms")):
        if seconds >= scale:
            return f"{float(seconds / scale):.2f} {unit}"
    return f"{float(seconds) * 1e6:.2f} µs"


class Seconds(Fraction):
    """A time: the value column shows it in µs, the exact column in seconds."""


def _total_exact(value: int | Fraction | None) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    unit = " s" if isinstance(value, Seconds) else ""
    return "—" if value is None else f"{float(value):.9g}{unit}"


@dataclass(frozen=True)
class KindRow:
    kind: str
    layers: int
    memory_bound: int
    macs: int
    moved: int
    seconds: Fraction


def kind_rows(est: ModelEstimate) -> list[KindRow]:
    """Per leaf kind: MACs, bytes moved and estimated time (what the roofline is for)."""
    acc: dict[str, list[Any]] = {}
    for leaf, e in zip(est.memory.leaves, est.estimates, strict=True):
        if leaf.status:
            continue
        row = acc.setdefault(leaf.node.label, [0, 0, 0, 0, Fraction(0)])
        row[0] += 1
        row[1] += e.bound == "memory"
        row[2] += leaf.node.macs
        row[3] += leaf.mem_access_bytes
        row[4] += e.seconds
    return sorted((KindRow(k, *v) for k, v in acc.items()), key=lambda r: -r.seconds)


def roofline_kinds_report(est: ModelEstimate) -> Report:
    rows = kind_rows(est)
    macs = sum(r.macs for r in rows) or 1
    moved = sum(r.moved for r in rows) or 1
    columns = [
        Column("leaf kind", lambda r: r.kind, justify="left"),
        Column("memory-bound", lambda r: f"{r.memory_bound}/{r.layers}"),
        Column("% MACs", lambda r: Fraction(r.macs, macs), percent),
        Column("% bytes", lambda r: Fraction(r.moved, moved), percent),
        Column("% est. time", lambda r: r.seconds / (est.seconds or 1), percent),
    ]
    notes = ["MACs alone mislead: low-intensity layers (depthwise, BN, activations) take a far "
             "larger share of the time than of the MACs."]
    return Report(f"roofline by leaf kind: {est.roof.label}", columns, rows, notes)


def memory_reports(analysis: Analysis, mem: ModelMemory, est: ModelEstimate | None,
                   depth: int | None, machine: bool) -> list[Report]:
    reports = [memory_layers_report(analysis, mem, est, depth, machine),
               memory_totals_report(mem, est)]
    return reports + ([roofline_kinds_report(est)] if est is not None else [])


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def roofline_json(est: ModelEstimate) -> dict[str, Any]:
    return {"device": est.roof.label, "peak_gflops": float(est.roof.peak_gflops),
            "bandwidth_gbs": float(est.roof.bandwidth_gbs), "ridge": float(est.roof.ridge),
            "time_s": float(est.seconds),
            "memory_bound_time_s": float(est.bound_seconds("memory"))}


def summary_json(mem: ModelMemory, est: ModelEstimate | None) -> dict[str, Any]:
    """The model-level memory figures (no per-layer rows)."""
    data: dict[str, Any] = {
        "dtype": mem.dtype, "bytes_per_element": mem.element_bytes, "fused_bn": mem.fused_bn,
        "params": mem.params, "macs": mem.macs, "weight_bytes": mem.weight_bytes,
        "model_size_bytes": mem.sizes, "input_bytes": mem.input_bytes,
        "output_bytes": mem.output_bytes, "peak_activation_bytes": mem.peak_bytes,
        "peak_at": mem.peak_leaf, "mem_access_bytes": mem.mem_access_bytes,
        "intensity": _float(mem.intensity),
        "roofline": None if est is None else roofline_json(est),  # the key is always there
    }
    return data


# -- the layer command -----------------------------------------------------------------

def layer_memory_report(nodes: Mapping[str, Node], mems: Mapping[str, ModelMemory],
                        ests: Mapping[str, ModelEstimate] | None) -> Report:
    """One row per variant: its bytes, traffic, intensity, peak and (optionally) estimate."""
    rows = [Row(name, _whole(node, mems[name]),
                ests[name].seconds if ests else None) for name, node in nodes.items()]
    columns = [Column("variant", lambda r: r.label, justify="left"),
               *_columns(next(iter(ests.values())) if ests else None, False, bound=False)]
    notes = ["live (B) = peak activations of the variant run alone; separable writes and "
             "re-reads its depthwise output, which the memory access cost counts twice."]
    if ests:
        std = ests["standard"].seconds
        notes.append(f"estimated speed-up vs standard on {ests['standard'].roof.label}: "
                     + ", ".join(f"{name} {float(std / e.seconds):.2f}×"
                                 for name, e in ests.items() if name != "standard" and e.seconds))
    return Report(_title(next(iter(mems.values())), "variants"), columns, rows, notes,
                  styles=("", "dim", "dim", "bold green"))


def _whole(node: Node, mem: ModelMemory) -> NodeMemory:
    """A variant's totals as one row (its input, its output, the sums over its leaves)."""
    return NodeMemory(node, mem.params, mem.weight_bytes, mem.input_bytes, mem.output_bytes,
                      mem.mem_access_bytes, mem.peak_bytes)


def layer_memory_json(mems: Mapping[str, ModelMemory],
                      ests: Mapping[str, ModelEstimate] | None) -> dict[str, Any]:
    """The ``memory`` key of ``layer --format json``: one entry per variant."""
    return {name: summary_json(mem, ests[name] if ests else None) for name, mem in mems.items()}


def variant_memory_parts(nodes: Mapping[str, Node], mems: Mapping[str, ModelMemory],
                         ests: Mapping[str, ModelEstimate] | None) -> dict[str, dict[str, Any]]:
    """Each variant's memory (and roofline time) row keys, the variant taken as a whole."""
    parts = {}
    for name, node in nodes.items():
        part = memory_part(_whole(node, mems[name]))
        if ests is not None:
            part["time_s"] = float(ests[name].seconds)
        parts[name] = part
    return parts
