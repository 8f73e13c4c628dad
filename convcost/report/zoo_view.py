"""Presentation of ``convcost list``: the built-in specs with their params and MACs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcost.net.builtins import Entry
from convcost.report.render import Column, Report, View, human, shape


def zoo_report(entries: Sequence[Entry]) -> Report:
    columns = [
        Column("name", lambda e: e.name, justify="left"),
        Column("input", lambda e: e.analysis.input_shape, shape),
        Column("params", lambda e: e.analysis.totals.params, human),
        Column("MACs", lambda e: e.analysis.totals.macs, human),
        Column("description", lambda e: e.description, justify="left"),
    ]
    notes = ["MACs: paper convention (conv + linear) at the spec's own input. Use a name "
             "wherever a spec file goes: convcost model mobilenet_v2"]
    return Report("built-in specs", columns, entries, notes)


def zoo_json(entries: Sequence[Entry]) -> dict[str, Any]:
    return {"models": [{"name": e.name, "description": e.description,
                        "input": list(e.analysis.input_shape), "params": e.analysis.totals.params,
                        "macs": e.analysis.totals.macs, "flops": e.analysis.totals.flops}
                       for e in entries]}


def zoo_csv(entries: Sequence[Entry]) -> str:
    from convcost.cost.layout import channel_axis, spatial_sizes
    from convcost.report.rows import tidy_csv

    rows = []
    for e, m in zip(entries, zoo_json(entries)["models"], strict=True):
        x, layout = e.analysis.input_shape, e.analysis.layout  # any rank: its H and W (L: w)
        sizes = spatial_sizes(x, layout)
        rows.append({**m, "in_n": x[0], "in_c": x[channel_axis(layout)],
                     "in_h": sizes[-2] if len(sizes) > 1 else None,
                     "in_w": sizes[-1] if sizes else None})
    columns = ["name", "in_n", "in_c", "in_h", "in_w", "params", "macs", "flops", "description"]
    return tidy_csv(rows, columns)


def zoo_output(entries: Sequence[Entry]) -> View:
    """What ``convcost list`` prints."""
    return View("list", lambda: [zoo_report(entries)], lambda: zoo_json(entries),
                csv=lambda: zoo_csv(entries))
