"""``upsample``: nearest, bilinear or bicubic resampling, by a scale factor or to a size;
``interpolate``: the same, to the size of another tensor (``F.interpolate(x, size=ref.shape[-2:])``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any, ClassVar, Literal

from convcost.cost.imports import (
    Fields,
    Imports,
    Layer,
    OnnxCall,
    TorchCall,
    TorchReader,
    Traced,
    spec_size,
    text,
)
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Pair, Shape, spatial
from convcost.cost.window import Window, Windows, upsample_window
from convcost.errors import ShapeError, SpecError

Mode = Literal["nearest", "bilinear", "bicubic"]


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
        mode=Field("choice", "nearest", ("nearest", "bilinear", "bicubic")),
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
                  dict.fromkeys(("upsample_nearest", "upsample_bilinear", "upsample_bicubic"),
                                "upsample"),
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

# -- import: nn.Upsample, F.interpolate and ONNX Resize are the IR's interpolate -----------

def scale_of(factor: Any) -> float | None:
    """One resize factor for H and W (``2``, ``2.0``, ``(2, 2)``), or None (a size, or two factors)."""
    if isinstance(factor, list | tuple):
        factor = factor[0] if len(set(factor)) == 1 else None
    return float(factor) if isinstance(factor, int | float) and not isinstance(factor, bool) else None


def _read_module(c: TorchCall) -> Fields:
    m = c.module
    return dict(mode=m.mode, size=tuple(c.shape[2:]), scale=scale_of(m.scale_factor),
                align_corners=bool(m.align_corners))


def _read_call(c: TorchCall) -> Fields:
    """``F.interpolate(x, size, scale_factor, mode, align_corners)``."""
    return dict(mode=str(c.arg(3, "mode", "nearest")), size=tuple(c.shape[2:]),
                align_corners=bool(c.arg(4, "align_corners", False)),
                scale=scale_of(c.arg(2, "scale_factor", None)))


def _read_aten(mode: str) -> TorchReader:
    # aten.upsample_*2d.vec(input, output_size, [align_corners,] scale_factors)
    return lambda c: dict(mode=mode, size=tuple(c.shape[2:]),
                          scale=scale_of(c.args[-1] if len(c.args) > 2 else None))


def _read_cornered(mode: str) -> TorchReader:
    """``aten.upsample_bilinear2d(input, output_size, align_corners, scales_h, scales_w)`` (as the
    recorder sees it), ``aten.upsample_bicubic2d`` (the same, or its ``.vec``: scale_factors)."""
    def read(c: TorchCall) -> Fields:
        scale = c.args[3] if len(c.args) > 3 and c.args[3] == c.args[-1] else None
        return dict(mode=mode, size=tuple(c.shape[2:]), align_corners=bool(c.args[2]),
                    scale=scale_of(scale))
    return read


def _read_resize(c: OnnxCall) -> Fields:
    """ONNX's ``linear``/``cubic`` over two spatial axes are torch's ``bilinear``/``bicubic``."""
    mode = text(c.attrs.get("mode", b"nearest"))
    if mode in ("linear", "cubic") and len(c.shape) == 4:
        mode = "bi" + mode
    attrs: Fields = dict(mode=mode, size=tuple(c.shape[2:]))
    if text(c.attrs.get("coordinate_transformation_mode", b"")) == "align_corners":
        attrs["align_corners"] = True
    if c.has(3) and not c.has(2):  # fixed sizes, no scales: F.interpolate(x, size=...)
        attrs["sized"] = True
    return attrs


def _emit(node: Traced, _: Shape) -> list[Layer] | None:
    """A resize by a factor or to a fixed size: an ``upsample`` (align_corners: bilinear only,
    RAFT's flow upsampling)."""
    mode = {"linear": "bilinear"}.get(node.attr("mode"), node.attr("mode"))  # ONNX Resize's name
    corners = bool(node.attr("align_corners"))
    if mode not in ("nearest", "bilinear", "bicubic") or (corners and mode != "bilinear"):
        return None
    if len(node.shape) != 4:
        return None
    scale = node.attr("scale")  # a factor keeps the layer resolution-free (a neck sweeps ρ)
    layer: Layer = {"kind": "upsample", **({"scale": scale} if scale else
                                           {"size": spec_size((node.shape[2], node.shape[3]))})}
    return [layer if mode == "nearest" else
            {**layer, "mode": mode, **({"align_corners": True} if corners else {})}]


def _merge(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    """A resize to the size of its second input: an ``interpolate``."""
    if len(node.shape) != 4 or any(len(s) != 4 for s in shapes) \
            or node.attr("mode") not in ("nearest", "bilinear"):
        return None  # the interpolate kind is nearest or bilinear
    if len(shapes) == 2 and shapes[1][2:] == node.shape[2:]:
        layer: Layer = {"kind": "interpolate", "mode": node.attr("mode")}
        return [{**layer, "align_corners": True} if node.attr("align_corners") else layer]
    return None


INTERPOLATE_IMPORTS = Imports(
    modules={"torch.nn.Upsample": _read_module}, functions={"torch.nn.functional.interpolate": _read_call},
    aten={**{f"aten.upsample_{mode}2d": _read_aten(mode) for mode in ("nearest", "bilinear")},
          "aten.upsample_bicubic2d": _read_cornered("bicubic")},
    dispatch={"aten.upsample_bilinear2d": _read_cornered("bilinear")},
    onnx={"Resize": _read_resize}, emit=_emit, merge=_merge)

INTERPOLATE = OpKind(Interpolate, interpolate, _interpolate_module,
                     dict.fromkeys(("interpolate_nearest", "interpolate_bilinear"), "upsample"),
                     keys_of=_interpolate_keys, inputs=2, reference=True,
                     window=_interpolate_window, spec=INTERPOLATE_SPEC, lower=_lower_interpolate,
                     imports=INTERPOLATE_IMPORTS)

KINDS = (UPSAMPLE, INTERPOLATE)
