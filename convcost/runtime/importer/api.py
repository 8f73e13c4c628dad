"""One call from a source string to the IR: parse, load, trace (or read ONNX), check strictness."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from convcost.errors import ConvcostError, MissingDependencyError
from convcost.frontend.source import Source
from convcost.limits import quote
from convcost.runtime.importer.ir import IRGraph, Shape
from convcost.spec.inputs import given_twice

DEFAULT_INPUT: Shape = (1, 3, 224, 224)


def read_graph(source: Source, input_shape: Shape | None = None, tracer: str = "auto",
               inputs: tuple[tuple[str, Shape], ...] = ()) -> tuple[Any, IRGraph]:
    """``(original nn.Module or None for ONNX, IR)`` of the model ``source`` names; ``inputs``:
    named inputs: an ONNX graph's by name; several, on which a torch model is recorded as it
    runs (its forward takes them)."""
    if source.kind == "onnx":
        from convcost.runtime.importer.onnx_read import read_onnx

        return None, read_onnx(source.location, input_shape, inputs)
    twice = given_twice([name for name, _ in inputs])
    if twice is not None:
        raise ConvcostError(f"--input: input {quote(twice)} is given twice")
    several = inputs if len(inputs) > 1 else ()  # one named input: traced on its shape
    return _read_torch(source, inputs[0][1] if inputs else input_shape or DEFAULT_INPUT, tracer,
                       several)


def _read_torch(source: Source, input_shape: Shape, tracer: str,
                inputs: tuple[tuple[str, Shape], ...] = ()) -> tuple[Any, IRGraph]:
    """Build and trace the user's model (record it, on several ``inputs``), contained
    (:mod:`.contain`): the import of torch itself happens before the clock starts."""
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
    from convcost.runtime.importer.trace import Untraced, record, record_inputs, trace

    text = source.text
    for _, shape in inputs or (("", input_shape),):
        check_input(text, shape)
    capture = Capture(text)
    with contained(text, "building", capture):
        model = load_module(source)
    untraced = None
    if inputs:  # a forward of several tensors: recorded as it runs on them (RAFT's two images)
        with contained(text, "recording", capture):
            graph = record_inputs(model, inputs, text)
    else:
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

