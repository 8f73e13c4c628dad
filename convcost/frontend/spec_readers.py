"""The readers of networks written as specs: a spec at a git revision, a built-in name, a YAML
file. Pure but for ``git``, which runs git (:mod:`convcost.runtime.gitshow`) when asked."""

from __future__ import annotations

import os

from convcost.frontend.network import Opened, Reader, Request
from convcost.spec.loader import read_spec, read_yaml
from convcost.spec.yamlsafe import load_yaml
from convcost.spec.zoo import builtin

GIT_PREFIX = "git:"


def is_git(arg: str) -> bool:
    return arg.startswith(GIT_PREFIX)


def _read_git(arg: str, _: Request) -> Opened:
    from convcost.runtime.gitshow import git_show  # subprocess: only when asked

    text = git_show(arg)
    return Opened(arg, arg, load_yaml(text, arg), text, GIT.name)


def exists(arg: str) -> bool:
    """Whether a file (or anything) is at ``arg``; a name no file can have is not."""
    try:
        return os.path.lexists(arg)
    except (OSError, ValueError):  # a name too long, a NUL byte: the YAML reader says so
        return False


def _is_builtin(arg: str) -> bool:
    return not exists(arg) and builtin(arg) is not None


def _read_builtin(arg: str, _: Request) -> Opened:
    path = builtin(arg)
    assert path is not None  # matched
    data, text = read_yaml(path)
    return Opened(arg, str(path), data, text, BUILTIN.name)


def _read_yaml(arg: str, _: Request) -> Opened:
    from convcost.frontend.mistakes import check_spec_argument

    check_spec_argument(arg)  # net.py without :Class, a .pt checkpoint, a binary file
    file, data, text = read_spec(arg)
    return Opened(arg, file, data, text, YAML.name)


GIT = Reader("git", "git:REV:PATH", is_git, _read_git, ("git",))
BUILTIN = Reader("builtin", "NAME (convcost list)", _is_builtin, _read_builtin)
YAML = Reader("yaml", "FILE.yaml", lambda _: True, _read_yaml, ("PyYAML",))
