"""Swin's windows: ``window_partition`` and ``window_reverse`` on channels-last maps.

``window_partition`` cuts an ``[N, H, W, C]`` map into non-overlapping ``wh × ww`` windows of
tokens, ``[N·(H/wh)·(W/ww), wh·ww, C]``; ``window_reverse`` puts them back into an
``[N, H, W, C]`` map of ``size``. Each is torchvision's view, permute, reshape: a copy, no
params, no MACs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Pair, Shape
from convcost.errors import ShapeError


@dataclass(frozen=True)
class WindowPartition(Op):
    key: ClassVar[str] = "window_partition"
    window: Pair


@dataclass(frozen=True)
class WindowReverse(Op):
    key: ClassVar[str] = "window_reverse"
    window: Pair
    size: Pair


def _windows(size: Pair, window: Pair) -> int:
    if size[0] % window[0] or size[1] % window[1]:
        raise ShapeError(f"a {size[0]}×{size[1]} map does not split into {window[0]}×{window[1]} "
                         f"windows (pad it first)")
    return (size[0] // window[0]) * (size[1] // window[1])


def window_partition(op: WindowPartition, x: Shape) -> LayerCost:
    # [N, H, W, C] -> [N·(H/wh)·(W/ww), wh·ww, C]
    if len(x) != 4:
        raise ShapeError(f"window_partition needs an [N, H, W, C] input, got {list(x)}")
    n, h, w, c = x
    count = _windows((h, w), op.window)
    return LayerCost(0, 0, (n * count, op.window[0] * op.window[1], c))


def window_reverse(op: WindowReverse, x: Shape) -> LayerCost:
    # [N·(H/wh)·(W/ww), wh·ww, C] -> [N, H, W, C], (H, W) = size
    count = _windows(op.size, op.window)
    if len(x) != 3 or x[1] != op.window[0] * op.window[1] or x[0] % count:
        raise ShapeError(f"window_reverse needs [N·{count}, {op.window[0] * op.window[1]}, C] "
                         f"windows, got {list(x)}")
    return LayerCost(0, 0, (x[0] // count, *op.size, x[2]))


@cache
def _classes() -> tuple[type, type]:
    import torch
    from torch import nn

    class WindowPartitionModule(nn.Module):
        """torchvision's shifted_window_attention: view, permute, reshape."""

        def __init__(self, window: Pair) -> None:
            super().__init__()
            self.window = window

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            (n, h, w, c), (wh, ww) = x.shape, self.window
            x = x.view(n, h // wh, wh, w // ww, ww, c).permute(0, 1, 3, 2, 4, 5)
            return x.reshape(-1, wh * ww, c)

    class WindowReverseModule(nn.Module):
        def __init__(self, window: Pair, size: Pair) -> None:
            super().__init__()
            self.window, self.size = window, size

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            (wh, ww), (h, w) = self.window, self.size
            x = x.view(-1, h // wh, w // ww, wh, ww, x.shape[-1]).permute(0, 1, 3, 2, 4, 5)
            return x.reshape(-1, h, w, x.shape[-1])

    return WindowPartitionModule, WindowReverseModule


def _partition_module(op: WindowPartition, _: Shape) -> Any:
    return _classes()[0](op.window)


def _reverse_module(op: WindowReverse, _: Shape) -> Any:
    return _classes()[1](op.window, op.size)


def _lower_partition(f: Mapping[str, Any], _: Shape, __: Lowering) -> WindowPartition:
    return WindowPartition(f["window"])


def _lower_reverse(f: Mapping[str, Any], _: Shape, __: Lowering) -> WindowReverse:
    return WindowReverse(f["window"], f["size"])


_window = Field("pair", doc="window size, int or [h, w]")

WINDOW_PARTITION = OpKind(
    WindowPartition, window_partition, _partition_module, {"window_partition": "views"},
    spec=SpecKind(fields(window=_window), "Swin: `[N, H, W, C]` -> `[N·windows, wh·ww, C]`"),
    lower=_lower_partition)
WINDOW_REVERSE = OpKind(
    WindowReverse, window_reverse, _reverse_module, {"window_reverse": "views"},
    spec=SpecKind(fields(window=_window, size=Field("pair", doc="the map's [H, W]")),
                  "Swin: `[N·windows, wh·ww, C]` -> `[N, H, W, C]`"),
    lower=_lower_reverse)

KINDS = (WINDOW_PARTITION, WINDOW_REVERSE)
