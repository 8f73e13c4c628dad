"""``git:REV:path``: a spec as it was at a git revision, read with ``git show``, safely.

git runs without a shell, with its arguments as a list (``--end-of-options`` before the
object, and a revision may not start with ``-``), on a path that must lie inside the
repository of the current directory. The object's type and size are asked first (``git cat-file``): it
must be a file of at most :data:`~convcost.limits.MAX_FILE_BYTES`; each git call has a time limit and
never prompts or fetches.
"""

from __future__ import annotations

import os
import subprocess

from convcost.errors import ConvcostError, SpecError
from convcost.limits import MAX_FILE_BYTES

PREFIX = "git:"
TIMEOUT_S = 30
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_NO_LAZY_FETCH": "1", "GIT_OPTIONAL_LOCKS": "0",
        "LC_ALL": "C"}


def split(arg: str) -> tuple[str, str]:
    """``git:HEAD~1:specs/net.yaml`` -> ``("HEAD~1", "specs/net.yaml")``."""
    rev, sep, path = arg[len(PREFIX):].partition(":")
    if not sep or not rev or not path:
        raise ConvcostError(f"{arg!r}: expected git:REV:PATH, e.g. git:HEAD~1:specs/net.yaml")
    if rev.startswith("-") or not rev.isprintable() or any(c.isspace() for c in rev):
        raise ConvcostError(f"{arg!r}: {rev!r} is not a git revision")
    if not path.isprintable():
        raise ConvcostError(f"{arg!r}: the path has control characters")
    return rev, path


def _git(args: list[str], arg: str, cwd: str) -> bytes:
    try:
        done = subprocess.run(["git", "-c", "core.fsmonitor=false", *args], cwd=cwd,
                              capture_output=True, timeout=TIMEOUT_S, check=False,
                              env={**os.environ, **_ENV}, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ConvcostError(f"{arg}: cannot run git: it is not installed") from None
    except subprocess.TimeoutExpired:
        raise ConvcostError(f"{arg}: git did not answer within {TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["failed"]
        why = lines[0].removeprefix("fatal: ")
        raise ConvcostError(f"{arg}: git: {why!r}"[:400])
    return done.stdout


def _inside(arg: str, path: str, cwd: str) -> str:
    """``path`` (relative to ``cwd``) as a path relative to the repository's top level."""
    top = os.path.realpath(_git(["rev-parse", "--show-toplevel"], arg, cwd).decode().strip())
    full = os.path.normpath(os.path.join(cwd, path))
    parent = os.path.realpath(os.path.dirname(full))  # the file may not exist any more
    rel = os.path.relpath(os.path.join(parent, os.path.basename(full)), top)
    if rel == os.curdir or rel.startswith(os.pardir) or os.path.isabs(rel):
        raise ConvcostError(f"{arg}: {path!r} is not a file inside the git repository {top}")
    return rel.replace(os.sep, "/")


def git_show(arg: str, cwd: str | None = None) -> str:
    """The UTF-8 text of ``git:REV:path`` (path relative to ``cwd``, default the current
    directory); errors are one line naming ``arg``."""
    rev, path = split(arg)
    where = cwd or os.getcwd()
    obj = f"{rev}:{_inside(arg, path, where)}"
    kind = _git(["cat-file", "-t", "--end-of-options", obj], arg, where).strip().decode()
    if kind != "blob":
        raise SpecError(f"cannot read spec: a git {kind}, not a file", file=arg)
    size = _git(["cat-file", "-s", "--end-of-options", obj], arg, where).strip()
    if not size.isdigit() or int(size) > MAX_FILE_BYTES:
        raise SpecError(f"cannot read spec: larger than {MAX_FILE_BYTES // 2**20} MiB", file=arg)
    data = _git(["show", "--no-textconv", "--end-of-options", obj], arg, where)
    if len(data) > MAX_FILE_BYTES:  # pragma: no cover - the size was checked
        raise SpecError(f"cannot read spec: larger than {MAX_FILE_BYTES // 2**20} MiB", file=arg)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"cannot read spec: not UTF-8 (byte {exc.start + 1})", file=arg) from None
