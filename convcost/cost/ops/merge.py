"""Ops that merge tensors: ``add`` (a sum), ``sub`` (a difference: PoolFormer's
``pool(x) - x``), ``average`` (a mean of equal tensors: averaged
heads), ``mul`` (a broadcasting product), ``concat`` (channel axis), and ``scale`` (a
squeeze-excitation gate).

``add``, ``sub``, ``mul`` and ``concat`` are also spec kinds: a layer names its inputs with ``from:``,
and the shapes are checked at the merge. A formula sees its first input's shape; the op holds
what it needs of the others. Their torch modules are convcost's own (``forward(*tensors)``),
defined on first use.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, reduce
from types import SimpleNamespace
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, TorchCall, Traced, first, merge_signature
from convcost.cost.layout import described
from convcost.cost.opkind import Field, KernelForm, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.ops.act import same_shape
from convcost.cost.ops.layer_scale import emit_scalar, emit_shift
from convcost.cost.ops.token_imports import emit_param, emit_weight_merge
from convcost.cost.value import LayerCost, Shape
from convcost.errors import SpecError


@dataclass(frozen=True)
class Add(Op):
    """Sum ``a + b (+ ...)`` of ``inputs`` tensors of the same shape (a residual)."""

    key: ClassVar[str] = "add"
    inputs: int = 2


@dataclass(frozen=True)
class Sub(Op):
    """Difference ``a - b`` of two tensors of the same shape."""

    key: ClassVar[str] = "sub"


@dataclass(frozen=True)
class Average(Op):
    """Mean ``(a + b (+ ...)) / n`` of ``inputs`` tensors of one shape: the averaged heads of
    distilled models (DeiT, LeViT, RepViT: ``(head(x) + head_dist(x)) / 2``)."""

    key: ClassVar[str] = "average"
    inputs: int = 2


@dataclass(frozen=True)
class Scale(Op):
    """Squeeze-excitation ``x * gate``; the gate is ``[N, C, 1, 1]``, broadcast over H×W."""

    key: ClassVar[str] = "scale"  # the gate is the second input


@dataclass(frozen=True)
class Mul(Op):
    """Elementwise product ``a * b`` with broadcasting; ``other`` is ``b``'s shape."""

    key: ClassVar[str] = "mul"
    other: Shape


@dataclass(frozen=True)
class Concat(Op):
    """Channel concatenation of the first input with others of ``other_channels`` in all; along
    another ``dim`` after the batch when ``dim`` is not 1 (``other_channels``: their sizes on it)."""

    key: ClassVar[str] = "concat"
    other_channels: int
    dim: int = 1


def concat(op: Concat, x: Shape) -> LayerCost:
    # [N, C1, H, W] ++ [N, C2, H, W] ++ ... -> [N, C1+C2+..., H, W]; dim d: sizes on d add up
    return LayerCost(0, 0, (*x[:op.dim], x[op.dim] + op.other_channels, *x[op.dim + 1:]))


def broadcast(a: Shape, b: Shape) -> Shape | None:
    """The broadcast shape of ``a`` and ``b`` (same rank), or None when they do not broadcast."""
    if len(a) != len(b) or any(i != j and 1 not in (i, j) for i, j in zip(a, b, strict=True)):
        return None
    return tuple(max(i, j) for i, j in zip(a, b, strict=True))


def mul(op: Mul, x: Shape) -> LayerCost:
    # [N, C, H, W] * [N|1, C|1, H|1, W|1] -> broadcast shape; paper MACs 0
    shape = broadcast(x, op.other)
    assert shape is not None, "checked when lowered"
    return LayerCost(0, 0, shape)


def _dims(shape: Shape) -> str:
    return "×".join(map(str, shape))


def _mismatch(kind: str, what: str, a: Shape, b: Shape, path: str) -> SpecError:
    return SpecError(f"{kind} needs equal {what}, got {_dims(a)} and {_dims(b)}", path=path)


def _equal_inputs(kind: str, x: Shape, lowering: Lowering) -> int:
    """How many tensors the layer reads, checked to be of ``x``'s shape."""
    for other in lowering.inputs[1:]:
        if other != x and len(x) == len(other) == 4 and x[1:] != other[1:]:
            raise _mismatch(kind, "shapes (C×H×W)", x[1:], other[1:], lowering.inputs_path)
        if other != x:  # another batch, or another rank: each shape whole, with its layout
            raise SpecError(f"{kind} needs equal shapes, got {described(x)} and {described(other)}",
                            path=lowering.inputs_path)
    return len(lowering.inputs)


def _lower_add(_: Mapping[str, Any], x: Shape, lowering: Lowering) -> Add:
    return Add(_equal_inputs("add", x, lowering))


def _lower_sub(_: Mapping[str, Any], x: Shape, lowering: Lowering) -> Sub:
    if _equal_inputs("sub", x, lowering) != 2:
        raise SpecError("sub reads 2 inputs (a - b)", path=lowering.inputs_path)
    return Sub()


def _lower_average(_: Mapping[str, Any], x: Shape, lowering: Lowering) -> Average:
    return Average(_equal_inputs("average", x, lowering))


def _emit_average(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    """The importer's ``average`` (its add and division by the count, fused): equal inputs."""
    return [{"kind": "average"}] if len(shapes) > 1 and all(s == node.shape for s in shapes) else None


def _lower_mul(_: Mapping[str, Any], x: Shape, lowering: Lowering) -> Mul:
    other = lowering.inputs[1]
    if broadcast(x, other) is None:
        raise SpecError(f"mul needs shapes that broadcast (each size equal, or 1 in one of "
                        f"them), got {_dims(x[1:])} and {_dims(other[1:])}",
                        path=lowering.inputs_path)
    return Mul(other)


def _lower_concat(f: Mapping[str, Any], x: Shape, lowering: Lowering) -> Concat:
    dim = f.get("dim", 1)
    if dim >= len(x):
        raise SpecError(f"concat dim {dim} is not a dim of {described(x)}", path=lowering.inputs_path)
    inputs = _concatenable(lowering.inputs, lowering.inputs_path, dim)
    return Concat(sum(other[dim] for other in inputs[1:]), dim)


def _concatenable(inputs: Sequence[Shape], path: str, dim: int) -> Sequence[Shape]:
    """``inputs``, checked to agree on everything but the channels (``dim``)."""
    x = inputs[0]
    for other in inputs[1:]:
        if len(other) != len(x):
            raise _mismatch("concat", "ranks", x[1:], other[1:], path)
        if dim == 1 and other[2:] != x[2:]:
            raise _mismatch("concat", "H×W", x[2:], other[2:], path)
        if dim != 1 and other[1:dim] + other[dim + 1:] != x[1:dim] + x[dim + 1:]:
            raise _mismatch("concat", f"sizes but on dim {dim}", x[1:], other[1:], path)
        if other[0] != x[0]:
            raise _mismatch("concat", "batch sizes", x[:1], other[:1], path)
    return inputs


@cache
def _classes() -> SimpleNamespace:
    """The merge modules (defined on first use: they need torch)."""
    import torch
    from torch import nn

    class AddModule(nn.Module):
        """Sum ``a + b (+ ...)``."""

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return reduce(operator.add, tensors)  # a + b + ...: fx-traceable

    class SubModule(nn.Module):
        """Difference ``a - b``."""

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a - b

    class AverageModule(nn.Module):
        """Mean ``(a + b (+ ...)) / n``."""

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return reduce(operator.add, tensors) / len(tensors)

    class ScaleModule(nn.Module):
        """Squeeze-excitation ``x * gate``."""

        def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
            return x * gate

    class MulModule(nn.Module):
        """Product ``a * b`` with broadcasting."""

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a * b

    class ConcatModule(nn.Module):
        """Concatenation ``cat((a, b, ...), dim)`` (1: the channels)."""

        def __init__(self, dim: int = 1) -> None:
            super().__init__()
            self.dim = dim

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return torch.cat(tensors, self.dim)

    return SimpleNamespace(add=AddModule, sub=SubModule, average=AverageModule, scale=ScaleModule,
                           mul=MulModule, concat=ConcatModule)


def _module(op: Op, _: Shape) -> Any:
    if isinstance(op, Concat):
        return _classes().concat(op.dim)
    return getattr(_classes(), op.key)()


# -- import ------------------------------------------------------------------------------

def read_scalar(c: TorchCall) -> Fields:
    """``a + b`` (``torch.add``, ``x.add_``, ``aten.add``, ...): ``scalar`` when one side is a number."""
    scalars = [a for a in c.args[:2] if isinstance(a, int | float) and not isinstance(a, bool)]
    return dict(scalar=scalars[0]) if scalars else {}


def read_onnx_scalar(c: OnnxCall) -> Fields:
    """ONNX ``Add``, ``Mul``, ...: ``scalar`` when one input is a one-value constant."""
    scalars = [first(v) for v in c.constants if isinstance(v, list) and len(v) == 1]
    return dict(scalar=scalars[0]) if scalars else {}


def binary(name: str) -> Imports:
    """The import names of ``a <name> b`` (add, mul, ...): torch, operator, methods, aten."""
    names = {f"operator.{name}", f"operator.i{name}", f"torch.{name}", f"Tensor.{name}", f"Tensor.{name}_"}
    return Imports(functions=dict.fromkeys(sorted(names), read_scalar),
                   aten={f"aten.{name}{place}": read_scalar for place in ("", "_")})


def _same_rank(node: Traced, shapes: Sequence[Shape]) -> bool:
    """A merge the spec says: no scalar operand, every tensor of one rank (a video's [N, C, D,
    H, W] too)."""
    rank = len(node.shape)
    return "scalar" not in node.attrs and rank >= 2 and all(len(s) == rank for s in shapes)


def _emit_add(node: Traced, x: Shape) -> list[Layer] | None:
    """``x + 0`` (MobileOne's ``out = scale_out + identity_out`` with no identity branch: the
    number 0): no layer; ``x + c``, another number: a ``shift``; ``x + pos_embed``: a parameter
    added (:func:`emit_param`)."""
    if node.attrs.get("scalar", None) == 0 and node.shape == x:
        return []
    return emit_shift(node, x) if "scalar" in node.attrs else emit_param(node, x)


def _merge_add(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    ok = _same_rank(node, shapes) and all(s == node.shape for s in shapes)
    return [{"kind": "add"}] if ok else None


def _merge_sub(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    ok = _same_rank(node, shapes) and len(shapes) == 2 and all(s == node.shape for s in shapes)
    return [{"kind": "sub"}] if ok else None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _read_sub(c: TorchCall) -> Fields:
    """``a - b``; ``s - x``, a number less a tensor (``1. - torch.sigmoid(g)``): ``rsub``."""
    fields = read_scalar(c)
    return {**fields, "rsub": True} if fields and c.args and _number(c.args[0]) else fields


def _read_rsub(c: TorchCall) -> Fields:
    """``aten.rsub(x, s)``: ``s - x``."""
    value = c.arg(1, "other")
    return dict(scalar=value, rsub=True) if _number(value) and c.arg(2, "alpha", 1) == 1 else {}


def _read_onnx_sub(c: OnnxCall) -> Fields:
    """ONNX ``Sub``: ``rsub`` when its first input is the one-value constant."""
    fields = read_onnx_scalar(c)
    lead = c.constants[0] if c.constants else None
    return {**fields, "rsub": True} if fields and isinstance(lead, list) and len(lead) == 1 else fields


def _emit_sub(node: Traced, x: Shape) -> list[Layer] | None:
    """``x - w``, w a weight read alone (CSATv2's ``x - mean``, a buffer): a ``param``
    subtracted; ``s - x``, a number less a tensor: a ``scalar`` of ``op`` rsub; ``x - s``
    (Gemma4's ``x - 0.5``): of ``op`` sub; the weight on the left: None (opaque)."""
    if node.attr("rsub"):
        return emit_scalar(node, x, "rsub")
    if "scalar" in node.attrs:
        return emit_scalar(node, x, "sub")
    return None if node.attr("state_first") else emit_weight_merge(node, x, "sub")


def _merge_mul(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    ok = _same_rank(node, shapes) and len(shapes) == 2 and tuple(map(max, *shapes)) == node.shape
    return [{"kind": "mul"}] if ok else None


def _emit_mul(node: Traced, x: Shape) -> list[Layer] | None:
    """``x · γ``, γ a [C, 1, 1] parameter (tokens: [C]): a ``layer_scale``; ``x * s``, a number:
    a ``scalar``."""
    if len(node.inputs) == 1 and len(x) in (3, 4) and node.params == x[1 if len(x) == 4 else -1]:
        return [{"kind": "layer_scale"}]
    if len(node.inputs) == 1 and len(x) == 4 and node.params == x[-1] and node.shape == x:
        return [{"kind": "layer_scale", "last_dim": True}]  # γ · x on [N, H, W, C] (EdgeNeXt)
    return emit_scalar(node, x) if "scalar" in node.attrs else emit_weight_merge(node, x, "mul")


def _merge_concat(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    dim = node.attr("dim")
    ok = _same_rank(node, shapes) and isinstance(dim, int) and 0 < dim < len(node.shape) \
        and sum(s[dim] for s in shapes) == node.shape[dim]
    return None if not ok else [{"kind": "concat"} if dim == 1 else {"kind": "concat", "dim": dim}]


def _emit_concat(node: Traced, x: Shape) -> list[Layer] | None:
    return [] if node.shape == x else None  # torch.cat of one tensor (DenseNet's first)


def _read_cat(c: TorchCall) -> Fields:
    return dict(dim=int(c.arg(1, "dim", 0)) % len(c.shape))


_ADD, _SUB, _MUL = binary("add"), binary("sub"), binary("mul")
def _read_shortcut(c: TorchCall) -> Fields:
    """torchvision MViT's fx-wrapped ``_add_shortcut(x, q, with_cls)``: ``x += q`` in place (all
    tokens, or all but the class token's: the same shape, no MACs either way); later reads of
    x read the sum (``in_place``)."""
    return dict(in_place=True)


ADD_IMPORTS = Imports(functions={**_ADD.functions,
                                 "torchvision.models.video.mvit._add_shortcut": _read_shortcut},
                      aten=_ADD.aten, onnx={"Add": read_onnx_scalar},
                      onnx_weights={"Add": (0, 1)}, signature=merge_signature, emit=_emit_add,
                      merge=_merge_add)
SUB_IMPORTS = Imports(functions=dict.fromkeys(_SUB.functions, _read_sub),
                      aten={**dict.fromkeys(_SUB.aten, _read_sub), "aten.rsub": _read_rsub},
                      onnx={"Sub": _read_onnx_sub}, emit=_emit_sub, merge=_merge_sub)
MUL_IMPORTS = Imports(functions=_MUL.functions, aten=_MUL.aten, onnx={"Mul": read_onnx_scalar},
                      onnx_weights={"Mul": (0, 1)}, signature=merge_signature, emit=_emit_mul,
                      merge=_merge_mul)
CONCAT_IMPORTS = Imports(
    functions={"torch.cat": _read_cat, "torch.concat": _read_cat},
    aten={"aten.cat": _read_cat, "aten.concat": _read_cat},
    onnx={"Concat": lambda c: dict(dim=int(c.attrs.get("axis", 1)) % len(c.shape))},
    signature=merge_signature, emit=_emit_concat, merge=_merge_concat)

ADD = OpKind(Add, same_shape, _module, {"add": "residual adds"}, inputs=2, variadic=True,
             kernel=lambda op, _: KernelForm("add", inputs=op.inputs),
             spec=SpecKind(fields(), "`a + b (+ ...)`: inputs of equal shape (`from:` ≥ 2)"),
             lower=_lower_add, imports=ADD_IMPORTS, signature=lambda _: ("add",))
SUB = OpKind(Sub, same_shape, _module, {"sub": "residual adds"}, inputs=2,
             spec=SpecKind(fields(), "`a - b`: 2 inputs of equal shape (`from:` 2; PoolFormer's "
                                     "`pool(x) - x`)"),
             lower=_lower_sub, imports=SUB_IMPORTS)
AVERAGE = OpKind(Average, same_shape, _module, {"average": "residual adds"}, inputs=2, variadic=True,
                 spec=SpecKind(fields(), "`(a + b (+ ...)) / n`: averaged heads, inputs of equal shape "
                                         "(`from:` ≥ 2)"),
                 lower=_lower_average, imports=Imports(merge=_emit_average))
SCALE = OpKind(Scale, same_shape, _module, {"scale": "SE scale/gates"}, inputs=2,
               path=lambda shapes, out: (0,),  # x · gate: the path runs through x
               signature=lambda _: ("mul",))  # the traced mul of an SE gate
# a * gate: the path runs through the input the gate broadcasts over
MUL = OpKind(Mul, mul, _module, {"mul": "SE scale/gates"}, inputs=2,
             path=lambda shapes, out: tuple(i for i, s in enumerate(shapes) if s == out),
             spec=SpecKind(fields(), "`a * b`, broadcasting (`from:` 2 inputs; a gate)"),
             lower=_lower_mul, imports=MUL_IMPORTS)
CONCAT = OpKind(Concat, concat, _module, {"concat": "concat/shuffle"}, inputs=2, variadic=True,
                spec=SpecKind(fields(dim=Field("int", 1, doc="the dim joined, after the batch "
                                                             "(1: the channels)")),
                              "`torch.cat(..., 1)`: equal H×W (`from:` ≥ 2; `dim`: along another "
                              "axis, the others equal)"),
                lower=_lower_concat, imports=CONCAT_IMPORTS, signature=lambda _: ("concat",))

KINDS = (ADD, SUB, AVERAGE, SCALE, MUL, CONCAT)
