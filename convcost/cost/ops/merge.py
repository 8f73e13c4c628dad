"""Ops that merge two tensors: ``add`` (residual sum), ``scale`` (SE gate), ``concat``.

Their torch modules are convcost's own (``forward(a, b)``), defined on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any, ClassVar

from convcost.cost.opkind import Op, OpKind
from convcost.cost.ops.act import same_shape
from convcost.cost.value import LayerCost, Shape


@dataclass(frozen=True)
class Add(Op):
    """Residual sum ``x + f(x)`` of two tensors of the same shape."""

    key: ClassVar[str] = "add"


@dataclass(frozen=True)
class Scale(Op):
    """Squeeze-excitation ``x * gate``; the gate is ``[N, C, 1, 1]``, broadcast over H×W."""

    key: ClassVar[str] = "scale"  # the gate is the second input


@dataclass(frozen=True)
class Concat(Op):
    """Channel concatenation of the running tensor with a side branch of ``other_channels``."""

    key: ClassVar[str] = "concat"
    other_channels: int


def concat(op: Concat, x: Shape) -> LayerCost:
    # [N, C1, H, W] ++ [N, C2, H, W] -> [N, C1+C2, H, W]
    return LayerCost(0, 0, (x[0], x[1] + op.other_channels, *x[2:]))


@cache
def _classes() -> SimpleNamespace:
    """The merge modules (defined on first use: they need torch)."""
    import torch
    from torch import nn

    class AddModule(nn.Module):
        """Residual sum ``a + b``."""

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a + b

    class ScaleModule(nn.Module):
        """Squeeze-excitation ``x * gate``."""

        def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
            return x * gate

    class ConcatModule(nn.Module):
        """Channel concatenation ``cat((a, b), 1)``."""

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.cat((a, b), 1)

    return SimpleNamespace(add=AddModule, scale=ScaleModule, concat=ConcatModule)


def _module(op: Op, _: Shape) -> Any:
    return getattr(_classes(), op.key)()


ADD = OpKind(Add, same_shape, _module, {"add": "residual adds"}, inputs=2)
SCALE = OpKind(Scale, same_shape, _module, {"scale": "SE scale/gates"}, inputs=2)
CONCAT = OpKind(Concat, concat, _module, {"concat": "concat/shuffle"}, inputs=2)

KINDS = (ADD, SCALE, CONCAT)
