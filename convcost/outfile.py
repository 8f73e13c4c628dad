"""Writing a file the user named (``-o``, ``--baseline``, ``--plot``) without ever losing one.

Every write goes to a temporary file in the target's directory, is flushed to disk, then
``os.replace``d onto the target: a write that fails midway (disk full, Ctrl-C, a bug) leaves
the old file as it was, and two processes writing the same path leave one complete file,
never a mixture. A symlink is followed (the file it points to is replaced, the link kept); a
target that is not a regular file (``/dev/stdout``, a FIFO) is written in place, as a stream.

:func:`check_target` is the early check a command runs before its work: the directory
exists, the path is no directory, and it is none of the command's input files.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO, cast

from convcost.errors import ConvcostError
from convcost.limits import quote


def _fail(flag: str, path: str | Path, why: str) -> ConvcostError:
    return ConvcostError(f"{flag}: cannot write {path}: {why}")


def _no_nul(path: str | Path, flag: str) -> str:
    """The path as text; a NUL byte (no file can be named so) is bad input, not a crash."""
    text = os.fspath(path)
    if "\x00" in text:
        raise ConvcostError(f"{flag}: {quote(text)} has a NUL byte; no file can be named so")
    return text


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return os.path.realpath(a) == os.path.realpath(b)


def check_target(path: str | Path, flag: str = "--output", inputs: Iterable[str | Path] = (),
                 ) -> None:
    """Refuse, before any work, a target that cannot be written or that is one of ``inputs``
    (compared as files: resolved paths, the same inode through a link)."""
    target = _no_nul(path, flag)
    for given in inputs:
        if _same_file(target, os.fspath(given)):
            raise ConvcostError(f"{flag}: {quote(target)} is an input of this command "
                                f"({quote(os.fspath(given))}); convcost never overwrites its "
                                "input: write elsewhere")
    if os.path.isdir(target):
        raise ConvcostError(f"{flag}: {quote(target)} is a directory")
    if _is_stream(target, os.path.realpath(target)):
        return
    folder = os.path.dirname(os.path.realpath(target)) or "."
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
        raise ConvcostError(f"{flag}: cannot write into {quote(os.path.dirname(target) or '.')} "
                            "(missing or not writable)")


def refuse_existing(path: str | Path | None, force: bool, flag: str = "--output") -> None:
    """Without ``--force``, refuse to replace an existing regular file (a hand-written spec)."""
    if path is not None and not force and os.path.isfile(path):
        raise _fail(flag, path, "the file exists; give --force to replace it")


def _is_stream(given: str, target: str) -> bool:
    """``/dev/stdout``, ``/dev/fd/3``, a FIFO: written in place (a rename would replace the
    file a shell redirected stdout to, or a device node). A file in ``/dev/shm`` is a file."""
    descriptor = (os.path.abspath(given).startswith(("/dev/", "/proc/"))
                  and os.path.islink(given))
    try:
        return descriptor or not stat.S_ISREG(os.stat(target).st_mode)
    except OSError:
        return descriptor  # no file yet: create it


@contextmanager
def replacing(path: str | Path, flag: str = "--output") -> Iterator[TextIO]:
    """A text file to write; on leaving the block it atomically replaces ``path``."""
    with _replacing(path, flag, "w") as fh:
        yield cast(TextIO, fh)


@contextmanager
def replacing_bytes(path: str | Path, flag: str = "--output") -> Iterator[BinaryIO]:
    """:func:`replacing` for a binary file (a PNG)."""
    with _replacing(path, flag, "wb") as fh:
        yield cast(BinaryIO, fh)


@contextmanager
def _replacing(path: str | Path, flag: str, mode: str) -> Iterator[IO[Any]]:
    target = os.path.realpath(_no_nul(path, flag))
    encoding = None if "b" in mode else "utf-8"
    if _is_stream(os.fspath(path), target):
        try:
            with open(target, mode, encoding=encoding) as stream:
                yield stream
        except OSError as exc:
            raise _fail(flag, path, exc.strerror or str(exc)) from None
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{Path(target).name}.",
                                   suffix=".tmp")
    except OSError as exc:
        raise _fail(flag, path, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode(target))
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _fail(flag, path, exc.strerror or str(exc)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str, flag: str = "--output") -> None:
    """Write ``text`` to ``path`` atomically (:func:`replacing`)."""
    with replacing(path, flag) as fh:
        fh.write(text)


def _mode(target: str) -> int:
    """The old file's permissions, or the usual ones for a new file (mkstemp's are 0600)."""
    try:
        return os.stat(target).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
