"""Writing a command's output: to stdout, or to ``-o/--output FILE``."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from convcost.errors import ConvcostError


def page_width() -> int:
    """The width of piped output: 200 columns (whole rows), unless COLUMNS says otherwise."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and 0 < int(columns) < 10**4 else 200


def _write(items: Sequence[Any], out: TextIO, tty: bool) -> None:
    from convcost.report.text import is_table, plain_table

    console = None
    page = page_width()
    for item in items:
        if isinstance(item, str):
            out.write(item if item.endswith("\n") else item + "\n")
            continue
        text = None if tty or not is_table(item) else plain_table(item, page)
        if text is not None:
            out.write(text)  # the same table, drawn without rich (fast)
        else:
            if console is None:
                from rich.console import Console

                # a narrow page wraps cells, never drops columns (Report.rich)
                console = Console(file=out, highlight=False, width=None if tty else page,
                                  force_terminal=tty or None, no_color=not tty)
            console.print(item.rich() if is_table(item) else item)


def emit(items: Sequence[Any], output: Path | None = None) -> None:
    """Print ``items`` (strings, reports or rich renderables), or write them to ``output``."""
    if output is None:
        _write(items, sys.stdout, sys.stdout.isatty())
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            _write(items, fh, tty=False)
    except OSError as err:
        raise ConvcostError(f"--output: cannot write {output}: {err.strerror or err}") from None
