"""``conv_transpose``: a 2-D transposed convolution (U-Net's up path, FCN, DCGAN)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import (
    Fields,
    Imports,
    Layer,
    OnnxCall,
    TorchCall,
    Traced,
    onnx_pair,
    pair,
    spec_size,
)
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, conv_kernel, fields
from convcost.cost.ops.conv import read_onnx_conv
from convcost.cost.ops.linear import WIDTHS
from convcost.cost.value import LayerCost, Pair, Shape, spatial
from convcost.cost.window import Windows, transposed_window
from convcost.errors import ShapeError


@dataclass(frozen=True)
class ConvTranspose2d(Op):
    key: ClassVar[str] = "conv_transpose"
    in_channels: int
    out_channels: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    output_padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = False


def transposed_size(size: int, kernel: int, stride: int, padding: int, output_padding: int,
                    dilation: int) -> int:
    """torch's ``(size - 1)·s - 2·p + d·(k - 1) + output_padding + 1``."""
    if output_padding >= max(stride, dilation):
        raise ShapeError(f"output_padding {output_padding} must be smaller than the stride "
                         f"{stride} or the dilation {dilation} (as in torch)")
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ShapeError(f"padding {padding} leaves no output of a size-{size} input")
    return out


def _check(op: ConvTranspose2d, c: int) -> None:
    if c != op.in_channels:
        raise ShapeError(f"conv_transpose expects {op.in_channels} input channels, got {c}")
    if op.in_channels % op.groups or op.out_channels % op.groups:
        raise ShapeError(f"groups {op.groups} must divide in_channels {op.in_channels} "
                         f"and out_channels {op.out_channels}")


def conv_transpose(op: ConvTranspose2d, x: Shape) -> LayerCost:
    # [N, Cin, Hi, Wi] -> [N, Cout, Ho, Wo], Ho = (Hi-1)·s - 2·p + d·(k-1) + output_padding + 1;
    # params Cin·(Cout/g)·kh·kw (+ Cout bias); MACs = N·Hi·Wi·Cin·(Cout/g)·kh·kw: each input
    # element meets the Cout/g filters of its group, kh·kw taps each (= FlopCounterMode / 2)
    n, c, h, w = spatial(x, "conv_transpose")
    _check(op, c)
    size = [transposed_size((h, w)[i], op.kernel[i], op.stride[i], op.padding[i],
                            op.output_padding[i], op.dilation[i]) for i in (0, 1)]
    per_in = op.out_channels // op.groups * op.kernel[0] * op.kernel[1]
    params = op.in_channels * per_in + (op.out_channels if op.bias else 0)
    return LayerCost(params, n * h * w * op.in_channels * per_in, (n, op.out_channels, *size))


def _module(op: ConvTranspose2d, _: Shape) -> Any:
    from torch import nn

    return nn.ConvTranspose2d(op.in_channels, op.out_channels, op.kernel, op.stride, op.padding,
                              op.output_padding, op.groups, op.bias, op.dilation)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> ConvTranspose2d:
    return ConvTranspose2d(x[1], at.channels("out_channels"), f["kernel_size"], f["stride"],
                           f["padding"], f["output_padding"], f["dilation"], f["groups"],
                           f["bias"])


def _keys(op: ConvTranspose2d) -> tuple[str, ...]:
    return ("conv_transpose", "conv_bias") if op.bias else ("conv_transpose",)


SPEC = SpecKind(
    fields(
        out_channels=Field("int", doc="output channels (before the width multiplier)"),
        kernel_size=Field("pair", doc="kernel size, int or [h, w]"),
        stride=Field("pair", (1, 1), doc="stride, int or [h, w]"),
        padding=Field("pair", (0, 0), minimum=0, doc="removed from each side of the output"),
        output_padding=Field("pair", (0, 0), minimum=0, doc="added to one side of the output"),
        dilation=Field("pair", (1, 1)),
        groups=Field("int", 1),
        bias=Field("bool", False, doc="bias (torch's default is true)"),
        width=Field("choice", "scaled", WIDTHS, doc="how α scales out_channels"),
    ),
    "`nn.ConvTranspose2d`")

def _window(op: ConvTranspose2d, _: Shape) -> Windows:
    return (transposed_window(op.kernel[0], op.stride[0], op.padding[0], op.dilation[0]),
            transposed_window(op.kernel[1], op.stride[1], op.padding[1], op.dilation[1]))


# -- import ------------------------------------------------------------------------------

def _read_module(c: TorchCall) -> Fields:
    m = c.module
    return dict(in_channels=m.in_channels, out_channels=m.out_channels, kernel=pair(m.kernel_size),
                stride=pair(m.stride), dilation=pair(m.dilation), groups=m.groups,
                bias=m.bias is not None,
                padding=m.padding if isinstance(m.padding, str) else pair(m.padding),
                output_padding=pair(m.output_padding))


def _read_aten(c: TorchCall) -> Fields:
    """``aten.conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation)``."""
    weight, groups = c.in_shapes[1], int(c.arg(6, "groups", 1))
    return dict(
        in_channels=weight[0], out_channels=weight[1] * groups, kernel=weight[2:],
        stride=pair(c.arg(3, "stride", 1)), padding=pair(c.arg(4, "padding", 0)),
        output_padding=pair(c.arg(5, "output_padding", 0)), groups=groups,
        dilation=pair(c.arg(7, "dilation", 1)), bias=len(c.in_shapes) > 2)


def _read_onnx(c: OnnxCall) -> Fields:
    return {**read_onnx_conv(c, transposed=True), "output_padding": onnx_pair(c, "output_padding", 0)}


def _emit(node: Traced, _: Any) -> list[Layer] | None:
    a = node.attrs
    if len(a["kernel"]) != 2 or len(a["padding"]) != 2 or a["dilation"] != (1, 1):
        return None
    layer: Layer = {"kind": "conv_transpose", "out_channels": a["out_channels"],
                    "kernel_size": spec_size(a["kernel"]), "stride": spec_size(a["stride"])}
    extra = {"padding": spec_size(a["padding"]), "output_padding": spec_size(a["output_padding"]),
             "groups": a["groups"], "bias": a["bias"]}
    defaults = {"padding": 0, "output_padding": 0, "groups": 1, "bias": False}
    return [{**layer, **{k: v for k, v in extra.items() if v != defaults[k]}}]


CONV_TRANSPOSE = OpKind(
    ConvTranspose2d, conv_transpose, _module,
    {"conv_transpose": "conv"}, keys_of=_keys, learnable=True,  # conv_bias: declared by conv
    weight_grad=True, window=_window, spec=SPEC, lower=_lower, kernel=conv_kernel,
    imports=Imports(modules={"torch.nn.ConvTranspose2d": _read_module},
                    aten={"aten.conv_transpose2d": _read_aten},
                    onnx={"ConvTranspose": _read_onnx}, onnx_weights={"ConvTranspose": (1, 2)},
                    emit=_emit), layout="NCHW")

KINDS = (CONV_TRANSPOSE,)
