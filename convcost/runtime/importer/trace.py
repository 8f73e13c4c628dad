"""Trace a torch model into the IR: torch.fx first, torch.export when fx cannot trace it."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from convcost.errors import ConvcostError
from convcost.runtime.importer.contain import allocation_failed, memory_error
from convcost.runtime.importer.ir import IRGraph, Shape

if TYPE_CHECKING:
    from torch import nn

TRACERS = ("auto", "fx", "export", "record")


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:200]


_SMALL = ("too small", "can't be greater than actual input size", "smaller than kernel")


def _too_small(err: BaseException) -> str:
    """``at layer features.30: Given input size: (512x1x1) ...`` when shape propagation
    failed because the input shrank below a layer's window, else ""."""
    cause = err.__cause__ or err
    lines = str(cause).strip().splitlines()
    text = lines[0] if lines else ""
    if not any(word in text for word in _SMALL):
        return ""
    layer = re.search(r"\[target=([^\]]+)\]", str(err))
    return f"at layer {layer[1]}: {text[:160]}" if layer else text[:200]


def _one_input(model: nn.Module, source: str) -> None:
    """A forward that needs more than one tensor cannot be traced on one image input."""
    import inspect

    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return
    required = [p.name for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(required) > 1:
        shapes = " ".join(f"--input {name}=1x3x224x224" for name in required)
        raise ConvcostError(f"{source}: its forward takes {len(required)} inputs ({', '.join(required)}); "
                            f"give each, e.g. {shapes} (the model is then recorded as it runs on "
                            "them), or wrap it in a module whose forward(x) makes the others")


class Untraced(Exception):
    """Neither tracer could trace the model (``trace(..., defer=True)``): :func:`record` it
    next, on a clock of its own."""

    def __init__(self, fx: str, export: str) -> None:
        super().__init__(fx, export)
        self.fx, self.export = fx, export


def record(model: nn.Module, input_shape: Shape, source: str, fx: str, export: str) -> IRGraph:
    """The ops as the model ran (:mod:`.record`), when no tracer can trace it."""
    from convcost.runtime.importer.record import trace_record

    why = f"torch.fx ({fx[:80]}) and torch.export ({export[:80]}) cannot trace it; " if export else ""
    try:
        return trace_record(model, [("x", input_shape)], source, why)
    except Exception as err:
        if allocation_failed(err):
            raise memory_error(source, "running") from None
        if not export:
            raise ConvcostError(f"{source}: running it failed: {_reason(err)}") from None
        raise ConvcostError(f"{source}: cannot trace it with torch.fx ({fx or 'not tried'}) nor "
                            f"torch.export ({export}), nor run it ({_reason(err)})") from None


def record_inputs(model: nn.Module, inputs: Sequence[tuple[str, Shape]], source: str) -> IRGraph:
    """The ops as the model ran on several named ``inputs`` (its forward takes them in
    order): no tracer follows a forward of several tensors, the recorder does."""
    from convcost.runtime.importer.record import trace_record

    try:
        return trace_record(model, inputs, source, "a forward of several inputs; ")
    except Exception as err:
        if allocation_failed(err):
            raise memory_error(source, "running") from None
        raise ConvcostError(f"{source}: running it on {', '.join(n for n, _ in inputs)} failed: "
                            f"{_reason(err)}") from None


def _fx_failure(err: Exception, source: str, input_shape: Shape, tracer: str) -> str:
    """Why torch.fx failed, or the one-line error when that ends the import."""
    if allocation_failed(err):
        raise memory_error(source, "tracing") from None
    small = _too_small(err)
    if small:
        raise ConvcostError(f"{source}: the input {'×'.join(map(str, input_shape))} is too "
                            f"small: {small}; give a larger --input") from None
    if tracer == "fx":
        raise ConvcostError(f"{source}: torch.fx cannot trace it: {_reason(err)}") from None
    return _reason(err)


def trace(model: nn.Module, input_shape: Shape, source: str, tracer: str = "auto",
          defer: bool = False) -> IRGraph:
    """The IR of ``model`` on an input of ``input_shape``; says which tracer was used: torch.fx,
    else torch.export, else the ops recorded as the model ran (``record``; ``defer``: raise
    :class:`Untraced` instead, for the caller to record it)."""
    from convcost.runtime.importer.export_trace import trace_export
    from convcost.runtime.importer.fx_trace import trace_fx

    _one_input(model, source)
    failure = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if tracer in ("auto", "fx"):
            try:
                return trace_fx(model, input_shape, source)
            except Exception as err:
                failure = _fx_failure(err, source, input_shape, tracer)
        if tracer == "record":
            return record(model, input_shape, source, "", "")
        try:
            graph = trace_export(model, input_shape, source)
        except Exception as err:
            if allocation_failed(err):
                raise memory_error(source, "tracing") from None
            if tracer == "export":
                raise ConvcostError(f"{source}: torch.export cannot trace it: {_reason(err)}") from None
            if defer:
                raise Untraced(failure, _reason(err)) from None
            return record(model, input_shape, source, failure, _reason(err))
    note = f"torch.fx could not trace it ({failure}); traced with torch.export" if failure else ""
    return replace(graph, notes=(*graph.notes, note)) if note else graph
