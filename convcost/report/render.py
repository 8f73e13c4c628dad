"""Rendering: rich tables for people; JSON, CSV and Markdown for machines.

Number formatting lives here only. Machine formats carry exact integers; tables show
human-friendly figures (``3.70 G``) under headers that name the unit.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich loads on first use: JSON output never needs it
    from rich.console import RenderableType

FORMATS = ("table", "json", "csv", "markdown")

_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def human(value: int) -> str:
    """``3699376128`` -> ``3.70 G``; below 1000 the integer itself."""
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            hundredths = (abs(value) * 100 + scale // 2) // scale  # exact, no float overflow
            sign = "-" if value < 0 else ""
            return f"{sign}{hundredths // 100:,}.{hundredths % 100:02d} {prefix}"
    return str(value)


def signed(value: int) -> str:
    """``human`` with a sign on gains: ``+13.36 M``, ``-2.00 K``, ``0``."""
    return f"+{human(value)}" if value > 0 else human(value)


def percent(part: int | Fraction, whole: int | Fraction = 1, digits: int = 2) -> str:
    if not whole:
        return "—"
    return f"{float(Fraction(part) / Fraction(whole)) * 100:.{digits}f} %"


def shape(dims: Sequence[int]) -> str:
    return "×".join(str(d) for d in dims)


@dataclass(frozen=True)
class Column:
    """A column: its header, how a row gives its exact value, and how a table shows it."""

    header: str
    value: Callable[[Any], Any]
    show: Callable[[Any], str] = str
    justify: str = "right"


@dataclass(frozen=True)
class Report:
    """One table plus notes printed under it: renders to every format but JSON."""

    title: str
    columns: Sequence[Column]
    rows: Sequence[Any]
    notes: Sequence[str] = field(default_factory=tuple)
    styles: Sequence[str] = field(default_factory=tuple)

    def rich(self) -> RenderableType:
        from rich import box
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        # Titles and cells are plain text: a name such as ``m[alpha=0.5]`` is not markup.
        table = Table(title=Text(self.title), box=box.SIMPLE_HEAVY, title_style="bold")
        for col in self.columns:
            table.add_column(col.header, justify=col.justify, no_wrap=True)  # type: ignore[arg-type]
        for i, row in enumerate(self.rows):
            style = self.styles[i] if i < len(self.styles) else None
            table.add_row(*(Text(col.show(col.value(row))) for col in self.columns), style=style)
        if not self.notes:
            return table
        return Group(table, *(Text.from_markup(n) for n in self.notes))

    def tidy_csv(self) -> str:
        """One header of ASCII column names (:func:`column_key`), one line per row."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([column_key(c.header) for c in self.columns])
        for row in self.rows:
            writer.writerow([_exact(c.value(row)) for c in self.columns])
        return out.getvalue()

    def markdown(self) -> str:
        head = [_plain(c.header) for c in self.columns]
        align = ["---:" if c.justify == "right" else ":---" for c in self.columns]
        lines = [f"### {self.title}", "", _md_row(head), _md_row(align)]
        lines += [_md_row([_exact(c.value(r)) for c in self.columns]) for r in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {_plain(n).strip()}" for n in self.notes]
        return "\n".join(lines) + "\n"


_ASCII = {"α": "alpha", "ρ": "rho", "Δ": "delta", "%": "pct", "×": "x", "µ": "u", "→": "to",
          "²": "2", "✓": "ok"}


def column_key(header: str) -> str:
    """An ASCII CSV column name for a table header: ``Δ %`` -> ``delta_pct``."""
    text = _plain(header)
    for char, word in _ASCII.items():
        text = text.replace(char, f" {word} ")
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


_TAG = re.compile(r"\[/?(?:bold|dim|italic|red|green|yellow)(?: (?:bold|dim|italic|red|green|yellow))*\]"
                  r"|\[/\]")


def strip_markup(text: str) -> str | None:
    """``text`` without its style tags (``[bold]…[/]``); None if it holds other brackets."""
    plain = _TAG.sub("", text)
    return None if "[" in plain else plain


def _plain(text: str) -> str:
    plain = strip_markup(text)
    if plain is not None:
        return plain
    from rich.text import Text

    return Text.from_markup(text).plain


def _exact(value: Any) -> str:
    if isinstance(value, Fraction):
        return f"{float(value):.6f}"
    if isinstance(value, tuple | list):
        return shape(value)
    return str(value)


def to_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


SCHEMA_VERSION = 1  # of the JSON output contract: `convcost schema output`


def envelope(command: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Every JSON output: its schema version and command first, then the command's keys."""
    return {"schema_version": SCHEMA_VERSION, "command": command, **data}


def render(reports: Sequence[Report], fmt: str, json_data: Callable[[], Mapping[str, Any]],
           csv_text: Callable[[], str] | None = None) -> list[Report | str]:
    """What to print for ``fmt``: the reports themselves (tables), or one string.

    CSV is one tidy table: ``csv_text()``, or the first report's rows.
    """
    if fmt == "json":
        return [to_json(json_data())]
    if fmt == "csv":
        return [csv_text() if csv_text is not None else reports[0].tidy_csv()]
    if fmt == "markdown":
        return ["\n".join(r.markdown() for r in reports)]
    return list(reports)
