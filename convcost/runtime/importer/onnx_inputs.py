"""The inputs of an ONNX graph: their names in the spec and their shapes, from ``--input``.

A graph of one input takes one bare ``--input SHAPE`` (or none: its own shape, symbolic dims
1), as ever. A graph of several takes each by name, ``--input NAME=SHAPE``, or none. An input's
name in the spec (``inputs:``, ``from:``, what ``--input`` names) is the graph's when the spec
loader takes it, else the graph's with every other character ``_`` (the TorchScript exporter's
``onnx::MatMul_1`` is ``onnx_MatMul_1``; ``input`` and torch attributes get a ``_`` after),
and the graph is renamed so before inference. Names from the file are data: quoted in errors.
onnx is imported inside functions only (the graph is a protobuf passed in).
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from typing import Any

from convcost.errors import ConvcostError, SpecError
from convcost.limits import quote
from convcost.spec.loader import MAX_INPUTS, check_name

Shape = tuple[int, ...]
NamedShape = tuple[str, Shape]
MAX_NAME = 60  # characters kept of a graph's input name made a spec name
_OTHER = re.compile(r"[^A-Za-z0-9_]+")


def real_inputs(model: Any) -> list[Any]:
    """The graph's inputs that are no initializer (old exporters list weights as inputs)."""
    weights = {init.name for init in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in weights]


def _valid(name: str) -> bool:
    try:
        check_name(name, "input")
    except SpecError:
        return False
    return True


def spec_names(raw: Sequence[str], taken: Container[str] = ()) -> list[str]:
    """The spec name of each graph input (the module's rule), unique and, when renamed, none
    of the tensor names in ``taken``."""
    names: list[str] = []
    for index, name in enumerate(raw):
        if not _valid(name):
            name = _OTHER.sub("_", name).strip("_")[:MAX_NAME] or f"input{index}"
            name = name if _valid(name) else f"{name}_"  # input, forward, ...: reserved
        while name in names or (name != raw[index] and (name in taken or name in raw)):
            name = f"{name}_"
        names.append(name)
    return names


def listed(raw: Sequence[str], names: Sequence[str]) -> str:
    """``image1, onnx__MatMul_1 (the graph's 'onnx::MatMul_1')``: what --input names."""
    return ", ".join(name if name == graph else f"{name} (the graph's {quote(graph)})"
                     for graph, name in zip(raw, names, strict=True))


def fix_inputs(model: Any, path: str, input_shape: Shape | None,
               inputs: Sequence[NamedShape] = ()) -> bool:
    """Give every graph input its shape (``input_shape`` for the one input, or ``inputs`` by
    name; else its own, symbolic dims 1), renaming inputs of several to their spec names.
    Whether the inputs are named in the spec (several, or named by ``--input``)."""
    graph = real_inputs(model)
    if not graph:
        raise ConvcostError(f"{path}: the ONNX graph has no input")
    if len(graph) > MAX_INPUTS:
        raise ConvcostError(f"{path}: the ONNX graph has {len(graph)} inputs, more than the "
                            f"{MAX_INPUTS} a spec may name")
    raw = [i.name for i in graph]
    names = spec_names(raw, _tensors(model))
    shapes = _shapes(path, raw, names, input_shape, inputs)
    resized = False
    for info, name, shape in zip(graph, names, shapes, strict=True):
        resized |= _fix_dims(path, info, name, shape, listed(raw, names))
    if resized:  # the shapes the exporter wrote were of its own input: inferred again
        _forget_shapes(model)
    named = bool(inputs) or len(graph) > 1
    if named:
        _rename(model, dict(zip(raw, names, strict=True)))
    typed = {info.name: info.type for info in graph}
    for info in model.graph.output:  # an input returned as is: onnx would read its shape here
        if info.name in typed:
            info.type.CopyFrom(typed[info.name])
    return named


def _shapes(path: str, raw: Sequence[str], names: Sequence[str], input_shape: Shape | None,
            inputs: Sequence[NamedShape]) -> list[Shape | None]:
    """The shape ``--input`` gives each graph input (None: its own)."""
    its = f"its inputs: {listed(raw, names)}"
    if not inputs:
        if input_shape is not None and len(names) > 1:
            example = " ".join(f"--input {name}=SHAPE" for name in names)
            raise ConvcostError(f"{path}: --input: the ONNX graph has {len(names)} inputs; name "
                                f"each, {example} ({its})")
        return [input_shape, *[None] * (len(names) - 1)]
    given: dict[str, Shape] = {}
    for name, shape in inputs:
        if name not in names:
            raise ConvcostError(f"{path}: --input: the ONNX graph has no input {quote(name)} ({its})")
        if name in given:
            raise ConvcostError(f"{path}: --input: input {quote(name)} is given twice ({its})")
        given[name] = shape
    missing = [name for name in names if name not in given]
    if missing:
        raise ConvcostError(f"{path}: --input: no shape for the ONNX graph's input "
                            f"{quote(missing[0])}: give each, NAME=SHAPE ({its})")
    return [given[name] for name in names]


def _fix_dims(path: str, info: Any, name: str, shape: Shape | None, inputs: str) -> bool:
    """``shape`` on the input's dims (rank checked), or symbolic dims 1; whether a size the
    graph gave changed."""
    dims = info.type.tensor_type.shape.dim
    if shape is not None and len(shape) != len(dims):
        raise ConvcostError(f"{path}: --input has {len(shape)} dimensions; the ONNX input "
                            f"{quote(name)} has {len(dims)} (its inputs: {inputs})")
    resized = False
    for i, dim in enumerate(dims):
        if shape is not None:
            resized |= dim.HasField("dim_value") and dim.dim_value != shape[i]
            dim.dim_value = shape[i]
        elif not dim.HasField("dim_value"):
            dim.dim_value = 1
    return resized


def _forget_shapes(model: Any) -> None:
    """Drop the shapes the file states of the tensors after the inputs (shape inference keeps
    a stated output shape over the one it infers)."""
    graph = model.graph
    del graph.value_info[:]
    for info in graph.output:
        if info.type.HasField("tensor_type"):
            info.type.tensor_type.ClearField("shape")


def _tensors(model: Any) -> set[str]:
    graph = model.graph
    return {*(i.name for i in graph.initializer), *(o for node in graph.node for o in node.output)}


def _rename(model: Any, names: dict[str, str]) -> None:
    """Rename graph inputs (``raw -> spec name``) wherever the graph reads them."""
    changed = {old: new for old, new in names.items() if old != new}
    if not changed:
        return
    graph = model.graph
    for info in [*graph.input, *graph.output]:
        info.name = changed.get(info.name, info.name)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in changed:
                node.input[i] = changed[name]
