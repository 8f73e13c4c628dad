"""``mean``: the functional global average ``x.mean([2, 3])``, not a pool module.

torchvision's ShuffleNetV2 and MNASNet write their global pooling this way; the tools see an
``aten::mean`` instead of an ``nn.AdaptiveAvgPool2d`` and count it differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape, spatial


@dataclass(frozen=True)
class Mean(Op):
    """``x.mean([2, 3])``; ``keepdim`` keeps the ``[N, C, 1, 1]`` shape."""

    key: ClassVar[str] = "mean"
    keepdim: bool = False


def mean(op: Mean, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C] (keepdim: [N, C, 1, 1]); no params, paper MACs 0
    n, c, _, _ = spatial(x, "mean")
    return LayerCost(0, 0, (n, c, 1, 1) if op.keepdim else (n, c))


@cache
def _mean_class() -> type:
    import torch
    from torch import nn

    class Mean(nn.Module):
        """``x.mean([2, 3])``, as torchvision's ShuffleNetV2 and MNASNet write it."""

        def __init__(self, keepdim: bool) -> None:
            super().__init__()
            self.keepdim = keepdim

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean([2, 3], keepdim=self.keepdim)

    return Mean


def _module(op: Mean, _: Shape) -> Any:
    return _mean_class()(op.keepdim)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> Mean:
    return Mean(f["keepdim"])


def _window(_: Mean, __: Shape) -> None:
    return None  # the mean over H×W: every output unit sees the whole map


MEAN = OpKind(Mean, mean, _module, {"mean": "pooling"}, window=_window,
              spec=SpecKind(fields(keepdim=Field("bool", False, doc="keep [N, C, 1, 1]")),
                            "`x.mean([2, 3])` in forward (no module of torch's)"),
              lower=_lower)

KINDS = (MEAN,)
