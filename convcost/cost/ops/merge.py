"""Ops that merge tensors: ``add`` (a sum), ``average`` (a mean of equal tensors: averaged
heads), ``mul`` (a broadcasting product), ``concat`` (channel axis), and ``scale`` (a
squeeze-excitation gate).

``add``, ``mul`` and ``concat`` are also spec kinds: a layer names its inputs with ``from:``,
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

from convcost.cost.imports import Imports, Layer, Traced
from convcost.cost.opkind import Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.ops.act import same_shape
from convcost.cost.value import LayerCost, Shape
from convcost.errors import SpecError


@dataclass(frozen=True)
class Add(Op):
    """Sum ``a + b (+ ...)`` of ``inputs`` tensors of the same shape (a residual)."""

    key: ClassVar[str] = "add"
    inputs: int = 2


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
    """Channel concatenation of the first input with others of ``other_channels`` in all."""

    key: ClassVar[str] = "concat"
    other_channels: int


def concat(op: Concat, x: Shape) -> LayerCost:
    # [N, C1, H, W] ++ [N, C2, H, W] ++ ... -> [N, C1+C2+..., H, W]
    return LayerCost(0, 0, (x[0], x[1] + op.other_channels, *x[2:]))


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
        if other != x:
            raise _mismatch(kind, "shapes (C×H×W)", x[1:], other[1:], lowering.inputs_path)
    return len(lowering.inputs)


def _lower_add(_: Mapping[str, Any], x: Shape, lowering: Lowering) -> Add:
    return Add(_equal_inputs("add", x, lowering))


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


def _lower_concat(_: Mapping[str, Any], x: Shape, lowering: Lowering) -> Concat:
    inputs = _concatenable(lowering.inputs, lowering.inputs_path)
    return Concat(sum(other[1] for other in inputs[1:]))


def _concatenable(inputs: Sequence[Shape], path: str) -> Sequence[Shape]:
    """``inputs``, checked to agree on everything but the channels."""
    x = inputs[0]
    for other in inputs[1:]:
        if len(other) != len(x):
            raise _mismatch("concat", "ranks", x[1:], other[1:], path)
        if other[2:] != x[2:]:
            raise _mismatch("concat", "H×W", x[2:], other[2:], path)
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
        """Channel concatenation ``cat((a, b, ...), 1)``."""

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return torch.cat(tensors, 1)

    return SimpleNamespace(add=AddModule, average=AverageModule, scale=ScaleModule, mul=MulModule,
                           concat=ConcatModule)


def _module(op: Op, _: Shape) -> Any:
    return getattr(_classes(), op.key)()


ADD = OpKind(Add, same_shape, _module, {"add": "residual adds"}, inputs=2, variadic=True,
             spec=SpecKind(fields(), "`a + b (+ ...)`: inputs of equal shape (`from:` ≥ 2)"),
             lower=_lower_add)
AVERAGE = OpKind(Average, same_shape, _module, {"average": "residual adds"}, inputs=2, variadic=True,
                 spec=SpecKind(fields(), "`(a + b (+ ...)) / n`: averaged heads, inputs of equal shape "
                                         "(`from:` ≥ 2)"),
                 lower=_lower_average, imports=Imports(emit=_emit_average))
SCALE = OpKind(Scale, same_shape, _module, {"scale": "SE scale/gates"}, inputs=2)
MUL = OpKind(Mul, mul, _module, {"mul": "SE scale/gates"}, inputs=2,
             spec=SpecKind(fields(), "`a * b`, broadcasting (`from:` 2 inputs; a gate)"),
             lower=_lower_mul)
CONCAT = OpKind(Concat, concat, _module, {"concat": "concat/shuffle"}, inputs=2, variadic=True,
                spec=SpecKind(fields(), "`torch.cat(..., 1)`: equal H×W (`from:` ≥ 2)"),
                lower=_lower_concat)

KINDS = (ADD, AVERAGE, SCALE, MUL, CONCAT)
