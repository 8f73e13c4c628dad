"""Running convcost on hostile input in a subprocess: exit code, stderr lines, time, peak RSS,
and the user's files before and after."""

from __future__ import annotations

import hashlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import run_child

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Ran:
    """One finished run: exit code, output, wall seconds, peak RSS in bytes."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    rss: int


def run_bounded(args: list[str], cwd: Path, env: dict[str, str] | None = None,
                timeout: float = 240.0, module: str | None = "convcost") -> Ran:
    """``python -m convcost *args`` in ``cwd``, measured by :func:`tests.helpers.run_child`
    (``module=None``: ``python *args``, e.g. ``-c CODE`` that sets something up first)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    safe = ["-P"] if sys.version_info >= (3, 11) else []  # no cwd on sys.path, as the script
    run = run_child([sys.executable, *safe, *(["-m", module] if module else []), *args], cwd,
                    {**os.environ, "PYTHONPATH": path, **(env or {})}, timeout=timeout)
    if run.returncode == -signal.SIGKILL:
        raise AssertionError(f"convcost {args} ran over {timeout} s")
    return Ran(run.returncode, run.stdout, run.stderr, run.seconds, int(run.rss_mib * 1024 * 1024))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` -> the SHA-256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_one_line(ran: Ran, code: int, fragment: str = "") -> str:
    """Exit ``code``, exactly one stderr line containing ``fragment``, no traceback anywhere."""
    assert ran.returncode == code, (ran.returncode, ran.stderr[-2000:], ran.stdout[-300:])
    assert "Traceback" not in ran.stderr + ran.stdout, ran.stderr[-2000:]
    lines = ran.stderr.splitlines()
    assert len(lines) == 1, ran.stderr[-2000:]
    assert fragment in lines[0], lines[0]
    return lines[0]
