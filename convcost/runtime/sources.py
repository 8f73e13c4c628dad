"""The one place that decides what a command's model argument names, and reads it.

An argument is, in this order:

- ``git:REV:path``: a spec file at a git revision (:mod:`convcost.runtime.gitshow`);
- a model to import: ``torchvision:NAME``, ``timm:NAME``, ``file.py:Class(...)``,
  ``package.module:NAME`` or ``model.onnx``
  (:func:`convcost.runtime.importer.load.is_source`), traced on an input shape;
- a spec file, or the name of a built-in spec (``convcost list``).

Every command (``model``, ``diff``, ``check`` and its budgets files, ...) opens its models here,
so each takes the same arguments. Torch is imported only to import a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convcost.spec.loader import Spec, read_spec, spec_from
from convcost.spec.yamlsafe import load_yaml


@dataclass(frozen=True)
class Opened:
    """A model argument, read: its YAML data and text, and what importing it noted."""

    label: str  # the argument as given
    file: str  # where the spec text came from: a path, or the argument itself
    data: Any
    text: str
    notes: tuple[str, ...] = ()  # import notes (BatchNorm folded by the exporter, ...)
    imported: bool = False

    def spec(self) -> Spec:
        return spec_from(self.data, self.text, self.file)


def is_git(arg: str) -> bool:
    """Whether ``arg`` is ``git:REV:path`` (read by :mod:`convcost.runtime.gitshow`)."""
    return arg.startswith("git:")


def is_model_source(arg: str) -> bool:
    """Whether ``arg`` names a model to import (not a spec file)."""
    from convcost.runtime.importer.load import is_source

    return not is_git(arg) and is_source(arg)


def open_model(arg: str, input_shape: tuple[int, ...] | None = None) -> Opened:
    """Read ``arg`` (see the module docstring); ``input_shape`` is an imported model's input
    (default: the model's own, else 1×3×224×224)."""
    if is_git(arg):
        from convcost.runtime.gitshow import git_show  # subprocess: only when asked

        text = git_show(arg)
        return Opened(arg, arg, load_yaml(text, arg), text)
    if is_model_source(arg):
        from convcost.runtime.importer.load import open_source, source_yaml

        data, text = source_yaml(arg, input_shape)
        notes = tuple(open_source(arg, input_shape).imported.graph.notes)
        return Opened(arg, arg, data, text, notes, imported=True)
    from convcost.runtime.importer.mistakes import check_spec_argument

    check_spec_argument(arg)  # net.py without :Class, a .pt checkpoint, a binary file
    file, data, text = read_spec(arg)
    return Opened(arg, file, data, text)
