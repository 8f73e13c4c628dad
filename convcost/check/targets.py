"""What ``convcost check`` checks: its arguments and budgets files turned into models.

An argument is a network argument as every command takes it (:mod:`convcost.frontend.registry`:
a spec at a git revision, a model to import, a spec file or built-in name), or a directory
(its ``*.yaml``/``*.yml`` files), or a budgets file (its entries name any model argument,
with an optional ``input`` shape for an imported model). A model named twice is checked
once, against its budgets-file entry when one names it. Reads files, never prints.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from convcost.check.budget import BudgetEntry, is_budgets_file, parse_budgets_file
from convcost.errors import ConvcostError, SpecError
from convcost.limits import quote
from convcost.spec.loader import locate

if TYPE_CHECKING:
    from convcost.frontend.network import Opened
    from convcost.runtime.guard import Notify


@dataclass(frozen=True)
class Problem:
    """An input that could not be checked, located for annotations where possible."""

    message: str  # the whole one-line error, location included
    file: str | None = None
    line: int | None = None
    detail: str = ""  # the message without its file and line

    @classmethod
    def of(cls, err: ConvcostError) -> Problem:
        if isinstance(err, SpecError):
            field = f"{err.path}: " if err.path else ""
            return cls(str(err), err.file, err.line, f"{field}{err.message}")
        return cls(str(err), detail=str(err))


@dataclass(frozen=True)
class Target:
    file: str  # a spec file, or a model argument (torchvision:NAME, git:REV:path, ...)
    entry: BudgetEntry | None = None  # the budgets-file entry naming this model
    loaded: Opened | None = None  # when already read

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        return None if self.entry is None else self.entry.input_shape


def is_model_argument(arg: str) -> bool:
    """A spec at a git revision or a model to import (not a file or directory to scan)."""
    from convcost.frontend.registry import reader_for
    from convcost.frontend.spec_readers import GIT

    reader = reader_for(arg)
    return reader is GIT or reader.imports


def key_of(file: str, input_shape: tuple[int, ...] | None = None) -> str:
    """A model's identity: a spec file's real path, else the argument (with its input)."""
    if is_model_argument(file):
        return file if input_shape is None else f"{file}@{'x'.join(map(str, input_shape))}"
    return os.path.realpath(file)


def open_target(target: Target, notify: Notify | None) -> Opened:
    """The target's spec, read now unless it was; an import's notes go to ``notify``."""
    if target.loaded is not None:
        return target.loaded
    from convcost.frontend.registry import open_network

    opened = open_network(target.file, target.input_shape)
    if notify is not None:
        for note in opened.notes:
            notify(f"note: {note}")
    return opened


def _files(path: str) -> list[str]:
    """A directory's YAML files (sorted), or the path itself (or the built-in it names)."""
    folder = Path(path)
    try:
        is_dir = folder.is_dir()
    except (OSError, ValueError):  # a name too long: reading it reports the error
        is_dir = False
    if not is_dir:
        return [path]
    try:
        files = sorted(str(p) for p in folder.iterdir()
                       if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError as exc:
        raise ConvcostError(f"{path}: cannot read directory: {exc.strerror or exc}") from None
    if not files:
        raise ConvcostError(f"{path}: no .yaml or .yml files in this directory")
    return files


def _add_entries(targets: dict[str, Target], data: object, text: str, file: str) -> None:
    for entry in parse_budgets_file(data, text, file):
        key = key_of(entry.file, entry.input_shape)
        old = targets.get(key)
        if old is not None and old.entry is not None:
            clash = SpecError(f"{quote(entry.spec)} already has a budget in {old.entry.budget.file}",
                              path=f"{entry.budget.path}.spec", file=file)
            raise locate(clash, text)
        targets[key] = Target(old.file if old else entry.file, entry, old.loaded if old else None)


def _add_file(targets: dict[str, Target], file: str) -> None:
    from convcost.frontend.registry import open_network

    opened = open_network(file)  # a spec or budgets file, or a built-in spec
    if is_budgets_file(opened.data):
        _add_entries(targets, opened.data, opened.text, opened.file)
        return
    key = key_of(opened.file)
    old = targets.get(key)
    targets[key] = Target(opened.file, old.entry if old else None, opened)


def collect(paths: Iterable[str], problems: list[Problem], notify: Notify | None = None
            ) -> list[Target]:
    """The models to check, in argument order; what cannot be read goes to ``problems``."""
    targets: dict[str, Target] = {}
    seen: set[str] = set()
    for path in paths:
        try:
            if is_model_argument(path):
                target = Target(path)
                targets.setdefault(key_of(path), Target(path, None, open_target(target, notify)))
                continue
            files = _files(path)
        except ConvcostError as err:
            problems.append(Problem.of(err))
            continue
        for file in files:
            if os.path.realpath(file) in seen:
                continue
            seen.add(os.path.realpath(file))
            try:
                _add_file(targets, file)
            except ConvcostError as err:
                problems.append(Problem.of(err))
    return list(targets.values())
