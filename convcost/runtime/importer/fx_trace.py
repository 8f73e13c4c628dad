"""An ``nn.Module`` -> :class:`~.ir.IRGraph` by torch.fx symbolic tracing and shape propagation.

Shapes come from one forward pass on zeros (:class:`torch.fx.passes.shape_prop.ShapeProp`).
Nodes that compute only Python values (``x.size(1)``, ``c // g``) are bookkeeping and leave no
IR node. Any call the rule tables do not know becomes an ``opaque`` node with its measured
output shape and its module's parameters. torch is imported inside functions only.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from convcost.runtime.importer.fx_ops import (
    EVAL_IDENTITIES,
    Call,
    Rule,
    alias_in_place,
    axis_slices,
    channel_slice,
    declared_leaves,
    function_rule,
    fvcore_resize,
    gather_index,
    index_items,
    module_rule,
    tables,
)
from convcost.runtime.importer.fx_shape_prop import resolved, shape_prop
from convcost.runtime.importer.ir import IRGraph, IRNode, Shape, frozen

if TYPE_CHECKING:
    from torch import fx, nn


def _shapes(node: fx.Node) -> tuple[Shape, ...] | None:
    """The output shapes ShapeProp recorded."""
    return shapes_of(node.meta.get("tensor_meta"))


def shapes_of(meta: Any) -> tuple[Shape, ...] | None:
    """Shapes of a node's recorded value: one for a tensor, several for a tuple, None else; a
    None in a tuple after a tensor (nn.MultiheadAttention's weights when not asked for) is (),
    a tuple in it (nn.LSTM's ``(output, (h, c))``) gives its shapes in order; so is a number
    (torchvision MViT's ``x, tensor_dim = _unsqueeze(x, 4, 1)``: else the call was lost and
    what read its tensor read nothing, cutting the graph)."""
    if hasattr(meta, "shape"):
        return (tuple(int(d) for d in meta.shape),)
    if not (isinstance(meta, list | tuple) and meta and hasattr(meta[0], "shape")):
        return None
    shapes: list[Shape] = []
    for item in meta:
        number = isinstance(item, int | float) and not hasattr(item, "shape")
        inner = ((),) if item is None or number else shapes_of(item)
        if inner is None:
            return None
        shapes += inner
    return tuple(shapes)


def module_path(node: fx.Node) -> str:
    """The module an fx node runs in: its target for call_module, else the innermost module."""
    if node.op == "call_module":
        return str(node.target)
    stack = node.meta.get("nn_module_stack") or {}
    return str(next(reversed(stack.values()))[0]) if stack else ""


def describe(node: fx.Node, module: Any = None) -> str:
    """A readable name of what the node calls: a module class, a function or a method."""
    if module is not None:
        return f"{type(module).__module__}.{type(module).__qualname__}"
    target = node.target
    if isinstance(target, str):
        return f"Tensor.{target}" if node.op == "call_method" else target
    name = getattr(target, "__name__", None) or repr(target)
    where = getattr(target, "__module__", None) or "torch"
    return f"{where.lstrip('_')}.{name}"


@dataclass
class _Walk:
    """State of one translation: parameters seen, module call counts, nodes so far."""

    gm: Any
    calls: Counter[str]
    seen: set[int] = field(default_factory=set)
    nodes: list[IRNode] = field(default_factory=list)
    kept: dict[str, tuple[Shape, ...]] = field(default_factory=dict)
    alias: dict[str, str] = field(default_factory=dict)  # a tensor -> its in-place update
    weights: dict[str, tuple[tuple[Any, ...], Shape]] = field(default_factory=dict)  # get_attr
    # tensors and those made of them alone: the parameters/buffers read, the traced shape

    def read(self, node: fx.Node) -> int:
        """Parameters a functional op reads through get_attr (first use only)."""
        import torch

        tensors = [t for n in node.all_input_nodes if n.name in self.weights for t in self.weights[n.name][0]]
        return self.params(t for t in tensors if isinstance(t, torch.nn.Parameter))

    def params(self, tensors: Any) -> int:
        count = 0
        for param in tensors:
            if id(param) not in self.seen:
                self.seen.add(id(param))
                count += param.numel()
        return count

    def inputs(self, node: fx.Node) -> tuple[str, ...]:
        return tuple(self.alias.get(n.name, n.name) for n in node.all_input_nodes if n.name in self.kept)

    def add(self, node: fx.Node, op: str, shapes: tuple[Shape, ...], **extra: Any) -> None:
        attrs = extra.pop("attrs", {})
        self.nodes.append(IRNode(node.name, op, module_path(node), self.inputs(node), shapes[0],
                                 attrs=frozen(attrs), **extra))
        self.kept[node.name] = shapes


def _call(walk: _Walk, node: fx.Node, module: Any, shapes: tuple[Shape, ...]) -> Call:
    ins = tuple(walk.kept[n.name][0] if n.name in walk.kept else walk.weights[n.name][1]
                for n in node.all_input_nodes if n.name in walk.kept or n.name in walk.weights)
    args: Any = node.args
    kwargs: Any = node.kwargs
    if node.meta.get("is_wrapped"):  # a wrapped function reads the sizes another computed
        args, kwargs = resolved(args), resolved(kwargs)  # (Swin3D's window): as they were
    return Call(module, tuple(args), dict(kwargs), ins, shapes[0], shapes)


def _rule(node: fx.Node, module: Any) -> Rule | None:
    if node.op == "call_module":
        return module_rule(module)
    if node.op == "call_method":
        return tables().methods.get(str(node.target))
    rule = function_rule(node.target)
    if rule is None and getattr(node.target, "__name__", "") in EVAL_IDENTITIES:
        return lambda c: ("identity", {})
    return rule


def _translate(walk: _Walk, node: fx.Node) -> None:
    shapes = _shapes(node)
    if node.op == "placeholder" or shapes is None:  # inputs are added by the caller
        return
    if node.op == "get_attr":  # a parameter or buffer: counted by the op that reads it
        walk.weights[node.name] = ((_fetch(walk.gm, str(node.target)),), shapes[0])
        return
    if _weight_view(walk, node, shapes[0]):
        return
    import operator

    if _state_op(walk, node, shapes[0]):
        return
    if node.op == "call_function" and node.target is operator.getitem:
        source: Any = node.args[0]
        index = resolved(node.args[1])  # HaloNet's x_pad[:, :W, win_size - 1:]: as traced
        tuple_input = getattr(source, "name", None) in walk.kept and len(walk.kept[source.name]) > 1
        sliced = None if tuple_input else channel_slice(index, walk.kept[source.name][0]) \
            if getattr(source, "name", None) in walk.kept else None
        if sliced is None and not tuple_input and getattr(source, "name", None) in walk.kept:
            sliced = _traced_slice(index, walk.kept[source.name][0], shapes[0]) \
                or axis_slices(index, walk.kept[source.name][0])
        if _unbind_piece(walk, node, shapes, tuple_input, sliced):
            return
        if tuple_input and node.args[1] == 0 and not any(walk.kept[source.name][1:]):
            walk.add(node, "identity", shapes, target="getitem")  # (x, its rank)[0]: x
            return
        gathered = None if tuple_input or sliced else gather_index(node.args[1], walk.weights)
        if gathered is not None:  # t[index], t[:, index] with index a buffer
            return walk.add(node, "gather", shapes, attrs=gathered, target="getitem")
        walk.add(node, "getitem" if tuple_input else "slice", shapes, params=walk.read(node),
                 attrs=dict(index=node.args[1]) if tuple_input else sliced or {}, target="getitem")
        return
    module = walk.gm.get_submodule(node.target) if node.op == "call_module" else None
    rule = _rule(node, module)
    params = walk.params(module.parameters()) if module is not None else walk.read(node)
    shared = module is not None and walk.calls[str(node.target)] > 1
    op, attrs = rule(_call(walk, node, module, shapes)) if rule else ("opaque", {"shapes": shapes})
    in_place = bool(attrs.pop("in_place", False))  # a wrapped function adding into its input
    state = [walk.weights[n.name][1] for n in node.all_input_nodes if n.name in walk.weights]
    if state and module is None and (walk.inputs(node) or op == "interpolate"):  # x + bias, x + mask
        first = node.args[0] if node.args else None  # mean - x: the weight on the left
        attrs = {**attrs, "state": tuple(state), "state_first": getattr(first, "name", "") in walk.weights}
    walk.add(node, op, shapes, params=params, shared=shared, attrs=attrs,
             target=describe(node, module))
    alias_in_place(walk.alias, walk.kept, node, in_place)
    if node.op == "call_method" and node.target in _SHAPE_OF:  # y read for its shape only
        walk.nodes[-1] = replace(walk.nodes[-1], inputs=walk.nodes[-1].inputs[:1])
    if op == "interpolate" and node.op == "call_function":
        _size_source(walk, node)


_SHAPE_OF = frozenset({"reshape_as", "view_as"})  # x.reshape_as(y): the traced shape of y

# ops without MACs (FlopCounterMode counts none) that turn one weight into another tensor
_VIEWS = frozenset({"view", "reshape", "unsqueeze", "squeeze", "permute", "transpose",
                    "contiguous", "flatten", "tile", "repeat", "repeat_interleave", "interpolate",
                    "float", "to", "type", "half", "bfloat16"})  # casts: weight.float() (RmsNormFp32)


def _weight_view(walk: _Walk, node: fx.Node, shape: Shape) -> bool:
    """``gamma.view(1, -1, 1, 1)`` (timm's LayerScale2d), ``bias.permute(2, 0, 1)``,
    ``F.interpolate(pos_embed, size)`` and ``pos_embed_window.tile(...)`` (Hiera's): a view or
    copy of one weight alone is that weight, read (and counted) by the op that reads it."""
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
    ins = node.all_input_nodes  # the weight, and sizes traced from tensors (not tensors)
    weights = [n for n in ins if n.name in walk.weights]
    constant = name == "expand" and len(ins) == 1  # MViT's pos.expand(T, -1, -1); not the
    # class token's expand(x.size(0), ...), a param layer of the batch
    if node.op not in ("call_method", "call_function") or not (name in _VIEWS or constant) \
            or len(weights) != 1 or any(n.name in walk.kept for n in ins) or fvcore_resize(node, shape):
        return False
    walk.weights[node.name] = (walk.weights[weights[0].name][0], shape)
    return True


_STATE_OPS = frozenset({"getitem", "add", "add_", "sub", "mul", "cat", "sigmoid", "softmax", "pow"})


def _state_op(walk: _Walk, node: fx.Node, shape: Shape) -> bool:
    """``table[index]``, ``biases[:, idxs]`` (Swin's and LeViT's relative-position bias), ``pos
    + window_pos`` (Hiera's), ``cat((class_pos, temporal.add_(spatial)))`` (MViT-V1's),
    ``torch.sigmoid(alpha)`` and ``weights.softmax(-1)`` (EfficientViM's gates): an index,
    elementwise op (no MACs) or concatenation of weights alone, nothing traced, is those weights,
    read (and counted) by the op that reads the result, as a view of one is."""
    import torch

    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
    ins = node.all_input_nodes
    weights = [n for n in ins if n.name in walk.weights]  # the rest: sizes traced, not tensors
    if node.op not in ("call_method", "call_function") or name not in _STATE_OPS or not weights \
            or any(n.name in walk.kept for n in ins):
        return False
    tensors = tuple(t for n in weights for t in walk.weights[n.name][0])
    if name == "cat" and not all(isinstance(t, torch.nn.Parameter) for t in tensors):
        return False  # Swin-V2's qkv bias cat((q_bias, k_zeros, v_bias)): its linear's bias
    walk.weights[node.name] = (tensors, shape)
    if name.endswith("_"):  # pos.add_(spatial): pos is read later, the update with it
        walk.weights[weights[0].name] = walk.weights[node.name]
    return True


def _traced_slice(index: Any, shape: Shape, out: Shape) -> dict[str, Any] | None:
    """A slice whose bounds fx traced: PiT's ``x[:, :k]`` and ``x[:, k:]`` (``k = cls.shape[1]``),
    Swin's crop of its padding ``x[:, :H, :W, :]``, LowFormer's of its upsampling ``o[..., :H, :W]``
    (H, W traced): the one dim it shortens, its bounds from the traced sizes; a crop that keeps
    the whole tensor: all of dim 1; None otherwise (two dims cut, a step)."""
    items = index_items(index, len(shape))
    if items is None or len(shape) < 2 or len(out) != len(shape) \
            or not all(isinstance(i, slice) and i.step is None for i in items):
        return None
    cut = [d for d, (a, b) in enumerate(zip(shape, out, strict=True)) if a != b]
    if not cut:
        return dict(dim=1, start=0, end=shape[1], step=1)
    dim = cut[0]
    if len(cut) != 1 or dim == 0:
        return None
    if items[dim].start is None or (type(items[dim].start) is int and items[dim].start == 0):
        return dict(dim=dim, start=0, end=out[dim], step=1)
    if items[dim].stop is None:
        return dict(dim=dim, start=shape[dim] - out[dim], end=shape[dim], step=1)
    return None


def _unbind_piece(walk: _Walk, node: fx.Node, shapes: tuple[Shape, ...], tuple_input: bool,
                  sliced: Any) -> bool:
    """``qkv.unbind(0)[i]`` (an ``unbind`` of the unbind's input), ``qkv[i]`` or ``x[:, i]`` (the
    class token: ``unbind`` of dim 1) added as one IR node; False for any other getitem."""
    args: Any = node.args
    index = args[1]
    if tuple_input:
        unbind = next((n for n in reversed(walk.nodes) if n.name == args[0].name), None)
        if unbind is None or unbind.op != "unbind" or not isinstance(index, int):
            return False
        walk.nodes.append(replace(unbind, name=node.name, shape=shapes[0],
                                  attrs=frozen(dict(dim=unbind.attr("dim"), index=index))))
        walk.kept[node.name] = shapes
        return True
    piece = _piece(index, walk.kept[args[0].name][0]) if args[0].name in walk.kept else None
    if sliced is not None or piece is None:
        return False
    walk.add(node, "unbind", shapes, attrs=dict(dim=piece[0], index=piece[1]), target="getitem")
    return True


def _piece(index: Any, shape: Shape) -> tuple[int, int] | None:
    """``x[i]``, ``x[:, i]``, ``x[:, :, i]``: (dim, index made non-negative), None for any other
    index (a slice, a tensor, an Ellipsis)."""
    items = index if isinstance(index, tuple) else (index,)
    dim = len(items) - 1
    if not items or type(items[-1]) is not int or any(i != slice(None) for i in items[:-1]) \
            or dim >= len(shape) or not -shape[dim] <= items[-1] < shape[dim]:
        return None
    return dim, items[-1] % shape[dim]


def _size_source(walk: _Walk, node: fx.Node) -> None:
    """``F.interpolate(x, size=ref.shape[-2:])``: ``ref`` becomes the node's second input."""
    size: Any = node.args[1] if len(node.args) > 1 else node.kwargs.get("size")
    pending, seen = [size] if hasattr(size, "all_input_nodes") else [], set()
    while pending:
        current = pending.pop()
        if current.name in walk.kept and current.name != node.name:
            ir = walk.nodes[-1]
            if current.name not in ir.inputs:
                walk.nodes[-1] = replace(ir, inputs=(*ir.inputs, current.name))
            return
        seen.add(current.name)
        pending += [n for n in current.all_input_nodes if n.name not in seen]


def _fetch(gm: Any, target: str) -> Any:
    """The tensor a get_attr node reads (a parameter, a buffer or a constant)."""
    value = gm
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _defaults(model: nn.Module) -> dict[str, Any] | None:
    """``forward``'s parameters after the input that have a default, as those constants: the
    model runs as ``model(x)``, so timm's ``attn_mask=None`` is None, not a second input."""
    import inspect

    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    try:
        params = list(inspect.signature(model.forward).parameters.values())[1:]
    except (TypeError, ValueError):  # a forward without a signature: traced as it is
        return None
    return {p.name: p.default for p in params
            if p.kind in kinds and p.default is not inspect.Parameter.empty} or None


def trace_fx(model: nn.Module, input_shape: Shape, source: str) -> IRGraph:
    """Symbolically trace ``model`` and propagate shapes from zeros of ``input_shape``."""
    import torch

    from convcost.cost.ops.swin_torch import FX_LEAVES

    concrete = _defaults(model)
    # convcost's own Swin functions whole, and the declared ones of other packages (timm's)
    tracer = torch.fx.Tracer(autowrap_functions=FX_LEAVES + declared_leaves())
    graph = tracer.trace(model, concrete_args=concrete)
    gm = torch.fx.GraphModule(tracer.root, graph, type(model).__name__)
    with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):  # ShapeProp prints tracebacks
        shape_prop()(gm).propagate(torch.zeros(input_shape))
    calls = Counter(str(n.target) for n in gm.graph.nodes if n.op == "call_module")
    walk = _Walk(gm, calls)
    for node in gm.graph.nodes:
        if node.op == "placeholder" and re.sub(r"_\d+$", "", str(node.target)) not in (concrete or {}):
            # a parameter traced as its default (attn_mask=None: fx guards it) is no input
            walk.add(node, "input", _shapes(node) or (input_shape,), target="input")
        elif node.op == "output":
            outputs = tuple(walk.alias.get(n.name, n.name) for n in node.all_input_nodes
                            if n.name in walk.kept)
        else:
            _translate(walk, node)
    return finish(model, source, "torch.fx", input_shape, walk.nodes, outputs)


def finish(model: nn.Module, source: str, tracer: str, input_shape: Shape, nodes: list[IRNode],
           outputs: tuple[str, ...]) -> IRGraph:
    """The graph, with the modules the forward never ran (GoogLeNet's auxiliary heads in eval)
    and their params, and a note naming them."""
    total = sum(p.numel() for p in model.parameters())
    unused = _unused(model, nodes)
    rest = total - sum(node.params for node in nodes) - sum(params for _, params in unused)
    if rest < 0:  # a module's weights read by its parent's own code: not unused after all
        unused, rest = [], rest + sum(params for _, params in unused)
    listed = ", ".join([f"{name} ({params:,} params)" for name, params in unused[:5]]
                       + ["…"] * (len(unused) > 5))
    notes: tuple[str, ...] = (
        f"modules the forward pass never runs: {listed}; their params are counted (an `unused` "
        "layer each), their MACs are not (they never run)",) if unused else ()
    if rest > 0:
        notes += (f"{rest:,} parameters are read by no op the trace saw; they are not counted",)
    classes = tuple((name, type(module).__name__) for name, module in model.named_modules()
                    if name)
    return IRGraph(source, tracer, input_shape, tuple(nodes), outputs, total, notes, classes,
                   tuple(unused))


def _unused(model: nn.Module, nodes: list[IRNode]) -> list[tuple[str, int]]:
    """(path, params) of the outermost modules holding parameters of which no op ran any."""
    used = {node.module for node in nodes if node.params}
    modules = dict(model.named_modules())
    seen = {id(p) for u in used if u in modules for p in modules[u].parameters()}  # tied: used
    found: list[tuple[str, int]] = []
    for name, module in model.named_modules():
        params = [p for p in module.parameters() if id(p) not in seen]
        if not name or not params or any(
                u == name or u.startswith(name + ".") or name.startswith(u + ".") for u in used):
            continue
        seen.update(id(p) for p in params)
        found.append((name, sum(p.numel() for p in params)))
    return found
