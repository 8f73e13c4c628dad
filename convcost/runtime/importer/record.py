"""An ``nn.Module`` -> :class:`~.ir.IRGraph` by running it: the ops as the model actually ran.

For models neither torch.fx nor torch.export can trace (data-dependent control flow, detection
post-processing, iterative refinement). A ``TorchDispatchMode`` sees every ATen op; global
module hooks give each op its module path and turn a leaf module of torch.nn that the rule
tables know (``Conv2d``, ``BatchNorm2d``, ``ReLU``, ...) into one op, as fx sees it. Loops are
unrolled (a module run again is ``shared``); an op on constants alone (anchors, grids) is a
constant and leaves no node, until an op with MACs, or one fvcore counts with another input
(RAFT's first ``grid_sample``), reads it: it is then a node of its own. Every op's MACs are
also counted as torch's FlopCounterMode counts them: a conv or linear whose formula disagrees,
and any other op with MACs, is ``opaque``; an op no rule names and without MACs is ``recorded``
(:mod:`.record_ops`). The model runs on the meta device when it allows (no data-dependent op),
else on zeros: the graph holds for that input only. torch is imported inside functions only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from convcost.cost.registry import OPS
from convcost.runtime.flop_count import math_attention
from convcost.runtime.importer.emit.regions import PEER_COUNTED_KINDS, PEER_COUNTED_OPS
from convcost.runtime.importer.export_trace import aten_rules, op_name
from convcost.runtime.importer.fx_ops import Call, module_rule
from convcost.runtime.importer.fx_trace import finish
from convcost.runtime.importer.ir import IRGraph, IRNode, Shape, frozen
from convcost.runtime.importer.record_ops import LINEAR_OPS, dispatch_rules, fcm_macs, nms_available
from convcost.runtime.importer.selfcheck import node_macs

if TYPE_CHECKING:
    from torch import nn

TRACER = "recorded"
# kinds the recorder keeps as recorded ops. A detector's box clipping as clamp layers leaves the
# slices before them outside any recorded layer, and the emitter writes a slice of a tensor whose
# batch the run dropped (proposals[i], [4507, 4]: its dim 1 is the spec's dim 2 of [1, 4507, 4])
# along the spec's dim 1: Faster R-CNN's spec did not load ([2254, 4] and [2253, 4] stacked).
# Kept recorded until the emitter shifts the dims of such tensors.
_RECORDED_KINDS = frozenset({"clamp"})


def _shape(t: Any) -> Shape:
    return tuple(int(d) for d in t.shape)


def _tensors(value: Any) -> list[Any]:
    import torch
    from torch.utils._pytree import tree_leaves

    return [t for t in tree_leaves(value) if isinstance(t, torch.Tensor)]


def is_leaf(module: Any) -> bool:
    """A torch.nn module the rule tables map to one op (as fx keeps it a leaf)."""
    return type(module).__module__.startswith("torch.nn") and module_rule(module) is not None \
        and not any(True for _ in module.children())


@dataclass
class _Leaf:
    module: Any
    path: str
    args: tuple[Any, ...]
    macs: int = 0


@dataclass
class Recording:
    """One run: tensor -> IR name, parameters, module stack, the nodes so far."""

    names: dict[int, str]  # id(module) -> its path
    owned: dict[int, tuple[tuple[int, int], ...]]  # id(module) -> its (param id, numel)s
    weights: dict[int, int]  # id(tensor the ops see) -> id(its parameter)
    numel: dict[int, int]  # id(parameter) -> numel
    tensors: Any = None  # WeakIdKeyDictionary: tensor -> IR name
    derived: Any = None  # WeakIdKeyDictionary: tensor made of parameters alone -> their ids
    pending: Any = None  # WeakIdKeyDictionary: a later output of an op -> (node, index)
    nodes: list[IRNode] = field(default_factory=list)
    reads: dict[str, tuple[int, ...]] = field(default_factory=dict)  # node -> parameters read
    stack: list[str] = field(default_factory=list)
    leaf: _Leaf | None = None
    counts: Counter[str] = field(default_factory=Counter)
    seen: set[int] = field(default_factory=set)

    def fresh(self, base: str) -> str:
        self.counts[base] += 1
        return base if self.counts[base] == 1 else f"{base}_{self.counts[base] - 1}"

    def name_of(self, t: Any) -> str | None:
        """The IR tensor ``t`` is (a later output of a tuple becomes a getitem when read)."""
        if t in self.tensors:
            return str(self.tensors[t])
        if t in self.pending:
            parent, index = self.pending.pop(t)
            name = self.fresh(f"{parent}_item{index}")
            self.append(IRNode(name, "getitem", self.path(), (parent,), _shape(t),
                               attrs=frozen({"index": index}), target="getitem"), ())
            self.tensors[t] = name
            return name
        return None

    def constants(self, tensors: Sequence[Any]) -> list[str]:
        """A module or an op with MACs on constants (RAFT's first flow, from a grid): each
        constant tensor it reads becomes a node of its own, so that its MACs are counted."""
        names = []
        for t in tensors:
            if id(t) not in self.weights and t not in self.derived:
                name = self.fresh("constant")
                self.append(IRNode(name, "recorded", "", (), _shape(t), target="constant"), ())
                self.tensors[t] = name
                names.append(name)
        return names

    def operands(self, tensors: Sequence[Any]) -> list[str]:
        """Every tensor an op fvcore counts reads, a constant one a node of its own (RAFT's
        first lookup: the grid around the fixed coordinates), so that its layer reads it."""
        names = []
        for t in tensors:
            name = self.name_of(t)
            names += [name] if name is not None else self.constants([t])
        return names

    def param_ids(self, tensors: Sequence[Any]) -> tuple[int, ...]:
        ids: list[int] = []
        for t in tensors:
            if id(t) in self.weights:
                ids.append(self.weights[id(t)])
            elif t in self.derived:
                ids += self.derived[t]
        return tuple(dict.fromkeys(ids))

    def params(self, ids: Sequence[int]) -> int:
        """Parameters counted at their first use."""
        new = [i for i in ids if i not in self.seen]
        self.seen.update(new)
        return sum(self.numel[i] for i in new)

    def path(self) -> str:
        return self.stack[-1] if self.stack else ""

    def append(self, node: IRNode, ids: tuple[int, ...]) -> None:
        self.nodes.append(node)
        self.reads[node.name] = ids

    def bind(self, name: str, outputs: Sequence[Any], several: bool) -> None:
        """The first output is the node's tensor; the others getitems when read."""
        self.tensors[outputs[0]] = name
        for i, t in enumerate(outputs[1:], 1):
            if several:
                self.pending[t] = (name, i)

    def op(self, func: Any, args: Any, kwargs: Any, out: Any) -> None:
        """Record one ATen op (inside a leaf module: count its MACs only)."""
        macs = fcm_macs(func, args, kwargs, out)
        if self.leaf is not None:
            self.leaf.macs += macs
            return
        ins = _tensors((args, kwargs))
        outs = _tensors(out)
        graph = [n for n in (self.name_of(t) for t in ins) if n is not None]
        ids = self.param_ids(ins)
        graph = graph or (self.constants(ins) if macs else [])
        if not graph:  # constants (and views of parameters) only: no node
            for t in outs:
                if ids:
                    self.derived[t] = ids
            return
        if not outs:  # .item(), a comparison to Python: the value leaves the graph
            return
        name = op_name(func)
        rule = dispatch_rules().get(name)
        if name in LINEAR_OPS and not self.param_ids(ins[-1:]):
            rule = aten_rules().get(name)  # a matmul of two activations (mm: the matmul kind's)
        written = self.written(func, args)
        bases = [t._base for t in written if t._base is not None]  # x[i].copy_(y) writes x
        shapes = tuple(_shape(t) for t in ([bases[0], *outs[1:]] if bases else outs))
        call = Call(None, tuple(args), dict(kwargs), tuple(_shape(t) for t in ins), shapes[0], shapes)
        op, attrs = rule(call) if rule and not bases else ("opaque", {"shapes": shapes})
        if op in _RECORDED_KINDS:
            op, attrs = "opaque", {"shapes": shapes}  # no MAC: a recorded op (below)
        if op in PEER_COUNTED_KINDS and OPS[op].inputs > 1 and len(graph) < len(ins):
            graph = self.operands(ins)  # a grid_sample of a fixed grid: the grid a node
        node = self.node(name, op, attrs, graph, shapes, macs, ids)
        self.bind(node.name, outs, len(outs) > 1)
        for t in (*written, *bases):  # the tensor an in-place op wrote is its output now
            self.tensors[t] = node.name

    def node(self, target: str, op: str, attrs: dict[str, Any], inputs: Sequence[str],
             shapes: tuple[Shape, ...], macs: int, ids: tuple[int, ...]) -> IRNode:
        """An IR node whose MACs agree with FlopCounterMode's, else an opaque one."""
        node = IRNode(self.fresh(target.split(".")[-1]), op, self.path(), tuple(dict.fromkeys(inputs)),
                      shapes[0], self.params(ids), attrs=frozen(attrs), target=target)
        if node_macs(node) != macs:
            node = replace(node, op="opaque", attrs=frozen({"shapes": shapes, "macs": macs}))
        elif op == "opaque":  # no MAC: recorded, but for an op fvcore counts (flagged opaque)
            counted = target in PEER_COUNTED_OPS
            node = replace(node, op="opaque" if counted else "recorded",
                           attrs=frozen({"shapes": shapes, **({"macs": 0} if counted else {})}))
        self.append(node, ids)
        return node

    def written(self, func: Any, args: Any) -> list[Any]:
        """The tensors an in-place op writes."""
        schema = getattr(func, "_schema", None)
        return [value for arg, value in zip(schema.arguments if schema else (), args, strict=False)
                if arg.alias_info is not None and arg.alias_info.is_write and hasattr(value, "shape")]

    def enter(self, module: Any, args: tuple[Any, ...]) -> None:
        path = self.names.get(id(module))
        if path is None:  # a module made on the fly: its ops belong to the caller
            self.stack.append(self.path())
            return
        self.stack.append(path)
        if self.leaf is None and is_leaf(module):
            self.leaf = _Leaf(module, path, args)

    def leave(self, module: Any, output: Any) -> None:
        self.stack.pop()
        leaf = self.leaf
        if leaf is None or leaf.module is not module:
            return
        self.leaf = None
        ins, outs = _tensors(leaf.args), _tensors(output)
        graph = [n for n in (self.name_of(t) for t in ins) if n is not None]
        ids = tuple(i for i, _ in self.owned.get(id(module), ()))
        graph = graph or (self.constants(ins) if leaf.macs or ids else [])
        if not graph or not outs:
            for t in outs:
                self.derived[t] = ids
            return
        shapes = tuple(_shape(t) for t in outs)
        rule = module_rule(module)
        op, attrs = rule(Call(module, leaf.args, {}, tuple(_shape(t) for t in ins), shapes[0], shapes)) \
            if rule else ("opaque", {})
        cls = type(module)
        self.stack.append(leaf.path)
        node = self.node(f"{cls.__module__}.{cls.__qualname__}", op, attrs, graph, shapes, leaf.macs, ids)
        self.stack.pop()
        self.bind(node.name, outs, len(outs) > 1)


def _recording(model: nn.Module) -> Recording:
    """A fresh recording of ``model``."""
    from torch.utils.weak import WeakIdKeyDictionary

    named = list(model.named_modules(remove_duplicate=False))
    names: dict[int, str] = {}
    for path, module in named:
        names.setdefault(id(module), path)
    owned = {id(m): tuple((id(p), p.numel()) for p in m.parameters()) for _, m in named}
    params = list(model.parameters())
    return Recording(names, owned, {id(p): id(p) for p in params}, {id(p): p.numel() for p in params},
                     WeakIdKeyDictionary(), WeakIdKeyDictionary(), WeakIdKeyDictionary())


def _meta_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose parameters and buffers are on the meta device (no memory): a
    run may change the model's state (anchors cached on a device), never the original's."""
    import copy

    from torch import nn

    memo: dict[int, Any] = {id(p): nn.Parameter(p.to("meta"), p.requires_grad) for p in model.parameters()}
    memo.update({id(b): b.to("meta") for b in model.buffers()})
    return copy.deepcopy(model, memo)


def _mode(recording: Recording) -> Any:
    from torch.utils._python_dispatch import TorchDispatchMode

    class Recorder(TorchDispatchMode):  # type: ignore[no-untyped-call]
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            recording.op(func, args, kwargs, out)
            return out

    return Recorder()  # type: ignore[no-untyped-call]


def _run(model: nn.Module, shapes: Sequence[tuple[str, Shape]], device: str) -> tuple[Recording, Any]:
    """Run ``model`` on zeros of ``shapes`` with the recorder on, as FlopCounterMode runs it for
    the cross-check (:func:`math_attention`: oneDNN off too): a detector whose NMS keeps boxes
    by their values keeps the same ones (Faster R-CNN: oneDNN's convs kept 7 more RoIs)."""
    import torch
    from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

    model = _meta_copy(model) if device == "meta" else model
    recording = _recording(model)
    inputs = [torch.zeros(shape, device=device) for _, shape in shapes]
    for (name, shape), x in zip(shapes, inputs, strict=True):
        recording.nodes.append(IRNode(name, "input", "", (), shape, target="input"))
        recording.tensors[x] = name
    handles = [register_module_forward_pre_hook(lambda m, a: recording.enter(m, a)),
               register_module_forward_hook(lambda m, a, o: recording.leave(m, o))]
    try:
        with torch.no_grad(), math_attention(), nms_available(), _mode(recording):
            out = model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return recording, out


def _shared(recording: Recording) -> list[IRNode]:
    """Nodes that read a parameter another node reads too (a module run again) are shared."""
    uses = Counter(i for ids in recording.reads.values() for i in set(ids))
    return [replace(n, shared=True) if any(uses[i] > 1 for i in recording.reads.get(n.name, ())) else n
            for n in recording.nodes]


def _needed(nodes: list[IRNode], outputs: tuple[str, ...]) -> list[IRNode]:
    """The inputs, and the nodes an output, a parameter or a MAC needs: an op whose value only
    steered Python (``if x.sum() > 0``) leaves no layer."""
    needed = {*outputs, *(n.name for n in nodes if n.op in ("input", "opaque") or n.params or node_macs(n))}
    for node in reversed(nodes):
        if node.name in needed:
            needed.update(node.inputs)
    return [n for n in nodes if n.name in needed]


def trace_record(model: nn.Module, shapes: Sequence[tuple[str, Shape]], source: str,
                 why: str = "") -> IRGraph:
    """The IR of ``model`` as it runs on ``shapes`` (``(name, shape)`` per input): on the meta
    device when the model allows, else on zeros. Its first note says so, after ``why``."""
    try:
        recording, out = _run(model, shapes, "meta")
        where = "the meta device"
    except Exception:  # a data-dependent op (nonzero, NMS, .item()): run on zeros
        recording, out = _run(model, shapes, "cpu")
        where = "zeros"
    outputs = tuple(dict.fromkeys(n for n in (recording.name_of(t) for t in _tensors(out)) if n))
    graph = finish(model, source, TRACER, shapes[0][1], _needed(_shared(recording), outputs), outputs)
    sizes = ", ".join(f"{name} " * (len(shapes) > 1) + "×".join(map(str, s)) for name, s in shapes)
    only = "that input only" if where != "zeros" else \
        "that input and those weights only (values chose the ops)"
    note = (f"{why}recorded the ops as the model ran on {where} of {sizes} (loops unrolled): "
            f"the spec holds for {only}")
    return replace(graph, notes=(note, *graph.notes))
