"""torch.fx node -> IR op and hyper-parameters: one table for modules, functions and methods.

The tables are the op kinds' declared import mappings (``imports`` of each kind in
``cost/ops``, collected by :func:`convcost.cost.registry.import_rules`), resolved to torch
objects here, plus the few rules of importer-only ops (:data:`OWN_OPS` of :mod:`.ir`). Every
rule reads a :class:`Call` (the fx node's arguments with its input and output shapes) and
returns ``(op, attrs)``. Shapes come from shape propagation, so arguments computed from
``x.size()`` never need evaluating. torch is imported inside :func:`tables` only.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from convcost.cost.imports import TorchCall, pair
from convcost.cost.registry import IMPORT_RULES
from convcost.runtime.importer.ir import Shape

Call = TorchCall
Rule = Callable[[Call], tuple[str, dict[str, Any]]]
METHOD = "Tensor."  # a declared function name for a tensor method: "Tensor.relu"

__all__ = ["Call", "Rule", "Shape", "pair"]


# -- the importer's own ops (ir.OWN_OPS): no op kind says them -----------------------------

def chunk_rule(op: str) -> Rule:
    def rule(c: Call) -> tuple[str, dict[str, Any]]:
        dim = c.arg(2, "dim", 0) % len(c.shape)
        return op, dict(dim=dim, sizes=tuple(s[dim] for s in c.shapes), shapes=c.shapes)
    return rule


def index_items(index: Any, rank: int) -> tuple[Any, ...] | None:
    """The items of ``x[index]`` one per dim of a rank-``rank`` tensor (an Ellipsis and the
    dims left out read as ``:``); None for more items than dims or two Ellipses."""
    items = index if isinstance(index, tuple) else (index,)
    full, dots = slice(None), sum(1 for i in items if i is Ellipsis)
    if dots > 1 or len(items) - dots > rank:
        return None
    at = items.index(Ellipsis) if dots else len(items)
    return (*items[:at], *(full,) * (rank - len(items) + dots), *items[at + dots:])


def channel_slice(index: Any, shape: Shape) -> dict[str, Any] | None:
    """``x[:, a:b]`` (``x[:, a:b, ...]``, ``x[:, a:]``), and one other dim after the batch sliced
    alone (``q[:, :, 1:, :]``, CoaT's tokens after the class token; ``x[..., a:b]``): dim, start,
    end, step; None for any other index."""
    items = index_items(index, len(shape))
    if items is None or len(shape) < 2:
        return None
    cut = [d for d, i in enumerate(items) if i != slice(None)] or [1]  # x[:, :]: all of dim 1
    item = items[cut[0]]
    if len(cut) != 1 or cut[0] == 0 or not isinstance(item, slice) \
            or not all(v is None or isinstance(v, int) for v in (item.start, item.stop, item.step)):
        return None
    start, end, step = item.indices(shape[cut[0]])
    return dict(dim=cut[0], start=start, end=end, step=step)


def axis_slices(index: Any, shape: Shape) -> dict[str, Any] | None:
    """``x[:, ::2, ::2]`` (LeViT's subsample): several dims after the batch sliced, each with its
    start, end and step (``axes``); None for any other index (:func:`channel_slice` reads one
    dim), an int, a tensor or bounds computed in the trace."""
    items = index_items(index, len(shape))
    full = slice(None)
    if items is None or items[0] != full or not all(
            isinstance(i, slice) and all(v is None or type(v) is int for v in (i.start, i.stop, i.step))
            for i in items):
        return None
    axes = tuple((d, *item.indices(shape[d])) for d, item in enumerate(items) if item != full)
    if len(axes) < 2 or any(start >= end or step < 1 for _, start, end, step in axes):
        return None
    return dict(axes=axes)


def gather_index(index: Any, weights: Mapping[str, tuple[Any, Shape]]) -> dict[str, int] | None:
    """``t[index]``, ``t[:, index]``: ``dim`` and ``size`` of a 1-D index buffer (ViT-RelPos's
    ``relative_position_index``; ``weights``: fx node name -> (tensors, shape)); None for any
    other index."""
    items = index if isinstance(index, tuple) else (index,)
    last = str(getattr(items[-1], "name", "")) if items else ""
    shape = weights[last][1] if last in weights else ()
    if items and isinstance(items[-1], list) and items[-1] \
            and all(isinstance(i, int) and not isinstance(i, bool) for i in items[-1]):
        shape = (len(items[-1]),)  # x[:, :, [0, 1, 8, ...]]: CSATv2's zigzag order, a list
    if len(shape) != 1 or any(i != slice(None) for i in items[:-1]):
        return None
    return dict(dim=len(items) - 1, size=shape[0])


def alias_in_place(alias: dict[str, str], kept: Mapping[str, Any], node: Any, in_place: bool) -> None:
    """``x.add_(pos)``, torchvision MViT's fx-wrapped ``_add_shortcut(x, q)`` (``in_place``, its
    reader says): later reads of x (a traced tensor of ``kept``) read the update."""
    first = getattr(node.args[0], "name", "") if node.args else ""
    if (in_place or (node.op == "call_method" and str(node.target).endswith("_"))) and first in kept:
        alias[first] = node.name


# fx-wrapped regularisers that return their input in eval mode (torchvision, timm).
EVAL_IDENTITIES = frozenset({"stochastic_depth", "drop_path", "drop_block_2d", "drop_block_fast_2d"})


@dataclass(frozen=True)
class Tables:
    modules: Mapping[type, Rule]
    functions: Mapping[Any, Rule]
    methods: Mapping[str, Rule]


def _function_rules() -> dict[Any, Rule]:
    import torch

    rules: dict[Any, Rule] = {}
    rules.update({torch.chunk: chunk_rule("chunk"), torch.split: chunk_rule("split"),
                  torch.tensor_split: chunk_rule("split")})
    return rules


_METHODS: Mapping[str, Rule] = {
    "chunk": chunk_rule("chunk"), "split": chunk_rule("split"), "tensor_split": chunk_rule("split"),
}


def resolve(name: str) -> Any:
    """The object a qualified name names (``torch.nn.Conv2d``, ``operator.add``); None when
    this torch has none."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            value = getattr(value, part, None)
        return value
    return None


def foreign(name: str) -> bool:
    """A function of another package (torchvision's fx-wrapped Swin functions): never imported
    here (a CUDA torchvision fails to), it is read by its qualified name (:func:`function_rule`)."""
    return name.split(".")[0] not in ("torch", "operator", "math", "builtins")


def declared_leaves() -> tuple[Any, ...]:
    """The declared functions of other packages the fx tracer keeps whole
    (``autowrap_functions``; timm's ``mvitv2.cal_rel_pos_type``, whose sizes fx cannot branch
    on): those of a module the model's package has already imported (none is imported here)."""
    found = []
    for name in IMPORT_RULES["functions"]:
        module, _, attr = name.rpartition(".")
        function = getattr(sys.modules.get(module), attr, None) if foreign(name) else None
        if callable(function) and not isinstance(function, type):
            found.append(function)
    return tuple(found)


def function_rule(target: Any) -> Rule | None:
    """The rule of an fx call target: by the object, else by its qualified name (foreign)."""
    rule = tables().functions.get(target)
    if rule is not None:
        return rule
    name = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"
    return IMPORT_RULES["functions"].get(name) if foreign(name) else None


def declared() -> Tables:
    """The kinds' declared modules, functions and methods, resolved to torch objects."""
    modules, functions = IMPORT_RULES["modules"], IMPORT_RULES["functions"]
    methods = {name.removeprefix(METHOD): rule for name, rule in functions.items()
               if name.startswith(METHOD)}
    resolved_modules = {resolve(name): rule for name, rule in modules.items()}
    resolved_functions = {resolve(name): rule for name, rule in functions.items()
                          if not name.startswith(METHOD) and not foreign(name)}
    resolved_modules.pop(None, None)
    resolved_functions.pop(None, None)
    return Tables(resolved_modules, resolved_functions, methods)


@cache
def tables() -> Tables:
    """The three rule tables (built on first use: they need torch)."""
    kinds = declared()
    return Tables(kinds.modules, {**_function_rules(), **kinds.functions}, {**_METHODS, **kinds.methods})


def module_rule(module: Any) -> Rule | None:
    """The rule for a leaf module: its exact class first, then its nearest base class."""
    rules = tables().modules
    for cls in type(module).__mro__:
        if cls in rules:
            return rules[cls]
    return None


FVCORE_RESIZE_MODES = frozenset({"nearest", "bilinear"})
"""The 4-D resizes fvcore counts (aten.upsample_nearest2d: 1 per output, _bilinear2d: 4), not
antialiased: a resize of a weight alone in one of them is a layer, never folded into the weight."""


def fvcore_resize(node: Any, shape: Shape) -> bool:
    """``F.interpolate`` of a 4-D tensor in one of :data:`FVCORE_RESIZE_MODES`, not antialiased."""
    if getattr(node.target, "__name__", "") != "interpolate" or len(shape) != 4:
        return False
    mode = node.kwargs.get("mode", node.args[3] if len(node.args) > 3 else "nearest")
    return mode in FVCORE_RESIZE_MODES and not node.kwargs.get("antialias", False)
