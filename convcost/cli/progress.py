"""A rich progress bar for long commands, shown only on a terminal (never in pipes or CI)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(description: str, total: int, threshold: int = 1) -> Iterator[
        Callable[[int, int], None]]:
    """Yield ``update(done, total)``; draws on stderr when stdout is a TTY and total ≥ threshold."""
    if total < threshold or not sys.stdout.isatty():
        yield lambda done, all_: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done, all_: bar.update(task, completed=done, total=all_)
