"""Writing a command's output: to stdout, or to ``-o/--output FILE``."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO


def page_width() -> int:
    """The width of piped output: 200 columns (whole rows), unless COLUMNS says otherwise."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and 0 < int(columns) < 10**4 else 200


def _put(out: TextIO, text: str) -> None:
    """Write and flush: a closed pipe fails here, where the exit code is chosen."""
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        # without an errno, click passes it on to run_main (exit 141) instead of exiting 1
        raise BrokenPipeError from None


def _write(items: Sequence[Any], out: TextIO, tty: bool) -> None:
    from convcost.report.render import Report

    painter = None
    page = page_width()
    for item in items:
        text = item if isinstance(item, str) else None
        if text is None and not tty and isinstance(item, Report):
            text = item.plain(page)  # the table's drawing, without rich (fast)
        if text is not None:
            _put(out, text if text.endswith("\n") else text + "\n")
            continue
        if painter is None:
            from convcost.cli.terminal import console

            painter = console(out, None if tty else page)  # narrow: cells wrap (Report.rich)
        painter.print(item.rich() if isinstance(item, Report) else item)


def emit(items: Sequence[Any], output: Path | None = None) -> None:
    """Print ``items`` (strings, reports or rich renderables), or write them to ``output``."""
    if output is None:
        _write(items, sys.stdout, sys.stdout.isatty())
        return
    from convcost.outfile import replacing

    with replacing(output) as fh:  # a temporary file, renamed: the old file survives a failure
        _write(items, fh, tty=False)
