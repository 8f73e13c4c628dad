"""``max``: the values of ``x.max(dim)`` (``torch.max(x, dim)[0]``), a dim after the batch:
VOLO's auxiliary head ``aux.max(1)[0]`` over its tokens. No params, no MACs (a comparison;
FlopCounterMode and fvcore count none). ``dims``: ``x.amax(dims)``, several dims at once
(a global max over H×W, ``x.amax((2, 3))``; fvcore skips ``aten::amax`` too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Read, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.ops.reduce_dims import (
    DIMS,
    dim_or_dims,
    emit_dims,
    lower_dims,
    read_dims,
    read_onnx_dims,
    reduced,
)
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError


@dataclass(frozen=True)
class Max(Op):
    """``x.max(dim, keepdim)[0]``: the largest value along ``dim`` (after the batch)."""

    key: ClassVar[str] = "max"
    dim: int = 1
    keepdim: bool = False
    dims: tuple[int, ...] = ()  # ``x.amax(dims)``, instead of ``dim``


def reduce_max(op: Max, x: Shape) -> LayerCost:
    # [N, ..., D, ...] -> [N, ..., ...] (keepdim: D -> 1); no params, no MACs
    if op.dims:
        return LayerCost(0, 0, reduced(op.dims, op.keepdim, x, "max"))
    if not 0 < op.dim < len(x):
        raise ShapeError(f"max dim {op.dim} must be a dim after the batch of {list(x)}")
    out = tuple(1 if i == op.dim else s for i, s in enumerate(x) if op.keepdim or i != op.dim)
    return LayerCost(0, 0, out)


@cache
def _max_class() -> type:
    import torch
    from torch import nn

    class MaxModule(nn.Module):
        """``x.max(dim, keepdim)[0]`` in forward; ``x.amax(dims, keepdim)`` given ``dims``."""

        def __init__(self, dim: int, keepdim: bool, dims: tuple[int, ...]) -> None:
            super().__init__()
            self.dim, self.keepdim, self.dims = dim, keepdim, list(dims)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.dims:
                return x.amax(self.dims, keepdim=self.keepdim)
            return x.max(self.dim, keepdim=self.keepdim)[0]

    return MaxModule


def _module(op: Max, _: Shape) -> Any:
    return _max_class()(op.dim, op.keepdim, op.dims)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Max:
    dim, dims = lower_dims(f, x, at, "max")
    op = Max(dim % len(x) if -len(x) <= dim < len(x) else dim, f["keepdim"], dims)
    return checked(reduce_max, op, x, f"{at.path}.dim")


def _read(c: TorchCall) -> Read:
    """``torch.max(x, dim, keepdim)``, ``x.max(dim)``, ``aten.max.dim``: a (values, indices)
    pair; ``x.max()`` (one value) and ``torch.max(a, b)`` (elementwise) are no reduction."""
    dim = c.arg(1, "dim")
    if not isinstance(dim, int) or len(c.in_shapes) != 1:
        return "opaque", dict(shapes=c.shapes)
    return dict(dims=(dim % len(c.in_shapes[0]),), keepdim=bool(c.arg(2, "keepdim", False)))


def _read_amax(c: TorchCall) -> Read:
    """``x.amax(dims, keepdim)``, ``torch.amax``, ``aten.amax``: the values only."""
    dims = read_dims(c.arg(1, "dim", None), c.in_shapes)
    if dims is None:
        return "opaque", dict(shapes=c.shapes)
    return dict(dims=dims, keepdim=bool(c.arg(2, "keepdim", False)))


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    """The pair's node: its values (the ``[0]`` read of it adds no layer); an amax's values;
    over the batch: None."""
    layer = emit_dims("max", node, x)
    return None if layer is None else [layer]


MAX = OpKind(Max, reduce_max, _module, {"max": "pooling"},
             spec=SpecKind(fields(dim=Field("int", None, nullable=True, minimum=-8,
                                            doc="the dim reduced, after the batch (default 1)"),
                                  dims=DIMS, keepdim=Field("bool", False, doc="keep it as 1")),
                           "`x.max(dim)[0]`: the largest values along a dim after the batch "
                           "(VOLO's token max), no MACs; `dims: [2, 3]`: `x.amax((2, 3))`, a "
                           "global max over H×W", check=dim_or_dims(required=False)),
             lower=_lower,
             imports=Imports(functions={"torch.max": _read, "Tensor.max": _read,
                                        "torch.amax": _read_amax, "Tensor.amax": _read_amax},
                             aten={"aten.max": _read, "aten.amax": _read_amax},
                             onnx={"ReduceMax": read_onnx_dims}, emit=_emit))

KINDS = (MAX,)
