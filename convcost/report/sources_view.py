"""Presentation of ``convcost list --sources``: the front-end readers, in the order they are
asked, what each takes and the packages (with their installed versions) that read it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcost.frontend.network import Reader, versions
from convcost.report.render import Column, Report, View


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _installed(readers: Sequence[Reader]) -> str:
    tools = list(dict.fromkeys(t for r in readers for t in r.tools))
    found = versions(tuple(tools))
    shown = [f"{t} {found[t]}" if t in found else f"{t} (not installed)" for t in tools]
    return "read by: " + ", ".join(shown)


def sources_report(readers: Sequence[Reader]) -> Report:
    columns = [
        Column("order", lambda r: r[0]),
        Column("reader", lambda r: r[1].name, justify="left"),
        Column("takes", lambda r: r[1].syntax, justify="left"),
        Column("read by", lambda r: ", ".join(r[1].tools) or "convcost", justify="left"),
        Column("imports a model", lambda r: _yes(r[1].imports), justify="left"),
    ]
    notes = ["Asked in order: the first reader that takes an argument reads it. An imported "
             "model is analysed on --input (default: its own, else 1×3×224×224).",
             _installed(readers)]
    return Report("where a network comes from", columns, list(enumerate(readers, 1)), notes)


def sources_json(readers: Sequence[Reader]) -> dict[str, Any]:
    found = versions(tuple(dict.fromkeys(t for r in readers for t in r.tools)))
    return {"sources": [{"order": i, "name": r.name, "syntax": r.syntax, "imports": r.imports,
                         "tools": {t: found.get(t) for t in r.tools}}
                        for i, r in enumerate(readers, 1)]}


def sources_output(readers: Sequence[Reader]) -> View:
    """What ``convcost list --sources`` prints."""
    return View("list_sources", lambda: [sources_report(readers)], lambda: sources_json(readers))
