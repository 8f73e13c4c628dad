"""The ``convcost`` program: a fast path for the everyday ``model`` call, else the typer app.

``convcost model SPEC --no-verify [-f/--format FORMAT] [--summary]``, in any order, runs
:func:`~convcost.cli.model_command.run_model` directly, without importing typer, click or
rich (a third of the start-up time). Any other word (another option, ``--help``, a second
SPEC) and shell completion go to :mod:`convcost.cli.app`, whose ``model`` command runs the same
function, so both paths print the same bytes and exit codes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def fast_model(argv: Sequence[str]) -> dict[str, str | bool] | None:
    """The arguments of ``model SPEC --no-verify [-f/--format F] [--summary]``, else None."""
    if not argv or argv[0] != "model" or "--no-verify" not in argv:
        return None
    from convcost.report.render import FORMATS

    found: dict[str, str | bool] = {"fmt": "table", "summary": False}
    words = iter(argv[1:])
    for word in words:
        if word in ("-f", "--format"):
            value = next(words, "")
            if value not in FORMATS:
                return None  # click says what is wrong
            found["fmt"] = value
        elif word == "--summary":
            found["summary"] = True
        elif word != "--no-verify":
            if not word or word.startswith("-") or "spec" in found:
                return None
            found["spec"] = word
    return found if "spec" in found else None


def main() -> None:
    """Run ``convcost`` with ``sys.argv``; exits with the command's code."""
    from convcost.cli.interrupt import aborted, exit_interrupted, install

    install()
    try:
        _main()
    except KeyboardInterrupt:  # during the imports, before run_plain's own handler
        aborted()
        exit_interrupted()
    except SystemExit as done:
        if done.code == 130:
            exit_interrupted()
        raise
    except Exception as err:  # Ctrl-C wrapped by Python while a module imports (a dataclass's
        if isinstance(err.__cause__ or err.__context__, KeyboardInterrupt):  # __set_name__)
            aborted()
            exit_interrupted()
        raise


def _main() -> None:
    fast = None if "_CONVCOST_COMPLETE" in os.environ else fast_model(sys.argv[1:])
    if fast is None:
        from convcost.cli.app import main as full

        full()
        return
    from pathlib import Path

    from convcost.cli.model_command import run_model
    from convcost.cli.terminal import ascii_fallback, run_plain

    ascii_fallback(sys.stdout)
    ascii_fallback(sys.stderr)
    sys.exit(run_plain(lambda: run_model(Path(str(fast["spec"])), verify=False, fmt=str(fast["fmt"]),
                                         summary=bool(fast["summary"]))))
