"""ONNX node -> IR op and hyper-parameters, one rule per op type. Pure: rules read plain data.

:data:`RULES` is the op kinds' declared ONNX op types (``imports.onnx`` of each kind in
``cost/ops``) plus the rules of importer-only ops. A rule gets an :class:`OnnxCall`
(attributes, input and output shapes, small constant inputs) and returns ``(op, attrs)``.
Weights are counted by :mod:`.onnx_read` from :data:`WEIGHTS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from convcost.cost.imports import OnnxCall
from convcost.cost.registry import IMPORT_RULES, ONNX_WEIGHTS

__all__ = ["RULES", "WEIGHTS", "OnnxCall"]

# op type -> input positions holding learnable weights (BN's mean and var are buffers).
_WEIGHTS: Mapping[str, tuple[int, ...]] = {
    "PRelu": (1,), "Mul": (0, 1), "Add": (0, 1),
    "LayerNormalization": (1, 2), "GroupNormalization": (1, 2), "InstanceNormalization": (1, 2),
}


Rule = Callable[[OnnxCall], tuple[str, dict[str, Any]]]


def _spatial(c: OnnxCall, key: str, default: int) -> tuple[int, int]:
    value = c.attrs.get(key) or [default, default]
    return (int(value[0]), int(value[1]))


def _pads(c: OnnxCall) -> tuple[int, int] | tuple[int, ...]:
    pads = tuple(int(p) for p in c.attrs.get("pads") or (0, 0, 0, 0))
    return pads[:2] if pads[:2] == pads[2:] else pads  # symmetric -> (h, w); else t, l, b, r


def _clip(c: OnnxCall) -> tuple[str, dict[str, Any]]:
    lo = c.attrs.get("min", _first(c.constants[1] if len(c.constants) > 1 else None))
    hi = c.attrs.get("max", _first(c.constants[2] if len(c.constants) > 2 else None))
    if lo == 0 and hi is None:
        return "act", dict(fn="relu")
    if (lo, hi) == (0, 6):
        return "act", dict(fn="relu6")  # as torch.fx gives nn.ReLU6
    return "act", dict(fn="hardtanh", min=lo, max=hi)


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _pool(kind: str) -> Rule:
    def rule(c: OnnxCall) -> tuple[str, dict[str, Any]]:
        kernel = _spatial(c, "kernel_shape", 1)
        return "pool", dict(kind=kind, kernel=kernel, stride=_spatial(c, "strides", 1),
                            padding=_pads(c), ceil_mode=bool(c.attrs.get("ceil_mode", 0)),
                            dilation=_spatial(c, "dilations", 1))
    return rule


def _reduce_mean(c: OnnxCall) -> tuple[str, dict[str, Any]]:
    """A mean; torch's exported ``nn.AdaptiveAvgPool2d(1)`` stays the module torch.fx sees."""
    axes = c.attrs.get("axes") or (c.constants[1] if len(c.constants) > 1 else None) or ()
    rank = len(c.in_shapes[0] or c.shape)
    dims = tuple(sorted(int(a) % rank for a in axes))
    keepdim = bool(c.attrs.get("keepdims", 1))
    if c.module_class.endswith("AdaptiveAvgPool2d") and dims == (2, 3) and keepdim:
        return "adaptive_pool", dict(kind="avg", output_size=(1, 1))
    return "mean", dict(dims=dims, keepdim=keepdim)


def _reshape(c: OnnxCall) -> tuple[str, dict[str, Any]]:
    """A reshape; torch's exported ``nn.Flatten`` stays a flatten, as torch.fx gives it."""
    source = c.in_shapes[0]
    start = len(c.shape) - 1
    if (source and c.module_kind == "flatten" and source[:start] == c.shape[:start]
            and math.prod(source[start:]) == c.shape[-1]):
        return "flatten", dict(start_dim=start, end_dim=-1)
    return "reshape", dict(shape=c.shape)


def _transpose(c: OnnxCall) -> tuple[str, dict[str, Any]]:
    """A permutation; one that swaps two axes is ``x.transpose(i, j)``, as torch.fx gives it."""
    perm = tuple(int(p) for p in c.attrs.get("perm") or range(len(c.shape))[::-1])
    moved = [i for i, p in enumerate(perm) if i != p]
    if len(moved) == 2 and perm[moved[0]] == moved[1]:
        return "transpose", dict(dims=tuple(moved))
    return "transpose", dict(dims=perm, permute=True)


def _slice(c: OnnxCall) -> tuple[str, dict[str, Any]]:
    """``x[..., start:end:step]`` along one axis, when its bounds are constants."""
    starts, ends, axes, steps = (c.constants[i] if len(c.constants) > i else None for i in (1, 2, 3, 4))
    source = c.in_shapes[0]
    if not (source and starts and ends and len(starts) == len(ends) == 1):
        return "slice", {}
    dim = int(axes[0]) % len(source) if axes else 0
    step = int(steps[0]) if steps else 1
    start, end, _ = slice(int(starts[0]), int(ends[0]), step).indices(source[dim])
    return "slice", dict(dim=dim, start=start, end=end, step=step)


def _split(c: OnnxCall) -> tuple[str, dict[str, Any]]:
    axis = int(c.attrs.get("axis", 0)) % len(c.shape)
    return "split", dict(dim=axis, sizes=tuple(s[axis] for s in c.shapes), shapes=c.shapes)


def _binary(op: str) -> Rule:
    def rule(c: OnnxCall) -> tuple[str, dict[str, Any]]:
        scalars = [_first(v) for v in c.constants if isinstance(v, list) and len(v) == 1]
        return op, dict(scalar=scalars[0]) if scalars else {}
    return rule


def _act(fn: str) -> Rule:
    return lambda c: ("act", dict(fn=fn))


def _same(op: str, **attrs: Any) -> Rule:
    return lambda c: (op, dict(attrs))


def _resize(c: OnnxCall) -> tuple[str, dict[str, Any]]:
    """ONNX's ``linear``/``cubic`` over two spatial axes are torch's ``bilinear``/``bicubic``."""
    mode = _text(c.attrs.get("mode", b"nearest"))
    if mode in ("linear", "cubic") and len(c.shape) == 4:
        mode = "bi" + mode
    attrs: dict[str, Any] = dict(mode=mode, size=tuple(c.shape[2:]))
    if _text(c.attrs.get("coordinate_transformation_mode", b"")) == "align_corners":
        attrs["align_corners"] = True
    if c.has(3) and not c.has(2):  # fixed sizes, no scales: F.interpolate(x, size=...)
        attrs["sized"] = True
    return "interpolate", attrs


def _layer_norm(c: OnnxCall) -> tuple[str, dict[str, Any]]:
    """Normalised over the axes from ``axis`` on (torch's ``normalized_shape``)."""
    source = c.in_shapes[0] or c.shape
    axis = int(c.attrs.get("axis", -1)) % len(source)
    return "layernorm", dict(affine=c.has(1), normalized=tuple(source[axis:]))


def _pad(c: OnnxCall) -> tuple[str, dict[str, Any]]:
    """ONNX pads (every axis's begins, then its ends) -> torch's ``F.pad`` order, last axis first."""
    pads = c.attrs.get("pads") or (c.constants[1] if len(c.constants) > 1 else None)
    attrs: dict[str, Any] = dict(mode=_text(c.attrs.get("mode", b"constant")))
    if pads and len(pads) % 2 == 0:
        rank = len(pads) // 2
        order = [(int(pads[axis]), int(pads[axis + rank])) for axis in reversed(range(rank))]
        while order and order[-1] == (0, 0):  # F.pad leaves the leading axes out
            order.pop()
        attrs["pad"] = tuple(p for pair in order for p in pair)
    return "pad", attrs


_RULES: Mapping[str, Rule] = {
    "Relu": _act("relu"), "Clip": _clip, "HardSwish": _act("hardswish"),
    "HardSigmoid": _act("hardsigmoid"), "Sigmoid": _act("sigmoid"), "Tanh": _act("tanh"),
    "LeakyRelu": _act("leaky_relu"), "Elu": _act("elu"), "Gelu": _act("gelu"), "Mish": _act("mish"),
    "PRelu": _act("prelu"),
    "Add": _binary("add"), "Sub": _binary("sub"), "Mul": _binary("mul"), "Div": _binary("div"),
    "Concat": lambda c: ("cat", dict(dim=int(c.attrs.get("axis", 1)) % len(c.shape))),
    "Split": _split, "Slice": _slice,
    "Resize": _resize,
    "GlobalAveragePool": _same("adaptive_pool", kind="avg", output_size=(1, 1)),
    "GlobalMaxPool": _same("adaptive_pool", kind="max", output_size=(1, 1)),
    "MaxPool": _pool("max"), "AveragePool": _pool("avg"), "ReduceMean": _reduce_mean,
    "Reshape": _reshape, "Transpose": _transpose,
    "Pad": _pad,
    "LayerNormalization": _layer_norm, "GroupNormalization": _same("groupnorm"),
    "InstanceNormalization": _same("instancenorm"),
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


RULES: Mapping[str, Rule] = {**_RULES, **IMPORT_RULES["onnx"]}
WEIGHTS: Mapping[str, tuple[int, ...]] = {**_WEIGHTS, **ONNX_WEIGHTS}
