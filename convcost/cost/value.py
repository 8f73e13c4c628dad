"""Value types: shapes, and the one type of exact cost figures (parameters and MACs).

FLOPs are derived here and only here: 2 FLOPs per MAC (a multiply and an add).
Every other type with params and MACs (a node, a layer, a sweep point, a budget
measurement) is a :class:`Cost`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from convcost.cost.layout import check_rank

Shape = tuple[int, ...]
"""A tensor shape, batch first: ``(N, C, H, W)`` or ``(N, F)``."""
Pair = tuple[int, int]
"""A size per spatial dimension: ``(h, w)``."""
Padding = Pair | Literal["same", "tf_same"]

FLOPS_PER_MAC = 2


@dataclass(frozen=True)
class Cost:
    """Exact learnable parameters and multiply-accumulates (paper convention unless stated)."""

    params: int
    macs: int

    @property
    def flops(self) -> int:
        return FLOPS_PER_MAC * self.macs


@dataclass(frozen=True)
class LayerCost(Cost):
    """The cost of one op on one input: its output shape, params and MACs."""

    output_shape: Shape

    @property
    def output_elements(self) -> int:
        return math.prod(self.output_shape)


def spatial(shape: Shape, what: str) -> tuple[int, int, int, int]:
    """``(N, C, H, W)`` of a 4-D input; another rank is a ShapeError naming ``what`` and the
    layouts (the one needed, the one the shape is read as)."""
    if len(shape) != 4:
        check_rank(shape, "NCHW", what)
    n, c, h, w = shape
    return n, c, h, w
