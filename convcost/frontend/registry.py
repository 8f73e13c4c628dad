"""The front-end registry: the one place that decides what a network argument names, and the
one opener every command calls (:func:`open_network`).

The readers are asked in order; the first that matches reads the argument:

- ``git:REV:PATH``: a spec file at a git revision;
- ``FILE.onnx``: an ONNX model, imported;
- ``torchvision:NAME``, ``timm:NAME``: a zoo model, imported;
- ``FILE.py:NAME(...)``, ``package.module:NAME(...)``: the user's torch model, imported;
- ``NAME``: a built-in spec (``convcost list``), when no file has that name;
- anything else: a YAML spec file.

A new front end (a TFLite reader, say) is one module with a :class:`Reader` and one line in
:data:`READERS`. Nothing here is kept between calls: each call reads its argument afresh, and
the :class:`Opened` it returns carries the import (model, IR, spec) for the cross-check.
"""

from __future__ import annotations

import os
from pathlib import Path

from convcost.errors import ConvcostError
from convcost.frontend.import_readers import ONNX, PYTHON, ZOO
from convcost.frontend.network import Opened, Reader, Request
from convcost.frontend.source import parse_source
from convcost.frontend.spec_readers import BUILTIN, GIT, YAML

READERS: tuple[Reader, ...] = (GIT, ONNX, ZOO, PYTHON, BUILTIN, YAML)
"""Every front end, in the order they are asked; the last (YAML) takes any argument."""


def reader_for(arg: str | Path) -> Reader:
    """The reader that reads ``arg``."""
    text = str(arg)
    return next(reader for reader in READERS if reader.matches(text))


def open_network(arg: str | Path, input_shape: tuple[int, ...] | None = None, *,
                 strict: bool = False, tracer: str = "auto",
                 inputs: tuple[tuple[str, tuple[int, ...]], ...] = ()) -> Opened:
    """Read the network ``arg`` names (see the module docstring). ``input_shape``, ``strict``
    and ``tracer`` apply to an imported model: its input (default: the model's own, else
    1×3×224×224), whether an op the spec cannot express is an error, and the tracer
    (auto, fx, export); ``inputs``: named inputs instead, a forward's several (recorded) or
    an ONNX graph's, each by name."""
    return reader_for(arg).read(str(arg), Request(input_shape, strict, tracer, inputs))


def imports(arg: str | Path) -> bool:
    """Whether ``arg`` names a model to import (it takes an input shape), not a spec."""
    return reader_for(arg).imports


def input_files(arg: str | Path) -> tuple[str, ...]:
    """The local files an argument reads (a command's output must be none of them): the
    argument itself, and a Python or ONNX source's file."""
    text = str(arg)
    reader = reader_for(text)
    if reader in (PYTHON, ONNX):
        try:
            source = parse_source(text)
        except ConvcostError:  # the command says what is wrong with it
            return (text,)
        if source.kind in ("file", "onnx") and source.location != text:
            return (source.location, text)
    return (text,)


def relative_to(arg: str, base: Path) -> str:
    """``arg`` as written in a file in ``base``: a spec path or a model source's file made
    relative to ``base``; a git revision, a zoo or module name, or a built-in unchanged."""
    reader = reader_for(arg)
    if reader in (GIT, ZOO):
        return arg
    if reader in (PYTHON, ONNX):
        source = parse_source(arg)
        if source.kind in ("file", "onnx") and not os.path.isabs(source.location):
            return os.path.normpath(base / source.location) + arg[len(source.location):]
        return arg
    from convcost.spec.zoo import builtin

    resolved = os.path.normpath(base / arg)
    return arg if not os.path.lexists(resolved) and builtin(arg) is not None else resolved
