"""Model sources wherever a spec goes: ``convcost model torchvision:resnet50`` imports, then
analyses. The imported spec is kept with the original model for the cross-check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.runtime.importer.source import looks_like_source

if TYPE_CHECKING:
    from convcost.runtime.importer.convert import Imported

_CACHE: dict[tuple[str, Any, bool], Session] = {}


def is_source(arg: str | Path) -> bool:
    """Whether a command-line argument names a model to import (and no existing file)."""
    text = str(arg)
    return looks_like_source(text) and not (Path(text).exists() and not text.endswith(".onnx"))


@dataclass(frozen=True)
class Session:
    """One import: the original model (None for ONNX), the IR and the emitted spec."""

    text: str
    model: Any  # the user's torch.nn.Module (torch is imported inside functions only)
    imported: Imported

    @property
    def yaml(self) -> str:
        return self.imported.yaml


def open_source(text: str, input_shape: tuple[int, ...] | None = None, strict: bool = False,
                tracer: str = "auto") -> Session:
    """Import ``text`` once per process (every command of one run shares it)."""
    key = (text, input_shape, strict)
    if key not in _CACHE:
        from convcost.runtime.importer.api import read_graph
        from convcost.runtime.importer.convert import to_spec

        model, graph = read_graph(text, input_shape, tracer)
        _CACHE[key] = Session(text, model, to_spec(graph, text, strict))
    return _CACHE[key]


def source_yaml(text: str, input_shape: tuple[int, ...] | None = None,
                strict: bool = False) -> tuple[Any, str]:
    """``(data, yaml text)`` of the imported spec, as :func:`convcost.spec.loader.read_yaml` gives."""
    from convcost.spec.yamlsafe import load_yaml

    session = open_source(text, input_shape, strict)
    return load_yaml(session.yaml, text), session.yaml
