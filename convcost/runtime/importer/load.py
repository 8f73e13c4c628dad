"""One import of a model source: the original model, its IR and the emitted spec, kept
together (in the :class:`convcost.frontend.network.Opened` that the front end returns) so
that ``model --verify`` cross-checks the analysis against the original module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from convcost.frontend.source import Source
    from convcost.runtime.importer.convert import Imported


@dataclass(frozen=True)
class Session:
    """One import: the original model (None for ONNX), the IR and the emitted spec."""

    text: str
    model: nn.Module | None  # the user's module, None for ONNX (torch imported inside functions only)
    imported: Imported

    @property
    def yaml(self) -> str:
        return self.imported.yaml


def import_source(source: Source, input_shape: tuple[int, ...] | None = None, strict: bool = False,
                  tracer: str = "auto", inputs: tuple[tuple[str, tuple[int, ...]], ...] = ()) -> Session:
    """Import ``source``: build (or read) it, trace it on ``input_shape`` (or record it on
    several named ``inputs``) and emit its spec."""
    from convcost.runtime.importer.api import read_graph
    from convcost.runtime.importer.convert import to_spec

    model, graph = read_graph(source, input_shape, tracer, inputs)
    return Session(source.text, model, to_spec(graph, source.text, strict))
