"""An ONNX file -> :class:`~.ir.IRGraph`, with onnx's shape inference for every tensor.

Parameters are counted from each node's weight inputs (:data:`.onnx_ops.WEIGHTS`), not from
the initializer list: exporters store identical initializers once. The torch exporter folds
BatchNorm into the convolutions in eval mode; such convs are labelled ``bn_folded`` and the
graph says so. Nodes that only compute shapes or constants leave no IR node. onnx is imported
inside functions only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from convcost.errors import ConvcostError, MissingDependencyError
from convcost.runtime.importer.ir import IRGraph, IRNode, Shape, frozen
from convcost.runtime.importer.onnx_ops import RULES, WEIGHTS, OnnxCall

INSTALL = "pip install 'convcost[onnx]'"
FLOATS = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
FOLD_RULE = "FuseBatchNormIntoConv"
MAX_BYTES = 4 << 30


def _load(path: str, input_shape: Shape | None) -> Any:
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError(f"reading ONNX needs the onnx package: {INSTALL}") from None
    file = Path(path)
    if not file.is_file():
        raise ConvcostError(f"{path}: no such file")
    if file.stat().st_size > MAX_BYTES:
        raise ConvcostError(f"{path}: larger than {MAX_BYTES >> 30} GiB")
    try:
        model = onnx.load(str(file), load_external_data=False)
    except Exception as err:
        raise ConvcostError(f"{path}: not an ONNX model ({type(err).__name__})") from None
    _fix_input(model, input_shape)
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as err:
        raise ConvcostError(f"{path}: ONNX shape inference failed: {str(err).splitlines()[0]}") from None


def _real_inputs(model: Any) -> list[Any]:
    weights = {init.name for init in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in weights]


def _fix_input(model: Any, input_shape: Shape | None) -> None:
    """Give the first input ``input_shape`` (or batch 1 for symbolic dims) before inference."""
    inputs = _real_inputs(model)
    if not inputs:
        raise ConvcostError("the ONNX graph has no input")
    dims = inputs[0].type.tensor_type.shape.dim
    if input_shape is not None and len(input_shape) != len(dims):
        raise ConvcostError(f"--input has {len(input_shape)} dimensions; the ONNX input "
                            f"{inputs[0].name!r} has {len(dims)}")
    for i, dim in enumerate(dims):
        if input_shape is not None:
            dim.dim_value = input_shape[i]
        elif not dim.HasField("dim_value"):
            dim.dim_value = 1


def _shapes(model: Any) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {}
    graph = model.graph
    for info in [*graph.input, *graph.value_info, *graph.output]:
        tensor = info.type.tensor_type
        if tensor.HasField("shape") and all(d.HasField("dim_value") for d in tensor.shape.dim):
            shapes[info.name] = tuple(int(d.dim_value) for d in tensor.shape.dim)
    for init in graph.initializer:
        shapes[init.name] = tuple(int(d) for d in init.dims)
    return shapes


def _floats(model: Any) -> set[str]:
    graph = model.graph
    return {info.name for info in [*graph.input, *graph.value_info, *graph.output]
            if info.type.tensor_type.elem_type in FLOATS}


def _constants(model: Any) -> dict[str, list[Any]]:
    """Small constant tensors (initializers and Constant nodes) as flat lists."""
    from onnx import numpy_helper

    values: dict[str, list[Any]] = {}
    for init in model.graph.initializer:
        if math.prod(init.dims) <= 16:
            values[init.name] = numpy_helper.to_array(init).reshape(-1).tolist()
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value" and math.prod(attr.t.dims) <= 16:
                    values[node.output[0]] = numpy_helper.to_array(attr.t).reshape(-1).tolist()
    return values


def module_of(node: Any, weights: Iterable[str]) -> str:
    """The torch module a node came from: its weight's name, else its name scope, else its name."""
    for name in weights:
        if name.endswith(".weight"):
            return name[: -len(".weight")]
    meta = {p.key: p.value for p in node.metadata_props}
    scopes = meta.get("pkg.torch.onnx.name_scopes", "")
    parts = [s.strip(" '\"") for s in scopes.strip("[]").split(",")] if scopes else []
    return str(parts[-2] if len(parts) > 1 else (node.name or node.output[0]))


class _Reader:
    def __init__(self, model: Any) -> None:
        from onnx import helper

        self.helper = helper
        self.shapes = _shapes(model)
        self.floats = _floats(model)
        self.constants = _constants(model)
        self.initializers = {init.name for init in model.graph.initializer}
        self.live: set[str] = {i.name for i in _real_inputs(model)}
        self.nodes: list[IRNode] = []
        self.folded = 0

    def read(self, node: Any) -> None:
        inputs = list(node.input)
        if not any(name in self.live for name in inputs):
            return  # computes a constant
        outputs = [o for o in node.output if o]
        if not all(o in self.shapes for o in outputs) or outputs[0] not in self.floats:
            return  # shape arithmetic (Shape, Gather of dims, ...): bookkeeping
        self.live.update(outputs)
        positions = [i for i in WEIGHTS.get(node.op_type, ()) if i < len(inputs)
                     and inputs[i] in self.initializers and math.prod(self.shapes[inputs[i]]) > 1]
        weights = [inputs[i] for i in positions]
        attrs = {a.name: self.helper.get_attribute_value(a) for a in node.attribute}
        call = OnnxCall(node.op_type, attrs, tuple(self.shapes.get(n) if n else None for n in inputs),
                        tuple(self.constants.get(n) for n in inputs),
                        tuple(self.shapes[o] for o in outputs))
        rule = RULES.get(node.op_type) if weights or node.op_type != "MatMul" else None
        ir_attrs: dict[str, Any] = {"shapes": call.shapes}
        op, ir_attrs = rule(call) if rule else ("opaque", ir_attrs)
        if op in ("conv", "conv_transpose") and self._folded(node):
            ir_attrs["bn_folded"] = True
            self.folded += 1
        params = sum(math.prod(self.shapes[w]) for w in weights)
        self._add(outputs, op, module_of(node, weights), inputs, params, ir_attrs, node.op_type)

    def _folded(self, node: Any) -> bool:
        return any(p.key == "pkg.onnxscript.rewriter.rule_name" and FOLD_RULE in p.value
                   for p in node.metadata_props)

    def _add(self, outputs: list[str], op: str, module: str, inputs: list[str], params: int,
             attrs: dict[str, Any], target: str) -> None:
        live = tuple(n for n in inputs if n in self.live and n not in self.initializers)
        self.nodes.append(IRNode(outputs[0], op, module, live, self.shapes[outputs[0]], params,
                                 attrs=frozen(attrs), target=target))
        for index, extra in enumerate(outputs[1:], 1):  # Split: one getitem per further output
            self.nodes.append(IRNode(extra, "getitem", module, (outputs[0],), self.shapes[extra],
                                     attrs=frozen({"index": index}), target="output"))


def fuse_silu(nodes: list[IRNode]) -> tuple[IRNode, ...]:
    """``Mul(x, Sigmoid(x))`` -> one ``act silu`` node (the Sigmoid read by nothing else)."""
    by_name = {node.name: node for node in nodes}
    readers: dict[str, int] = {}
    for node in nodes:
        for name in node.inputs:
            readers[name] = readers.get(name, 0) + 1
    dropped: set[str] = set()
    out: list[IRNode] = []
    for node in nodes:
        sig = next((by_name[n] for n in node.inputs if n in by_name and by_name[n].op == "act"
                    and by_name[n].attr("fn") == "sigmoid"), None) if node.op == "mul" else None
        if sig is not None and readers[sig.name] == 1 and set(node.inputs) == {sig.name, *sig.inputs}:
            dropped.add(sig.name)
            node = IRNode(node.name, "act", sig.module, sig.inputs, node.shape,
                          attrs=frozen({"fn": "silu"}), target="Sigmoid+Mul")
        out.append(node)
    return tuple(node for node in out if node.name not in dropped)


def read_onnx(path: str, input_shape: Shape | None = None) -> IRGraph:
    """The IR of an ONNX model; ``input_shape`` overrides its first input's shape."""
    model = _load(path, input_shape)
    reader = _Reader(model)
    first = _real_inputs(model)[0]
    shape = reader.shapes[first.name]
    reader.nodes.append(IRNode(first.name, "input", "", (), shape, target="input"))
    for node in model.graph.node:
        reader.read(node)
    notes = []
    if reader.folded:
        notes.append(f"BatchNorm folded into {reader.folded} convolutions by the exporter: this is "
                     "the deployed form (fewer params, no BN), and zero conv biases may be dropped")
    elif model.producer_name == "pytorch" and not any(n.op == "bn" for n in reader.nodes):
        notes.append("no BatchNormalization in the graph: the torch exporter folds BN into the "
                     "convolutions in eval mode, so this may be the deployed form")
    nodes = fuse_silu(reader.nodes)
    outputs = tuple(o.name for o in model.graph.output if o.name in reader.live)
    return IRGraph(path, "onnx", shape, nodes, outputs, sum(n.params for n in nodes), tuple(notes))
