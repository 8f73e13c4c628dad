"""``mobile_mqa``: MobileNetV4's Mobile MQA (timm's ``MultiQueryAttention2d``) on ``[N, C, H, W]``.

Query heads share one key and one value head. With ``kv_stride`` > 1, keys and values are
first downsampled by a strided depthwise conv and a BatchNorm each. Every projection is a 1×1
conv. The op is one torch module made of parts (convs, BNs, SDPA): its cost, and each tool's
count of it, is the sum of its parts (:attr:`convcost.cost.opkind.OpKind.parts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, Part, SpecKind, fields
from convcost.cost.ops.attention import Attention
from convcost.cost.ops.conv import Conv2d, conv2d
from convcost.cost.ops.linear import WIDTHS
from convcost.cost.ops.norm import BatchNorm
from convcost.cost.value import LayerCost, Shape, spatial
from convcost.errors import ShapeError


@dataclass(frozen=True)
class MobileMQA(Op):
    """Query ``heads`` of ``key_dim``, one key (``key_dim``) and value (``value_dim``) head."""

    key: ClassVar[str] = "mobile_mqa"
    in_channels: int
    out_channels: int
    heads: int
    key_dim: int
    value_dim: int
    kv_stride: int = 1
    dw_kernel: int = 3
    bias: bool = False


def _conv(cin: int, cout: int, bias: bool) -> Conv2d:
    return Conv2d(cin, cout, (1, 1), bias=bias)


def _kv_parts(op: MobileMQA, x: Shape, name: str, width: int) -> tuple[list[Part], Shape]:
    """``key``/``value``: [dw conv stride s + BN], then a 1×1 conv to ``width``."""
    parts: list[Part] = []
    c = op.in_channels
    if op.kv_stride > 1:  # timm's padding '': ((s - 1) + (k - 1)) // 2 per side
        pad = (op.kv_stride - 1 + op.dw_kernel - 1) // 2
        down = Conv2d(c, c, (op.dw_kernel,) * 2, (op.kv_stride,) * 2, (pad, pad), groups=c)
        parts.append((f"{name}.down_conv", down, x))
        x = conv2d(down, x).output_shape
        parts.append((f"{name}.norm", BatchNorm(c), x))
    proj = _conv(c, width, op.bias)
    parts.append((f"{name}.proj", proj, x))
    return parts, conv2d(proj, x).output_shape


def mqa_parts(op: MobileMQA, x: Shape) -> tuple[Part, ...]:
    """query.proj, key.*, value.*, the attention and output.proj, each with its input shape."""
    n, c, h, w = spatial(x, "mobile_mqa")
    if c != op.in_channels:
        raise ShapeError(f"mobile_mqa expects {op.in_channels} input channels, got {c}")
    keys, k = _kv_parts(op, x, "key", op.key_dim)
    values, _ = _kv_parts(op, x, "value", op.value_dim)
    lk = k[2] * k[3]
    attn = Attention((n, 1, lk, op.key_dim), (n, 1, lk, op.value_dim))
    heads = op.heads
    return (("query.proj", _conv(c, heads * op.key_dim, op.bias), x), *keys, *values,
            ("attention", attn, (n, heads, h * w, op.key_dim)),
            ("output.proj", _conv(heads * op.value_dim, op.out_channels, op.bias),
             (n, heads * op.value_dim, h, w)))


def mobile_mqa(op: MobileMQA, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, Cout, H, W]; the sum of its parts: query 1×1 conv N·H·W·C·heads·kd;
    # key/value: [dw k×k stride s: N·C·Hk·Wk·k² + BN 2·C] + 1×1 conv N·Hk·Wk·C·(kd | vd);
    # attention N·heads·(H·W)·(Hk·Wk)·(kd + vd); output 1×1 conv N·H·W·heads·vd·Cout
    from convcost.cost.registry import cost  # the registry collects this module

    params = macs = 0
    for _, part, shape in mqa_parts(op, x):
        each = cost(part, shape)
        params, macs = params + each.params, macs + each.macs
    return LayerCost(params, macs, (x[0], op.out_channels, *x[2:]))


def mqa_backward(op: MobileMQA, x: Shape, needs: tuple[bool, ...]) -> tuple[int, int]:
    """The sum of its parts' backward MACs: the parts that read the input (query.proj, and the
    first op of key and value) need its gradient only when it does; every other part reads a
    tensor computed from a weight (its attention's q, k and v too)."""
    from convcost.cost.training import op_backward  # it reads the registry, which reads this

    first = {"query.proj", *(f"{name}.{'down_conv' if op.kv_stride > 1 else 'proj'}"
                             for name in ("key", "value"))}
    grad_input = grad_weight = 0
    for name, part, shape in mqa_parts(op, x):
        reads_x = name in first
        flags = (any(needs) if reads_x else True,) * (3 if name == "attention" else 1)
        each = op_backward(part, shape, flags)
        assert each is not None, "convs, BN and attention have backward rules"
        grad_input, grad_weight = grad_input + each[0], grad_weight + each[1]
    return grad_input, grad_weight


@cache
def _mqa_class() -> type:
    import torch
    from torch import nn
    from torch.nn import functional

    class MobileMQAModule(nn.Module):
        """timm's MultiQueryAttention2d (fused SDPA path, query stride 1), module for module."""

        def __init__(self, op: MobileMQA, x: Shape) -> None:
            super().__init__()
            from convcost.cost.registry import op_kind

            self.heads, self.key_dim = op.heads, op.key_dim
            for part in ("query", "key", "value", "output"):
                self.add_module(part, nn.Sequential())
            for name, part_op, shape in mqa_parts(op, x):
                if name != "attention":
                    seq, leaf = name.split(".")
                    getattr(self, seq).add_module(leaf, op_kind(part_op).module(part_op, shape))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n, _, h, w = x.shape
            query, key, value, output = (self.get_submodule(name) for name in
                                         ("query", "key", "value", "output"))
            q = query(x).reshape(n, self.heads, self.key_dim, -1).transpose(-1, -2)
            k = key(x).flatten(2).transpose(1, 2).unsqueeze(1)
            v = value(x).flatten(2).transpose(1, 2).unsqueeze(1)
            o = functional.scaled_dot_product_attention(q, k, v)
            o = o.transpose(1, 2).reshape(n, h, w, -1).permute(0, 3, 1, 2)
            out: torch.Tensor = output(o)
            return out

    return MobileMQAModule


def _module(op: MobileMQA, x: Shape) -> Any:
    return _mqa_class()(op, x)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> MobileMQA:
    heads = f["heads"]
    key_dim = f["key_dim"] or x[1] // heads
    value_dim = f["value_dim"] or x[1] // heads
    out = at.channels("out_channels") if f["out_channels"] is not None else x[1]
    return MobileMQA(x[1], out, heads, key_dim, value_dim, f["kv_stride"], f["dw_kernel_size"],
                     f["bias"])


def _keys(op: MobileMQA) -> tuple[str, ...]:
    return ("mobile_mqa",)


SPEC = SpecKind(
    fields(
        heads=Field("int", doc="query heads"),
        key_dim=Field("int", None, nullable=True, doc="query/key head width (default C/heads)"),
        value_dim=Field("int", None, nullable=True, doc="value head width (default C/heads)"),
        out_channels=Field("int", None, nullable=True, doc="default: the input channels"),
        width=Field("choice", "scaled", WIDTHS, doc="how α scales out_channels"),
        kv_stride=Field("int", 1, doc="key/value downsampling: a strided depthwise conv + BN"),
        dw_kernel_size=Field("int", 3, doc="that depthwise conv's kernel"),
        bias=Field("bool", False, doc="biases of the 1×1 projections"),
    ),
    "MobileNetV4's Mobile MQA (timm `MultiQueryAttention2d`): shared single key/value head, "
    "`kv_stride` downsampling", max_leaves=1)

def _read_op(convs: Sequence[Traced], x: Shape) -> MobileMQA | None:
    """The op of timm's convs in call order: query.proj, [key.down_conv], key.proj,
    [value.down_conv], value.proj, output.proj (None: another layout)."""
    if len(convs) not in (4, 6):
        return None
    query, key, value, output = convs[0], convs[len(convs) // 2 - 1], convs[-2], convs[-1]
    key_dim, value_dim = key.attr("out_channels"), value.attr("out_channels")
    heads, rest = divmod(query.attr("out_channels"), key_dim)
    if rest or heads < 1:
        return None
    stride, kernel = 1, 3
    if len(convs) == 6:
        stride, kernel = convs[1].attr("stride")[0], convs[1].attr("kernel")[0]
    return MobileMQA(x[1], output.attr("out_channels"), heads, key_dim, value_dim, stride, kernel,
                     bool(query.attr("bias")))


def _whole(nodes: Sequence[Traced], x: Shape, nhwc: bool) -> list[Layer] | None:
    """timm's ``MultiQueryAttention2d`` (query stride 1: no pool, no upsample), fused SDPA or
    its matmuls: one ``mobile_mqa`` whose params, parts and output shape are the traced ones."""
    ops = {node.op for node in nodes}
    if nhwc or len(x) != 4 or ops & {"pool", "avg_pool", "interpolate"}:
        return None
    traced = [node for node in nodes if node.op == "conv"]
    op = _read_op(traced, x)
    if op is None:
        return None
    try:
        parts, cost = mqa_parts(op, x), mobile_mqa(op, x)
    except ShapeError:
        return None
    convs = [part for _, part, _ in parts if isinstance(part, Conv2d)]
    same = all((tuple(node.attr("kernel")), tuple(node.attr("stride")), node.attr("padding")) ==
               (conv.kernel, conv.stride, conv.padding) for node, conv in zip(traced, convs, strict=True))
    if not same or cost.params != sum(node.params for node in nodes) \
            or cost.output_shape != nodes[-1].shape:
        return None
    layer: Layer = {"kind": "mobile_mqa", "heads": op.heads, "key_dim": op.key_dim,
                    "value_dim": op.value_dim, "out_channels": op.out_channels}
    if op.kv_stride > 1:
        layer.update(kv_stride=op.kv_stride, dw_kernel_size=op.dw_kernel)
    return [{**layer, "bias": True} if op.bias else layer]


MOBILE_MQA = OpKind(MobileMQA, mobile_mqa, _module, {"mobile_mqa": "attention"}, keys_of=_keys,
                    learnable=True, weight_grad=True, parts=mqa_parts,
                    backward=mqa_backward, spec=SPEC, lower=_lower,
                    imports=Imports(classes={"MultiQueryAttention2d": _whole}))

KINDS = (MOBILE_MQA,)
