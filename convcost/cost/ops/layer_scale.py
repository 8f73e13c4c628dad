"""``layer_scale``: a learnable per-channel scale ``x · γ`` (ConvNeXt, CaiT); ``scalar``: a scale
by a number, ``x * s`` (attention's ``q * scale``), or a number less the tensor, ``s - x``
(``op: rsub``: ConViT's gate ``1 - sigmoid(g)``), or the tensor less a number, ``x - s`` (``op: sub``:
Gemma4's pixels ``2 * (x - 0.5)``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Layer, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.ops.act import same_shape
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError
from convcost.limits import MAX_FLOAT


@dataclass(frozen=True)
class LayerScale(Op):
    key: ClassVar[str] = "layer_scale"
    channels: int
    last_dim: bool = False  # a channels-last [N, H, W, C] map (EdgeNeXt's gamma): γ of shape [C]


def channel_dim(x: Shape, last_dim: bool = False) -> int:
    """The channel dim of a layer-scaled tensor: 1 of [N, C, H, W] (the last with ``last_dim``),
    else the last (tokens)."""
    return 1 if len(x) == 4 and not last_dim else len(x) - 1


def layer_scale(op: LayerScale, x: Shape) -> LayerCost:
    # [N, C, H, W], [N, H, W, C] (last_dim) or tokens [N, L, C] -> same shape; params C (one γ
    # per channel); paper MACs 0
    if x[channel_dim(x, op.last_dim)] != op.channels:
        raise ShapeError(f"layer_scale expects {op.channels} channels, got {x[channel_dim(x, op.last_dim)]}")
    return LayerCost(op.channels, 0, x)


@cache
def _layer_scale_class() -> type:
    import torch
    from torch import nn

    class LayerScale(nn.Module):
        """``x * γ``, γ of shape [C, 1, 1] (or [C] on flat input and tokens), named ``gamma`` as
        in timm."""

        def __init__(self, channels: int, spatial: bool) -> None:
            super().__init__()
            self.gamma = nn.Parameter(torch.full((channels, *[1] * spatial * 2), 1e-6))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.gamma

    return LayerScale


def _module(op: LayerScale, x: Shape) -> Any:
    return _layer_scale_class()(op.channels, len(x) == 4 and not op.last_dim)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> LayerScale:
    last = bool(f.get("last_dim")) and len(x) == 4
    return LayerScale(x[channel_dim(x, last)], last)


LAYER_SCALE = OpKind(LayerScale, layer_scale, _module, {"layer_scale": "layer scale"},
                     learnable=True, elementwise=True,
                     spec=SpecKind(fields(last_dim=Field("bool", False, doc="over the last dim of a "
                                                         "channels-last [N, H, W, C] input")),
                                   "`x * γ`, γ a parameter of shape [C, 1, 1] (tokens "
                                   "`[N, L, C]`, `last_dim` [N, H, W, C]: of shape [C])"),
                     lower=_lower)



SCALAR_OPS = ("mul", "rsub", "sub")  # x * value, value - x, x - value


@dataclass(frozen=True)
class Scalar(Op):
    """``x * value``, a number (no parameter): attention's ``q * self.scale``; ``value - x`` with
    ``op`` rsub; ``x - value`` with ``op`` sub."""

    key: ClassVar[str] = "scalar"
    value: float
    op: str = "mul"


@cache
def _scalar_class() -> dict[str, type]:
    import torch
    from torch import nn

    class ScalarMul(nn.Module):
        """``x * value``."""

        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.value

        def extra_repr(self) -> str:
            return f"value={self.value}"

    class ScalarRsub(ScalarMul):
        """``value - x``."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.value - x

    class ScalarSub(ScalarMul):
        """``x - value``."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x - self.value

    return {"mul": ScalarMul, "rsub": ScalarRsub, "sub": ScalarSub}


def _scalar_module(op: Scalar, _: Shape) -> Any:
    return _scalar_class()[op.op](op.value)


def _lower_scalar(f: Mapping[str, Any], _: Shape, __: Lowering) -> Scalar:
    return Scalar(float(f["value"]), f["op"])


def _scalar_keys(op: Scalar) -> tuple[str, ...]:
    return ("scalar",) if op.op == "mul" else (f"scalar_{op.op}",)


def _number(node: Traced, x: Shape) -> float | None:
    """The positive number one tensor is combined with, alone (no parameter), else None."""
    value = node.attr("scalar")
    if len(node.inputs) != 1 or node.params or isinstance(value, bool) \
            or not isinstance(value, int | float) or not 0 < value < MAX_FLOAT or node.shape != x:
        return None
    return float(value)


def emit_scalar(node: Traced, x: Shape, op: str = "mul") -> list[Layer] | None:
    """``x * s`` (``s * x``, ``x.mul(s)``) of one tensor by a number: a ``scalar`` layer; ``s - x``
    (``op`` rsub) too."""
    value = _number(node, x)
    if value is None:
        return None
    return [{"kind": "scalar", "value": value} | ({"op": op} if op != "mul" else {})]


def emit_shift(node: Traced, x: Shape) -> list[Layer] | None:
    """``x + c``, ``c`` a positive number: a ``shift``."""
    value = _number(node, x)
    return None if value is None else [{"kind": "shift", "value": value}]


SCALAR = OpKind(Scalar, same_shape, _scalar_module,
                {"scalar": "layer scale", "scalar_rsub": "layer scale", "scalar_sub": "layer scale"},
                elementwise=True, keys_of=_scalar_keys,
                spec=SpecKind(fields(value=Field("number", doc="the number (positive)"),
                                     op=Field("choice", "mul", SCALAR_OPS,
                                              doc="mul: `x * value`; rsub: `value - x`; sub: "
                                                  "`x - value`")),
                              "`x * value`, a number (attention's `q * scale`), `value - x` "
                              "(`op: rsub`: ConViT's gate `1 - sigmoid(g)`) or `x - value` (`op: "
                              "sub`: Gemma4's `x - 0.5`): no params, paper MACs 0"),
                lower=_lower_scalar)

KINDS = (LAYER_SCALE, SCALAR)
