"""Tables as plain text, without rich: what rich prints for a :class:`Report` to a pipe or file.

Rich costs most of a fast command's time (its import and its layout engine). Output that goes
to a pipe or a file carries no colour, so a :class:`Report` is drawn here, character for
character as rich draws it (box ``SIMPLE_HEAVY``, one space of padding, centred title, notes
below), and handed to rich only where the plain drawing would differ: a table wider than the
page, a title that would wrap, characters whose width is not one cell, or markup it does not
know. A property test compares the two drawings (tests/unit/test_text_render.py).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from convcost.report.render import Report, plain_note
from convcost.report.safe_text import clean

PAGE = 200  # the width rich is given for piped output

def is_table(item: Any) -> bool:
    return isinstance(item, Report)


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


def plain_table(report: Report, page: int = PAGE) -> str | None:
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
