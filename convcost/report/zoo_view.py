"""Presentation of ``convcost list``: the built-in specs with their params and MACs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcost.report.render import Column, Report, human, shape
from convcost.spec.zoo import Entry


def zoo_report(entries: Sequence[Entry]) -> Report:
    columns = [
        Column("name", lambda e: e.name, justify="left"),
        Column("input", lambda e: e.input_shape, shape),
        Column("params", lambda e: e.params, human),
        Column("MACs", lambda e: e.macs, human),
        Column("description", lambda e: e.description, justify="left"),
    ]
    notes = ["MACs: paper convention (conv + linear) at the spec's own input. Use a name "
             "wherever a spec file goes: convcost model mobilenet_v2"]
    return Report("built-in specs", columns, entries, notes)


def zoo_json(entries: Sequence[Entry]) -> dict[str, Any]:
    return {"models": [{"name": e.name, "description": e.description,
                        "input": list(e.input_shape), "params": e.params, "macs": e.macs,
                        "flops": 2 * e.macs} for e in entries]}
