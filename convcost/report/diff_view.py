"""Presentation of ``convcost diff``: the totals, the changed layers, and the growth verdict.

Every format says the same: the table and markdown show the totals, then one row per layer
that is not the same (every layer with ``all_layers``), then the verdict of the growth limits;
the JSON (schema: ``convcost schema output``) and the CSV carry the same rows, exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convcost.net.diff import (
    METRIC_LABELS,
    METRICS,
    STATUSES,
    FigureChange,
    LayerChange,
    LayerFigures,
    ModelDiff,
    Profile,
    shape_text,
)
from convcost.report.render import Column, Report, View, human, percent, signed
from convcost.report.rows import tidy_csv
from convcost.report.safe_text import markdown

_NONE = "—"
_DELTA_HEADERS = {"params": "Δ params", "macs": "Δ MACs", "memory": "Δ act. memory (bytes)",
                  "latency": "Δ latency (s)"}


@dataclass(frozen=True)
class DiffView:
    """A diff and what the command was asked: growth limits and which rows to show."""

    diff: ModelDiff
    limits: Mapping[str, Fraction] = field(default_factory=dict)
    all_layers: bool = False

    @property
    def rows(self) -> tuple[LayerChange, ...]:
        return self.diff.layers if self.all_layers else self.diff.changes

    @property
    def grew(self) -> tuple[FigureChange, ...]:
        return self.diff.grew(self.limits)

    @property
    def status(self) -> str:
        """``fail`` when a figure grew beyond its limit, else ``pass``."""
        return "fail" if self.grew else "pass"


def _known(value: int | float | None) -> int | float | str:
    """A figure as a column value: exact (markdown and CSV print it so), ``—`` when unknown."""
    return _NONE if value is None else value


def _figure(value: int | float | str) -> str:
    if isinstance(value, str):
        return value
    return f"{value:.6f}" if isinstance(value, float) else human(value)


def _delta(value: int | float | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:+.6f}" if value else "0"
    return signed(value)


def ratio_text(ratio: Fraction | None) -> str:
    """``+7.13 %``; ``—`` without a base."""
    if ratio is None:
        return _NONE
    return ("+" if ratio > 0 else "") + percent(ratio)


def _limit(view: DiffView, change: FigureChange) -> str:
    pct = view.limits.get(change.metric)
    if pct is None:
        return _NONE
    verdict = "GREW" if change.grew_beyond(pct) else "ok"
    return f"{float(pct):g} %: {verdict}"


def totals_report(view: DiffView) -> Report:
    d = view.diff
    label = METRIC_LABELS
    columns = [
        Column("total", lambda c: label[c.metric], justify="left"),
        Column("A", lambda c: _known(c.before), _figure),
        Column("B", lambda c: _known(c.after), _figure),
        Column("Δ", lambda c: _known(c.change), _delta),
        Column("Δ %", lambda c: ratio_text(c.ratio)),
    ]
    if view.limits:
        columns.append(Column("limit", lambda c: _limit(view, c), justify="left"))
    counts = ", ".join(f"{d.count(s)} {s}" for s in STATUSES if s != "same" and d.count(s))
    notes = [f"A = {d.before.source or d.before.model} ({d.before.model}), "
             f"B = {d.after.source or d.after.model} ({d.after.model})",
             f"layers: {counts or 'none changed'} (of {len(d.after.layers)} in B); "
             "activation memory: the peak of live activations, "
             f"{d.after.dtype}"]
    notes += _uncounted_notes(d)
    styles = tuple("bold red" if c in view.grew else "" for c in d.totals)
    return Report(f"diff: {d.before.model} → {d.after.model}", columns, d.totals, notes, styles)


def _uncounted_notes(d: ModelDiff) -> list[str]:
    out = []
    for side, prof in (("A", d.before), ("B", d.after)):
        if prof.uncounted:
            out.append(f"{side}: {len(prof.uncounted)} layers not counted (opaque: "
                       f"{', '.join(prof.uncounted[:3])}{', …' if len(prof.uncounted) > 3 else ''}); "
                       "its MACs may be short")
    return out


def _name(row: LayerChange) -> str:
    return f"{row.old_name} → {row.name}" if row.old_name else row.name


def _shape(row: LayerChange) -> str:
    before, after = row.shapes
    if before == after or before is None or after is None:
        return shape_text(after if after is not None else before)
    return f"{shape_text(before)} → {shape_text(after)}"


def _delta_of(metric: str) -> Callable[[LayerChange], int | float | str]:
    return lambda row: _known(row.figure(metric).change)


def layers_report(view: DiffView) -> Report:
    d = view.diff
    columns = [
        Column("status", lambda r: r.status, justify="left"),
        Column("layer", _name, justify="left"),
        Column("kind", lambda r: r.kind, justify="left"),
    ]
    for metric in d.metrics:
        columns.append(Column(_DELTA_HEADERS[metric], _delta_of(metric), _delta))
        if metric == "macs" and any(x.output_shape for x in d.after.layers):  # not a baseline's
            columns.append(Column("output shape", _shape, justify="left"))
    rows = view.rows
    styles = tuple("bold red" if r.status == "added" or any((r.figure(m).change or 0) > 0
                                                            for m in view.limits) else ""
                   for r in rows)
    title = "layers of B against A" + ("" if view.all_layers else ": the changed ones")
    notes = [] if rows else ["no layer changed"]
    return Report(title, columns, rows, notes, styles)


def verdict(view: DiffView) -> str:
    """The one line that says whether a limit was crossed."""
    if not view.limits:
        return ""
    if not view.grew:
        return "convcost diff: PASS (no figure grew beyond its limit)"
    return f"convcost diff: FAIL: {grew_text(view)}"


def grew_text(view: DiffView) -> str:
    """``params +7.13 % (limit 5 %); ...``: the figures that grew beyond their limit."""
    return "; ".join(f"{METRIC_LABELS[c.metric]} {ratio_text(c.ratio)} (limit "
                     f"{float(view.limits[c.metric]):g} %)" for c in view.grew)


def diff_reports(view: DiffView, summary: bool = False) -> list[Report]:
    return [totals_report(view)] if summary else [totals_report(view), layers_report(view)]


# -- machine formats ---------------------------------------------------------------------


def _layer_json(layer: LayerFigures | None) -> dict[str, Any] | None:
    if layer is None:
        return None
    return {"name": layer.name, "kind": layer.kind, "params": layer.params, "macs": layer.macs,
            "output_shape": None if layer.output_shape is None else list(layer.output_shape),
            "memory_bytes": layer.memory, "latency_s": layer.latency_s, "counted": layer.counted}


def _change_json(change: FigureChange) -> dict[str, Any]:
    ratio = change.ratio
    return {"metric": change.metric, "before": change.before, "after": change.after,
            "change": change.change, "ratio": None if ratio is None else float(ratio)}


def _profile_json(prof: Profile) -> dict[str, Any]:
    totals = prof.totals
    return {"model": prof.model, "source": prof.source,
            "input": None if prof.input_shape is None else list(prof.input_shape),
            "dtype": prof.dtype, "layers": len(prof.layers),
            "totals": {"params": totals.params, "macs": totals.macs,
                       "peak_memory_bytes": totals.memory, "latency_s": totals.latency_s},
            "latency_model": prof.latency_label or None, "uncounted": list(prof.uncounted)}


def diff_json(view: DiffView) -> dict[str, Any]:
    d = view.diff
    limits = [{"metric": m, "percent": float(pct), "grew": d.total(m).grew_beyond(pct)}
              for m, pct in view.limits.items()]
    rows = [{"status": r.status, "name": r.name, "old_name": r.old_name, "kind": r.kind,
             "matched_by": r.matched_by, "before": _layer_json(r.before),
             "after": _layer_json(r.after),
             "changes": {m: r.figure(m).change for m in METRICS}} for r in view.rows]
    return {"status": view.status, "before": _profile_json(d.before),
            "after": _profile_json(d.after), "totals": [_change_json(c) for c in d.totals],
            "counts": {s: d.count(s) for s in STATUSES}, "all_layers": view.all_layers,
            "layers": rows, "limits": limits}


CSV_COLUMNS = ("status", "name", "old_name", "kind", "matched_by",
               *(f"{m}_{side}" for m in ("params", "macs", "memory_bytes", "latency_s")
                 for side in ("before", "after", "change")),
               "output_shape_before", "output_shape_after", "ratio", "limit_percent", "grew")
_KEYS = {"params": "params", "macs": "macs", "memory_bytes": "memory", "latency_s": "latency"}


def _csv_row(status: str, name: str, figures: Sequence[FigureChange]) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(CSV_COLUMNS)
    row.update(status=status, name=name)
    for key, metric in _KEYS.items():
        change = next((c for c in figures if c.metric == metric), None)
        if change is not None:
            row.update({f"{key}_before": change.before, f"{key}_after": change.after,
                        f"{key}_change": change.change})
    return row


def diff_csv(view: DiffView) -> str:
    """One row per shown layer, then one row per total (``status`` = ``total``) with its
    relative change, limit and verdict: the CSV says what the exit code says."""
    rows = []
    for r in view.rows:
        row = _csv_row(r.status, r.name, r.figures)
        before, after = r.shapes
        row.update(old_name=r.old_name, kind=r.kind, matched_by=r.matched_by,
                   output_shape_before=before and shape_text(before),
                   output_shape_after=after and shape_text(after))
        rows.append(row)
    for c in view.diff.totals:
        row = _csv_row("total", c.metric, [c])
        pct = view.limits.get(c.metric)
        row.update(ratio=None if c.ratio is None else f"{float(c.ratio):.6f}",
                   limit_percent=None if pct is None else f"{float(pct):g}",
                   grew=None if pct is None else c.grew_beyond(pct))
        rows.append(row)
    return tidy_csv(rows, CSV_COLUMNS)


def diff_markdown(view: DiffView, summary: bool = False) -> str:
    """For a pull-request comment or ``$GITHUB_STEP_SUMMARY``: a headline, the tables."""
    d = view.diff
    head = verdict(view).removeprefix("convcost diff: ")
    title = markdown(f"convcost diff: {d.before.model} → {d.after.model}")
    title += f": {markdown(head)}" if head else ""
    body = "\n".join(r.markdown() for r in diff_reports(view, summary))
    return f"## {title}\n\n{body}"


def diff_output(view: DiffView, summary: bool = False) -> View:
    """What ``convcost diff`` prints."""
    line = verdict(view)
    return View("diff", lambda: diff_reports(view, summary), lambda: diff_json(view),
                csv=lambda: diff_csv(view), markdown=lambda: diff_markdown(view, summary),
                after=(line,) if line else ())
