"""Pure integer cost formulas, one per leaf kind, under the paper convention.

Paper convention: MACs of convolution and linear layers only (no bias), which is
``torch.utils.flop_counter.FlopCounterMode`` FLOPs / 2. Params count every learnable
element, BatchNorm affine included. Every formula is ``(op, input_shape) -> LayerCost``
and carries its shape signature. :data:`FORMULAS` is the one kind -> formula table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from convcost.cost.ops import (
    AdaptivePool,
    BatchNorm,
    Concat,
    Conv2d,
    Linear,
    Op,
    Opaque,
    Padding,
    Pair,
    Pool,
    Shape,
    Shuffle,
)
from convcost.errors import ShapeError


@dataclass(frozen=True)
class LayerCost:
    """The cost of one layer: exact integers. FLOPs are always 2 × MACs."""

    output_shape: Shape
    params: int
    macs: int

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def output_elements(self) -> int:
        return math.prod(self.output_shape)


def _spatial(shape: Shape, what: str) -> tuple[int, int, int, int]:
    if len(shape) != 4:
        raise ShapeError(f"{what} needs a [N, C, H, W] input, got {list(shape)} (flattened?)")
    n, c, h, w = shape
    return n, c, h, w


def conv_output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """torch's floor formula: ``(size + pad - d·(k-1) - 1) // s + 1``."""
    span = dilation * (kernel - 1) + 1
    if size + pad_total < span:
        raise ShapeError(
            f"kernel {kernel} (dilation {dilation}, span {span}) is larger than "
            f"the padded input {size + pad_total}"
        )
    return (size + pad_total - span) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """torch's ``pooling_output_shape`` (dilation 1), including its ceil-mode correction."""
    if 2 * pad > kernel:
        raise ShapeError(f"pool padding {pad} must be at most half the kernel {kernel}")
    if size + 2 * pad < kernel:
        raise ShapeError(f"pool kernel {kernel} is larger than the padded input {size + 2 * pad}")
    out = (size + 2 * pad - kernel + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def resolve_padding(padding: Padding | str, kernel: Pair, dilation: Pair) -> Padding:
    """``auto`` -> ``d·(k-1)//2`` per side (torchvision's Conv2dNormActivation)."""
    if padding == "auto":
        return ((kernel[0] - 1) // 2 * dilation[0], (kernel[1] - 1) // 2 * dilation[1])
    if padding == "same":
        return "same"
    assert not isinstance(padding, str)
    return padding


def conv_padding_total(op: Conv2d) -> Pair:
    """Total padding (both sides) per dimension; ``same`` pads d·(k-1)."""
    if op.padding == "same":
        return (op.dilation[0] * (op.kernel[0] - 1), op.dilation[1] * (op.kernel[1] - 1))
    return (2 * op.padding[0], 2 * op.padding[1])


def conv2d(op: Conv2d, x: Shape) -> LayerCost:
    # [N, Cin, H, W] -> [N, Cout, Ho, Wo]; MACs = N·Cout·Ho·Wo·(Cin/g)·kh·kw
    n, c, h, w = _spatial(x, "conv")
    sizes = {"input shape": x, "channels": (op.in_channels, op.out_channels), "groups": (op.groups,),
             "kernel": op.kernel, "stride": op.stride, "dilation": op.dilation}
    for what, values in sizes.items():  # the public API reaches here unvalidated
        if min(values) < 1:
            raise ShapeError(f"conv {what} must be positive, got {list(values)}")
    if op.padding != "same" and min(op.padding) < 0:
        raise ShapeError(f"conv padding must be ≥ 0, got {list(op.padding)}")
    if c != op.in_channels:
        raise ShapeError(f"conv expects {op.in_channels} input channels, got {c}")
    if op.in_channels % op.groups or op.out_channels % op.groups:
        raise ShapeError(
            f"groups {op.groups} must divide in_channels {op.in_channels} "
            f"and out_channels {op.out_channels}"
        )
    if op.padding == "same" and op.stride != (1, 1):
        raise ShapeError("padding 'same' needs stride 1 (as in torch)")
    ph, pw = conv_padding_total(op)
    ho = conv_output_size(h, op.kernel[0], op.stride[0], ph, op.dilation[0])
    wo = conv_output_size(w, op.kernel[1], op.stride[1], pw, op.dilation[1])
    per_out = (op.in_channels // op.groups) * op.kernel[0] * op.kernel[1]
    params = op.out_channels * per_out + (op.out_channels if op.bias else 0)
    return LayerCost((n, op.out_channels, ho, wo), params, n * op.out_channels * ho * wo * per_out)


def batchnorm(op: BatchNorm, x: Shape) -> LayerCost:
    # [N, C, ...] -> [N, C, ...]; params 2·C (γ, β) when affine; paper MACs 0
    if x[1] != op.channels:
        raise ShapeError(f"bn expects {op.channels} channels, got {x[1]}")
    return LayerCost(x, 2 * op.channels if op.affine else 0, 0)


def linear(op: Linear, x: Shape) -> LayerCost:
    # [N, F] -> [N, O]; MACs = N·F·O
    if len(x) != 2:
        raise ShapeError(f"linear needs a flat [N, F] input, got {list(x)}: add a flatten layer")
    n, f = x
    if f != op.in_features:
        raise ShapeError(f"linear expects {op.in_features} input features, got {f}")
    params = op.in_features * op.out_features + (op.out_features if op.bias else 0)
    return LayerCost((n, op.out_features), params, n * f * op.out_features)


def pool(op: Pool, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, Ho, Wo]; no params, paper MACs 0
    n, c, h, w = _spatial(x, "pool")
    ho = pool_output_size(h, op.kernel[0], op.stride[0], op.padding[0], op.ceil_mode)
    wo = pool_output_size(w, op.kernel[1], op.stride[1], op.padding[1], op.ceil_mode)
    return LayerCost((n, c, ho, wo), 0, 0)


def adaptive_pool(op: AdaptivePool, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, oh, ow]; no params, paper MACs 0
    n, c, _, _ = _spatial(x, "adaptive pool")
    return LayerCost((n, c, *op.output_size), 0, 0)


def flatten(_: Op, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C·H·W]
    return LayerCost((x[0], math.prod(x[1:])), 0, 0)


def identity(_: Op, x: Shape) -> LayerCost:
    # [N, ...] -> [N, ...]; activations, dropout, residual add, SE scale, shuffle
    return LayerCost(x, 0, 0)


def shuffle(op: Shuffle, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, H, W]; C must split into `groups`
    if x[1] % op.groups:
        raise ShapeError(f"shuffle groups {op.groups} must divide channels {x[1]}")
    return LayerCost(x, 0, 0)


def concat(op: Concat, x: Shape) -> LayerCost:
    # [N, C1, H, W] ++ [N, C2, H, W] -> [N, C1+C2, H, W]
    return LayerCost((x[0], x[1] + op.other_channels, *x[2:]), 0, 0)


def opaque(op: Opaque, x: Shape) -> LayerCost:
    # [N, ...] -> [N, *shape]: measured when imported; params as measured, MACs not counted
    return LayerCost((x[0], *op.shape), op.params, 0)


Formula = Callable[[Any, Shape], LayerCost]

FORMULAS: Mapping[str, Formula] = MappingProxyType(
    {
        "conv": conv2d,
        "bn": batchnorm,
        "linear": linear,
        "pool": pool,
        "adaptive_pool": adaptive_pool,
        "act": identity,
        "flatten": flatten,
        "dropout": identity,
        "add": identity,
        "scale": identity,
        "concat": concat,
        "shuffle": shuffle,
        "opaque": opaque,
    }
)


def cost(op: Op, x: Shape) -> LayerCost:
    """The paper-convention cost of ``op`` applied to an input of shape ``x``."""
    return FORMULAS[op.kind](op, x)
