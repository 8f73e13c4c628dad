"""Constant folding of an ONNX graph's shape arithmetic, before it is read.

The TorchScript exporter computes some sizes in the graph: ``x.chunk(2, 1)`` becomes ``Slice``s
whose ends are ``Shape -> Gather -> Add -> Div -> Mul`` of the input, ``F.pad`` a ``Pad`` whose
pads are ``ConstantOfShape -> Concat -> Reshape -> Slice -> Transpose -> Cast``. onnx's shape
inference does not follow all of it, so the shapes after such a node stay unknown. Once the
input's shape is fixed every such value is a constant: each node of the default domain whose
inputs are all known small constants (never a float initializer: weights stay read as weights),
or a ``Shape`` of a tensor of inferred static shape, is evaluated with ``onnx.reference`` and
replaced by ``Constant`` nodes of its outputs; then shapes are inferred again. Bounded: every
output must have an inferred static shape of at most :data:`MAX_VALUES` elements before it is
evaluated, no node with a subgraph (If, Loop, Scan) is, and at most :data:`MAX_ROUNDS` rounds.
onnx is imported inside functions only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

FLOATS = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16: initializers of these are weights
MAX_VALUES = 1024  # elements of one folded tensor
MAX_ROUNDS = 4  # fold, infer shapes again, ... (each round resolves the shapes the last one freed)


def fold_shapes(model: Any, infer: Callable[[Any], Any]) -> Any:
    """``model`` (shapes inferred) with its shape arithmetic folded and shapes inferred again."""
    for _ in range(MAX_ROUNDS):
        if not _fold_once(model):
            break
        model = infer(model)
    return model


def _static(model: Any) -> dict[str, tuple[int, ...]]:
    graph = model.graph
    return {info.name: tuple(int(d.dim_value) for d in info.type.tensor_type.shape.dim)
            for info in [*graph.input, *graph.value_info, *graph.output]
            if info.type.tensor_type.HasField("shape")
            and all(d.HasField("dim_value") for d in info.type.tensor_type.shape.dim)}


def _known(model: Any) -> dict[str, Any]:
    """Small stored constants as numpy arrays: initializers and Constant nodes' tensors."""
    from onnx import numpy_helper

    tensors = [(init.name, init) for init in model.graph.initializer]
    tensors += [(node.output[0], attr.t) for node in model.graph.node if node.op_type == "Constant"
                and len(node.output) == 1 for attr in node.attribute if attr.name == "value"]
    return {name: numpy_helper.to_array(t) for name, t in tensors
            if math.prod(t.dims) <= MAX_VALUES and t.data_location != t.EXTERNAL}


def _fold_once(model: Any) -> int:
    """Replace each foldable node by Constant nodes of its outputs, in place; how many."""
    from onnx import helper, numpy_helper

    shapes, known = _static(model), _known(model)
    weights = {init.name for init in model.graph.initializer if init.data_type in FLOATS}
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    nodes, folded = [], 0
    for node in model.graph.node:
        values = None if weights.intersection(node.input) else _value(node, shapes, known, opset)
        if values is None:  # a weight's reader keeps reading it: its params count
            nodes.append(node)
            continue
        folded += 1
        for name, value in zip(node.output, values, strict=False):
            if name:
                known[name] = value
                nodes.append(helper.make_node("Constant", [], [name], name=f"{node.name}:folded",
                                              value=numpy_helper.from_array(value, name)))
    if folded:
        del model.graph.node[:]
        model.graph.node.extend(nodes)
    return folded


def _value(node: Any, shapes: dict[str, tuple[int, ...]], known: dict[str, Any],
           opset: int) -> list[Any] | None:
    """The outputs of ``node`` as small numpy arrays, or None when it is not folded."""
    import numpy as np

    inputs = [name for name in node.input if name]
    if node.domain not in ("", "ai.onnx") or not inputs or not node.output:
        return None
    if node.op_type == "Shape" and len(inputs) == 1 and inputs[0] in shapes:
        attrs = {a.name: a.i for a in node.attribute}
        dims = shapes[inputs[0]]
        return [np.asarray(dims[attrs.get("start", 0):attrs.get("end", len(dims))], np.int64)]
    if not all(name in known for name in inputs) or not _small(node, shapes):
        return None
    from onnx.reference import ReferenceEvaluator

    try:
        with np.errstate(all="raise"):
            outputs = ReferenceEvaluator(node, opsets={"": opset}).run(None, {n: known[n] for n in inputs})
    except Exception:  # an op onnx.reference lacks, an invalid constant: left to the checks
        return None
    arrays = [np.asarray(out) for out in outputs]
    return arrays if all(a.size <= MAX_VALUES and a.dtype.kind in "biuf" for a in arrays) else None


def _small(node: Any, shapes: dict[str, tuple[int, ...]]) -> bool:
    """Every output of inferred static shape of at most :data:`MAX_VALUES` elements, no
    subgraph (If, Loop, Scan): the work of evaluating it is bounded by its inputs and outputs."""
    from onnx import AttributeProto

    if any(a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS) for a in node.attribute):
        return False
    return all(name in shapes and math.prod(shapes[name]) <= MAX_VALUES for name in node.output if name)
