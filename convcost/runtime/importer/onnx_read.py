"""An ONNX file -> :class:`~.ir.IRGraph`, with onnx's shape inference for every tensor.

Parameters are counted from each node's weight inputs (:data:`.onnx_ops.WEIGHTS`), not from
the initializer list: exporters store identical initializers once. The torch exporter folds
BatchNorm into the convolutions in eval mode; such convs are labelled ``bn_folded`` and the
graph says so. Nodes that only compute shapes or constants leave no IR node. onnx is imported
inside functions only.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Container, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from convcost.cost.registry import IMPORT_KINDS
from convcost.errors import ConvcostError, MissingDependencyError
from convcost.runtime.importer.ir import IRGraph, IRNode, Shape, frozen
from convcost.runtime.importer.onnx_check import check_graph, check_shapes
from convcost.runtime.importer.onnx_fold import fold_shapes
from convcost.runtime.importer.onnx_inputs import NamedShape, fix_inputs, real_inputs
from convcost.runtime.importer.onnx_ops import RULES, WEIGHTS, OnnxCall
from convcost.runtime.importer.onnx_passes import (
    WHOLE,
    collapse_modules,
    fuse_bias,
    fuse_silu,
    refer_sizes,
    split_pads,
)

INSTALL = "pip install 'convcost[onnx]'"
FLOATS = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
FOLD_RULE = "FuseBatchNormIntoConv"
MAX_BYTES = 4 << 30


def _load(path: str, input_shape: Shape | None, inputs: Sequence[NamedShape] = ()) -> tuple[Any, bool]:
    """The model, its inputs given their shapes (:mod:`.onnx_inputs`), shapes inferred; and
    whether its inputs are named in the spec."""
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
    check_graph(model, path)
    named = fix_inputs(model, path, input_shape, inputs)
    inferred = fold_shapes(_infer(model, path), lambda folded: _infer(folded, path))
    check_shapes(inferred, path, _shapes(inferred), _constants(inferred),
                 {i.name for i in real_inputs(inferred)})
    return inferred, named


def _infer(model: Any, path: str) -> Any:
    import onnx

    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as err:
        raise ConvcostError(f"{path}: ONNX shape inference failed: {str(err).splitlines()[0]}") from None


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
    for init in model.graph.initializer:  # external ones are read in by check_graph when small
        if math.prod(init.dims) <= 16 and init.data_location != init.EXTERNAL:
            values[init.name] = numpy_helper.to_array(init).reshape(-1).tolist()
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value" and math.prod(attr.t.dims) <= 16 \
                        and attr.t.data_location != attr.t.EXTERNAL:
                    values[node.output[0]] = numpy_helper.to_array(attr.t).reshape(-1).tolist()
    return values


def _meta(node: Any) -> dict[str, str]:
    return {p.key: p.value for p in node.metadata_props}


def _listed(text: str) -> list[str]:
    """``"['', 'layer1.0', 'add']"`` (the torch exporter's metadata) -> its items."""
    return [s.strip(" '\"") for s in text.strip("[]").split(",")] if text else []


def module_of(node: Any, weights: Iterable[str], shared: Container[str] = ()) -> str | None:
    """The torch module a node came from: its weight's name (unless other nodes read the same
    stored weight), else its name scope ("" at the top), else a shared weight's name; None if
    the file does not say."""
    named = [name for name in weights if name.endswith(".weight")]
    own = [name for name in named if name not in shared]
    parts = _listed(_meta(node).get("pkg.torch.onnx.name_scopes", ""))
    if own or (named and len(parts) < 2):
        return (own or named)[0][: -len(".weight")]
    return parts[-2] if len(parts) > 1 else scoped_module(node.name)


def scoped_module(name: str) -> str | None:
    """The module path in a TorchScript exporter's node name: ``/b2/b2.1/m/m.0/cv1/conv/Conv``
    -> ``b2.1.m.0.cv1.conv`` (a scope ``X.k`` after ``X`` is its item ``k``), ``/Concat`` -> ``""``
    (the top-level forward's own op, as torch.fx places it); None for other names."""
    if not name.startswith("/"):
        return None
    scopes = name.split("/")[1:-1]
    parts: list[str] = []
    for i, scope in enumerate(scopes):
        if not scope:
            return None
        parent = scopes[i - 1] if i else ""
        parts.append(scope[len(parent) + 1:] if parent and scope.startswith(f"{parent}.") else scope)
    return ".".join(parts)


# torch module class name -> the op key of the kind declaring it ("Flatten" -> "flatten")
MODULE_KINDS = {name.rsplit(".", 1)[-1]: key for name, key in IMPORT_KINDS["modules"].items()}


def module_class(node: Any) -> str:
    """The torch module class the exporter recorded (``torch.nn.modules.flatten.Flatten``)."""
    classes = [c for c in _listed(_meta(node).get("pkg.torch.onnx.class_hierarchy", ""))
               if not c.startswith("aten.")]
    return classes[-1] if classes else ""


def enclosing(modules: Iterable[str]) -> str:
    """The innermost module holding the parents of every one of ``modules``."""
    parents = [m.split(".")[:-1] for m in modules]
    common: list[str] = []
    for parts in zip(*parents, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return ".".join(common) if parents else ""


def split_name(outputs: list[str], taken: Container[str]) -> str:
    """A name for the tuple a Split makes: torch's (``chunk`` for ``chunk_split_0``, …) when free."""
    base = outputs[0].removesuffix("_split_0")
    return base if base != outputs[0] and base not in taken else f"{outputs[0]}:split"


def stored_aliases(nodes: Iterable[Any], initializers: Container[str]) -> dict[str, str]:
    """Identity node output (an op type the ``identity`` kind declares) -> the initializer it
    copies: the TorchScript exporter stores equal tensors once and hands each further reader an
    Identity of it (the zero biases of BN-folded convs), so each reader's weights count as its own."""
    aliases: dict[str, str] = {}
    for node in nodes:
        if IMPORT_KINDS["onnx"].get(node.op_type) == "identity" and len(node.input) == 1 \
                and len(node.output) == 1:
            source = aliases.get(node.input[0], node.input[0])
            if source in initializers:
                aliases[node.output[0]] = source
    return aliases


class _Reader:
    def __init__(self, model: Any) -> None:
        from onnx import helper

        self.helper = helper
        self.shapes = _shapes(model)
        self.floats = _floats(model)
        self.constants = _constants(model)
        self.initializers = {init.name for init in model.graph.initializer}
        self.aliases = stored_aliases(model.graph.node, self.initializers)
        uses = Counter(self.aliases.get(name, name) for node in model.graph.node for name in node.input
                       if self.aliases.get(name, name) in self.initializers)
        self.shared = {name for name, count in uses.items() if count > 1}  # stored once, read twice
        self.live: set[str] = {i.name for i in real_inputs(model)}
        self.nodes: list[IRNode] = []
        self.folded = 0
        self.unscoped: dict[str, str] = {}  # IR node -> the ONNX node's name, module not recorded
        self.parts: dict[str, str] = {}  # IR node -> the torch module class it is part of
        self.used: set[tuple[str, str]] = set()  # (weight, module) counted
        self.repeated: set[str] = set()  # modules called more than once
        self.weighted: dict[str, str] = {}  # IR node reading weights -> its module
        self.called: set[str] = set()  # IR nodes of functional ops: their module is the caller

    def read(self, node: Any) -> None:
        inputs = [self.aliases.get(name, name) for name in node.input]
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
        cls = module_class(node)
        call = OnnxCall(node.op_type, attrs, tuple(self.shapes.get(n) if n else None for n in inputs),
                        tuple(self.constants.get(n) for n in inputs),
                        tuple(self.shapes[o] for o in outputs), cls,
                        MODULE_KINDS.get(cls.rsplit(".", 1)[-1], ""), tuple(positions))
        rule = RULES.get(node.op_type)
        ir_attrs: dict[str, Any] = {"shapes": call.shapes}
        op, ir_attrs = rule(call) if rule else ("opaque", ir_attrs)
        if op.startswith("conv") and self._folded(node):  # of any rank, transposed or not
            ir_attrs["bn_folded"] = True
            self.folded += 1
        module = module_of(node, weights, self.shared)
        params = self._params(weights, module if module is not None else node.name or outputs[0])
        names = self._add(outputs, op, module or "", inputs, params, ir_attrs, node.op_type)
        cls = call.module_class.rsplit(".", 1)[-1]
        if cls in WHOLE:  # maybe one op of several the exporter made of the module
            self.parts.update(dict.fromkeys(names, cls))
        if module is None:
            self.unscoped.update(dict.fromkeys(names, node.name or outputs[0]))
        elif call.module_class and not call.module_kind and not weights:  # cat, add in a forward
            self.called.update(names)
        if weights:
            self.weighted[names[0]] = module if module is not None else ""

    def _params(self, weights: list[str], module: str) -> int:
        """Weights counted at their first use by ``module``: a module called again (the same
        stored weight, the same name scope) shares them, as torch.fx counts it; equal weights
        the exporter stored once for two modules count for each."""
        count = 0
        for weight in weights:
            if (weight, module) in self.used:
                self.repeated.add(module)
            else:
                self.used.add((weight, module))
                count += math.prod(self.shapes[weight])
        return count

    def _folded(self, node: Any) -> bool:
        return any(p.key == "pkg.onnxscript.rewriter.rule_name" and FOLD_RULE in p.value
                   for p in node.metadata_props)

    def _add(self, outputs: list[str], op: str, module: str, inputs: list[str], params: int,
             attrs: dict[str, Any], target: str) -> list[str]:
        """The IR nodes of one ONNX node; a multi-output Split is a ``split`` read by one
        ``getitem`` per output, as torch.fx gives ``torch.split``. Their names in order."""
        live = tuple(n for n in inputs if n in self.live and n not in self.initializers)
        first = split_name(outputs, self.shapes) if op == "split" else outputs[0]
        self.nodes.append(IRNode(first, op, module, live, self.shapes[outputs[0]], params,
                                 attrs=frozen(attrs), target=target))
        if op != "split":
            return [first]
        for index, name in enumerate(outputs):
            self.nodes.append(IRNode(name, "getitem", module, (first,), self.shapes[name],
                                     attrs=frozen({"index": index}), target="output"))
        return [first, *outputs]

    def placed(self) -> list[IRNode]:
        """Nodes whose module the file does not record (optimiser-made ones, hand-made files)
        go in the module enclosing their readers, as torch.fx places functional ops; failing
        that, the ONNX node's name."""
        modules = {node.name: node.module for node in self.nodes if node.name not in self.unscoped}
        readers: dict[str, list[str]] = {}  # unscoped ONNX node -> the IR nodes reading it
        for node in self.nodes:
            for name in node.inputs:
                if name in self.unscoped:
                    readers.setdefault(self.unscoped[name], []).append(node.name)
        for node in reversed(self.nodes):
            if node.name in self.unscoped:
                onnx_name = self.unscoped[node.name]
                found = [f"{modules[r]}.{r}" if r in self.unscoped or r in self.called else modules[r]
                         for r in readers.get(onnx_name, ()) if r in modules]  # inside its caller
                if found:  # "" when they are in different top-level modules
                    modules[node.name] = enclosing(found)
        shared = {name for name, module in self.weighted.items() if module in self.repeated}
        return [replace(n, module=modules.get(n.name, self.unscoped.get(n.name, n.module)),
                        shared=n.name in shared) for n in self.nodes]


def read_onnx(path: str, input_shape: Shape | None = None,
              inputs: Sequence[NamedShape] = ()) -> IRGraph:
    """The IR of an ONNX model; ``input_shape`` overrides its one input's shape, ``inputs``
    each input's by name (:func:`.onnx_inputs.fix_inputs`)."""
    model, named = _load(path, input_shape, inputs)
    reader = _Reader(model)
    for info in real_inputs(model):  # in the graph's order; named: the spec says inputs:
        reader.nodes.append(IRNode(info.name, "input", "", (), reader.shapes[info.name],
                                   attrs=frozen({"named": True} if named else {}), target="input"))
    shape = reader.nodes[0].shape
    for node in model.graph.node:
        reader.read(node)
    notes = []
    if reader.folded:
        plural = "s" if reader.folded != 1 else ""
        notes.append(f"BatchNorm folded into {reader.folded} convolution{plural} by the exporter: this is "
                     "the deployed form (fewer params, no BN), and zero conv biases may be dropped")
    elif model.producer_name == "pytorch" and not any(n.op == "bn" for n in reader.nodes):
        notes.append("no BatchNormalization in the graph: the torch exporter folds BN into the "
                     "convolutions in eval mode, so this may be the deployed form")
    collapsed = collapse_modules(reader.placed(), reader.parts)
    nodes = tuple(split_pads(refer_sizes(fuse_silu(fuse_bias(collapsed)))))
    outputs = tuple(o.name for o in model.graph.output if o.name in reader.live)
    return IRGraph(path, "onnx", shape, nodes, outputs, sum(n.params for n in nodes), tuple(notes))
