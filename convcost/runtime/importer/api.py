"""One call from a source string to the IR: parse, load, trace (or read ONNX), check strictness."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from convcost.errors import ConvcostError, MissingDependencyError
from convcost.frontend.source import Source
from convcost.runtime.importer.ir import IRGraph, Shape

DEFAULT_INPUT: Shape = (1, 3, 224, 224)


def read_graph(source: Source, input_shape: Shape | None = None, tracer: str = "auto"
               ) -> tuple[Any, IRGraph]:
    """``(original nn.Module or None for ONNX, IR)`` of the model ``source`` names."""
    if source.kind == "onnx":
        from convcost.runtime.importer.onnx_read import read_onnx

        return None, read_onnx(source.location, input_shape)
    return _read_torch(source, input_shape or DEFAULT_INPUT, tracer)


def _read_torch(source: Source, input_shape: Shape, tracer: str) -> tuple[Any, IRGraph]:
    """Build and trace the user's model, contained (:mod:`.contain`): the import of torch
    itself happens before the clock starts."""
    if source.kind == "module":  # net:Net with net.py here: say so before asking for torch
        import importlib.util

        from convcost.frontend.mistakes import module_hint

        top = source.location.split(".")[0]
        if importlib.util.find_spec(top) is None:
            raise ConvcostError(f"cannot import module {top!r}: no such module"
                                f"{module_hint(source.location, source.name)}")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingDependencyError(f"{source.text}: importing a {source.kind} model needs torch: "
                                     "pip install 'convcost[torch]'") from None
    from convcost.runtime.importer.contain import Capture, check_input, contained
    from convcost.runtime.importer.resolve import load_module
    from convcost.runtime.importer.trace import Untraced, record, trace

    text = source.text
    check_input(text, input_shape)
    capture = Capture(text)
    with contained(text, "building", capture):
        model = load_module(source)
    untraced = None
    with contained(text, "tracing", capture):
        try:
            graph = trace(model, input_shape, text, tracer, defer=True)
        except Untraced as err:  # recorded on a clock of its own: the tracers took theirs
            untraced = err
    if untraced is not None:
        with contained(text, "recording", capture):
            graph = record(model, input_shape, text, untraced.fx, untraced.export)
    note = capture.note()
    return model, replace(graph, notes=(*graph.notes, note)) if note else graph

