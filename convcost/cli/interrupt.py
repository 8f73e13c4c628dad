"""Ctrl-C: exit 130 promptly, every time, with one line and no traceback.

The first SIGINT raises KeyboardInterrupt as Python does, so the command unwinds (a temporary
output file is removed, a progress bar is cleared) and :func:`convcost.cli.terminal.run_plain`
says ``aborted``. Should the unwinding hang (inside a long torch call, a thread pool joined at
exit), a watchdog ends the process after :data:`GRACE_SECONDS`; a second Ctrl-C ends it at once.
A SIGINT that arrives before the handler is installed, or while imports run, is caught the same
way by :func:`convcost.cli.entry.main`. When the shell started convcost with SIGINT ignored
(``nohup``, a background job), it stays ignored.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import NoReturn

from convcost.exit_codes import ExitCode

GRACE_SECONDS = 3.0
_state = {"signals": 0, "said": False}


def aborted() -> None:
    """Say ``convcost: aborted`` on stderr."""
    _state["said"] = True
    with contextlib.suppress(OSError, ValueError):  # stderr closed: nothing left to tell
        sys.stderr.write("convcost: aborted\n")
        sys.stderr.flush()


def exit_interrupted() -> NoReturn:
    """End the process with 130 now that the command has unwound. ``sys.exit`` would not do:
    a Ctrl-C that landed in C code running Python (``PyRun_String``, as torch's import does)
    makes CPython kill itself with SIGINT at exit (status -2) even though it was handled."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(ExitCode.INTERRUPTED)


def _exit_now() -> None:
    if not _state["said"]:
        aborted()
    exit_interrupted()


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _state["signals"] += 1
    if _state["signals"] > 1:
        _exit_now()
    watchdog = threading.Timer(GRACE_SECONDS, _exit_now)
    watchdog.daemon = True
    watchdog.start()
    raise KeyboardInterrupt


def install() -> None:
    """Handle SIGINT as above (in the main thread; a no-op when SIGINT is ignored)."""
    with contextlib.suppress(ValueError):  # not the main thread (an embedding application)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _on_sigint)
