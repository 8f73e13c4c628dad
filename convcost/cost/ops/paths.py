"""Paths stacked and summed on a new dim (selective-kernel and split attention: SKNet, ResNeSt):
``stack``, ``torch.stack(xs, dim)`` of equal tensors, and ``sum``, ``x.sum(dim)``.

Neither has params or MACs under any convention: FlopCounterMode counts neither, fvcore skips
``aten::stack`` and ``aten::sum``, thop, ptflops and torchinfo have no rule for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.ops.reduce_dims import (
    DIMS,
    dim_or_dims,
    emit_dims,
    lower_dims,
    read_dims,
    read_onnx_dims,
    reduced,
)
from convcost.cost.ops.reshape import axis
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError, SpecError


@dataclass(frozen=True)
class Stack(Op):
    """``torch.stack`` of ``count`` tensors of one shape on ``dim`` (batch excluded: ``dim`` ≥ 1)."""

    key: ClassVar[str] = "stack"
    dim: int
    count: int


@dataclass(frozen=True)
class Sum(Op):
    """``x.sum(dim)``: ``dim`` (≥ 1) removed; ``keepdim``: kept as 1 (MobileViT-v2's context
    vector, ``torch.sum(k * scores, dim=-1, keepdim=True)``)."""

    key: ClassVar[str] = "sum"
    dim: int
    keepdim: bool = False
    dims: tuple[int, ...] = ()  # several dims at once (``x.sum((2, 3))``), instead of ``dim``


def stack(op: Stack, x: Shape) -> LayerCost:
    # count × [N, C, H, W] -> [N, ..., count, ...] (count inserted at dim); no params, no MACs
    d = axis(op.dim, len(x) + 1)
    if d == 0:
        raise ShapeError("stack on the batch dim (0) is not a layer's")
    return LayerCost(0, 0, (*x[:d], op.count, *x[d:]))


def sum_dim(op: Sum, x: Shape) -> LayerCost:
    # [N, ..., S, ...] -> [N, ...] (dim removed; keepdim: [N, ..., 1, ...]); dims [2, 3]:
    # [N, C, H, W] -> [N, C] (keepdim: [N, C, 1, 1]); no params, no MACs
    if op.dims:
        return LayerCost(0, 0, reduced(op.dims, op.keepdim, x, "sum"))
    d = axis(op.dim, len(x))
    if d == 0 or len(x) < 3:
        raise ShapeError(f"sum over dim {op.dim} of a rank-{len(x)} tensor is not a layer's")
    return LayerCost(0, 0, (*x[:d], *((1,) if op.keepdim else ()), *x[d + 1:]))


@cache
def _classes() -> tuple[type, type]:
    import torch
    from torch import nn

    class StackModule(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.dim = dim

        def forward(self, *xs: torch.Tensor) -> torch.Tensor:
            return torch.stack(xs, self.dim)

    class SumModule(nn.Module):
        def __init__(self, dim: int | list[int], keepdim: bool) -> None:
            super().__init__()
            self.dim, self.keepdim = dim, keepdim

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.sum(self.dim, keepdim=self.keepdim)

    return StackModule, SumModule


def _lower_stack(f: Mapping[str, Any], x: Shape, at: Lowering) -> Stack:
    if any(other != x for other in at.inputs[1:]):
        raise SpecError(f"stack needs inputs of one shape, got {[list(s[1:]) for s in at.inputs]}",
                        path=at.inputs_path)
    return Stack(f["dim"], len(at.inputs))


def _lower_sum(f: Mapping[str, Any], x: Shape, at: Lowering) -> Sum:
    dim, dims = lower_dims(f, x, at, "sum")
    return Sum(dim, f["keepdim"], dims)


def _read_stack(c: TorchCall) -> Fields:
    return dict(dim=int(c.arg(1, "dim", 0)))


def _read_sum(c: TorchCall) -> Fields:
    """``x.sum(dim)``, ``x.sum((2, 3))``, ``aten.sum.dim_IntList`` (a list of dims)."""
    return dict(dims=read_dims(c.arg(1, "dim", None), c.in_shapes),
                keepdim=bool(c.arg(2, "keepdim", False)), dtype=c.kwargs.get("dtype"))


def _merge_stack(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    dim = node.attr("dim") % len(node.shape)
    ok = dim >= 1 and len(shapes) > 1 and all(s == shapes[0] for s in shapes)
    return [{"kind": "stack", "dim": dim}] if ok else None


def _emit_sum(node: Traced, x: Shape) -> list[Layer] | None:
    layer = emit_dims("sum", node, x) if len(x) >= 3 else None
    return None if layer is None or node.attr("dtype") is not None else [layer]


_DIM = Field("int", minimum=1, doc="the dim (the batch is 0)")

STACK = OpKind(
    Stack, stack, lambda op, _: _classes()[0](op.dim), {"stack": "concat/shuffle"}, inputs=2,
    variadic=True, spec=SpecKind(fields(dim=_DIM), "`torch.stack(xs, dim)`: inputs of one shape "
                                 "(`from:` ≥ 2), a new dim of their count"),
    lower=_lower_stack,
    imports=Imports(functions={"torch.stack": _read_stack}, aten={"aten.stack": _read_stack},
                    merge=_merge_stack))
SUM = OpKind(
    Sum, sum_dim, lambda op, _: _classes()[1](list(op.dims) or op.dim, op.keepdim), {"sum": "concat/shuffle"},
    spec=SpecKind(fields(dim=Field("int", None, nullable=True, minimum=1,
                                   doc="the dim (the batch is 0); or `dims`"),
                         dims=DIMS, keepdim=Field("bool", False, doc="keep the dims as 1")),
                  "`x.sum(dim)`: the dim removed (paths summed; `keepdim`: kept as 1); "
                  "`dims: [2, 3]`: a global sum over H×W", check=dim_or_dims(required=True)),
    lower=_lower_sum,
    imports=Imports(functions={"torch.sum": _read_sum, "Tensor.sum": _read_sum},
                    aten={"aten.sum": _read_sum}, onnx={"ReduceSum": read_onnx_dims},
                    emit=_emit_sum))

KINDS = (STACK, SUM)
