"""Rendering: rich tables for people; JSON, CSV and Markdown for machines.

Number formatting lives here only. Machine formats carry exact integers; tables show
human-friendly figures (``3.70 G``) under headers that name the unit.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from convcost.report.safe_text import Markup, clean, markdown

if TYPE_CHECKING:  # rich loads on first use: JSON output never needs it
    from rich.console import RenderableType

PAGE = 200  # the width rich is given for piped output
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
    if isinstance(part, int) and isinstance(whole, int):  # int / int is correctly rounded too
        return f"{part / whole * 100:.{digits}f} %"
    exact = part if whole == 1 else Fraction(part) / Fraction(whole)  # no division by one
    return f"{float(exact) * 100:.{digits}f} %"


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
    """One table plus notes printed under it: renders to every format but JSON.

    The table format draws it in one way, rich's (box ``SIMPLE_HEAVY``, one space of padding,
    centred title, notes below): :meth:`rich` on a terminal; :meth:`plain` the same drawing
    character for character without colour, for a pipe or a file, without rich (its import and
    layout cost most of a fast command's time). ``plain`` gives None where its drawing could
    differ from rich's (a table wider than the page, a title that would wrap on a word wider
    than the table, characters not one cell wide, markup beyond styles): rich draws those.
    A property test compares the two (tests/unit/test_text_render.py).
    """

    title: str
    columns: Sequence[Column]
    rows: Sequence[Any]
    notes: Sequence[str] = field(default_factory=tuple)
    styles: Sequence[str] = field(default_factory=tuple)

    def rich(self) -> RenderableType:
        from rich.console import Group
        from rich.text import Text

        table = _FitTable(self)
        if not self.notes:
            return table
        return Group(table, *(Text.from_markup(n) if isinstance(n, Markup) else Text(clean(n))
                              for n in self.notes))

    def plain(self, page: int = PAGE) -> str | None:
        """The table and its notes as rich prints them ``page`` columns wide without colour;
        None where the drawings could differ (see the class docstring)."""
        return _plain_table(self, page)

    def table(self, wrap: bool = False) -> Any:
        """The rich Table: rows on one line each, or (``wrap``) cells wrapped to fit."""
        from rich import box
        from rich.table import Table
        from rich.text import Text

        # Titles, cells and notes are plain text: a name such as ``m[alpha=0.5]`` is not markup,
        # and control characters show as escapes (safe_text). Only Markup notes are markup.
        table = Table(title=Text(clean(self.title)), box=box.SIMPLE_HEAVY, title_style="bold")
        for col in self.columns:
            table.add_column(col.header, justify=col.justify, no_wrap=not wrap)  # type: ignore[arg-type]
        for i, row in enumerate(self.rows):
            style = self.styles[i] if i < len(self.styles) else None
            table.add_row(*(Text(clean(col.show(col.value(row)))) for col in self.columns),
                          style=style)
        return table

    def tidy_csv(self) -> str:
        """One header of ASCII column names (:func:`column_key`), one line per row."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([column_key(c.header) for c in self.columns])
        for row in self.rows:
            writer.writerow([clean(_exact(c.value(row))) for c in self.columns])
        return out.getvalue()

    def markdown(self) -> str:
        head = [_plain(c.header) for c in self.columns]
        align = ["---:" if c.justify == "right" else ":---" for c in self.columns]
        lines = [f"### {markdown(self.title)}", "", _md_row(head), _md_row(align)]
        lines += [_md_row([markdown(_exact(c.value(r))) for c in self.columns]) for r in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {markdown(_plain(n)).strip()}" for n in self.notes]
        return "\n".join(lines) + "\n"


class _FitTable:
    """A report's table that keeps every column on a narrow terminal by wrapping its cells
    (one line per row whenever the rows fit: rich would drop whole columns instead)."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement

        table = self.report.table()
        wide = options.update_width(10**5)  # the width the rows want, not clamped to ours
        if Measurement.get(console, wide, table).maximum > options.max_width:
            table = self.report.table(wrap=True)
        yield table


def _narrow(text: str) -> bool:
    """Every character takes one cell (rich's width), none is a control or combining mark."""
    if text.isascii():
        return text.isprintable()
    for ch in set(text):
        if ch.isascii():
            if not ch.isprintable():
                return False
        elif (unicodedata.east_asian_width(ch) in ("W", "F") or unicodedata.combining(ch)
              or unicodedata.category(ch) in ("Cc", "Cf", "Mn", "Me", "Zl", "Zp")):
            return False
    return True


def _cells(report: Report) -> tuple[list[str], list[list[str]]]:
    head = [col.header for col in report.columns]
    rows = [[clean(col.show(col.value(row))) for col in report.columns] for row in report.rows]
    return head, rows


def _line(cells: list[str], widths: list[int], left: list[bool]) -> str:
    parts = [c.ljust(w) if is_left else c.rjust(w) for c, w, is_left in zip(cells, widths, left,
                                                                           strict=True)]
    return " " + " ".join(f" {p} " for p in parts) + " "


def _wrap(text: str, width: int) -> list[str] | None:
    """Greedy word wrap at single spaces (rich's); None when a word is wider than ``width``."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if len(word) > width or not word:
            return None
        joined = f"{current} {word}" if current else word
        if len(joined) <= width:
            current = joined
        else:
            lines.append(current)
            current = word
    return [*lines, current]


def _centre(line: str, width: int) -> str:
    excess = width - len(line)
    return " " * (excess // 2) + line + " " * (excess - excess // 2)


def _plain_table(report: Report, page: int) -> str | None:
    """The table and its notes as rich prints them ``page`` columns wide, without colour;
    None where they could differ (rich draws those)."""
    head, rows = _cells(report)
    title_text = clean(report.title)
    notes = [plain_note(n) for n in report.notes]
    texts = [title_text, *head, *(c for r in rows for c in r), *(n or "" for n in notes)]
    if (any(n is None for n in notes) or any("[" in h for h in head)
            or not _narrow(" ".join(texts))):
        return None
    widths = [max(len(c) for c in column) for column in zip(head, *rows, strict=True)]
    width = sum(widths) + 3 * len(widths) + 1
    title = _wrap(title_text, width) if title_text else None
    if width > page or title is None or any(len(n or "") > page for n in notes):
        return None
    left = [col.justify == "left" for col in report.columns]
    lines = [*(_centre(line, width) for line in title), " " * width,
             _line(head, widths, left), " " + "━" * (width - 2) + " ",
             *(_line(r, widths, left) for r in rows), " " * width, *(n or "" for n in notes)]
    return "\n".join(lines) + "\n"


_ASCII = {"α": "alpha", "ρ": "rho", "Δ": "delta", "%": "pct", "×": "x", "µ": "u", "→": "to",
          "²": "2", "✓": "ok"}


def column_key(header: str) -> str:
    """An ASCII CSV column name for a table header: ``Δ %`` -> ``delta_pct``."""
    text = _plain(header)
    for char, word in _ASCII.items():
        text = text.replace(char, f" {word} ")
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


_TAG = re.compile(r"\[/?(?:bold|dim|italic|red|green|yellow)(?: (?:bold|dim|italic|red|green|yellow))*\]"
                  r"|\[/\]")


def plain_note(note: str) -> str | None:
    """A note as rich prints it without colour: plain text as is (control characters
    escaped), a :class:`Markup` note without its style tags; None for markup beyond those."""
    if not isinstance(note, Markup):
        return clean(note)
    plain = _TAG.sub("", note)
    return None if "[" in plain else plain


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"  # cells are escaped (a | included)


def _plain(text: str) -> str:
    """A note or header without its markup (only :class:`Markup` has any)."""
    if not isinstance(text, Markup):
        return text
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


def totals_only(reports: Sequence[Report]) -> list[Report]:
    """``--summary`` of a command whose tables show totals: the tables without their notes."""
    return [replace(r, notes=()) for r in reports]


@dataclass(frozen=True)
class View:
    """One command's output, as every format renders it (:data:`RENDERERS`).

    ``tables``: the reports a person reads (table format); ``exact``: their machine form
    (exact figures, full names: markdown and the default CSV), when it differs; ``data``: the
    JSON keys after the envelope's; ``csv``: the tidy CSV, when it is not the first exact
    report's rows; ``markdown``: the page, when it is not the exact reports one after another;
    ``after``: lines printed after the tables (a verdict). The parts are built on demand: a
    format builds only what it renders."""

    command: str
    tables: Callable[[], Sequence[Report]]
    data: Callable[[], Mapping[str, Any]]
    exact: Callable[[], Sequence[Report]] | None = None
    csv: Callable[[], str] | None = None
    markdown: Callable[[], str] | None = None
    after: Sequence[str] = ()

    def machine(self) -> Sequence[Report]:
        return (self.exact or self.tables)()


def _table(view: View) -> list[Report | str]:
    return [*view.tables(), *view.after]


def _json(view: View) -> list[Report | str]:
    return [to_json(envelope(view.command, view.data()))]


def _csv(view: View) -> list[Report | str]:
    return [view.csv() if view.csv is not None else view.machine()[0].tidy_csv()]


def _markdown(view: View) -> list[Report | str]:
    if view.markdown is not None:
        return [view.markdown()]
    return ["\n".join(r.markdown() for r in view.machine())]


RENDERERS: Mapping[str, Callable[[View], list[Report | str]]] = {
    "table": _table, "json": _json, "csv": _csv, "markdown": _markdown}
"""One renderer per format: a new format is one function and one line here."""
FORMATS = tuple(RENDERERS)


def render(view: View, fmt: str) -> list[Report | str]:
    """What to print for ``fmt``: the reports themselves (tables), or one string."""
    return RENDERERS[fmt](view)
