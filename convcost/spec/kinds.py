"""The spec layer kinds as data: the keys each kind takes, and what it becomes. Read-only.

Leaf kinds (bn, act, pool, linear, ...) are declared with their op in
:mod:`convcost.cost.ops` and collected by :mod:`convcost.cost.registry`; the kinds that expand
to several ops (the conv units conv/dwconv/pwconv, which add bn/act, and the blocks) are
declared here and expanded by :data:`convcost.net.expand.EXPANDERS`. :data:`SPEC_KINDS` drives
the validator (:mod:`convcost.spec.loader`), the JSON Schema (:mod:`convcost.spec.jsonschema`)
and the kinds tables of docs/spec-format.md, so none of them can disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from convcost.cost.layout import LAYOUTS
from convcost.cost.opkind import Field, SpecKind, fields
from convcost.cost.ops.act import ACTIVATIONS
from convcost.cost.ops.linear import WIDTHS
from convcost.cost.registry import SPEC_OPS
from convcost.errors import SpecError

_out = Field("int", doc="output channels (before the width multiplier)")
_width = Field("choice", "scaled", WIDTHS, doc="how α scales out_channels")
_kernel3 = Field("pair", (3, 3), doc="kernel size, int or [h, w]")
_stride = Field("pair", (1, 1), doc="stride, int or [h, w]")
_padding = Field("padding", "auto", doc="auto, same, tf_same, int or [h, w]")
_dilation = Field("pair", (1, 1), doc="dilation, int or [h, w]")
_bias_off = Field("bool", False, doc="convolution bias")
_bn = Field("bool", False, doc="BatchNorm after the convolution")
_act_opt = Field("choice", None, ACTIVATIONS, nullable=True, doc="activation after the convolution")

SE_FIELDS: Mapping[str, Field] = fields(
    reduction=Field("int", 4, doc="squeeze channels = base // reduction"),
    divisor=Field("int", 8, nullable=True, doc="round squeeze channels with _make_divisible"),
    base=Field("choice", "expanded", ("expanded", "input"), doc="channels the reduction applies to"),
    act=Field("choice", "relu", ACTIVATIONS, doc="activation between the two 1×1 convs"),
    gate=Field("choice", "hardsigmoid", ACTIVATIONS, doc="gate activation"),
    squeeze=Field("choice", "pool", ("pool", "mean"),
                  doc="pool: nn.AdaptiveAvgPool2d(1); mean: x.mean((2, 3), keepdim=True) (timm's "
                      "SE; fvcore counts no aten::mean)"),
)


_se = Field("mapping", None, nullable=True, doc="squeeze-excitation")
_residual = Field("choice", "auto", ("auto", "never"), doc="auto: add when shapes match")

MERGES = ("add", "mul", "concat")
"""The merge kinds a container may end in."""
RESIDUAL_MERGES = (*MERGES, "matmul", "sub", "div")
"""A residual's too: ``x @ W``, ``x - W``, ``x / W``, W a parameter or buffer read as a tensor (a
``param`` body)."""

_merge_branches = Field("choice", "concat", MERGES, doc="how the branch outputs are merged")

CONTAINERS = ("sequential", "residual", "parallel", "split")
"""Kinds that hold layers; their nodes' costs are their children's."""

LAYER_LISTS = ("layers", "shortcut", "branches")
"""Keys of a layer mapping that hold a list of layers."""


def _one_hidden_width(f: Mapping[str, Any], path: str) -> None:
    if (f["expand_ratio"] is None) == (f["expanded_channels"] is None):
        raise SpecError("give exactly one of expand_ratio and expanded_channels", path=path)


CONV_UNITS: Mapping[str, SpecKind] = MappingProxyType({
    "conv": SpecKind(fields(
        out_channels=_out, kernel_size=_kernel3, stride=_stride, padding=_padding,
        dilation=_dilation, groups=Field("int", 1), bias=_bias_off, bn=_bn, act=_act_opt,
        width=_width), "`nn.Conv2d`", max_leaves=3),
    "dwconv": SpecKind(fields(
        kernel_size=_kernel3, stride=_stride, padding=_padding, dilation=_dilation,
        multiplier=Field("int", 1, doc="channel multiplier"), bias=_bias_off, bn=_bn,
        act=_act_opt), "`nn.Conv2d(C, C·m, groups=C)`", max_leaves=3),
    "pwconv": SpecKind(fields(
        out_channels=_out, groups=Field("int", 1), bias=_bias_off, bn=_bn, act=_act_opt,
        width=_width), "`nn.Conv2d(k=1)`", max_leaves=3),
})
"""Convolutions; with ``bn``/``act`` they become a block ``conv``, ``bn``, ``act``."""

BLOCKS: Mapping[str, SpecKind] = MappingProxyType({
    "dsconv": SpecKind(fields(
        out_channels=_out, kernel_size=_kernel3, stride=_stride,
        act=Field("choice", "relu", ACTIVATIONS), bias=_bias_off, se=_se, width=_width),
        "`dw` (dwconv + bn + act), `se`, `pw` (pwconv + bn + act) — MobileNet V1",
        max_leaves=12),  # dw 3 + SE 6 + pw 3
    "inverted_residual": SpecKind(fields(
        out_channels=_out,
        expand_ratio=Field("number", None, nullable=True, doc="hidden = round(C_in · t)"),
        expanded_channels=Field("int", None, nullable=True, doc="hidden width, scaled by α"),
        kernel_size=_kernel3, stride=_stride, dilation=_dilation,
        act=Field("choice", "relu6", ACTIVATIONS), se=_se,
        expand=Field("choice", "auto", ("auto", "always"),
                     doc="always: keep the expand conv when the hidden width equals the input"),
        residual=_residual, width=_width),
        "`expand` (pw + bn + act, omitted when the hidden width equals the input unless "
        "`expand: always`), `dw` (dilated by `dilation`) "
        "+ bn + act), `se`, `project` (pw + bn), `add` when stride is 1 and in = out "
        "channels — MobileNetV2/V3, EfficientNet MBConv", _one_hidden_width,
        max_leaves=15),  # expand 3 + dw 3 + SE 6 + project 2 + add 1
    "fused_mbconv": SpecKind(fields(
        out_channels=_out, expand_ratio=Field("number", 1, doc="hidden = round(C_in · t)"),
        kernel_size=_kernel3, stride=_stride, act=Field("choice", "silu", ACTIVATIONS),
        residual=_residual, width=_width),
        "`expand` (k×k conv, stride + bn + act), `project` (1×1 + bn); with hidden = input "
        "a single `expand` (k×k conv + bn + act) to out_channels; `add` when stride is 1 and "
        "in = out channels — EfficientNetV2 Fused-MBConv",
        max_leaves=6),  # expand 3 + project 2 + add 1
    "basic_block": SpecKind(fields(out_channels=_out, stride=_stride, dilation=_dilation,
                                   width=_width),
        "`conv1` (3×3 + bn + relu), `conv2` (3×3 + bn), both dilated by `dilation`, "
        "`downsample` (1×1 + bn, when stride ≠ 1 or channels change), `add`, `act` — "
        "ResNet-18/34", max_leaves=9),
    "bottleneck": SpecKind(fields(
        out_channels=_out, stride=_stride, dilation=_dilation,
        mid_channels=Field("int", None, nullable=True, doc="default out_channels // 4"),
        groups=Field("int", 1), se=_se, width=_width),
        "`conv1` (1×1), `conv2` (3×3, stride, groups, dilation), `se` (on conv2's output), "
        "`conv3` (1×1, no act), `downsample`, `add`, `act` — ResNet-50 (v1.5), RegNetY",
        max_leaves=18),  # 3 convs 9 + SE 6 + downsample 2 + add + act
    "shuffle_unit": SpecKind(fields(out_channels=_out, stride=_stride, width=_width),
        "ShuffleNetV2 unit: stride 1 splits the channels in halves and runs `branch2` on the "
        "second; stride 2 runs `branch1` and `branch2` on the whole input; then `concat` and "
        "a channel `shuffle` of 2 groups", max_leaves=15),
    "se": SpecKind(fields(
        squeeze_channels=Field("int", None, nullable=True,
                               doc="squeeze width (scaled by α); default C // reduction"),
        **{k: v for k, v in SE_FIELDS.items() if k != "base"}),
        "`pool` (global avg), `fc1` (1×1 conv + bias), `act`, `fc2` (1×1 conv + bias), `gate`, "
        "`scale` (x · gate) — torchvision's SqueezeExcitation on its input", max_leaves=6),
    "patch_embed": SpecKind(fields(
        out_channels=Field("int", doc="embedding width (before the width multiplier)"),
        patch=Field("pair", doc="patch size: the conv's kernel and stride"),
        bias=Field("bool", True, doc="conv bias"),
        tokens=Field("choice", "sequence", ("sequence", "map"),
                     doc="sequence: [N, H·W, C] (ViT); map: channels-last [N, H, W, C] (Swin)"),
        norm=Field("bool", False, doc="LayerNorm over C after it"), width=_width),
        "`proj` (conv, kernel = stride = patch), then `flatten` (dims 2..3) and `transpose` "
        "to tokens `[N, H·W, C]` (or `permute` to `[N, H, W, C]`), `norm` — ViT, Swin",
        max_leaves=4),
    "sequential": SpecKind(fields(layers=Field("layers", doc="a non-empty list of layers")),
        "the layers in order, as one named group: a child `x` of group `g` is `g.x`. With "
        "`repeat`, every copy is the group as written (a group has no stride of its own, so the "
        "stride rule does not apply)",
        max_leaves=0),  # the bound of a group is its children's (spec/loader.py)
    "residual": SpecKind(fields(
        layers=Field("layers", doc="the body: a non-empty list of layers, on the input"),
        shortcut=Field("layers", None, nullable=True,
                       doc="layers on the input (default: the input itself)"),
        merge=Field("choice", "add", RESIDUAL_MERGES, doc="merge(shortcut, body)")),
        "`merge(shortcut(x), body(x))`: the body's layers, the shortcut's (default names "
        "`shortcut.0`, ...), then the merge `add` (or `mul`, `concat`; `matmul`, "
        "`sub`, `div`: `x @ W`, `x - W`, `x / W`, W a `param`)",
        max_leaves=1),  # the merge; the rest is its children's (spec/loader.py)
    "parallel": SpecKind(fields(
        branches=Field("layers", doc="one layer per branch (a sequential for a chain), each "
                       "on the input"),
        merge=_merge_branches),
        "every branch on the input, then `concat` (or `add`, `mul`) of their outputs in order — "
        "Inception, ASPP", max_leaves=1),
    "split": SpecKind(fields(
        branches=Field("layers", doc="one layer per chunk (a sequential for a chain)"),
        sizes=Field("ints", None, nullable=True,
                    doc="channels of each chunk (default: equal chunks, one per branch)"),
        merge=_merge_branches),
        "the input split along the channels (`torch.split`), branch i on chunk i, then "
        "`concat` (or `add`, `mul`) — MixConv, ShuffleNet", max_leaves=1),
})
"""Blocks of several layers (expanded by :data:`convcost.net.expand.EXPANDERS`)."""

SPEC_KINDS: Mapping[str, SpecKind] = MappingProxyType({
    **CONV_UNITS,
    **{key: kind.spec for key, kind in SPEC_OPS.items() if kind.spec is not None},
    **BLOCKS,
})
"""Every spec layer kind -> its declaration: conv units, leaf kinds, then blocks."""

COMMON_FIELDS: Mapping[str, Field] = fields(
    repeat=Field("int", 1, doc="repeat the layer; copies after the first use stride 1"),
    in_channels=Field("int", None, nullable=True, doc="checked against the inferred input"),
    shares=Field("text", None, nullable=True,
                 doc="an earlier layer of the same list whose weights it reuses (a module called "
                     "twice): its params are counted there, its MACs at each call"),
)

INPUT_FIELDS: Mapping[str, Field] = fields(
    shape=Field("dims", None, nullable=True,
                doc="every size, batch first, e.g. [1, 3, 16, 112, 112] (instead of channels, "
                    "resolution, height, width and batch)"),
    layout=Field("choice", None, LAYOUTS, nullable=True,
                 doc="what each axis of shape is (default: channels-first by rank, NC, NCL, "
                     "NCHW, NCDHW)"),
    channels=Field("int", 3),
    resolution=Field("int", None, nullable=True),
    height=Field("int", None, nullable=True),
    width=Field("int", None, nullable=True),
    batch=Field("int", 1),
)

LEAF_BOUND: Mapping[str, int] = MappingProxyType(
    {kind: spec.max_leaves for kind, spec in SPEC_KINDS.items()})
"""Spec kind -> the most leaf ops one layer of it expands to (:attr:`SpecKind.max_leaves`)."""

LAYER_KEYS = ("kind", "name", "from", *COMMON_FIELDS)
MODEL_KEYS = ("name", "input", "inputs", "width_multiplier", "divisor", "budget", "blocks",
              "layers", "outputs")
