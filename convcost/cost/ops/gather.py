"""``gather``: ``x[:, index]``, the entries of one dim (after the batch) that a fixed index buffer
of ``size`` entries picks (ViT-RelPos's ``bias.view(-1, heads)[relative_position_index]``: the
(2w − 1)² rows of a relative-position table spread to the w⁴ pairs of a window's tokens). A copy,
not a view; nothing learnt and no MAC: every tool counts 0 (fvcore ignores ``aten::index``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError


@dataclass(frozen=True)
class Gather(Op):
    """``x[:, index]`` along ``dim`` (after the batch), ``index`` a buffer of ``size`` entries."""

    key: ClassVar[str] = "gather"
    size: int
    dim: int = 1


def gather(op: Gather, x: Shape) -> LayerCost:
    # [N, ..., S_dim, ...] -> [N, ..., size, ...]; no params, no MACs (a copy of picked entries)
    if not 0 < op.dim < len(x) or op.size < 1:
        raise ShapeError(f"gather dim {op.dim} must be a dim after the batch of {list(x)}")
    return LayerCost(0, 0, (*x[:op.dim], op.size, *x[op.dim + 1:]))


@cache
def _gather_class() -> type:
    import torch
    from torch import nn

    class GatherModule(nn.Module):
        """``x[:, index]`` on ``dim`` with ``index`` a buffer (its entries cycle through the dim)."""

        def __init__(self, size: int, dim: int, entries: int) -> None:
            super().__init__()
            self.dim = dim
            self.register_buffer("index", torch.arange(size) % entries, persistent=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            items: tuple[Any, ...] = (slice(None),) * self.dim + (self.index,)
            return x[items]

    return GatherModule


def _module(op: Gather, x: Shape) -> Any:
    return _gather_class()(op.size, op.dim, x[op.dim])


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Gather:
    return checked(gather, Gather(f["size"], f["dim"]), x, f"{at.path}.dim")


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    """``x[:, index]`` of an index buffer: a ``gather`` of its size, on a dim after the batch."""
    dim, size = node.attr("dim"), node.attr("size")
    if not isinstance(dim, int) or not 0 < dim < len(x) or not isinstance(size, int) or size < 1:
        return None
    return [{"kind": "gather", "size": size, **({} if dim == 1 else {"dim": dim})}]


def _window(_: Gather, __: Shape) -> None:
    return None  # any entry may land anywhere: it sees the whole map


GATHER = OpKind(
    Gather, gather, _module, {"gather": "flatten/dropout"}, window=_window,
    spec=SpecKind(fields(size=Field("int", minimum=1, doc="the index's entries: the dim's new size"),
                         dim=Field("int", 1, minimum=1, doc="the dim indexed, after the batch")),
                  "`x[:, index]` with `index` a buffer of `size` entries (a relative-position "
                  "table spread to a window's token pairs): a copy, no params, no MACs"),
    lower=_lower, imports=Imports(emit=_emit))

KINDS = (GATHER,)
