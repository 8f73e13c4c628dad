"""``std_conv``: a weight-standardised 2-D convolution (timm's ``StdConv2d``, ``ScaledStdConv2d``
and their ``Same`` forms: BiT, NFNets, NF-RegNets, hybrid ViT stems).

Before the conv, each output channel of the weight is standardised by ``F.batch_norm`` in
training mode over the reshaped weight ``[1, Cout, Cin/g·kh·kw]`` (times ``gain · scale`` when the
conv has a ``gain``). That runs on the weight, not on the activations: paper MACs are the conv's
(FlopCounterMode counts the conv only), params are the weight, the bias and the gain (Cout).
fvcore also counts the batch norm on the weight (numel·5 with a gain, numel·4 without).
The importer reads it from the traced ops (:mod:`convcost.runtime.importer.std_conv_pass`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced, pair, spec_size
from convcost.cost.opkind import Field, KernelForm, Lowering, OpKind, SpecKind, fields
from convcost.cost.ops.conv import Conv2d, conv2d, conv_pads, resolve_padding
from convcost.cost.ops.linear import WIDTHS
from convcost.cost.value import LayerCost, Shape
from convcost.cost.window import Windows, conv_window


@dataclass(frozen=True)
class StdConv2d(Conv2d):
    """A :class:`Conv2d` whose weight is standardised per output channel; ``gain``: scaled by a
    learnt ``[Cout, 1, 1, 1]`` gain (ScaledStdConv2d)."""

    key: ClassVar[str] = "std_conv"
    gain: bool = False

    @property
    def weight_numel(self) -> int:
        return self.out_channels * (self.in_channels // self.groups) * self.kernel[0] * self.kernel[1]


def std_conv(op: StdConv2d, x: Shape) -> LayerCost:
    # [N, Cin, H, W] -> [N, Cout, Ho, Wo]; MACs the conv's; params weight + bias + gain (Cout)
    cost = conv2d(op, x)
    return LayerCost(cost.params + (op.out_channels if op.gain else 0), cost.macs, cost.output_shape)


@cache
def _std_conv_class() -> type:
    import torch
    import torch.nn.functional as F
    from torch import nn

    class StdConv(nn.Conv2d):
        """timm's ScaledStdConv2d (with a gain) or StdConv2d (without), eps 1e-6."""

        def __init__(self, op: StdConv2d, padding: Any) -> None:
            super().__init__(op.in_channels, op.out_channels, op.kernel, op.stride, padding,
                             op.dilation, op.groups, op.bias)
            self.gain = nn.Parameter(torch.ones(op.out_channels, 1, 1, 1)) if op.gain else None
            self.scale = (op.weight_numel // op.out_channels) ** -0.5

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            gain = None if self.gain is None else (self.gain * self.scale).view(-1)
            weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                                  weight=gain, training=True, momentum=0.0, eps=1e-6)
            return F.conv2d(x, weight.reshape_as(self.weight), self.bias, self.stride,
                            self.padding, self.dilation, self.groups)

    return StdConv


def _module(op: StdConv2d, x: Shape) -> Any:
    from torch import nn

    conv = _std_conv_class()(op, (0, 0) if op.padding == "tf_same" else op.padding)
    if op.padding != "tf_same":
        return conv
    (top, bottom), (left, right) = conv_pads(op, x)  # TF SAME: pad first (StdConv2dSame)
    return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv)


def _window(op: StdConv2d, x: Shape) -> Windows:
    (top, _), (left, _) = conv_pads(op, x)  # as a conv's: tf_same pads the odd pixel after
    return (conv_window(op.kernel[0], op.stride[0], top, op.dilation[0]),
            conv_window(op.kernel[1], op.stride[1], left, op.dilation[1]))


def _keys(op: StdConv2d) -> tuple[str, ...]:
    return ("std_conv", "tf_same_pad") if op.padding == "tf_same" else ("std_conv",)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> StdConv2d:
    kernel, dilation = pair(f["kernel_size"]), pair(f["dilation"])
    return StdConv2d(x[1], at.channels("out_channels"), kernel, pair(f["stride"]),
                     resolve_padding(f["padding"], kernel, dilation), dilation, f["groups"],
                     f["bias"], f["gain"])


def _emit(node: Traced, _: Shape) -> list[Layer] | None:
    """The std_conv the importer's pass wrote: its conv fields and whether it has a gain."""
    a = node.attrs
    padding, kernel, dilation = a["padding"], a["kernel"], a["dilation"]
    if len(kernel) != 2 or a.get("auto_pad") or padding == "same":
        return None  # torch's 'same' runs as another aten op, which fvcore does not count
    layer: Layer = {"kind": "std_conv", "out_channels": a["out_channels"],
                    "kernel_size": spec_size(kernel), "stride": spec_size(a["stride"])}
    if padding == "tf_same" or tuple(padding) != resolve_padding("auto", tuple(kernel), tuple(dilation)):
        layer["padding"] = padding if padding == "tf_same" else spec_size(padding)
    if tuple(dilation) != (1, 1):
        layer["dilation"] = spec_size(dilation)
    if a["groups"] > 1:
        layer["groups"] = a["groups"]
    return [{**layer, "bias": bool(a["bias"]), "gain": bool(a["gain"])}]


STD_CONV = OpKind(
    StdConv2d, std_conv, _module, {"std_conv": "conv"}, keys_of=_keys, learnable=True,
    weight_grad=True, window=_window, layout="NCHW", layer_class=lambda op: op.conv_class,
    kernel=lambda op, _: KernelForm("dwconv" if op.conv_class == "depthwise" else "conv",
                                    op.in_channels // op.groups, op.out_channels,
                                    kernel_stride=(op.kernel, op.stride)),
    spec=SpecKind(fields(
        out_channels=Field("int", doc="output channels (before the width multiplier)"),
        kernel_size=Field("pair", (3, 3), doc="kernel size, int or [h, w]"),
        stride=Field("pair", (1, 1), doc="stride, int or [h, w]"),
        padding=Field("padding", "auto", doc="auto, tf_same, int or [h, w]"),
        dilation=Field("pair", (1, 1), doc="dilation, int or [h, w]"),
        groups=Field("int", 1), bias=Field("bool", False, doc="convolution bias"),
        gain=Field("bool", False, doc="a learnt per-channel gain (ScaledStdConv2d)"),
        width=Field("choice", "scaled", WIDTHS, doc="how α scales out_channels")),
        "timm's `StdConv2d` / `ScaledStdConv2d` (`gain`): the weight standardised per output "
        "channel before the conv; MACs the conv's, params weight + bias + gain"),
    lower=_lower, imports=Imports(emit=_emit))

KINDS = (STD_CONV,)
