"""The spec schema as data: the keys each layer kind takes. Read-only.

This table drives the validator (:mod:`convcost.spec.loader`) and the JSON Schema shipped for
editors (:mod:`convcost.spec.jsonschema`), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.cost.ops import ACTIVATIONS
from convcost.spec.fields import Field

WIDTHS = ("scaled", "fixed", "grow")


def _table(**fields: Field) -> Mapping[str, Field]:
    return MappingProxyType(fields)


_out = Field("int", doc="output channels (before the width multiplier)")
_width = Field("choice", "scaled", WIDTHS, doc="how α scales out_channels")
_kernel3 = Field("pair", (3, 3), doc="kernel size, int or [h, w]")
_stride = Field("pair", (1, 1), doc="stride, int or [h, w]")
_padding = Field("padding", "auto", doc="auto, same, int or [h, w]")
_dilation = Field("pair", (1, 1), doc="dilation, int or [h, w]")
_bias_off = Field("bool", False, doc="convolution bias")
_bn = Field("bool", False, doc="BatchNorm after the convolution")
_act_opt = Field("choice", None, ACTIVATIONS, nullable=True, doc="activation after the convolution")

SE_FIELDS: Mapping[str, Field] = _table(
    reduction=Field("int", 4, doc="squeeze channels = base // reduction"),
    divisor=Field("int", 8, nullable=True, doc="round squeeze channels with _make_divisible"),
    base=Field("choice", "expanded", ("expanded", "input"), doc="channels the reduction applies to"),
    act=Field("choice", "relu", ACTIVATIONS, doc="activation between the two 1×1 convs"),
    gate=Field("choice", "hardsigmoid", ACTIVATIONS, doc="gate activation"),
)

KIND_FIELDS: Mapping[str, Mapping[str, Field]] = MappingProxyType(
    {
        "conv": _table(
            out_channels=_out, kernel_size=_kernel3, stride=_stride, padding=_padding,
            dilation=_dilation, groups=Field("int", 1), bias=_bias_off, bn=_bn, act=_act_opt,
            width=_width,
        ),
        "dwconv": _table(
            kernel_size=_kernel3, stride=_stride, padding=_padding, dilation=_dilation,
            multiplier=Field("int", 1, doc="channel multiplier"), bias=_bias_off, bn=_bn,
            act=_act_opt,
        ),
        "pwconv": _table(
            out_channels=_out, groups=Field("int", 1), bias=_bias_off, bn=_bn, act=_act_opt,
            width=_width,
        ),
        "bn": _table(affine=Field("bool", True)),
        "act": _table(fn=Field("choice", choices=ACTIVATIONS)),
        "pool": _table(
            op=Field("choice", choices=("avg", "max")),
            **{"global": Field("bool", False, doc="adaptive pool to 1×1")},
            output_size=Field("pair", None, nullable=True, doc="adaptive pool output size"),
            kernel_size=Field("pair", None, nullable=True),
            stride=Field("pair", None, nullable=True, doc="defaults to kernel_size"),
            padding=Field("pair", (0, 0), minimum=0),
            ceil_mode=Field("bool", False),
        ),
        "linear": _table(
            out_features=Field("int", doc="output features"),
            bias=Field("bool", True),
            width=Field("choice", "fixed", WIDTHS),
            in_features=Field("int", None, nullable=True, doc="checked against the input"),
        ),
        "flatten": _table(),
        "dropout": _table(p=Field("fraction", 0.5)),
        "dsconv": _table(
            out_channels=_out, kernel_size=_kernel3, stride=_stride,
            act=Field("choice", "relu", ACTIVATIONS), bias=_bias_off, width=_width,
        ),
        "inverted_residual": _table(
            out_channels=_out,
            expand_ratio=Field("number", None, nullable=True, doc="hidden = round(C_in · t)"),
            expanded_channels=Field("int", None, nullable=True, doc="hidden width, scaled by α"),
            kernel_size=_kernel3, stride=_stride,
            act=Field("choice", "relu6", ACTIVATIONS),
            se=Field("mapping", None, nullable=True, doc="squeeze-excitation"),
            residual=Field("choice", "auto", ("auto", "never"), doc="auto: add when shapes match"),
            width=_width,
        ),
        "basic_block": _table(out_channels=_out, stride=_stride, width=_width),
        "bottleneck": _table(
            out_channels=_out, stride=_stride,
            mid_channels=Field("int", None, nullable=True, doc="default out_channels // 4"),
            groups=Field("int", 1), width=_width,
        ),
        "shuffle_unit": _table(out_channels=_out, stride=_stride, width=_width),
        "sequential": _table(layers=Field("layers", doc="the group's layers, in order")),
    }
)

COMMON_FIELDS: Mapping[str, Field] = _table(
    repeat=Field("int", 1, doc="repeat the layer; copies after the first use stride 1"),
    in_channels=Field("int", None, nullable=True, doc="checked against the inferred input"),
)

INPUT_FIELDS: Mapping[str, Field] = _table(
    channels=Field("int", 3),
    resolution=Field("int", None, nullable=True),
    height=Field("int", None, nullable=True),
    width=Field("int", None, nullable=True),
    batch=Field("int", 1),
)

#: Most leaf ops one layer of each kind expands to (conv + BN + act = 3; an inverted residual
#: with expansion, SE and residual = 3 + 3 + 6 + 2 + 1 = 15). Bounds the network's size
#: before it is expanded; tests/unit/test_limits.py checks each bound against the expansion.
LEAF_BOUND: Mapping[str, int] = MappingProxyType({
    "conv": 3, "dwconv": 3, "pwconv": 3, "bn": 1, "act": 1, "pool": 1, "linear": 1, "flatten": 1,
    "dropout": 1, "dsconv": 6, "inverted_residual": 15, "basic_block": 9, "bottleneck": 12,
    "shuffle_unit": 15,
})

LAYER_KEYS = ("kind", "name", *COMMON_FIELDS)
MODEL_KEYS = ("name", "input", "width_multiplier", "divisor", "budget", "blocks", "layers")
