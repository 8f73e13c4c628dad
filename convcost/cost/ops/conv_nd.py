"""Convolutions over 1 or 3 spatial axes: ``conv3d`` (video, volumes), ``conv1d`` (audio, ECA)
and their transposed forms.

The 2-D ``conv`` keeps its own declaration (:mod:`convcost.cost.ops.conv`: depthwise classes,
TF SAME padding, the separable pairs); these kinds share one N-d formula: sizes are a tuple
per spatial axis of the layout they read (``NCDHW``: d, h, w). A spec gives a size as an int
(every axis) or a list of one per axis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, TorchCall, Traced
from convcost.cost.layout import dims
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, conv_kernel, fields
from convcost.cost.ops.conv import conv_output_size
from convcost.cost.ops.linear import WIDTHS
from convcost.cost.ops.transpose import transposed_size
from convcost.cost.value import LayerCost, Shape
from convcost.cost.window import Windows, conv_window, transposed_window
from convcost.errors import ShapeError, SpecError

Sizes = tuple[int, ...]
"""A size per spatial axis."""


@dataclass(frozen=True)
class ConvNd(Op):
    """A convolution over the spatial axes of ``layout``; ``padding`` per axis (each side) or
    ``same`` (stride 1, as torch)."""

    layout: ClassVar[str]
    module_name: ClassVar[str]  # the torch class
    in_channels: int
    out_channels: int
    kernel: Sizes
    stride: Sizes
    padding: Sizes | str
    dilation: Sizes
    groups: int = 1
    bias: bool = False


@dataclass(frozen=True)
class Conv3d(ConvNd):
    """``nn.Conv3d`` on ``[N, C, D, H, W]``."""

    key: ClassVar[str] = "conv3d"
    layout: ClassVar[str] = "NCDHW"
    module_name: ClassVar[str] = "Conv3d"


@dataclass(frozen=True)
class Conv1d(ConvNd):
    """``nn.Conv1d`` on ``[N, C, L]`` (audio; ECA's gate over the channels of a pooled map)."""

    key: ClassVar[str] = "conv1d"
    layout: ClassVar[str] = "NCL"
    module_name: ClassVar[str] = "Conv1d"


@dataclass(frozen=True)
class ConvTransposeNd(Op):
    """A transposed convolution over the spatial axes of ``layout``."""

    layout: ClassVar[str]
    module_name: ClassVar[str]
    in_channels: int
    out_channels: int
    kernel: Sizes
    stride: Sizes
    padding: Sizes
    output_padding: Sizes
    dilation: Sizes
    groups: int = 1
    bias: bool = False


@dataclass(frozen=True)
class ConvTranspose3d(ConvTransposeNd):
    """``nn.ConvTranspose3d`` on ``[N, C, D, H, W]``."""

    key: ClassVar[str] = "conv_transpose3d"
    layout: ClassVar[str] = "NCDHW"
    module_name: ClassVar[str] = "ConvTranspose3d"


@dataclass(frozen=True)
class ConvTranspose1d(ConvTransposeNd):
    """``nn.ConvTranspose1d`` on ``[N, C, L]``."""

    key: ClassVar[str] = "conv_transpose1d"
    layout: ClassVar[str] = "NCL"
    module_name: ClassVar[str] = "ConvTranspose1d"


def _channels(op: ConvNd | ConvTransposeNd, c: int) -> None:
    if min(op.in_channels, op.out_channels, op.groups, *op.kernel, *op.stride, *op.dilation) < 1:
        raise ShapeError(f"{op.key} sizes must be positive")
    if c != op.in_channels:
        raise ShapeError(f"{op.key} expects {op.in_channels} input channels, got {c}")
    if op.in_channels % op.groups or op.out_channels % op.groups:
        raise ShapeError(f"groups {op.groups} must divide in_channels {op.in_channels} "
                         f"and out_channels {op.out_channels}")


def nd_pads(op: ConvNd) -> Sizes:
    """Total padding per axis: both sides of an int, ``d·(k-1)`` for ``same``."""
    if op.padding == "same":
        if set(op.stride) != {1}:
            raise ShapeError("padding 'same' needs stride 1 (as in torch)")
        return tuple(d * (k - 1) for k, d in zip(op.kernel, op.dilation, strict=True))
    assert not isinstance(op.padding, str)
    return tuple(2 * p for p in op.padding)


def conv_nd(op: ConvNd, x: Shape) -> LayerCost:
    # [N, Cin, *S] -> [N, Cout, *So], So = (S + pad - d·(k-1) - 1) // s + 1 per axis;
    # params Cout·(Cin/g)·∏k (+ Cout bias); MACs = N·Cout·∏So·(Cin/g)·∏k
    n, c, sizes = dims(x, op.layout, op.key)
    _channels(op, c)
    out = tuple(conv_output_size(*axis) for axis in zip(sizes, op.kernel, op.stride, nd_pads(op),
                                                         op.dilation, strict=True))
    per_out = op.in_channels // op.groups * math.prod(op.kernel)
    params = op.out_channels * per_out + (op.out_channels if op.bias else 0)
    return LayerCost(params, n * op.out_channels * math.prod(out) * per_out,
                     (n, op.out_channels, *out))


def conv_transpose_nd(op: ConvTransposeNd, x: Shape) -> LayerCost:
    # [N, Cin, *S] -> [N, Cout, *So], So = (S-1)·s - 2·p + d·(k-1) + output_padding + 1;
    # params Cin·(Cout/g)·∏k (+ Cout bias); MACs = N·∏S·Cin·(Cout/g)·∏k (= FlopCounterMode / 2)
    n, c, sizes = dims(x, op.layout, op.key)
    _channels(op, c)
    out = tuple(transposed_size(*axis) for axis in zip(
        sizes, op.kernel, op.stride, op.padding, op.output_padding, op.dilation, strict=True))
    per_in = op.out_channels // op.groups * math.prod(op.kernel)
    params = op.in_channels * per_in + (op.out_channels if op.bias else 0)
    return LayerCost(params, n * math.prod(sizes) * op.in_channels * per_in,
                     (n, op.out_channels, *out))


def _conv_window(op: ConvNd, _: Shape) -> Windows:
    pads = nd_pads(op)  # same: the odd pixel after, as conv's
    return tuple(conv_window(k, s, p // 2, d) for k, s, p, d in zip(
        op.kernel, op.stride, pads, op.dilation, strict=True))


def _transposed_window(op: ConvTransposeNd, _: Shape) -> Windows:
    return tuple(transposed_window(k, s, p, d) for k, s, p, d in zip(
        op.kernel, op.stride, op.padding, op.dilation, strict=True))


def _conv_module(op: ConvNd, _: Shape) -> Any:
    from torch import nn

    conv = getattr(nn, op.module_name)
    return conv(op.in_channels, op.out_channels, op.kernel, op.stride, op.padding, op.dilation,
                op.groups, op.bias)


def _transposed_module(op: ConvTransposeNd, _: Shape) -> Any:
    from torch import nn

    conv = getattr(nn, op.module_name)
    return conv(op.in_channels, op.out_channels, op.kernel, op.stride, op.padding,
                op.output_padding, op.groups, op.bias, op.dilation)


def per_axis(value: Any, axes: int, path: str) -> Sizes:
    """A spec size (an int: every axis; a list: one per axis) as a tuple of ``axes`` sizes."""
    if isinstance(value, tuple):
        if len(value) != axes:
            raise SpecError(f"must be an integer or a list of {axes} sizes (one per spatial "
                            f"axis), got {list(value)}", path=path)
        return value
    return (value,) * axes


def _sizes(f: Mapping[str, Any], key: str, axes: int, at: Lowering) -> Sizes:
    return per_axis(f[key], axes, f"{at.path}.{key}")


def _lower_conv(cls: type[ConvNd]) -> Any:
    def lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> ConvNd:
        axes = len(cls.layout) - 2
        kernel = _sizes(f, "kernel_size", axes, at)
        dilation = _sizes(f, "dilation", axes, at)
        padding: Sizes | str = f["padding"]
        if padding == "auto":
            padding = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation, strict=True))
        elif padding != "same":
            padding = _sizes(f, "padding", axes, at)
        return cls(x[1], at.channels("out_channels"), kernel, _sizes(f, "stride", axes, at),
                   padding, dilation, f["groups"], f["bias"])
    return lower


def _lower_transposed(cls: type[ConvTransposeNd]) -> Any:
    def lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> ConvTransposeNd:
        axes = len(cls.layout) - 2
        kernel, stride, padding, extra, dilation = (_sizes(f, key, axes, at) for key in (
            "kernel_size", "stride", "padding", "output_padding", "dilation"))
        return cls(x[1], at.channels("out_channels"), kernel, stride, padding, extra, dilation,
                   f["groups"], f["bias"])
    return lower


def _conv_keys(op: ConvNd | ConvTransposeNd) -> tuple[str, ...]:
    # padding 'same' runs as aten::_convolution_mode, which fvcore does not count (as conv's)
    main = f"{op.key}_same" if getattr(op, "padding", None) == "same" else op.key
    return (main, "conv_bias") if op.bias else (main,)


# -- import ------------------------------------------------------------------------------

def _tuple(value: Any, axes: int) -> Sizes:
    return tuple(int(v) for v in value) if isinstance(value, tuple | list) else (int(value),) * axes


def read_conv_module(c: TorchCall) -> Fields:
    """``nn.Conv{1,3}d``: its attributes (padding per axis, or torch's 'same'/'valid')."""
    m = c.module
    axes = len(m.kernel_size)
    padding = m.padding if isinstance(m.padding, str) else _tuple(m.padding, axes)
    return dict(in_channels=m.in_channels, out_channels=m.out_channels,
                kernel=_tuple(m.kernel_size, axes), stride=_tuple(m.stride, axes),
                padding=(0,) * axes if padding == "valid" else padding,
                dilation=_tuple(m.dilation, axes), groups=m.groups, bias=m.bias is not None)


def read_conv_call(c: TorchCall) -> Fields:
    """``F.conv{1,3}d(x, weight, bias, stride, padding, dilation, groups)`` (and aten's)."""
    weight, groups = c.in_shapes[1], int(c.arg(6, "groups", 1))
    axes = len(weight) - 2
    padding = c.arg(4, "padding", 0)
    return dict(in_channels=weight[1] * groups, out_channels=weight[0], kernel=tuple(weight[2:]),
                stride=_tuple(c.arg(3, "stride", 1), axes),
                padding=padding if isinstance(padding, str) else _tuple(padding, axes),
                dilation=_tuple(c.arg(5, "dilation", 1), axes), groups=groups,
                bias=len(c.in_shapes) > 2 and c.arg(2, "bias") is not None)


def read_transposed_module(c: TorchCall) -> Fields:
    """``nn.ConvTranspose{1,3}d``."""
    m = c.module
    axes = len(m.kernel_size)
    return dict(in_channels=m.in_channels, out_channels=m.out_channels,
                **{key: _tuple(getattr(m, name), axes) for key, name in (
                    ("kernel", "kernel_size"), ("stride", "stride"), ("padding", "padding"),
                    ("output_padding", "output_padding"), ("dilation", "dilation"))},
                groups=m.groups, bias=m.bias is not None)


def read_transposed_call(c: TorchCall) -> Fields:
    """``F.conv_transpose{1,3}d(x, weight, bias, stride, padding, output_padding, groups,
    dilation)`` (and aten's): the weight is [Cin, Cout / groups, *k]."""
    weight, groups = c.in_shapes[1], int(c.arg(6, "groups", 1))
    axes = len(weight) - 2
    return dict(in_channels=weight[0], out_channels=weight[1] * groups, kernel=tuple(weight[2:]),
                **{key: _tuple(c.arg(i, key, default), axes) for i, key, default in (
                    (3, "stride", 1), (4, "padding", 0), (5, "output_padding", 0),
                    (7, "dilation", 1))},
                groups=groups, bias=len(c.in_shapes) > 2 and c.arg(2, "bias") is not None)


def onnx_sizes(c: OnnxCall, key: str, axes: int, default: int) -> Sizes:
    """An ONNX per-axis attribute (``strides``, ``dilations``, ``kernel_shape``) of ``axes`` axes."""
    return tuple(int(v) for v in c.attrs.get(key) or (default,) * axes)


def onnx_padding(c: OnnxCall, axes: int) -> Sizes | str:
    """ONNX ``pads`` (every axis' begin, then every end) as a padding per axis; ``same`` for
    ``auto_pad`` SAME_*; an asymmetric padding no spec field says: ``asymmetric`` (opaque)."""
    auto = c.attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto.startswith("SAME"):
        return "same"
    pads = tuple(int(p) for p in c.attrs.get("pads") or (0,) * (2 * axes))
    return pads[:axes] if auto != "VALID" and pads[:axes] == pads[axes:] else \
        (0,) * axes if auto == "VALID" else "asymmetric"


def read_onnx_conv_nd(c: OnnxCall) -> Fields:
    """ONNX ``Conv`` on ``[N, C, L]`` or ``[N, C, D, H, W]``: the weight is [Cout, Cin / groups, *k]."""
    weight = c.in_shapes[1] or ()
    axes, groups = len(weight) - 2, int(c.attrs.get("group", 1))
    return dict(in_channels=weight[1] * groups, out_channels=weight[0], kernel=tuple(weight[2:]),
                stride=onnx_sizes(c, "strides", axes, 1), padding=onnx_padding(c, axes),
                dilation=onnx_sizes(c, "dilations", axes, 1), groups=groups, bias=c.has(2))


def read_onnx_transposed_nd(c: OnnxCall) -> Fields:
    """ONNX ``ConvTranspose`` on 1 or 3 spatial axes: the weight is [Cin, Cout / groups, *k]."""
    weight = c.in_shapes[1] or ()
    axes, groups = len(weight) - 2, int(c.attrs.get("group", 1))
    return dict(in_channels=weight[0], out_channels=weight[1] * groups, kernel=tuple(weight[2:]),
                stride=onnx_sizes(c, "strides", axes, 1), padding=onnx_padding(c, axes),
                output_padding=onnx_sizes(c, "output_padding", axes, 0),
                dilation=onnx_sizes(c, "dilations", axes, 1), groups=groups, bias=c.has(2))


def _size(sizes: Sizes) -> Any:
    """A spec size: one int when every axis agrees, else the list."""
    return sizes[0] if len(set(sizes)) == 1 else list(sizes)


def emit_conv(node: Traced, _: Any) -> list[Layer] | None:
    """The spec layer of an N-d (transposed) convolution node, defaults left out."""
    a = node.attrs
    if isinstance(a["padding"], str) and a["padding"] != "same":
        return None
    layer: Layer = {"kind": node.op, "out_channels": a["out_channels"],
                    "kernel_size": _size(a["kernel"])}
    defaults = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1,
                "bias": False}
    for key, default in defaults.items():
        if key in a:
            value = a[key] if isinstance(a[key], str | bool | int) else _size(a[key])
            if value != default:
                layer[key] = value
    if "output_padding" not in a and "padding" not in layer:
        layer["padding"] = 0  # a conv's spec default is auto
    return [layer]


def conv_imports(suffix: str) -> Imports:
    """``nn.Conv{suffix}``, ``F.conv{suffix}``, ``aten.conv{suffix}``, and ONNX ``Conv`` on a
    tensor of its rank (the registry picks the kind by rank)."""
    return Imports(modules={f"torch.nn.Conv{suffix}": read_conv_module},
                   functions={f"torch.nn.functional.conv{suffix}": read_conv_call},
                   aten={f"aten.conv{suffix}": read_conv_call}, onnx={"Conv": read_onnx_conv_nd},
                   onnx_weights={"Conv": (1, 2)}, emit=emit_conv)


def transposed_imports(suffix: str) -> Imports:
    """``nn.ConvTranspose{suffix}``, ``F.conv_transpose{suffix}``, aten's, and ONNX's."""
    return Imports(modules={f"torch.nn.ConvTranspose{suffix}": read_transposed_module},
                   functions={f"torch.nn.functional.conv_transpose{suffix}": read_transposed_call},
                   aten={f"aten.conv_transpose{suffix}": read_transposed_call},
                   onnx={"ConvTranspose": read_onnx_transposed_nd},
                   onnx_weights={"ConvTranspose": (1, 2)}, emit=emit_conv)


_out = Field("int", doc="output channels (before the width multiplier)")
_width = Field("choice", "scaled", WIDTHS, doc="how α scales out_channels")
_bias = Field("bool", False, doc="bias (torch's default is true)")


def conv_spec(module: str) -> SpecKind:
    """The spec fields of an N-d convolution."""
    return SpecKind(fields(
        out_channels=_out, kernel_size=Field("sizes", doc="int, or one size per spatial axis"),
        stride=Field("sizes", 1),
        padding=Field("sizes", "auto", ("auto", "same"), minimum=0,
                      doc="auto (d·(k-1)//2), same, int or per axis"),
        dilation=Field("sizes", 1), groups=Field("int", 1), bias=_bias, width=_width),
        f"`nn.{module}`")


def transposed_spec(module: str) -> SpecKind:
    """The spec fields of an N-d transposed convolution."""
    return SpecKind(fields(
        out_channels=_out, kernel_size=Field("sizes", doc="int, or one size per spatial axis"),
        stride=Field("sizes", 1), padding=Field("sizes", 0, minimum=0),
        output_padding=Field("sizes", 0, minimum=0), dilation=Field("sizes", 1),
        groups=Field("int", 1), bias=_bias, width=_width), f"`nn.{module}`")


CONV3D = OpKind(Conv3d, conv_nd, _conv_module, dict.fromkeys(("conv3d", "conv3d_same"), "conv"),
                keys_of=_conv_keys, kernel=conv_kernel,
                learnable=True, weight_grad=True, window=_conv_window, spec=conv_spec("Conv3d"),
                lower=_lower_conv(Conv3d), layout="NCDHW", imports=conv_imports("3d"))
CONV_TRANSPOSE3D = OpKind(
    ConvTranspose3d, conv_transpose_nd, _transposed_module, {"conv_transpose3d": "conv"},
    keys_of=_conv_keys, learnable=True, weight_grad=True, window=_transposed_window, kernel=conv_kernel,
    spec=transposed_spec("ConvTranspose3d"), lower=_lower_transposed(ConvTranspose3d),
    layout="NCDHW", imports=transposed_imports("3d"))

CONV1D = OpKind(Conv1d, conv_nd, _conv_module, dict.fromkeys(("conv1d", "conv1d_same"), "conv"),
                keys_of=_conv_keys, learnable=True, weight_grad=True, window=_conv_window,
                kernel=conv_kernel, spec=conv_spec("Conv1d"), lower=_lower_conv(Conv1d), layout="NCL",
                imports=conv_imports("1d"))
CONV_TRANSPOSE1D = OpKind(
    ConvTranspose1d, conv_transpose_nd, _transposed_module, {"conv_transpose1d": "conv"},
    keys_of=_conv_keys, learnable=True, weight_grad=True, window=_transposed_window, kernel=conv_kernel,
    spec=transposed_spec("ConvTranspose1d"), lower=_lower_transposed(ConvTranspose1d),
    layout="NCL", imports=transposed_imports("1d"))

KINDS = (CONV3D, CONV_TRANSPOSE3D, CONV1D, CONV_TRANSPOSE1D)
