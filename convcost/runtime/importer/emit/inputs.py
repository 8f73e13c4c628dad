"""The spec's ``input`` or ``inputs:`` of an IR graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcost.runtime.importer.ir import IRGraph


def spec_input(graph: IRGraph) -> dict[str, Any]:
    """The spec's ``input`` (:func:`input_fields`) of the graph's first input."""
    return input_fields(graph.input_shape)


def spec_inputs(graph: IRGraph) -> dict[str, dict[str, Any]] | None:
    """The spec's ``inputs:`` of a graph with several inputs (name -> fields, in the order
    the forward takes them) or one the source names (an ONNX input named by ``--input``), None
    for one."""
    inputs = [n for n in graph.nodes if n.op == "input"]
    named = len(inputs) > 1 or any(n.attr("named") for n in inputs)
    return {n.name: input_fields(n.shape) for n in inputs} if named else None


def input_fields(shape: Sequence[int]) -> dict[str, Any]:
    """An image's ``channels``, ``resolution`` (``height``, ``width``), ``batch``; any other
    rank's ``shape`` (its layout channels-first by rank: NC, NCL, NCDHW)."""
    if len(shape) != 4:
        return {"shape": list(shape)}
    n, c, h, w = shape
    data: dict[str, Any] = {"channels": c}
    data.update({"resolution": h} if h == w else {"height": h, "width": w})
    if n != 1:
        data["batch"] = n
    return data
