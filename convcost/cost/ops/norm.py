"""``bn``: BatchNorm over the channels (2-D, or 1-D on a flat input)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError


@dataclass(frozen=True)
class BatchNorm(Op):
    key: ClassVar[str] = "bn"
    channels: int
    affine: bool = True


def batchnorm(op: BatchNorm, x: Shape) -> LayerCost:
    # [N, C, ...] -> [N, C, ...]; params 2·C (γ, β) when affine; paper MACs 0
    if x[1] != op.channels:
        raise ShapeError(f"bn expects {op.channels} channels, got {x[1]}")
    return LayerCost(2 * op.channels if op.affine else 0, 0, x)


def _module(op: BatchNorm, x: Shape) -> Any:
    from torch import nn

    norm = nn.BatchNorm2d if len(x) == 4 else nn.BatchNorm1d
    return norm(op.channels, affine=op.affine)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> BatchNorm:
    return BatchNorm(x[1], f["affine"])


BN = OpKind(BatchNorm, batchnorm, _module, {"bn": "BN"}, learnable=True, folds=True, elementwise=True,
            spec=SpecKind(fields(affine=Field("bool", True)),
                          "`nn.BatchNorm2d` (or `BatchNorm1d` on flat input)"),
            lower=_lower)

KINDS = (BN,)
