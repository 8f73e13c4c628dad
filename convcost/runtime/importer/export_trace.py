"""An ``nn.Module`` -> :class:`~.ir.IRGraph` through ``torch.export``, for code fx cannot trace.

torch.export records ATen ops (``aten.conv2d``, ``aten.batch_norm``, ...) with each node's
module stack; parameters arrive as graph inputs and are counted by the op that reads them,
at its first use. The ATen argument orders are those of the functional API, so the rules of
:mod:`.fx_ops` apply. torch is imported inside functions only.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from convcost.cost.registry import IMPORT_RULES, OPS
from convcost.runtime.importer import fx_ops as r
from convcost.runtime.importer.export_inline import inline_wrappers
from convcost.runtime.importer.fx_trace import finish, shapes_of
from convcost.runtime.importer.ir import IRNode, Shape, frozen

if TYPE_CHECKING:
    from torch import fx, nn

    from convcost.runtime.importer.ir import IRGraph


@cache
def aten_rules() -> Mapping[str, r.Rule]:
    """ATen op name (overload dropped) -> rule."""
    rules: dict[str, r.Rule] = {
        "aten.chunk": r.chunk_rule("chunk"), "aten.split": r.chunk_rule("split"),
        "aten.split_with_sizes": r.chunk_rule("split"),
    }
    rules.update({op_name(name): rule for name, rule in IMPORT_RULES["aten"].items()})  # the kinds'

    return rules


def op_name(target: Any) -> str:
    """``aten.conv2d.default`` -> ``aten.conv2d``."""
    name = str(target) if not callable(target) or hasattr(target, "overloadpacket") \
        else getattr(target, "__name__", str(target))
    return name.rsplit(".", 1)[0] if name.count(".") >= 2 else name


def _shape(node: fx.Node) -> tuple[Shape, ...] | None:
    return shapes_of(node.meta.get("val"))


def _module(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    return str(next(reversed(stack.values()))[0]) if stack else ""


_GATHER = "aten.index"  # biases[:, idxs]: no op kind's (its result is a weight or opaque)
# a dtype cast or a resize of weights alone is those weights, as torch.fx's _weight_view says
# (NaFlexViT's pos_embed.float() resized by F.interpolate(..., antialias=True) to the grid);
# not a resize fvcore counts (4 per output of a bilinear one, 1 of a nearest one: Qwen3-VL's
# pos_embed at the patch grid): the param, then the interpolate layer, as fvcore sees them
_CASTS = frozenset({"aten.to", "aten.type_as"})
_RESIZES = ("aten.upsample_", "aten._upsample_")
_FVCORE_RESIZES = frozenset(f"{mode}2d" for mode in r.FVCORE_RESIZE_MODES)  # aten.upsample_<this>


def _free(op: str) -> bool:
    """Whether an IR op is a view or bookkeeping (a reshape, permute, slice, clone...): no MACs;
    not ``param`` (a weight expanded to the batch: the class token)."""
    kind = OPS.get(op)
    return kind is not None and (kind.view or kind.imports.bookkeeping)


# composite ops torch.export keeps whole, which FlopCounterMode counts as the mm, bmm or
# convolution they run (Gemma4's rope angles: aten.matmul of two constants)
_COMPOSITE = ("matmul", "einsum", "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "scaled_dot_product_attention")


@cache
def _counted() -> frozenset[Any]:
    """The ATen ops FlopCounterMode counts (matmuls, convs, attention): never folded."""
    import torch
    from torch.utils.flop_counter import flop_registry

    return frozenset({*flop_registry, *(getattr(torch.ops.aten, name) for name in _COMPOSITE)})


def _counts(node: fx.Node) -> bool:
    """Whether FlopCounterMode counts ``node``'s op: a constant it reads beside a traced tensor
    (Gemma4's positions in ``inv_freq @ positions``) is a node of its own, so that it is read."""
    return getattr(node.target, "overloadpacket", None) in _counted()


class _Export:
    """One translation: graph inputs that are parameters, the nodes kept so far; the constants
    the model computes from no input and no parameter (``folded``)."""

    def __init__(self, ep: Any, batch: int) -> None:
        sig = ep.graph_signature
        state = ep.state_dict
        self.params = {name: state[fqn] for name, fqn in sig.inputs_to_parameters.items()}
        self.constants = {*sig.inputs_to_buffers, *getattr(sig, "inputs_to_lifted_tensor_constants", {})}
        self.kept: dict[str, tuple[Shape, ...]] = {}
        self.seen: Counter[str] = Counter()
        self.uses = Counter(n.name for node in ep.graph.nodes for n in node.all_input_nodes
                            if n.name in self.params)
        self.nodes: list[IRNode] = []
        self.derived: dict[str, tuple[tuple[str, ...], Shape]] = {}  # a tensor of weights alone
        # -> the parameters it holds, its shape; those resized (SAM's positions at another grid)
        self.resized: set[str] = set()
        self.folded: dict[str, fx.Node] = {}
        self.batch = batch

    def weights(self, name: str) -> tuple[str, ...]:
        """The parameters a tensor is (one), or is made of (a derived tensor), else none."""
        return (name,) if name in self.params else self.derived.get(name, ((), ()))[0]

    def derive(self, node: fx.Node, shapes: tuple[Shape, ...]) -> bool:
        """An index, a view or a bookkeeping op (:func:`_free`) of parameters and buffers alone,
        nothing traced, at least one parameter: the parameters, read (and counted) by the op
        that reads the result, as torch.fx's translation does (``fx_trace._state_op``)."""
        args = node.all_input_nodes
        weights = tuple(w for n in args for w in self.weights(n.name))
        if not weights or any(n.name in self.kept or not (self.weights(n.name) or n.name in self.constants)
                              for n in args):
            return False
        name, rule = op_name(node.target), aten_rules().get(op_name(node.target))
        resize = name.startswith(_RESIZES) and name.split("_", 1)[-1] not in _FVCORE_RESIZES
        copy = name == _GATHER or name in _CASTS or resize
        if not copy and (rule is None or not _free(rule(self.call(node, args, shapes))[0])):
            return False
        self.derived[node.name] = (weights, shapes[0])
        if name.startswith(_RESIZES) or any(n.name in self.resized for n in args):
            self.resized.add(node.name)
        return True

    def constant(self, node: fx.Node) -> bool:
        """Whether ``node`` computes a constant: from no tensor (``torch.zeros``, ``arange``), or
        from constants it computed and buffers, by ops FlopCounterMode counts no FLOP of (ConViT's
        relative positions, computed on the first call then cached): no input, no parameter."""
        args = node.all_input_nodes
        if any(n.name in self.kept or self.weights(n.name) for n in args) or _counts(node):
            return False
        return not args or (any(n.name in self.folded for n in args)
                            and all(n.name in self.folded or n.name in self.constants for n in args))

    def held(self, name: str) -> Shape:
        """The shape of a derived weight or a folded constant."""
        return self.derived[name][1] if name in self.derived else (_shape(self.folded[name]) or ((),))[0]

    def materialise(self, args: list[fx.Node]) -> None:
        """What an op reads when it reads no traced tensor: a constant it computed (a ``param``
        of 0 params, a buffer), parameters alone (``sigmoid(gating.view(1, -1, 1, 1))``, ConViT's
        gate: a ``param`` of theirs), each when it holds the batch first, so that the op reads it."""
        for n in args:
            if n.name in self.kept or not (n.name in self.folded or n.name in self.derived):
                continue
            shape = self.held(n.name)
            weights = self.weights(n.name)
            params = sum(self.params[w].numel() for w in weights if not self.seen[w])
            if shape[:1] != (self.batch,) or (weights and params != math.prod(shape[1:])):
                continue
            self.seen.update(weights)
            self.derived.pop(n.name, None)  # read from now on as the param's output
            attrs = {} if weights else {"buffer": True}
            self.nodes.append(IRNode(n.name, "param", _module(n), (), shape, params, attrs=frozen(attrs),
                                     target=op_name(n.target)))
            self.kept[n.name] = (shape,)

    def add(self, node: fx.Node, shapes: tuple[Shape, ...]) -> None:
        if self.derive(node, shapes):
            return
        if self.constant(node):
            self.folded[node.name] = node
            return
        args = node.all_input_nodes
        if not any(n.name in self.kept for n in args):
            self.materialise(args)
        elif _counts(node):  # an op FlopCounterMode counts reads its computed constants too
            self.materialise([n for n in args if n.name in self.folded])
        weights = [w for n in args for w in self.weights(n.name)]
        params = sum(self.params[w].numel() for w in weights if not self.seen[w])
        shared = any(self.uses[w] > 1 for w in weights)
        self.seen.update(weights)
        op: str
        attrs: dict[str, Any]
        inputs = tuple(n.name for n in args if n.name in self.kept)
        if node.target is operator.getitem:
            tuple_input = len(self.kept.get(args[0].name, ())) > 1
            op, attrs = ("getitem", {"index": node.args[1]}) if tuple_input else ("slice", {})
            source = next((n for n in reversed(self.nodes) if n.name == args[0].name), None)
            if tuple_input and source is not None and source.op == "unbind":  # qkv.unbind(0)[i]
                op, attrs = "unbind", {"dim": source.attr("dim"), "index": node.args[1]}
                inputs = source.inputs  # one piece of the unbind's input, as torch.fx reads it
        else:
            rule = aten_rules().get(op_name(node.target))
            op, attrs = rule(self.call(node, args, shapes)) if rule else ("opaque", {"shapes": shapes})
            # the shapes of weights and constants read beside tensors (qwen3's cos/sin tables)
            state = [self.held(n.name) for n in args if n.name in self.derived or n.name in self.folded]
            if state and inputs:  # x + biases[:, idxs]: the derived weights' shapes, as fx's
                attrs = {**attrs, "state": tuple(state),
                         **({"resized": True} if any(n.name in self.resized for n in args) else {})}
        self.nodes.append(IRNode(node.name, op, _module(node), inputs, shapes[0], params, shared,
                                 frozen(attrs), op_name(node.target)))
        self.kept[node.name] = shapes

    def call(self, node: fx.Node, args: list[fx.Node], shapes: tuple[Shape, ...]) -> r.Call:
        return r.Call(None, tuple(node.args), dict(node.kwargs), self.shapes_in(args), shapes[0], shapes)

    def shapes_in(self, args: list[fx.Node]) -> tuple[Shape, ...]:
        """The shapes of the tensors an op reads: traced, parameters and derived weights."""
        return tuple(self.kept[n.name][0] if n.name in self.kept else self.derived[n.name][1]
                     if n.name in self.derived else tuple(self.params[n.name].shape)
                     for n in args if n.name in self.kept or self.weights(n.name))


def trace_export(model: nn.Module, input_shape: Shape, source: str) -> IRGraph:
    """``torch.export.export`` (non-strict) on zeros of ``input_shape``, translated to the IR."""
    import torch

    with torch.no_grad():
        ep = torch.export.export(model, (torch.zeros(input_shape),), strict=False)
    inline_wrappers(ep)  # autocast regions: their ops, as any other
    walk = _Export(ep, input_shape[0])
    user_inputs = set(ep.graph_signature.user_inputs)
    outputs: tuple[str, ...] = ()
    for node in ep.graph.nodes:
        shapes = _shape(node)
        if node.op == "placeholder":
            if node.name in user_inputs:
                walk.nodes.append(IRNode(node.name, "input", "", (), shapes[0] if shapes else input_shape,
                                         target="input"))
                walk.kept[node.name] = shapes or (input_shape,)
        elif node.op == "output":
            outputs = tuple(n.name for n in node.all_input_nodes if n.name in walk.kept)
        elif shapes is not None and node.op == "call_function":
            walk.add(node, shapes)
    return finish(model, source, "torch.export", input_shape, walk.nodes, outputs)
