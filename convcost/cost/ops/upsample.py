"""``upsample``: nearest or bilinear resampling, by a scale factor or to a size;
``interpolate``: the same, to the size of another tensor (``F.interpolate(x, size=ref.shape[-2:])``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any, ClassVar, Literal

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Pair, Shape, spatial
from convcost.cost.window import Window, Windows, upsample_window
from convcost.errors import ShapeError, SpecError

Mode = Literal["nearest", "bilinear"]


@dataclass(frozen=True)
class Upsample(Op):
    """``nn.Upsample``: exactly one of ``scale`` (one factor for H and W) and ``size``."""

    key: ClassVar[str] = "upsample"
    mode: Mode = "nearest"
    scale: float | None = None
    size: Pair | None = None
    align_corners: bool = False


def upsample(op: Upsample, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, floor(H·s), floor(W·s)] (torch, in double) or [N, C, *size];
    # no params, paper MACs 0
    n, c, h, w = spatial(x, "upsample")
    if op.size is not None:
        return LayerCost(0, 0, (n, c, *op.size))
    assert op.scale is not None, "lowering gives a scale or a size"
    ho, wo = math.floor(h * op.scale), math.floor(w * op.scale)
    if min(ho, wo) < 1:
        raise ShapeError(f"scale {op.scale:g} leaves no output of a {h}×{w} input")
    return LayerCost(0, 0, (n, c, ho, wo))


def _module(op: Upsample, _: Shape) -> Any:
    from torch import nn

    corners = op.align_corners if op.mode == "bilinear" else None
    return nn.Upsample(op.size, op.scale, op.mode, corners)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> Upsample:
    scale = None if f["scale"] is None else float(f["scale"])
    return Upsample(f["mode"], scale, f["size"], f["align_corners"])


def _check(f: Mapping[str, Any], path: str) -> None:
    if (f["scale"] is None) == (f["size"] is None):
        raise SpecError("give exactly one of scale and size", path=path)
    if f["align_corners"] and f["mode"] != "bilinear":
        raise SpecError("align_corners needs mode bilinear", path=f"{path}.align_corners")


def _keys(op: Upsample) -> tuple[str, ...]:
    return (f"upsample_{op.mode}",)


SPEC = SpecKind(
    fields(
        mode=Field("choice", "nearest", ("nearest", "bilinear")),
        scale=Field("number", None, nullable=True, doc="output = floor(input × scale)"),
        size=Field("pair", None, nullable=True, doc="output size, int or [h, w]"),
        align_corners=Field("bool", False, doc="bilinear only"),
    ),
    "`nn.Upsample`", _check)

def _windows(scale: float | None, mode: Mode, align_corners: bool, x: Shape,
             out: Shape) -> Windows:
    """torch maps output pixel o to input ``o / scale`` (a given scale) or ``o · in / out``."""
    windows = []
    for size, o in zip(x[2:4], out[2:4], strict=True):
        if align_corners:  # corners meet: input (in-1)/(out-1) apart, two taps, no offset
            step = Fraction(size - 1, o - 1) if o > 1 else Fraction(1)
            windows.append(Window(Fraction(2), step, Fraction(0)))
        else:
            factor = Fraction(scale) if scale is not None else Fraction(o, size)
            windows.append(upsample_window(factor, mode))
    return windows[0], windows[1]


def _window(op: Upsample, x: Shape) -> Windows:
    return _windows(op.scale, op.mode, op.align_corners, x, upsample(op, x).output_shape)


UPSAMPLE = OpKind(Upsample, upsample, _module,
                  dict.fromkeys(("upsample_nearest", "upsample_bilinear"), "upsample"),
                  keys_of=_keys, window=_window, spec=SPEC, lower=_lower)



@dataclass(frozen=True)
class Interpolate(Op):
    """``F.interpolate(x, size=ref.shape[-2:])``: ``x`` resized to the H×W (``size``) of a
    second tensor, read for its shape only (DeepLab's ASPP pooling and final resize)."""

    key: ClassVar[str] = "interpolate"
    size: Pair
    mode: Mode = "nearest"
    align_corners: bool = False


def interpolate(op: Interpolate, x: Shape) -> LayerCost:
    # [N, C, H, W], ref [N', C', Ho, Wo] -> [N, C, Ho, Wo]; no params, paper MACs 0
    n, c, _, _ = spatial(x, "interpolate")
    return LayerCost(0, 0, (n, c, *op.size))


@cache
def _interpolate_class() -> Any:
    """convcost's module calling ``F.interpolate`` in forward, as torchvision's DeepLab does
    (no ``nn.Upsample``: thop and the ptflops hooks do not see it)."""
    import torch
    from torch import nn
    from torch.nn import functional

    class InterpolateModule(nn.Module):
        """``F.interpolate(x, size=ref.shape[-2:], mode, align_corners)``."""

        def __init__(self, mode: str, align_corners: bool | None) -> None:
            super().__init__()
            self.mode, self.align_corners = mode, align_corners

        def forward(self, x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
            return functional.interpolate(x, size=ref.shape[-2:], mode=self.mode,
                                          align_corners=self.align_corners)

    return InterpolateModule


def _interpolate_module(op: Interpolate, _: Shape) -> Any:
    corners = op.align_corners if op.mode == "bilinear" else None
    return _interpolate_class()(op.mode, corners)


def _lower_interpolate(f: Mapping[str, Any], x: Shape, lowering: Lowering) -> Interpolate:
    ref = lowering.inputs[1]
    if len(ref) != 4:
        raise SpecError("interpolate takes its size from a C×H×W map, got "
                        + "×".join(map(str, ref[1:])), path=lowering.inputs_path)
    return Interpolate((ref[2], ref[3]), f["mode"], f["align_corners"])


def _check_interpolate(f: Mapping[str, Any], path: str) -> None:
    if f["align_corners"] and f["mode"] != "bilinear":
        raise SpecError("align_corners needs mode bilinear", path=f"{path}.align_corners")


def _interpolate_keys(op: Interpolate) -> tuple[str, ...]:
    return (f"interpolate_{op.mode}",)


def _interpolate_window(op: Interpolate, x: Shape) -> Windows:
    return _windows(None, op.mode, op.align_corners, x, interpolate(op, x).output_shape)


INTERPOLATE_SPEC = SpecKind(
    fields(
        mode=Field("choice", "nearest", ("nearest", "bilinear")),
        align_corners=Field("bool", False, doc="bilinear only"),
    ),
    "`F.interpolate(x, size=ref.shape[-2:])`: `from: [x, ref]`, x resized to ref's H×W",
    _check_interpolate)

INTERPOLATE = OpKind(Interpolate, interpolate, _interpolate_module,
                     dict.fromkeys(("interpolate_nearest", "interpolate_bilinear"), "upsample"),
                     keys_of=_interpolate_keys, inputs=2, reference=True,
                     window=_interpolate_window, spec=INTERPOLATE_SPEC, lower=_lower_interpolate)

KINDS = (UPSAMPLE, INTERPOLATE)
