"""An ONNX file is untrusted input: checks that refuse an invalid graph (exit 2) instead of
reading part of it. onnx is imported inside functions only.

Before shape inference (:func:`check_graph`): the node count is bounded
(:data:`convcost.limits.MAX_LEAVES`), every node reads only tensors made before it (no cycle,
no self-loop, no tensor made twice), and every external-data file lies inside the model's
folder, exists and is long enough; the small ones are read in (shape inference needs the
values of Reshape targets). After it (:func:`check_shapes`): no negative dimension, no Reshape
target below -1 or with two -1, every convolution's weight matches its input's channels, and
every output computed from the input is reached: a node whose shape cannot be inferred (an op
onnx does not know) is an error, never a silently truncated graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from convcost.cost.registry import IMPORT_KINDS
from convcost.errors import ConvcostError
from convcost.limits import MAX_LEAVES, quote

#: ONNX op type -> conv or conv_transpose, for the convolutions' weight check
_KINDS = IMPORT_KINDS["onnx"]  # ONNX op type -> the op key of the kind that declares it
_CONVS = {op_type: key for op_type, key in IMPORT_KINDS["onnx"].items() if key in ("conv", "conv_transpose")}
#: External tensors of at most this many bytes are read in before shape inference.
SMALL_EXTERNAL = 4096


def _node(node: Any) -> str:
    """``node 'name' (OpType)``, quoted and bounded: names and op types are data."""
    return f"node {quote(node.name or node.output[0] if node.output else node.name)} ({quote(node.op_type)})"


def check_graph(model: Any, path: str) -> None:
    """Refuse a graph too big to read, out of order or cyclic, or with unsafe external data."""
    graph = model.graph
    if len(graph.node) > MAX_LEAVES:
        raise ConvcostError(f"{path}: {len(graph.node):,} nodes, more than the {MAX_LEAVES:,} "
                            "convcost reads")
    made = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    later = {out: node for node in graph.node for out in node.output if out}
    for node in graph.node:
        for name in node.input:
            if name and name not in made:
                raise ConvcostError(f"{path}: {_node(node)} {_order(node, name, later)}")
        for name in node.output:
            if name and name in made:
                raise ConvcostError(f"{path}: {_node(node)} writes tensor {quote(name)}, which "
                                    "another node or input already makes")
            made.add(name)
    _external(model, path)


def _order(node: Any, name: str, later: dict[str, Any]) -> str:
    if name in node.output:
        return f"reads its own output {quote(name)} (a self-loop)"
    if name in later:
        return (f"reads {quote(name)} before {_node(later[name])} makes it: the graph has a cycle or "
                "is not in topological order")
    return f"reads {quote(name)}, which no node, input or initializer makes"


def _tensors(model: Any) -> Iterable[Any]:
    """Every tensor stored in the graph: initializers and Constant nodes' values."""
    yield from model.graph.initializer
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t


def _external(model: Any, path: str) -> None:
    """Each external-data file: relative, inside the model's folder, present, long enough."""
    from onnx import TensorProto
    from onnx.external_data_helper import load_external_data_for_tensor

    folder = Path(path).resolve().parent
    for tensor in _tensors(model):
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        where = f"{path}: tensor {quote(tensor.name)}: external data {quote(info.get('location', ''))}"
        location = info.get("location", "")
        try:
            file = (folder / location).resolve()
            if not location or Path(location).is_absolute() or not file.is_relative_to(folder):
                raise ConvcostError(f"{where} lies outside the model's folder; convcost reads only "
                                    "files beside the model")
            size = file.stat().st_size if file.is_file() else -1
        except (OSError, ValueError, RuntimeError) as err:  # a name too long, a NUL, a link loop
            raise ConvcostError(f"{where}: cannot be read ({type(err).__name__})") from None
        if size < 0:
            raise ConvcostError(f"{where}: no such file beside the model")
        offset = _int(info.get("offset", "0"), where)
        length = _int(info["length"], where) if "length" in info else size - offset
        if length < 0 or offset + length > size:
            raise ConvcostError(f"{where}: the file is shorter than offset + length")
        if length <= SMALL_EXTERNAL:
            try:
                load_external_data_for_tensor(tensor, str(folder))
            except Exception as err:  # onnx's own checks of the file
                raise ConvcostError(f"{where}: cannot be read ({type(err).__name__})") from None
            tensor.data_location = TensorProto.DEFAULT
            del tensor.external_data[:]


def _int(text: str, where: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise ConvcostError(f"{where}: offset and length must be whole numbers, got {quote(text)}")
    return int(text)


def check_shapes(model: Any, path: str, shapes: dict[str, tuple[int, ...]],
                 constants: dict[str, list[Any]], live: set[str]) -> None:
    """After shape inference: sizes are valid and the graph is read to its outputs."""
    for name, shape in shapes.items():
        if any(d < 0 for d in shape):
            raise ConvcostError(f"{path}: tensor {quote(name)} has a negative size {list(shape)}")
    for node in model.graph.node:
        if _KINDS.get(node.op_type) == "reshape" and len(node.input) > 1 and node.input[1] in constants:
            target = [int(v) for v in constants[node.input[1]]]
            if any(v < -1 for v in target) or target.count(-1) > 1:
                raise ConvcostError(f"{path}: {_node(node)} reshapes to {target}: a size below -1, or "
                                    "more than one -1")
        elif _CONVS.get(node.op_type) and len(node.input) > 1:
            _check_conv(node, path, shapes)
    _check_reached(model, path, shapes, live)


def _check_conv(node: Any, path: str, shapes: dict[str, tuple[int, ...]]) -> None:
    x, w = shapes.get(node.input[0]), shapes.get(node.input[1])
    if x is None or w is None or len(x) < 2 or len(w) < 2:
        return
    group = next((a.i for a in node.attribute if a.name == "group"), 1) or 1
    need = w[0] if _CONVS[node.op_type] == "conv_transpose" else w[1] * group
    if x[1] != need:
        raise ConvcostError(f"{path}: {_node(node)}: its weight {list(w)} (group {group}) takes "
                            f"{need} input channels; its input {quote(node.input[0])} has {x[1]}")


def _check_reached(model: Any, path: str, shapes: dict[str, tuple[int, ...]], live: set[str]) -> None:
    """Every tensor computed from the input whose type is float or unknown has a shape."""
    known = {info.name: info.type.tensor_type.elem_type
             for info in [*model.graph.input, *model.graph.value_info, *model.graph.output]}
    floats = {1, 10, 11, 16, 0}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16, UNDEFINED
    derived = set(live)
    for node in model.graph.node:
        if not any(name in derived for name in node.input):
            continue
        derived.update(o for o in node.output if o)
        for name in node.output:
            if name and name not in shapes and known.get(name, 0) in floats:
                raise ConvcostError(
                    f"{path}: {_node(node)}: ONNX shape inference cannot give the shape of its output "
                    f"{quote(name)} (an op onnx does not know, or a size that depends on the data), so "
                    "what follows it cannot be counted: export with static shapes and standard ops")
