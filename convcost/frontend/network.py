"""What a front-end reader is, and what it gives: an :class:`Opened` network.

A :class:`Reader` says which arguments it takes (``matches``), reads one (``read``) and names
the packages that read it (``tools``, whose installed versions :meth:`Reader.versions` gives).
The readers and their order are in :mod:`convcost.frontend.registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from convcost.spec.loader import Spec, spec_from

if TYPE_CHECKING:
    from convcost.runtime.importer.load import Session


@dataclass(frozen=True)
class Request:
    """How to read an argument: an imported model's input shape (None: the model's own, else
    1×3×224×224), ``strict`` (an op the spec cannot express is an error) and the tracer."""

    input_shape: tuple[int, ...] | None = None
    strict: bool = False
    tracer: str = "auto"
    inputs: tuple[tuple[str, tuple[int, ...]], ...] = ()  # named inputs (--input NAME=SHAPE): (name, shape)


@dataclass(frozen=True)
class Opened:
    """A network argument, read: its YAML data and text, the reader that read it, and for an
    imported model the import itself (the original model, its IR and the emitted spec)."""

    label: str  # the argument as given
    file: str  # where the spec text came from: a path, or the argument itself
    data: Any
    text: str
    reader: str = "yaml"  # the name of the reader that read it
    notes: tuple[str, ...] = ()  # import notes (BatchNorm folded by the exporter, ...)
    session: Session | None = None  # an imported model's import (model, IR, emitted spec)

    @property
    def imported(self) -> bool:
        return self.session is not None

    def spec(self) -> Spec:
        return spec_from(self.data, self.text, self.file)


def _program_version(name: str) -> str | None:
    """The version a program on PATH prints (``git --version``: ``git version 2.39.5``)."""
    import shutil
    import subprocess

    path = shutil.which(name)
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return next((word for word in out.split() if word[:1].isdigit()), None)


def versions(names: tuple[str, ...]) -> dict[str, str]:
    """The installed version of each package (or program on PATH: git) of ``names``, those not
    installed left out."""
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            if (program := _program_version(name)) is not None:
                found[name] = program
    return found


@dataclass(frozen=True)
class Reader:
    """One front end: a kind of network argument and how to read it."""

    name: str
    syntax: str  # the argument as a user writes it, e.g. ``timm:NAME``
    matches: Callable[[str], bool]
    read: Callable[[str, Request], Opened]
    tools: tuple[str, ...] = ()  # the packages that read it
    imports: bool = False  # a model imported on an input shape (--input), checked against itself

    def versions(self) -> dict[str, str]:
        """The installed versions of the packages that read this kind of argument."""
        return versions(self.tools)
