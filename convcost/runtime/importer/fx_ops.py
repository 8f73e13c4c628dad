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
import operator
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


# -- modules -----------------------------------------------------------------------------

def _pool(kind: str) -> Rule:
    def rule(c: Call) -> tuple[str, dict[str, Any]]:
        m = c.module
        stride = m.stride if m.stride is not None else m.kernel_size
        return "pool", dict(kind=kind, kernel=pair(m.kernel_size), stride=pair(stride),
                            padding=pair(m.padding), ceil_mode=bool(m.ceil_mode),
                            dilation=pair(getattr(m, "dilation", 1)))
    return rule


def adaptive_rule(kind: str) -> Rule:
    return lambda c: ("adaptive_pool", dict(kind=kind, output_size=tuple(c.shape[2:])))


def act_rule(fn: str) -> Rule:
    return lambda c: ("act", dict(fn=fn))


def _hardtanh_module(c: Call) -> tuple[str, dict[str, Any]]:
    lo, hi = c.module.min_val, c.module.max_val
    return "act", dict(fn="relu6" if (lo, hi) == (0.0, 6.0) else "hardtanh", min=lo, max=hi)


def _norm(op: str) -> Rule:
    def rule(c: Call) -> tuple[str, dict[str, Any]]:
        m = c.module
        affine = getattr(m, "elementwise_affine", getattr(m, "affine", True))
        attrs: dict[str, Any] = dict(affine=bool(affine))
        if hasattr(m, "num_groups"):
            attrs["groups"] = m.num_groups
        if hasattr(m, "normalized_shape"):
            attrs["normalized"] = tuple(m.normalized_shape)
        return op, attrs
    return rule


def scale_of(factor: Any) -> float | None:
    """One resize factor for H and W (``2``, ``2.0``, ``(2, 2)``), or None (a size, or two factors)."""
    if isinstance(factor, list | tuple):
        factor = factor[0] if len(set(factor)) == 1 else None
    return float(factor) if isinstance(factor, int | float) and not isinstance(factor, bool) else None


def _upsample(c: Call) -> tuple[str, dict[str, Any]]:
    return "interpolate", dict(mode=c.module.mode, size=tuple(c.shape[2:]),
                               scale=scale_of(c.module.scale_factor),
                               align_corners=bool(c.module.align_corners))


# -- functions and methods ---------------------------------------------------------------

def binary_rule(op: str) -> Rule:
    def rule(c: Call) -> tuple[str, dict[str, Any]]:
        scalars = [a for a in c.args[:2] if isinstance(a, int | float) and not isinstance(a, bool)]
        return op, dict(scalar=scalars[0]) if scalars else {}
    return rule


def f_hardtanh_rule(c: Call) -> tuple[str, dict[str, Any]]:
    lo, hi = float(c.arg(1, "min_val", -1.0)), float(c.arg(2, "max_val", 1.0))
    return "act", dict(fn="relu6" if (lo, hi) == (0.0, 6.0) else "hardtanh", min=lo, max=hi)


def f_pool_rule(kind: str) -> Rule:
    def rule(c: Call) -> tuple[str, dict[str, Any]]:
        kernel = pair(c.arg(1, "kernel_size"))
        stride = c.arg(2, "stride", None) or kernel
        ceil = c.arg(5 if kind == "max" else 4, "ceil_mode", False)
        return "pool", dict(kind=kind, kernel=kernel, stride=pair(stride),
                            padding=pair(c.arg(3, "padding", 0)), ceil_mode=bool(ceil),
                            dilation=pair(c.arg(4, "dilation", 1) if kind == "max" else 1))
    return rule


def mean_rule(c: Call) -> tuple[str, dict[str, Any]]:
    dims = c.arg(1, "dim", None)
    dims = (dims,) if isinstance(dims, int) else tuple(dims) if dims is not None else ()
    return "mean", dict(dims=dims, keepdim=bool(c.arg(2, "keepdim", False)))


def _interpolate(c: Call) -> tuple[str, dict[str, Any]]:
    return "interpolate", dict(mode=str(c.arg(3, "mode", "nearest")), size=tuple(c.shape[2:]),
                               align_corners=bool(c.arg(4, "align_corners", False)),
                               scale=scale_of(c.arg(2, "scale_factor", None)))


def cat_rule(c: Call) -> tuple[str, dict[str, Any]]:
    return "cat", dict(dim=int(c.arg(1, "dim", 0)) % len(c.shape))


def chunk_rule(op: str) -> Rule:
    def rule(c: Call) -> tuple[str, dict[str, Any]]:
        dim = c.arg(2, "dim", 0) % len(c.shape)
        return op, dict(dim=dim, sizes=tuple(s[dim] for s in c.shapes), shapes=c.shapes)
    return rule


def transpose_rule(c: Call) -> tuple[str, dict[str, Any]]:
    return "transpose", dict(dims=(int(c.arg(1, "dim0")), int(c.arg(2, "dim1"))))


def permute_rule(c: Call) -> tuple[str, dict[str, Any]]:
    dims = c.args[1:] if len(c.args) > 2 or isinstance(c.arg(1, "dims"), int) else c.arg(1, "dims")
    return "transpose", dict(dims=tuple(int(d) for d in dims), permute=True)


def reshape_rule(c: Call) -> tuple[str, dict[str, Any]]:
    return "reshape", dict(shape=c.shape)


def channel_slice(index: Any, shape: Shape) -> dict[str, Any] | None:
    """``x[:, a:b]`` (``x[:, a:b, ...]``, ``x[:, a:]``): dim 1, start, end, step; None for any
    other index."""
    items = index if isinstance(index, tuple) else (index,)
    full = slice(None)
    while len(items) > 2 and (items[-1] is Ellipsis or items[-1] == full):  # x[:, a:b, :, :]
        items = items[:-1]
    if len(items) != 2 or items[0] != full or not isinstance(items[1], slice) or len(shape) < 2:
        return None
    if not all(v is None or isinstance(v, int) for v in (items[1].start, items[1].stop, items[1].step)):
        return None
    start, end, step = items[1].indices(shape[1])
    return dict(dim=1, start=start, end=end, step=step)


def narrow_rule(c: Call) -> tuple[str, dict[str, Any]]:
    """``x.narrow(dim, start, length)``."""
    dim, start, length = (int(c.arg(i, n)) for i, n in ((1, "dim"), (2, "start"), (3, "length")))
    return "slice", dict(dim=dim % len(c.shape), start=start, end=start + length, step=1)


def aten_slice_rule(c: Call) -> tuple[str, dict[str, Any]]:
    """``aten.slice(x, dim, start, end, step)``."""
    source = c.in_shapes[0]
    dim = int(c.arg(1, "dim", 0)) % len(source)
    start, end, step = slice(c.arg(2, "start"), c.arg(3, "end"), c.arg(4, "step", 1)).indices(source[dim])
    return "slice", dict(dim=dim, start=start, end=end, step=step)


def same_rule(op: str) -> Rule:
    return lambda c: (op, {})


def f_layer_norm_rule(c: Call) -> tuple[str, dict[str, Any]]:
    """``F.layer_norm(x, normalized_shape, weight, bias)`` (and ``aten.layer_norm``)."""
    normalized = c.arg(1, "normalized_shape")
    return "layernorm", dict(affine=c.arg(2, "weight") is not None,
                             normalized=tuple(int(d) for d in normalized))


def pad_rule(c: Call) -> tuple[str, dict[str, Any]]:
    """``F.pad(x, pad, mode, value)`` and ``aten.constant_pad_nd(x, pad, value)``."""
    third = c.arg(2, "mode", "constant")
    mode = third if isinstance(third, str) else "constant"
    value = third if isinstance(third, int | float) else c.arg(3, "value", 0)
    return "pad", dict(pad=tuple(int(p) for p in c.arg(1, "pad")), mode=mode, value=float(value or 0))


# fx-wrapped regularisers that return their input in eval mode (torchvision, timm).
EVAL_IDENTITIES = frozenset({"stochastic_depth", "drop_path", "drop_block_2d", "drop_block_fast_2d"})
ACT_FUNCTIONS = ("relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu", "gelu", "tanh",
                 "leaky_relu", "elu", "mish", "softplus", "log_softmax", "selu")
ACT_MODULES = {"ReLU": "relu", "ReLU6": "relu6", "Hardswish": "hardswish",
               "Hardsigmoid": "hardsigmoid", "Sigmoid": "sigmoid", "SiLU": "silu", "GELU": "gelu",
               "Tanh": "tanh", "LeakyReLU": "leaky_relu", "ELU": "elu", "Mish": "mish",
               "PReLU": "prelu", "Softplus": "softplus", "SELU": "selu"}


@dataclass(frozen=True)
class Tables:
    modules: Mapping[type, Rule]
    functions: Mapping[Any, Rule]
    methods: Mapping[str, Rule]


def _module_rules() -> dict[type, Rule]:
    from torch import nn

    rules: dict[type, Rule] = {
        nn.MaxPool2d: _pool("max"), nn.AvgPool2d: _pool("avg"),
        nn.AdaptiveAvgPool2d: adaptive_rule("avg"), nn.AdaptiveMaxPool2d: adaptive_rule("max"),
        nn.Hardtanh: _hardtanh_module,
        nn.LayerNorm: _norm("layernorm"), nn.GroupNorm: _norm("groupnorm"),
        nn.InstanceNorm2d: _norm("instancenorm"), nn.Upsample: _upsample,
        nn.ChannelShuffle: lambda c: ("shuffle", dict(groups=c.module.groups)),
    }
    rules.update({getattr(nn, cls): act_rule(fn) for cls, fn in ACT_MODULES.items()})
    return rules


def _function_rules() -> dict[Any, Rule]:
    import torch
    import torch.nn.functional as F

    rules: dict[Any, Rule] = {getattr(F, fn): act_rule(fn) for fn in ACT_FUNCTIONS}
    rules.update({getattr(torch, fn): act_rule(fn) for fn in ("relu", "sigmoid", "tanh")})
    rules.update({F.relu_: act_rule("relu"), torch.relu_: act_rule("relu"), F.elu_: act_rule("elu"),
                  torch.sigmoid_: act_rule("sigmoid"), torch.tanh_: act_rule("tanh")})  # in place
    for op, fns in (("add", (operator.add, operator.iadd, torch.add)),
                    ("sub", (operator.sub, operator.isub, torch.sub)),
                    ("mul", (operator.mul, operator.imul, torch.mul)),
                    ("div", (operator.truediv, operator.itruediv, torch.div))):
        rules.update(dict.fromkeys(fns, binary_rule(op)))
    rules.update({
        F.hardtanh: f_hardtanh_rule, F.max_pool2d: f_pool_rule("max"), F.avg_pool2d: f_pool_rule("avg"),
        F.adaptive_avg_pool2d: adaptive_rule("avg"), F.adaptive_max_pool2d: adaptive_rule("max"),
        F.interpolate: _interpolate, torch.cat: cat_rule, torch.concat: cat_rule,
        torch.chunk: chunk_rule("chunk"), torch.split: chunk_rule("split"),
        torch.transpose: transpose_rule, torch.permute: permute_rule, torch.reshape: reshape_rule,
        torch.mean: mean_rule,
        F.pad: pad_rule, F.layer_norm: f_layer_norm_rule,
        torch.narrow: narrow_rule,
    })
    return rules


_METHODS: Mapping[str, Rule] = {
    "view": reshape_rule, "reshape": reshape_rule, "transpose": transpose_rule,
    "permute": permute_rule, "mean": mean_rule, "chunk": chunk_rule("chunk"), "split": chunk_rule("split"),
    "relu": act_rule("relu"), "sigmoid": act_rule("sigmoid"),
    "tanh": act_rule("tanh"), "narrow": narrow_rule,
    **{name: binary_rule(name) for name in ("add", "mul", "sub", "div")},
    **{f"{name}_": binary_rule(name) for name in ("add", "mul", "sub", "div")},  # in place
    "relu_": act_rule("relu"), "sigmoid_": act_rule("sigmoid"), "tanh_": act_rule("tanh"),
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


def declared() -> Tables:
    """The kinds' declared modules, functions and methods, resolved to torch objects."""
    modules, functions = IMPORT_RULES["modules"], IMPORT_RULES["functions"]
    methods = {name.removeprefix(METHOD): rule for name, rule in functions.items()
               if name.startswith(METHOD)}
    resolved_modules = {resolve(name): rule for name, rule in modules.items()}
    resolved_functions = {resolve(name): rule for name, rule in functions.items()
                          if not name.startswith(METHOD)}
    resolved_modules.pop(None, None)
    resolved_functions.pop(None, None)
    return Tables(resolved_modules, resolved_functions, methods)


@cache
def tables() -> Tables:
    """The three rule tables (built on first use: they need torch)."""
    kinds = declared()
    return Tables({**_module_rules(), **kinds.modules}, {**_function_rules(), **kinds.functions},
                  {**_METHODS, **kinds.methods})


def module_rule(module: Any) -> Rule | None:
    """The rule for a leaf module: its exact class first, then its nearest base class."""
    rules = tables().modules
    for cls in type(module).__mro__:
        if cls in rules:
            return rules[cls]
    return None
