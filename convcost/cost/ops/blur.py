"""``blur``: an anti-aliasing blur, a depthwise conv of a fixed filter (timm's ``BlurPool2d``,
antialiased-cnns' ``Downsample``: ``F.conv2d(x, filt, stride=2, groups=C)`` where ``filt`` is a
registered buffer, a binomial kernel, not a parameter).

MACs are a depthwise conv's (FlopCounterMode and fvcore count its ``aten.convolution``); params
are 0 (the filter is a buffer). Its padding (reflect, in timm) is a ``pad`` layer before it.
The importer reads it from a conv whose weight is no parameter, one filter per channel
(:mod:`convcost.runtime.importer.blur_pass`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced, pair, spec_size
from convcost.cost.opkind import Field, KernelForm, Lowering, OpKind, SpecKind, fields
from convcost.cost.ops.conv import Conv2d, conv2d
from convcost.cost.value import LayerCost, Shape
from convcost.cost.window import Windows, conv_window


@dataclass(frozen=True)
class Blur(Conv2d):
    """A :class:`Conv2d` with ``groups == in_channels == out_channels`` whose weight is a fixed
    buffer: no params."""

    key: ClassVar[str] = "blur"


def blur(op: Blur, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, Ho, Wo]; MACs = N·C·Ho·Wo·kh·kw (a depthwise conv), params 0
    cost = conv2d(op, x)
    return LayerCost(0, cost.macs, cost.output_shape)


@cache
def _blur_class() -> type:
    import torch
    import torch.nn.functional as F
    from torch import nn

    class BlurFilter(nn.Module):
        """A fixed filter per channel (a buffer: the mean of its window), as timm's BlurPool2d."""

        filt: torch.Tensor

        def __init__(self, op: Blur) -> None:
            super().__init__()
            kh, kw = op.kernel
            self.register_buffer("filt", torch.full((op.in_channels, 1, kh, kw), 1.0 / (kh * kw)))
            self.stride, self.groups = op.stride, op.in_channels
            self.padding = _pads(op)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.conv2d(x, self.filt, stride=self.stride, padding=self.padding, groups=self.groups)

    return BlurFilter


def _pads(op: Blur) -> tuple[int, int]:
    """Its zeros per side (``(h, w)``): a blur's padding is never ``same``."""
    assert not isinstance(op.padding, str)
    return op.padding


def _module(op: Blur, _: Shape) -> Any:
    return _blur_class()(op)


def _window(op: Blur, _: Shape) -> Windows:
    top, left = _pads(op)
    return conv_window(op.kernel[0], op.stride[0], top), conv_window(op.kernel[1], op.stride[1], left)


def _backward(op: Blur, x: Shape, needs: tuple[bool, ...]) -> tuple[int, int]:
    # grad-input: the forward's MACs (a transposed depthwise conv); no weight gradient (a buffer)
    return (blur(op, x).macs if needs[:1] != (False,) else 0), 0


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Blur:
    c = x[1]
    return Blur(c, c, pair(f["kernel_size"]), pair(f["stride"]), pair(f["padding"]), (1, 1), c)


def _emit(node: Traced, _: Shape) -> list[Layer] | None:
    """The blur the importer's pass wrote: its kernel, stride and padding."""
    a = node.attrs
    padding = a["padding"]
    if len(a["kernel"]) != 2 or isinstance(padding, str) or len(padding) != 2:
        return None
    layer: Layer = {"kind": "blur", "kernel_size": spec_size(a["kernel"]), "stride": spec_size(a["stride"])}
    return [{**layer, "padding": spec_size(padding)} if any(padding) else layer]


BLUR = OpKind(
    Blur, blur, _module, {"blur": "conv"}, backward=_backward, window=_window, layout="NCHW",
    layer_class=lambda _: "depthwise",
    kernel=lambda op, _: KernelForm("dwconv", 1, op.out_channels, kernel_stride=(op.kernel, op.stride)),
    spec=SpecKind(fields(
        kernel_size=Field("pair", (3, 3), doc="filter size, int or [h, w]"),
        stride=Field("pair", (2, 2), doc="stride, int or [h, w]"),
        padding=Field("pair", (0, 0), minimum=0, doc="zeros per side, int or [h, w] (a reflect pad is a "
                      "pad layer before)")),
        "anti-aliasing blur (timm's `BlurPool2d`): a fixed filter per channel, a buffer; MACs a "
        "depthwise conv's, no params"),
    lower=_lower, imports=Imports(emit=_emit))

KINDS = (BLUR,)
