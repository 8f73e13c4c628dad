"""``conv``: a 2-D convolution (standard, depthwise, pointwise or grouped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import (
    Fields,
    Imports,
    Layer,
    OnnxCall,
    Read,
    Signature,
    TorchCall,
    Traced,
    onnx_pads,
    onnx_pair,
    pair,
    spec_size,
)
from convcost.cost.opkind import KernelForm, Op, OpKind
from convcost.cost.value import LayerCost, Padding, Pair, Shape, spatial
from convcost.cost.window import Windows, conv_window
from convcost.errors import ShapeError


@dataclass(frozen=True)
class Conv2d(Op):
    """``nn.Conv2d``. Sizes are ``(h, w)``; padding is per side, ``same`` (stride 1 only), or
    ``tf_same``: TensorFlow's SAME, ``ceil(size / stride)`` outputs, the odd pad after.

    ``groups == in_channels`` is a depthwise convolution (``out_channels`` a multiple of it).
    """

    key: ClassVar[str] = "conv"
    in_channels: int
    out_channels: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Padding = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = False

    @property
    def conv_class(self) -> str:
        """``standard``, ``depthwise``, ``pointwise`` or ``grouped`` (MobileNet Table 2 classes)."""
        if self.groups == self.in_channels and self.groups > 1:
            return "depthwise"
        if self.groups == 1:
            return "pointwise" if self.kernel == (1, 1) else "standard"
        return "grouped"


def conv_output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """torch's floor formula: ``(size + pad - d·(k-1) - 1) // s + 1``."""
    span = dilation * (kernel - 1) + 1
    if size + pad_total < span:
        raise ShapeError(
            f"kernel {kernel} (dilation {dilation}, span {span}) is larger than "
            f"the padded input {size + pad_total}"
        )
    return (size + pad_total - span) // stride + 1


def resolve_padding(padding: Padding | str, kernel: Pair, dilation: Pair) -> Padding:
    """``auto`` -> ``d·(k-1)//2`` per side (torchvision's Conv2dNormActivation)."""
    if padding == "auto":
        return ((kernel[0] - 1) // 2 * dilation[0], (kernel[1] - 1) // 2 * dilation[1])
    if padding in ("same", "tf_same"):
        return "same" if padding == "same" else "tf_same"
    assert not isinstance(padding, str)
    return padding


def tf_same_pads(size: int, kernel: int, stride: int, dilation: int) -> Pair:
    """TensorFlow SAME: ``ceil(size / s)`` outputs; pad (before, after), the odd pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def conv_pads(op: Conv2d, x: Shape) -> tuple[Pair, Pair]:
    """Padding (before, after) of each spatial dimension of input ``x``, as torch applies it."""
    pads = []
    for i, size in enumerate(x[2:4]):
        k, s, d = op.kernel[i], op.stride[i], op.dilation[i]
        if op.padding == "tf_same":
            pads.append(tf_same_pads(size, k, s, d))
        elif op.padding == "same":  # torch: total d·(k-1), the odd pixel after
            pads.append((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2))
        else:
            pads.append((op.padding[i], op.padding[i]))
    return pads[0], pads[1]


def conv_padding_total(op: Conv2d, x: Shape) -> Pair:
    """Total padding (both sides) per dimension of input ``x``; ``same`` pads d·(k-1)."""
    if not isinstance(op.padding, str):
        return 2 * op.padding[0], 2 * op.padding[1]
    (top, bottom), (left, right) = conv_pads(op, x)
    return top + bottom, left + right


def _padding_ok(op: Conv2d) -> bool:
    if isinstance(op.padding, str):
        return op.padding == "tf_same" or (op.padding == "same" and op.stride == (1, 1))
    return min(op.padding) >= 0


def _check(op: Conv2d, x: Shape) -> None:
    sizes_ok = min(*x, op.in_channels, op.out_channels, op.groups, *op.kernel, *op.stride,
                   *op.dilation) >= 1
    if (sizes_ok and x[1] == op.in_channels and _padding_ok(op)
            and not (op.in_channels % op.groups or op.out_channels % op.groups)):
        return  # the common case, checked at once (this runs for every conv of every analysis)
    _explain_check(op, x)


def _explain_check(op: Conv2d, x: Shape) -> None:
    sizes = {"input shape": x, "channels": (op.in_channels, op.out_channels),
             "groups": (op.groups,), "kernel": op.kernel, "stride": op.stride,
             "dilation": op.dilation}
    for what, values in sizes.items():  # the public API reaches here unvalidated
        if min(values) < 1:
            raise ShapeError(f"conv {what} must be positive, got {list(values)}")
    if not isinstance(op.padding, str) and min(op.padding) < 0:
        raise ShapeError(f"conv padding must be ≥ 0, got {list(op.padding)}")
    if x[1] != op.in_channels:
        raise ShapeError(f"conv expects {op.in_channels} input channels, got {x[1]}")
    if op.in_channels % op.groups or op.out_channels % op.groups:
        raise ShapeError(
            f"groups {op.groups} must divide in_channels {op.in_channels} "
            f"and out_channels {op.out_channels}"
        )
    if op.padding == "same" and op.stride != (1, 1):
        raise ShapeError("padding 'same' needs stride 1 (as in torch)")


def conv2d(op: Conv2d, x: Shape) -> LayerCost:
    # [N, Cin, H, W] -> [N, Cout, Ho, Wo]; MACs = N·Cout·Ho·Wo·(Cin/g)·kh·kw
    n, _, h, w = spatial(x, "conv")
    _check(op, x)
    ph, pw = conv_padding_total(op, x)
    ho = conv_output_size(h, op.kernel[0], op.stride[0], ph, op.dilation[0])
    wo = conv_output_size(w, op.kernel[1], op.stride[1], pw, op.dilation[1])
    per_out = (op.in_channels // op.groups) * op.kernel[0] * op.kernel[1]
    params = op.out_channels * per_out + (op.out_channels if op.bias else 0)
    return LayerCost(params, n * op.out_channels * ho * wo * per_out, (n, op.out_channels, ho, wo))


def _window(op: Conv2d, x: Shape) -> Windows:
    (top, _), (left, _) = conv_pads(op, x)  # same and tf_same: the odd pixel goes after
    return (conv_window(op.kernel[0], op.stride[0], top, op.dilation[0]),
            conv_window(op.kernel[1], op.stride[1], left, op.dilation[1]))


def _module(op: Conv2d, x: Shape) -> Any:
    from torch import nn

    padding = (0, 0) if op.padding == "tf_same" else op.padding
    conv = nn.Conv2d(op.in_channels, op.out_channels, op.kernel, op.stride, padding,
                     op.dilation, op.groups, op.bias)
    if op.padding != "tf_same":
        return conv
    (top, bottom), (left, right) = conv_pads(op, x)  # TF SAME: pad first (as timm's static pad)
    return nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv)


def _keys(op: Conv2d) -> tuple[str, ...]:
    # padding 'same' runs as another aten op (aten::_convolution_mode), which some tools miss;
    # 'tf_same' adds a ZeroPad2d (aten::pad) before the conv, a term of its own
    main = {"same": ("conv_same",), "tf_same": ("conv", "tf_same_pad")}.get(str(op.padding),
                                                                           ("conv",))
    return (*main, "conv_bias") if op.bias else main


_LABELS = {"standard": "conv", "depthwise": "dwconv", "pointwise": "pwconv"}


def _label(op: Conv2d) -> str:
    return _LABELS.get(op.conv_class, "gconv")


# -- import ------------------------------------------------------------------------------

def _read_module(c: TorchCall) -> Fields:
    m = c.module
    return dict(in_channels=m.in_channels, out_channels=m.out_channels, kernel=pair(m.kernel_size),
                stride=pair(m.stride), dilation=pair(m.dilation), groups=m.groups,
                bias=m.bias is not None,
                padding=m.padding if isinstance(m.padding, str) else pair(m.padding))


def read_conv_call(c: TorchCall) -> Fields:
    """``F.conv2d(x, weight, bias, stride, padding, dilation, groups)`` (and ``aten.conv2d``)."""
    weight = c.in_shapes[1]
    groups = int(c.arg(6, "groups", 1))
    padding = c.arg(4, "padding", 0)
    return dict(in_channels=weight[1] * groups, out_channels=weight[0], kernel=weight[2:],
                stride=pair(c.arg(3, "stride", 1)), dilation=pair(c.arg(5, "dilation", 1)),
                groups=groups, bias=len(c.in_shapes) > 2,
                padding=padding if isinstance(padding, str) else pair(padding))


def read_onnx_conv(c: OnnxCall, transposed: bool = False) -> Fields:
    """ONNX ``Conv`` (and ``ConvTranspose``, whose weight is [Cin, Cout / groups, k, k])."""
    weight = c.in_shapes[1]
    assert weight is not None
    groups = int(c.attrs.get("group", 1))
    cin, cout = (weight[0], weight[1] * groups) if transposed else (weight[1] * groups, weight[0])
    attrs: Fields = dict(
        in_channels=cin, out_channels=cout, kernel=tuple(weight[2:]), stride=onnx_pair(c, "strides", 1),
        dilation=onnx_pair(c, "dilations", 1), groups=groups, bias=c.has(2), padding=onnx_pads(c))
    auto = c.attrs.get("auto_pad", b"NOTSET")
    if auto not in (b"NOTSET", "NOTSET"):
        attrs["auto_pad"] = auto.decode() if isinstance(auto, bytes) else str(auto)
    return attrs


def conv_fields(conv: Traced) -> Layer | None:
    """The conv/dwconv/pwconv fields of a conv node; None for what the spec cannot express."""
    a = conv.attrs
    kernel, stride, dilation, groups = a["kernel"], a["stride"], a["dilation"], a["groups"]
    padding = a["padding"]
    if len(kernel) != 2 or a.get("auto_pad") or (not isinstance(padding, str) and len(padding) != 2):
        return None
    auto = ((kernel[0] - 1) // 2 * dilation[0], (kernel[1] - 1) // 2 * dilation[1])
    pad: Any = padding if padding in ("same", "tf_same") else "auto" if tuple(padding) == auto \
        else spec_size(padding)
    cin, cout = a["in_channels"], a["out_channels"]
    fields: Layer = {}
    if groups == cin and groups > 1 and cout % cin == 0:
        fields["kind"] = "dwconv"
        if cout != cin:
            fields["multiplier"] = cout // cin
    elif tuple(kernel) == (1, 1) and tuple(stride) == (1, 1) and pad in ("auto", 0):
        fields.update(kind="pwconv", out_channels=cout)
        pad = "auto"
    else:
        fields.update(kind="conv", out_channels=cout)
    if fields["kind"] != "pwconv":
        fields.update(kernel_size=spec_size(kernel), stride=spec_size(stride))
    if pad != "auto":
        fields["padding"] = pad
    if tuple(dilation) != (1, 1):
        fields["dilation"] = spec_size(dilation)
    if groups > 1 and fields["kind"] != "dwconv":
        fields["groups"] = groups
    if a["bias"]:
        fields["bias"] = True
    return fields


def _read_convolution(c: TorchCall) -> Read:
    """``aten.convolution(input, weight, bias, stride, padding, dilation, transposed,
    output_padding, groups)``, every conv as the recorder sees it (a transposed one redirected)."""
    weight, groups, transposed = c.in_shapes[1], int(c.args[8]), bool(c.args[6])
    bias = c.args[2] is not None
    if transposed:
        return "conv_transpose", dict(
            in_channels=weight[0], out_channels=weight[1] * groups, kernel=tuple(weight[2:]),
            stride=pair(c.args[3]), padding=pair(c.args[4]), output_padding=pair(c.args[7]),
            groups=groups, dilation=pair(c.args[5]), bias=bias)
    return dict(in_channels=weight[1] * groups, out_channels=weight[0], kernel=tuple(weight[2:]),
                stride=pair(c.args[3]), padding=pair(c.args[4]), dilation=pair(c.args[5]),
                groups=groups, bias=bias)


def _traced_signature(node: Traced) -> Signature:
    a = node.attrs
    pad = a["padding"] if isinstance(a["padding"], str) else tuple(a["padding"])
    return ("conv", a["in_channels"], a["out_channels"], tuple(a["kernel"]), tuple(a["stride"]), pad,
            tuple(a["dilation"]), a["groups"], a["bias"])


def _signature(op: Conv2d) -> Signature:
    # the traced conv's signature (_traced_signature) read from the op's fields
    return ("conv", op.in_channels, op.out_channels, op.kernel, op.stride, op.padding, op.dilation,
            op.groups, op.bias)


def _emit(node: Traced, _: Any) -> list[Layer] | None:
    fields = conv_fields(node)
    return [fields] if fields else None


IMPORTS = Imports(
    modules={"torch.nn.Conv2d": _read_module},
    functions={"torch.nn.functional.conv2d": read_conv_call},
    aten={"aten.conv2d": read_conv_call}, dispatch={"aten.convolution": _read_convolution},
    onnx={"Conv": read_onnx_conv}, onnx_weights={"Conv": (1, 2)},
    signature=_traced_signature, emit=_emit)

CONV = OpKind(Conv2d, conv2d, _module, {"conv": "conv", "conv_same": "conv", "tf_same_pad": "conv",
                                         "conv_bias": "conv bias"},
              keys_of=_keys, label=_label, learnable=True, weight_grad=True, window=_window,
              imports=IMPORTS, layout="NCHW", layer_class=lambda op: op.conv_class, fusion="head",
              signature=_signature,
              channels_1x1=lambda op: (op.in_channels, op.out_channels) if op.conv_class == "pointwise"
              else None,
              dense=lambda op, out: Conv2d(op.in_channels, out, op.kernel, op.stride, op.padding,
                                           op.dilation, 1, op.bias),
              kernel=lambda op, _: KernelForm("dwconv" if op.conv_class == "depthwise" else "conv",
                                              op.in_channels // op.groups, op.out_channels,
                                              kernel_stride=(op.kernel, op.stride)))

KINDS = (CONV,)
