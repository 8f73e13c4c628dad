"""``upsample``: nearest or bilinear resampling, by a scale factor or to a size."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
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

def _window(op: Upsample, x: Shape) -> Windows:
    """torch maps output pixel o to input ``o / scale`` (a given scale) or ``o · in / out``."""
    out = upsample(op, x).output_shape[2:]
    windows = []
    for size, o in zip(x[2:4], out, strict=True):
        if op.align_corners:  # corners meet: input (in-1)/(out-1) apart, two taps, no offset
            step = Fraction(size - 1, o - 1) if o > 1 else Fraction(1)
            windows.append(Window(Fraction(2), step, Fraction(0)))
        else:
            scale = Fraction(op.scale) if op.scale is not None else Fraction(o, size)
            windows.append(upsample_window(scale, op.mode))
    return windows[0], windows[1]


UPSAMPLE = OpKind(Upsample, upsample, _module,
                  dict.fromkeys(("upsample_nearest", "upsample_bilinear"), "upsample"),
                  keys_of=_keys, window=_window, spec=SPEC, lower=_lower)

KINDS = (UPSAMPLE,)
