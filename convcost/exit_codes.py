"""convcost's exit codes, named in one place (the README lists them too)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    #: A model is over budget, grew beyond the baseline, or disagrees with torch/fvcore.
    FAILED = 1
    #: Bad input: a spec, option, file or path that cannot be used. One line on stderr.
    BAD_INPUT = 2
    #: A bug in convcost: one line on stderr; CONVCOST_DEBUG=1 shows the traceback.
    INTERNAL_ERROR = 3
    #: Interrupted (Ctrl-C).
    INTERRUPTED = 130
    #: stdout was closed early (``convcost model x | head``).
    BROKEN_PIPE = 141


#: The environment variable that shows the traceback of an internal error.
DEBUG_ENV = "CONVCOST_DEBUG"
