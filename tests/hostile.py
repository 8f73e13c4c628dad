"""Running convcost on hostile input in a subprocess: exit code, stderr lines, time, peak RSS,
and the user's files before and after."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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
                timeout: float = 240.0) -> Ran:
    """``python -m convcost *args`` in ``cwd``; its own peak RSS from ``os.wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        safe = ["-P"] if sys.version_info >= (3, 11) else []  # no cwd on sys.path, as the script
        child = subprocess.Popen([sys.executable, *safe, "-m", "convcost", *args], cwd=cwd, stdout=out,
                                 stderr=err, stdin=subprocess.DEVNULL,
                                 env={**os.environ, "PYTHONPATH": path, **(env or {})})
        while True:  # reaped here, not by Popen, to read this child's own rusage
            done, status, usage = os.wait4(child.pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - start > timeout:
                os.kill(child.pid, signal.SIGKILL)
                os.wait4(child.pid, 0)
                raise AssertionError(f"convcost {args} ran over {timeout} s")
            time.sleep(0.05)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Ran(child.returncode, out.read().decode(), err.read().decode(), seconds,
                   usage.ru_maxrss * 1024)


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
