"""The CLI's streams: one-line errors, exit codes, and terminals that cannot show Unicode.

* :func:`run_main` runs the click entry point (:func:`run_plain` any other) and turns every
  exception into one stderr line and an :class:`~convcost.exit_codes.ExitCode`; an unexpected
  one is an internal error (3), its traceback shown only with ``CONVCOST_DEBUG=1``.
* :func:`ascii_fallback` lets a stream whose encoding cannot show ``✓ × →`` (e.g.
  ``PYTHONIOENCODING=ascii``) print ASCII stand-ins instead of raising.
"""

from __future__ import annotations

import codecs
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from convcost.exit_codes import DEBUG_ENV, ExitCode
from convcost.report.safe_text import clean

_MAX_LINE = 2000
_ASCII = {
    "✓": "ok", "✗": "X", "≠": "!=", "×": "x", "→": "->", "←": "<-", "—": "-", "–": "-",
    "━": "-", "─": "-", "│": "|", "α": "alpha", "ρ": "rho", "Δ": "d", "≥": ">=", "≤": "<=",
    "²": "^2", "³": "^3", "·": "*", "…": "...", "⁶": "^6", "⁹": "^9", "µ": "u", "Ω": "Ohm",
}


def _replace(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeEncodeError):
        raise err
    bad = err.object[err.start:err.end]
    return "".join(_ASCII.get(ch, "?") for ch in bad), err.end


codecs.register_error("convcost-ascii", _replace)


def ascii_fallback(stream: TextIO) -> None:
    """Let ``stream`` print ASCII stand-ins for what its encoding cannot show."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "✓×→━".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="convcost-ascii")


def console(file: TextIO | None = None, width: int | None = None) -> Any:
    """A rich Console for ``file`` (stdout): ``width`` columns, or when piped 200 (whole rows)
    unless COLUMNS says how wide to be; a closed pipe raises BrokenPipeError (rich itself
    would exit 1: "failed")."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    if width is None:
        columns = os.environ.get("COLUMNS", "")
        sized = sys.stdout.isatty() or (columns.isdigit() and 0 < int(columns) < 10**4)
        width = None if sized else 200
    return _Console(file=file, highlight=False, emoji=False, width=width)  # ":fire:" in a name is text


def say(message: str) -> None:
    """One line on stderr: control characters escaped, length bounded."""
    text = clean(message)
    if len(text) > _MAX_LINE:
        text = text[:_MAX_LINE - 3] + "..."
    try:
        sys.stderr.write(f"convcost: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr closed: nothing left to tell


def run_main(main: Callable[[], Any]) -> int:
    """Call ``main`` (click with standalone_mode=False) and return the exit code to use."""
    from click.exceptions import Abort, ClickException

    def clicked() -> Any:
        try:
            code = main()
        except ClickException as err:
            return _click_error(err)
        except Abort:
            raise KeyboardInterrupt from None
        if code == ExitCode.INTERRUPTED:  # typer turns a KeyboardInterrupt into a silent 130
            raise KeyboardInterrupt
        return code

    return run_plain(clicked)


def _click_error(err: Any) -> int:
    """A parse error of click's: one line naming the command, exit 2 (bad input)."""
    ctx = getattr(err, "ctx", None)
    path = ctx.command_path.split()[1:] if ctx is not None else []  # "convcost" is said once
    where = f"{' '.join(path)}: " if path else ""
    message = err.format_message()
    if message:  # an empty one follows the help printed for a bare `convcost`
        say(f"error: {where}{message}")
    return ExitCode.BAD_INPUT if err.exit_code == 2 else int(err.exit_code)


def run_plain(main: Callable[[], Any]) -> int:
    """Call ``main`` and return the exit code to use: every exception becomes one stderr line."""
    from convcost.errors import ConvcostError

    try:
        code = main()
    except ConvcostError as err:
        say(f"error: {err}")
        return int(err.exit_code)
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.BROKEN_PIPE
    except Exception as err:
        if isinstance(err.__cause__ or err.__context__, KeyboardInterrupt):
            return _interrupted()  # Ctrl-C wrapped by Python (a class's __set_name__, ...)
        return internal_error(err)
    return code if isinstance(code, int) else ExitCode.OK


def _interrupted() -> int:
    from convcost.cli.interrupt import aborted

    aborted()
    return ExitCode.INTERRUPTED


def internal_error(err: BaseException) -> int:
    """A bug: one line (and the traceback with CONVCOST_DEBUG=1); never exit 1."""
    if os.environ.get(DEBUG_ENV):
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    first = str(err).splitlines()[0] if str(err) else ""
    hint = "" if os.environ.get(DEBUG_ENV) else f"; run with {DEBUG_ENV}=1 for the traceback"
    say(f"internal error: {type(err).__name__}: {first[:300]} (a bug in convcost{hint})")
    return ExitCode.INTERNAL_ERROR


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
