"""Presentation of ``convcost conventions``: the totals side by side, the gaps by op class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convcost.conventions.explain import ConventionTotal, Explanation
from convcost.conventions.rules import PAPER
from convcost.report.render import Column, Report, View, human, percent, shape, signed


def _gap_percent(row: ConventionTotal) -> str:
    ratio = row.gap_ratio
    return "—" if ratio is None else ("+" if ratio > 0 else "") + percent(ratio)


def _or_dash(show: Callable[[int], str]) -> Callable[[int | str], str]:
    """Show a number, or a ``—`` placeholder as it is (also in CSV and markdown)."""
    return lambda value: value if isinstance(value, str) else show(value)


def totals_report(exp: Explanation) -> Report:
    columns = [
        Column("convention", lambda r: r.name, justify="left"),
        Column("unit", lambda r: r.convention.unit, justify="left"),
        Column("total", lambda r: r.total, human),
        Column("Δ vs paper", lambda r: "—" if r.convention is PAPER else r.gap, _or_dash(signed)),
        Column("Δ %", lambda r: "—" if r.convention is PAPER else _gap_percent(r)),
        Column("params", lambda r: "—" if r.params is None else r.params, _or_dash(human)),
    ]
    tools = ", ".join(row.convention.tool for row in exp.rows if row.convention.tool)
    notes = ["Δ: the gap to paper in the convention's unit (torch: FLOPs vs 2 × paper MACs)",
             f"tools: {tools}"]
    title = f"{exp.model}: input {shape(exp.input_shape)}, total per counting convention"
    return Report(title, columns, exp.rows, notes)


def explanation(row: ConventionTotal, pad: int = 0) -> str:
    """``fvcore = paper + 13.36 M BN + 62.72 K pooling`` (``torch = 2 × paper``)."""
    base = "2 × paper" if row.convention.unit == "FLOPs" else "paper"
    terms = "".join(f" {'+' if gap > 0 else '−'} {human(abs(gap))} {cls}"
                    for cls, gap in row.gaps.items())
    return f"{row.name:<{pad}} = {base}{terms}"


def _gap_column(row: ConventionTotal) -> Column:
    """A convention's gap to paper, per op class (the rows)."""
    return Column(row.name, lambda cls: row.counts[cls] - row.paper_counts[cls], signed)


def breakdown_report(exp: Explanation) -> Report:
    others = exp.rows[1:]
    columns = [
        Column("op class", lambda cls: cls, justify="left"),
        Column("paper", lambda cls: exp.paper.counts[cls], human),
        *map(_gap_column, others),
    ]
    width = max(len(row.name) for row in others)
    notes = [explanation(row, width) for row in others]
    uncounted = exp.uncounted()
    if uncounted:
        notes.append(f"counted by no convention: {', '.join(uncounted)}")
    title = "gap to paper by op class (MACs; torch: FLOPs − 2 × paper MACs)"
    return Report(title, columns, exp.counted(), notes)


def conventions_reports(exp: Explanation) -> list[Report]:
    return [totals_report(exp), breakdown_report(exp)]


def _row_json(row: ConventionTotal) -> dict[str, Any]:
    ratio = row.gap_ratio
    return {
        "name": row.name, "unit": row.convention.unit, "source": row.convention.source,
        "doc": row.convention.doc, "total": row.total, "paper_total": row.paper,
        "gap": row.gap, "gap_percent": None if ratio is None else float(ratio * 100),
        "params": row.params, "params_rule": row.convention.params_doc,
        "by_class": dict(row.counts), "gap_by_class": row.gaps,
        "explanation": None if row.convention is PAPER else explanation(row),
        "unsupported": dict(row.unsupported),
    }


def conventions_json(exp: Explanation) -> dict[str, Any]:
    return {"model": exp.model, "input": list(exp.input_shape),
            "conventions": [_row_json(row) for row in exp.rows],
            "uncounted_classes": list(exp.uncounted())}


CSV_COLUMNS = ("name", "unit", "total", "paper_total", "gap", "gap_percent", "params")


def conventions_csv(exp: Explanation) -> str:
    """One row per convention: its total, the paper total and the gap."""
    from convcost.report.rows import tidy_csv

    return tidy_csv([_row_json(row) for row in exp.rows], CSV_COLUMNS)


def conventions_output(result: Explanation, summary: bool = False) -> View:
    """What ``convcost conventions`` prints; ``summary``: the first table only."""
    reports = conventions_reports(result)
    return View("conventions", lambda: reports[:1] if summary else reports,
                lambda: conventions_json(result), csv=lambda: conventions_csv(result))
