"""``shuffle``: ShuffleNet's channel shuffle (view, transpose, view)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError


@dataclass(frozen=True)
class Shuffle(Op):
    key: ClassVar[str] = "shuffle"
    groups: int = 2


def shuffle(op: Shuffle, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, H, W]; C must split into `groups`
    if x[1] % op.groups:
        raise ShapeError(f"shuffle groups {op.groups} must divide channels {x[1]}")
    return LayerCost(0, 0, x)


@cache
def _shuffle_class() -> type:
    import torch
    from torch import nn

    class ShuffleModule(nn.Module):
        """ShuffleNet channel shuffle: view, transpose, view."""

        def __init__(self, groups: int) -> None:
            super().__init__()
            self.groups = groups

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n, c, h, w = x.shape
            x = x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous()
            return x.view(n, c, h, w)

    return ShuffleModule


def _module(op: Shuffle, _: Shape) -> Any:
    return _shuffle_class()(op.groups)


def _lower(f: Mapping[str, Any], _x: Shape, _: Lowering) -> Shuffle:
    return Shuffle(f["groups"])


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    return [{"kind": "shuffle", "groups": node.attr("groups")}] if len(x) == 4 else None


IMPORTS = Imports(modules={"torch.nn.ChannelShuffle": lambda c: dict(groups=c.module.groups)},
                  signature=lambda _: ("shuffle",), emit=_emit)

SHUFFLE = OpKind(
    Shuffle, shuffle, _module, {"shuffle": "concat/shuffle"},
    spec=SpecKind(fields(groups=Field("int", 2, doc="channel groups; must divide C")),
                  "ShuffleNet's channel shuffle: `x.view(n, g, c // g, h, w).transpose(1, 2)` "
                  "and back to [N, C, H, W]"),
    lower=_lower, imports=IMPORTS, signature=lambda _: ("shuffle",))

KINDS = (SHUFFLE,)
