"""Leaf operations: frozen dataclasses that describe one torch module each.

An op knows its hyper-parameters only; shapes flow through :mod:`convcost.cost.formulas`.
Sizes are ``(h, w)`` pairs. Shapes include the batch: ``(N, C, H, W)`` or ``(N, F)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

Pair = tuple[int, int]
Shape = tuple[int, ...]
Padding = Pair | Literal["same"]

ACTIVATIONS = ("relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu")


@dataclass(frozen=True)
class Conv2d:
    kind: ClassVar[str] = "conv"
    in_channels: int
    out_channels: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = False

    @property
    def role(self) -> str:
        """``standard``, ``depthwise``, ``pointwise`` or ``grouped`` (MobileNet Table 2 classes)."""
        if self.groups == self.in_channels and self.groups > 1:
            return "depthwise"
        if self.groups == 1:
            return "pointwise" if self.kernel == (1, 1) else "standard"
        return "grouped"


@dataclass(frozen=True)
class BatchNorm:
    kind: ClassVar[str] = "bn"
    channels: int
    affine: bool = True


@dataclass(frozen=True)
class Linear:
    kind: ClassVar[str] = "linear"
    in_features: int
    out_features: int
    bias: bool = True


@dataclass(frozen=True)
class Pool:
    kind: ClassVar[str] = "pool"
    op: Literal["avg", "max"]
    kernel: Pair
    stride: Pair
    padding: Pair = (0, 0)
    ceil_mode: bool = False


@dataclass(frozen=True)
class AdaptivePool:
    kind: ClassVar[str] = "adaptive_pool"
    op: Literal["avg", "max"]
    output_size: Pair = (1, 1)


@dataclass(frozen=True)
class Activation:
    kind: ClassVar[str] = "act"
    fn: str


@dataclass(frozen=True)
class Flatten:
    kind: ClassVar[str] = "flatten"


@dataclass(frozen=True)
class Dropout:
    kind: ClassVar[str] = "dropout"
    p: float = 0.5


@dataclass(frozen=True)
class Add:
    """Residual sum ``x + f(x)`` of two tensors of the same shape."""

    kind: ClassVar[str] = "add"


@dataclass(frozen=True)
class Scale:
    """Squeeze-excitation ``x * gate``; the gate is ``[N, C, 1, 1]``, broadcast over H×W."""

    kind: ClassVar[str] = "scale"


@dataclass(frozen=True)
class Concat:
    """Channel concatenation of the running tensor with a side branch of ``other_channels``."""

    kind: ClassVar[str] = "concat"
    other_channels: int


@dataclass(frozen=True)
class Shuffle:
    """ShuffleNet channel shuffle (view, transpose, view)."""

    kind: ClassVar[str] = "shuffle"
    groups: int = 2


@dataclass(frozen=True)
class Opaque:
    """What an imported model does that no kind expresses: measured output shape (batch
    excluded) and parameters, and no counted MACs under any convention."""

    kind: ClassVar[str] = "opaque"
    op: str
    shape: tuple[int, ...]
    params: int = 0


Op = (
    Conv2d | BatchNorm | Linear | Pool | AdaptivePool | Activation | Flatten | Dropout | Add | Scale | Concat
    | Shuffle | Opaque
)
