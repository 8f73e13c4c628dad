"""Every command's output files are checked before its work: one mechanism for every command.

:func:`guard_outputs` wraps the callback of each command that has an ``--output`` (or
``--plot``) option, so a new command is covered without a line of code. Before the command
runs, each given output path is checked (:func:`convcost.outfile.check_target`): its directory
exists and is writable, it is no directory, and it is none of the command's inputs (its
arguments and file options: ``model spec.yaml -o spec.yaml`` is refused, exit 2, and the spec
is untouched). The write itself is atomic (:mod:`convcost.outfile`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import click

from convcost.outfile import check_target

OUTPUTS = ("output", "plot")
"""Parameter names of the files a command writes."""


def _flag(param: click.Parameter) -> str:
    return max(param.opts, key=len) if param.opts else f"--{param.name}"


FILE_TEXT_OPTIONS = ("baseline", "against")
"""Options typed as text that name a file the command reads (``check --baseline``,
``report --against``)."""


def _is_input(param: click.Parameter) -> bool:
    return param.name not in OUTPUTS and (isinstance(param, click.Argument)
                                          or isinstance(param.type, click.Path)
                                          or param.name in FILE_TEXT_OPTIONS)


def _paths(value: Any) -> Iterator[str]:
    """The file names in an input value: a path, a list of them, or a model source's file
    (:func:`convcost.frontend.registry.input_files`)."""
    from convcost.frontend.registry import input_files

    for item in value if isinstance(value, (list, tuple)) else [value]:
        if item is not None:
            yield from input_files(str(item))


class _PathText(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2
    """A path or text parameter's type, refusing a NUL byte before click stats the path or a
    command opens it (a ValueError, an internal error, otherwise); all else is the original's."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self.name = base.name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\x00" in value:
            self.fail("a NUL byte is not allowed (no file can be named so)", param, ctx)
        return self.base.convert(value, param, ctx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


def guard_outputs(command: click.Command) -> None:
    """Check the output paths of ``command`` (and of its subcommands) before each runs."""
    for sub in getattr(command, "commands", {}).values():
        guard_outputs(sub)
    callback = command.callback
    if callback is None or getattr(callback, "guarded", False):
        return
    targets = {p.name or "": _flag(p) for p in command.params if p.name in OUTPUTS}
    inputs = [p.name or "" for p in command.params if _is_input(p)]
    for param in command.params:
        if isinstance(param.type, click.Path | click.STRING.__class__):
            param.type = _PathText(param.type)
    command.callback = _guarded(callback, targets, inputs)


def _guarded(callback: Callable[..., Any], targets: dict[str, str],
             inputs: list[str]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(**params: Any) -> Any:
        given = [path for name in inputs for path in _paths(params.get(name))]
        for name, flag in targets.items():
            if params.get(name) is not None:
                check_target(params[name], flag, given)
        return callback(**params)

    run.guarded = True  # type: ignore[attr-defined]
    return run
