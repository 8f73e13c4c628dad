"""Run the user's model code contained: a model file is code, and convcost runs it.

While a model is built, traced or cross-checked (:func:`contained`):

* **stdout** is captured, at the Python level and at file descriptor 1, so a model that
  prints cannot corrupt ``-f json`` or a spec written to stdout; what it printed is reported
  afterwards as one escaped, bounded note (:class:`Capture`). stderr (torch's own log lines,
  C++ warnings) is captured the same way and dropped, unless ``CONVCOST_DEBUG`` is set.
* **sys.exit** in the user's code becomes a one-line error (exit 2), never a silent exit 0.
* **memory** is bounded by lowering the soft ``RLIMIT_DATA`` to what the process uses plus
  the memory guard's limit (:func:`convcost.runtime.guard.memory_limit`): an allocation past
  it fails in torch, and that failure is the guard's one-line refusal.
* **time** is bounded by ``CONVCOST_TIMEOUT`` seconds (default 300): a ``SIGALRM`` timer
  raises :class:`Timeout` (a ``BaseException``, so the model's ``except Exception`` does not
  swallow it) in the main thread; if the main thread is stuck in C code or swallows even
  that, a watchdog thread prints the same line ``GRACE`` seconds later and ends the process
  with exit 2. The signal and the watchdog are armed in the main thread only (the CLI's).

Running the user's code in a subprocess instead would need the model pickled back for the
cross-check; the in-process guards above keep one model object and cost nothing.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from typing import IO, Any

from convcost.errors import ConvcostError
from convcost.exit_codes import DEBUG_ENV, ExitCode
from convcost.limits import quote

TIMEOUT_ENV = "CONVCOST_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
GRACE = 10.0  # seconds the main thread has to honour the timer before the watchdog exits
_KEEP = 1 << 16  # characters of captured output kept (the rest is counted, not stored)
_ALLOC_FAILED = ("can't allocate memory", "not enough memory", "std::bad_alloc",
                 "Cannot allocate memory")
_active = threading.local()


class Timeout(BaseException):
    """Raised in the main thread when the user's code runs past the timeout."""


class _Bounded(io.TextIOBase):
    """A text sink that keeps the first ``_KEEP`` characters and counts the lines."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.size < _KEEP:
            self.kept.append(text[:_KEEP - self.size])
        self.size += len(text)
        return len(text)

    def text(self) -> str:
        return "".join(self.kept)


@dataclass
class Capture:
    """What the user's code printed on stdout while convcost ran it."""

    source: str
    what: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, what: str, text: str) -> None:
        lines = [line for line in text.splitlines() if line.strip()]
        if lines:
            self.what.append(what)
            self.lines += lines[:3]
            self.count += len(lines)

    def note(self) -> str:
        """One line saying the model printed (escaped and bounded by :func:`quote`), or ""."""
        if not self.count:
            return ""
        plural = "s" if self.count != 1 else ""
        return (f"{self.source} printed {self.count} line{plural} on stdout while "
                f"{' and '.join(dict.fromkeys(self.what))} (first: {quote(self.lines[0])}); "
                "they are kept off convcost's output")


def timeout_seconds() -> float:
    """``CONVCOST_TIMEOUT`` (seconds, > 0), or the default."""
    text = os.environ.get(TIMEOUT_ENV, "")
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 10**6:
        raise ConvcostError(f"{TIMEOUT_ENV}: expected seconds (a number above 0), got {quote(text)}")
    return value


def allocation_failed(err: BaseException | None) -> bool:
    """Whether ``err`` (or an exception it was raised from) is a refused allocation."""
    for _ in range(8):  # ShapeProp wraps the error of the node that failed
        if err is None:
            return False
        if isinstance(err, MemoryError) or any(s in str(err)[:2000] for s in _ALLOC_FAILED):
            return True
        err = err.__cause__ or err.__context__
    return False


def memory_error(source: str, what: str) -> ConvcostError:
    """The memory guard's refusal, for user code that allocated past the limit."""
    from convcost.runtime.guard import LIMIT_ENV, gb, memory_limit

    smaller = "use a smaller --input, or " if what != "building" else ""
    return ConvcostError(f"{what} {source} needs more than the memory limit of {gb(memory_limit())}: "
                         f"{smaller}raise the limit with {LIMIT_ENV}=<bytes, e.g. 16G>")


def check_input(source: str, shape: tuple[int, ...]) -> None:
    """Refuse to trace when the input and one activation its size are past the memory limit."""
    import math

    from convcost.runtime.guard import LIMIT_ENV, gb, memory_limit

    need, limit = 2 * 4 * math.prod(shape), memory_limit()
    if need > limit:
        raise ConvcostError(
            f"tracing {source} at input {'×'.join(map(str, shape))} would need at least {gb(need)} of "
            f"memory (the input and one activation its size), over the limit of {gb(limit)}: "
            f"use a smaller --input, or raise the limit with {LIMIT_ENV}=<bytes, e.g. 16G>")


def _timeout_message(source: str, what: str, seconds: float) -> str:
    return (f"{what} {source} did not finish in {seconds:g} s and was stopped (a forward that never "
            f"returns?): raise the limit with {TIMEOUT_ENV}=<seconds>")


@contextmanager
def contained(source: str, what: str, capture: Capture | None = None) -> Iterator[Capture]:
    """Run the block as the user's code (``what``: "building", "tracing", ...), contained."""
    capture = capture if capture is not None else Capture(source)
    if getattr(_active, "on", False):  # nested: the outer context contains it already
        yield capture
        return
    seconds = timeout_seconds()
    _active.on = True
    try:
        with ExitStack() as stack:
            out = stack.enter_context(_captured(capture, what))
            stack.enter_context(_memory_bound())
            stack.enter_context(_timer(seconds, _timeout_message(source, what, seconds), out))
            yield capture
    except SystemExit as err:
        raise ConvcostError(f"{what} {source}: the model's code called sys.exit({quote(err.code)}); "
                            "convcost cannot analyse a model that exits") from None
    except Timeout:
        raise ConvcostError(_timeout_message(source, what, seconds)) from None
    except Exception as err:
        if allocation_failed(err):
            raise memory_error(source, what) from None
        raise
    finally:
        _active.on = False


@contextmanager
def _captured(capture: Capture, what: str) -> Iterator[int]:
    """stdout (and stderr unless debugging) captured at the Python and the descriptor level;
    logging and warnings silenced. Yields a descriptor of the real stderr."""
    debug = bool(os.environ.get(DEBUG_ENV))
    fds = tuple(fd for fd in ((1,) if debug else (1, 2)) if _open(fd))  # a closed stdout stays so
    out, err = _Bounded(), _Bounded()
    for stream in (sys.stdout, sys.stderr):
        _flush(stream)
    saved = {fd: os.dup(fd) for fd in fds}
    files = {fd: tempfile.TemporaryFile() for fd in fds}  # noqa: SIM115 - closed below
    try:
        for fd in fds:
            os.dup2(files[fd].fileno(), fd)
        with warnings.catch_warnings(), redirect_stdout(out), \
                redirect_stderr(sys.stderr if debug else err):
            warnings.simplefilter("ignore")
            logging.disable(logging.CRITICAL if not debug else logging.NOTSET)
            try:
                yield saved.get(2, 2)
            finally:
                logging.disable(logging.NOTSET)
                for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
                    _flush(stream)
    finally:
        for fd in fds:
            os.dup2(saved[fd], fd)
            os.close(saved[fd])
        capture.add(what, out.text() + (_read(files[1]) if 1 in files else ""))
        for file in files.values():
            file.close()


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _flush(stream: IO[str] | Any) -> None:
    try:
        if stream is not None:
            stream.flush()
    except (OSError, ValueError):
        pass


def _read(file: IO[bytes]) -> str:
    file.seek(0)
    return file.read(_KEEP).decode("utf-8", "replace")


@contextmanager
def _memory_bound() -> Iterator[None]:
    """The soft ``RLIMIT_DATA`` lowered to the data in use plus the memory limit (Linux)."""
    try:
        import resource

        from convcost.runtime.guard import memory_limit

        used = _data_bytes()
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    except (ImportError, OSError, ValueError):
        yield
        return
    bound = used + memory_limit()
    lower = used > 0 and (soft == resource.RLIM_INFINITY or bound < soft) \
        and (hard == resource.RLIM_INFINITY or bound <= hard)
    if lower:
        resource.setrlimit(resource.RLIMIT_DATA, (bound, hard))
    try:
        yield
    finally:
        if lower:
            resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _data_bytes() -> int:
    """The process's data segment (``VmData``) in bytes, 0 where /proc does not say."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@contextmanager
def _timer(seconds: float, message: str, stderr_fd: int) -> Iterator[None]:
    """``Timeout`` in the main thread after ``seconds``; exit 2 after ``GRACE`` more."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    done = threading.Event()
    watchdog = threading.Thread(target=_watchdog, args=(done, seconds + GRACE, message, stderr_fd),
                                daemon=True)
    watchdog.start()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        done.set()


def _watchdog(done: threading.Event, seconds: float, message: str, stderr_fd: int) -> None:
    """The last resort: the main thread did not stop; say the one line and exit 2."""
    if done.wait(seconds):
        return
    try:
        os.write(stderr_fd, f"convcost: error: {message}\n".encode("utf-8", "replace"))
    finally:
        os._exit(ExitCode.BAD_INPUT)
