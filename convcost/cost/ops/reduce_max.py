"""``max``: the values of ``x.max(dim)`` (``torch.max(x, dim)[0]``), a dim after the batch:
VOLO's auxiliary head ``aux.max(1)[0]`` over its tokens. No params, no MACs (a comparison;
FlopCounterMode and fvcore count none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Read, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError, SpecError


@dataclass(frozen=True)
class Max(Op):
    """``x.max(dim, keepdim)[0]``: the largest value along ``dim`` (after the batch)."""

    key: ClassVar[str] = "max"
    dim: int = 1
    keepdim: bool = False


def reduce_max(op: Max, x: Shape) -> LayerCost:
    # [N, ..., D, ...] -> [N, ..., ...] (keepdim: D -> 1); no params, no MACs
    if not 0 < op.dim < len(x):
        raise ShapeError(f"max dim {op.dim} must be a dim after the batch of {list(x)}")
    out = tuple(1 if i == op.dim else s for i, s in enumerate(x) if op.keepdim or i != op.dim)
    return LayerCost(0, 0, out)


@cache
def _max_class() -> type:
    import torch
    from torch import nn

    class MaxModule(nn.Module):
        """``x.max(dim, keepdim)[0]`` in forward."""

        def __init__(self, dim: int, keepdim: bool) -> None:
            super().__init__()
            self.dim, self.keepdim = dim, keepdim

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.max(self.dim, keepdim=self.keepdim)[0]

    return MaxModule


def _module(op: Max, _: Shape) -> Any:
    return _max_class()(op.dim, op.keepdim)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Max:
    op = Max(f["dim"] % len(x) if -len(x) <= f["dim"] < len(x) else f["dim"], f["keepdim"])
    try:
        reduce_max(op, x)
    except ShapeError as err:
        raise SpecError(str(err), path=f"{at.path}.dim") from None
    return op


def _read(c: TorchCall) -> Read:
    """``torch.max(x, dim, keepdim)``, ``x.max(dim)``, ``aten.max.dim``: a (values, indices)
    pair; ``x.max()`` (one value) and ``torch.max(a, b)`` (elementwise) are no reduction."""
    dim = c.arg(1, "dim")
    if not isinstance(dim, int) or len(c.in_shapes) != 1:
        return "opaque", dict(shapes=c.shapes)
    return dict(dim=dim % len(c.in_shapes[0]), keepdim=bool(c.arg(2, "keepdim", False)))


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    """The pair's node: its values (the ``[0]`` read of it adds no layer); over the batch: None."""
    dim = node.attr("dim")
    if not isinstance(dim, int) or not 0 < dim < len(x):
        return None
    layer: Layer = {"kind": "max", "dim": dim}
    return [{**layer, "keepdim": True} if node.attr("keepdim") else layer]


MAX = OpKind(Max, reduce_max, _module, {"max": "pooling"},
             spec=SpecKind(fields(dim=Field("int", 1, minimum=-8, doc="the dim reduced, after the "
                                            "batch"),
                                  keepdim=Field("bool", False, doc="keep it as 1")),
                           "`x.max(dim)[0]`: the largest values along a dim after the batch "
                           "(VOLO's token max), no MACs"),
             lower=_lower,
             imports=Imports(functions={"torch.max": _read, "Tensor.max": _read},
                             aten={"aten.max": _read}, emit=_emit))

KINDS = (MAX,)
