"""The readers of models to import (:mod:`convcost.runtime.importer`, torch or onnx imported
inside functions): ``torchvision:NAME``/``timm:NAME``, ``FILE.py:NAME``/``package.module:NAME``
(each optionally called with literal keyword arguments), ``FILE.onnx``."""

from __future__ import annotations

from collections.abc import Callable

from convcost.frontend.network import Opened, Reader, Request
from convcost.frontend.source import ZOOS, Source, is_onnx, is_target, parse_source
from convcost.frontend.spec_readers import exists


def read_source(source: Source, request: Request, reader: str) -> Opened:
    """Import ``source`` on the request's input shape: the spec it gives, and the import."""
    from convcost.runtime.importer.load import import_source
    from convcost.spec.yamlsafe import load_yaml

    session = import_source(source, request.input_shape, request.strict, request.tracer,
                            request.inputs)
    text = source.text
    return Opened(text, text, load_yaml(session.yaml, text), session.yaml, reader,
                  tuple(session.imported.graph.notes), session)


def _is_zoo(arg: str) -> bool:
    return is_target(arg) and arg.split(":", 1)[0] in ZOOS and not exists(arg)


def _is_python(arg: str) -> bool:
    return is_target(arg) and not exists(arg)


def _read(name: str) -> Callable[[str, Request], Opened]:
    return lambda arg, request: read_source(parse_source(arg), request, name)


ZOO = Reader("zoo", "torchvision:NAME, timm:NAME", _is_zoo, _read("zoo"),
             ("torch", "torchvision", "timm"), imports=True)
PYTHON = Reader("python", "FILE.py:NAME(...), package.module:NAME(...)", _is_python,
                _read("python"), ("torch",), imports=True)
ONNX = Reader("onnx", "FILE.onnx", is_onnx, _read("onnx"), ("onnx",), imports=True)
