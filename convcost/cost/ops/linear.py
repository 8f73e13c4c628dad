"""``linear``: a fully connected layer over the last dimension, as ``nn.Linear``.

On a flat ``[N, F]`` input, on tokens ``[N, L, C]`` or any rank but 4; a rank-4 input is
``[N, C, H, W]`` and needs ``per_position`` (over the channels at every position: ConvNeXt's
``nn.Linear`` on the tensor permuted to NHWC, between two permutes) or ``last_dim`` (the
tensor is channels-last ``[N, H, W, C]`` already: Swin's MLP).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, Read, TorchCall, Traced
from convcost.cost.opkind import Field, KernelForm, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.ops.matmul import weight_matmul
from convcost.cost.ops.token_imports import tokens_linear
from convcost.cost.value import LayerCost, Shape, spatial
from convcost.errors import ShapeError, SpecError

WIDTHS = ("scaled", "fixed", "grow")


@dataclass(frozen=True)
class Linear(Op):
    key: ClassVar[str] = "linear"
    in_features: int
    out_features: int
    bias: bool = True
    per_position: bool = False
    last_dim: bool = False  # a rank-4 input is channels-last [N, H, W, C]


def linear(op: Linear, x: Shape) -> LayerCost:
    # [..., F] -> [..., O]; MACs = prod(leading dims)·F·O ([N, F]: N·F·O; tokens [N, L, C]:
    # N·L·C·O). per_position: [N, C, H, W] -> [N, O, H, W]; N·H·W·C·O
    if op.per_position:
        n, f, h, w = spatial(x, "linear (per_position)")
        lead = n * h * w
        out: Shape = (n, op.out_features, h, w)
    elif len(x) < 2 or (len(x) == 4 and not op.last_dim):
        raise ShapeError(f"linear needs a flat [N, F] input, got {list(x)}: add a flatten layer "
                         "(or last_dim: true on a channels-last [N, H, W, C] tensor)")
    else:
        f, lead, out = x[-1], math.prod(x[:-1]), (*x[:-1], op.out_features)
    if f != op.in_features:
        raise ShapeError(f"linear expects {op.in_features} input features, got {f}")
    params = op.in_features * op.out_features + (op.out_features if op.bias else 0)
    return LayerCost(params, lead * f * op.out_features, out)


@cache
def _permute() -> type:
    """torchvision.ops.misc.Permute: ``torch.permute(x, dims)`` as a module."""
    import torch
    from torch import nn

    class Permute(nn.Module):
        def __init__(self, dims: list[int]) -> None:
            super().__init__()
            self.dims = dims

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.permute(x, self.dims)

    return Permute


def _module(op: Linear, _: Shape) -> Any:
    from torch import nn

    fc = nn.Linear(op.in_features, op.out_features, op.bias)
    if not op.per_position:
        return fc
    permute = _permute()
    return nn.Sequential(permute([0, 2, 3, 1]), fc, permute([0, 3, 1, 2]))


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Linear:
    features = x[1] if f["per_position"] else x[-1]
    if at.checks_inputs and f["in_features"] is not None and f["in_features"] != features:
        raise SpecError(f"must match the previous layer's {features} output features, "
                        f"got {f['in_features']}", path=f"{at.path}.in_features")
    return Linear(features, at.channels("out_features"), f["bias"], f["per_position"],
                  f["last_dim"])


def _keys(op: Linear) -> tuple[str, ...]:
    return ("linear", "linear_bias") if op.bias else ("linear",)


SPEC = SpecKind(
    fields(
        out_features=Field("int", doc="output features"),
        bias=Field("bool", True),
        width=Field("choice", "fixed", WIDTHS),
        in_features=Field("int", None, nullable=True, doc="checked against the input"),
        per_position=Field("bool", False, doc="over the channels at each position of an "
                           "[N, C, H, W] input (ConvNeXt's Linear on the NHWC tensor)"),
        last_dim=Field("bool", False, doc="over the last dim of a channels-last [N, H, W, C] "
                       "input (any other rank: always over the last dim)"),
    ),
    "`nn.Linear` over the last dim (flat `[N, F]`, tokens `[N, L, C]`); on a rank-4 input "
    "`per_position` (`[N, C, H, W]`, between two permutes) or `last_dim` (`[N, H, W, C]`)")

_FUNCTIONAL = ("torch.nn.functional.linear", "torch._C._nn.linear", "aten.linear")


def _read_call(c: TorchCall) -> Fields:
    """``F.linear(x, weight, bias)`` (and ``aten.linear``): sizes from the weight."""
    weight = c.in_shapes[1]
    return dict(in_features=weight[1], out_features=weight[0], bias=len(c.in_shapes) > 2)


def _read_gemm(c: OnnxCall) -> Fields:
    weight = c.in_shapes[1]
    assert weight is not None
    out = weight[0] if c.attrs.get("transB", 0) else weight[1]
    return dict(in_features=c.in_shapes[0][-1] if c.in_shapes[0] else weight[-1],
                out_features=out, bias=c.has(2))


def _read_matmul(c: OnnxCall) -> Read:
    """``x @ W`` with W a weight; a product of two computed tensors is no linear layer."""
    weight = c.in_shapes[1]
    if 1 not in c.weights or weight is None:
        if weight is not None and c.in_shapes[0] is not None:  # two computed tensors
            return "matmul", dict(other=tuple(weight), fn="matmul")
        return "opaque", dict(shapes=c.shapes)
    return dict(in_features=weight[0], out_features=weight[1], bias=False)


def _read_addmm(c: TorchCall) -> Fields:
    """``aten.addmm(bias, input, weight.t())``, ``aten.mm(input, weight.t())``: a linear layer
    when the recorder finds the last matrix a parameter."""
    weight = c.in_shapes[-1]
    return dict(in_features=weight[0], out_features=weight[1], bias=len(c.in_shapes) > 2)


def buffer_weight(node: Traced) -> bool:
    """``F.linear(x, W)`` with W a buffer (CSATv2's fixed DCT basis; or a parameter read again),
    no bias: it reads no parameter; :func:`_emit` writes ``x @ Wᵀ``."""
    return not node.params and not node.attr("bias") and node.target in _FUNCTIONAL


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    if buffer_weight(node):  # x @ Wᵀ, Wᵀ a param of no params of its own: the same MACs
        return weight_matmul(x, node.shape, (node.attr("in_features"), node.attr("out_features")), 0)
    if len(x) != 2:
        return tokens_linear(node, x)  # channels-last NCHW maps: emit/nhwc.py
    layer: Layer = {"kind": "linear", "out_features": node.attr("out_features")}
    return [layer if node.attr("bias") else {**layer, "bias": False}]


IMPORTS = Imports(
    modules={"torch.nn.Linear": lambda c: dict(in_features=c.module.in_features,
                                               out_features=c.module.out_features,
                                               bias=c.module.bias is not None)},
    functions={"torch.nn.functional.linear": _read_call}, aten={"aten.linear": _read_call},
    dispatch={"aten.addmm": _read_addmm, "aten.mm": _read_addmm},
    onnx={"Gemm": _read_gemm, "MatMul": _read_matmul},
    onnx_weights={"Gemm": (1, 2), "MatMul": (1,)}, emit=_emit)

LINEAR = OpKind(Linear, linear, _module, {"linear": "linear", "linear_bias": "linear bias"},
                keys_of=_keys, learnable=True, weight_grad=True, spec=SPEC, lower=_lower,
                imports=IMPORTS, fusion="head",  # per position: a 1×1 conv on the channels (ConvNeXt's)
                layer_class=lambda op: "pointwise" if op.per_position else "fully connected",
                channels_1x1=lambda op: (op.in_features, op.out_features) if op.per_position else None,
                kernel=lambda op, _: KernelForm("conv", op.in_features, op.out_features)
                if op.per_position else KernelForm("linear"))

KINDS = (LINEAR,)
