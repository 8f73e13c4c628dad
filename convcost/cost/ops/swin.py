"""Swin's window attention and patch merging on channels-last maps ``[N, H, W, C]`` (and, 3-D,
``[N, D, H, W, C]``: the video Swin).

``shifted_window_attention`` is torchvision's ``ShiftedWindowAttention`` (``heads``, ``window``,
``shift``), with ``cosine`` ``ShiftedWindowAttentionV2``, and on a 5-D map (a window of three
sizes) ``ShiftedWindowAttention3d``, whose window shrinks to an axis no longer than it (and
stops shifting on it) where the 2-D one pads the axis up to a window: the map padded to whole windows,
rolled by the shift, cut into windows, a qkv ``F.linear``, ``q·kᵀ`` (V2: of the L2-normalised q
and k, times a learnt logit scale), plus the relative-position bias (V1: gathered from a learnt
table of ``(2wh−1)·(2ww−1)·heads``; V2: the output of a 2→512→heads MLP over the table's
coordinates, ``cpb_mlp``), plus the shifted windows' mask, softmax, ``·v``, a projection, the
windows put back. Params are the module's ``sum(p.numel())``; paper MACs its two linears, its two
matmuls and V2's ``cpb_mlp`` (FlopCounterMode's count: the gather, mask, softmax and scaling are
not MACs). The 3-D bias table is ``(2wd−1)·(2wh−1)·(2ww−1)·heads``.

``patch_merge`` is torchvision's ``_patch_merging_pad``: the map padded to even sizes, its four
2×2 phases concatenated on the channels, ``[N, ⌈H/2⌉, ⌈W/2⌉, 4·C]``: a copy, no params, no MACs;
on ``[N, D, H, W, C]`` (Swin3D's ``PatchMerging``) it merges H and W alone.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.ops.conv_nd import per_axis
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError

CPB_HIDDEN = 512  # torchvision's cpb_mlp: Linear(2, 512) + ReLU + Linear(512, heads, bias=False)
_SWIN = "torchvision.models.swin_transformer"
_SWIN3D = "torchvision.models.video.swin_transformer"
_OWN = "convcost.cost.ops.swin_torch"  # the kind's own torch module (swin_torch.FX_LEAVES)


@dataclass(frozen=True)
class ShiftedWindowAttention(Op):
    key: ClassVar[str] = "shifted_window_attention"
    channels: int
    heads: int
    window: tuple[int, ...]  # (h, w), or 3-D (d, h, w)
    shift: tuple[int, ...] = (0, 0)
    cosine: bool = False


@dataclass(frozen=True)
class PatchMerge(Op):
    key: ClassVar[str] = "patch_merge"


def _nhwc(x: Shape, what: str, rank: int = 4) -> tuple[int, ...]:
    if len(x) != rank:
        want = "[N, H, W, C] (NHWC)" if rank == 4 else "[N, D, H, W, C] (NDHWC)"
        raise ShapeError(f"{what} needs a channels-last map {want}, got {list(x)}")
    return x


def up(size: int, step: int) -> int:
    return -(-size // step) * step


def table_rows(window: Sequence[int]) -> int:
    return math.prod(2 * w - 1 for w in window)


Sizes = tuple[int, ...]


def effective(op: ShiftedWindowAttention, x: Shape) -> tuple[Sizes, Sizes, Sizes]:
    """(window, shift, padded sizes) as the op runs on ``x``: 3-D, an axis no longer than the
    window is one unshifted window of its size (torchvision's ``_get_window_and_shift_size``);
    2-D, it is padded to one; an axis of one window does not shift."""
    sizes = _nhwc(x, "shifted_window_attention", len(op.window) + 2)[1:-1]
    if len(op.shift) != len(op.window):
        raise ShapeError(f"shifted_window_attention needs one shift per window axis, got "
                         f"window {list(op.window)} and shift {list(op.shift)}")
    window = tuple(map(min, op.window, sizes)) if len(sizes) == 3 else op.window
    padded = tuple(map(up, sizes, window))
    shift = tuple(s if w < p else 0 for s, w, p in zip(op.shift, window, padded, strict=True))
    return window, shift, padded


def swa_params(op: ShiftedWindowAttention) -> int:
    """qkv and proj with biases; V1 its bias table, V2 its logit scale and cpb_mlp."""
    c, heads = op.channels, op.heads
    own = 4 * c * c + 4 * c
    if op.cosine:  # logit_scale [heads, 1, 1]; cpb_mlp 2·512 + 512 (bias) + 512·heads
        return own + heads + 3 * CPB_HIDDEN + CPB_HIDDEN * heads
    return own + table_rows(op.window) * heads


def shifted_window_attention(op: ShiftedWindowAttention, x: Shape) -> LayerCost:
    # [N, H, W, C] -> [N, H, W, C]; T = N·Hp·Wp (H, W padded up to whole windows):
    # MACs = T·C·3C (qkv) + 2·T·(wh·ww)·C (q·kᵀ, a·v over the heads) + T·C·C (proj)
    #        + V2: (2wh−1)(2ww−1)·(2·512 + 512·heads) (cpb_mlp over the table's coordinates)
    # 3-D [N, D, H, W, C]: T = N·Dp·Hp·Wp and wd·wh·ww, each w = min(window, size)
    if op.cosine and len(op.window) != 2:
        raise ShapeError("shifted_window_attention: cosine (Swin V2) is 2-D only")
    window, _, padded = effective(op, x)
    c = x[-1]
    if c != op.channels or c % op.heads:
        raise ShapeError(f"shifted_window_attention expects {op.channels} channels "
                         f"({op.heads} heads dividing them), got {c}")
    tokens = x[0] * math.prod(padded)
    macs = 4 * tokens * c * c + 2 * tokens * math.prod(window) * c
    if op.cosine:
        macs += table_rows(op.window) * (2 * CPB_HIDDEN + CPB_HIDDEN * op.heads)
    return LayerCost(swa_params(op), macs, x)


def patch_merge(_: PatchMerge, x: Shape) -> LayerCost:
    # [N, H, W, C] -> [N, ⌈H/2⌉, ⌈W/2⌉, 4·C]; [N, D, H, W, C] -> [N, D, ⌈H/2⌉, ⌈W/2⌉, 4·C];
    # no params, no MACs
    *lead, h, w, c = x if len(x) == 5 else _nhwc(x, "patch_merge")
    return LayerCost(0, 0, (*lead, -(-h // 2), -(-w // 2), 4 * c))


def _swa_module(op: ShiftedWindowAttention, x: Shape) -> Any:
    from convcost.cost.ops.swin_torch import classes

    return classes()[0](op, x)


def _merge_module(_: PatchMerge, __: Shape) -> Any:
    from convcost.cost.ops.swin_torch import classes

    return classes()[1]()


def _lower_swa(f: Mapping[str, Any], x: Shape, at: Lowering) -> ShiftedWindowAttention:
    axes = 3 if len(x) == 5 else 2  # any other rank: the formula's error names the layout
    window, shift = (per_axis(f[key], axes, f"{at.path}.{key}") for key in ("window", "shift"))
    op = ShiftedWindowAttention(x[-1], f["heads"], window, shift, f["cosine"])
    return checked(shifted_window_attention, op, x, at.path)


def _read_swa(c: TorchCall) -> Fields:
    """``shifted_window_attention(x, qkv_weight, proj_weight, bias, window_size, num_heads,
    shift_size, ..., logit_scale)``: its hyper-parameters (its module's class says the rest)."""
    window, shift = c.arg(4, "window_size"), c.arg(6, "shift_size")
    return dict(channels=c.in_shapes[0][-1], heads=c.arg(5, "num_heads"), window=tuple(window),
                shift=tuple(shift),
                cosine=c.arg(11, "logit_scale") is not None)


def _read_swa3d(c: TorchCall) -> Fields:
    """``shifted_window_attention_3d(x, qkv_weight, proj_weight, bias, window_size, num_heads,
    shift_size, ...)``: the window and shift its module chose for this map."""
    return dict(channels=c.in_shapes[0][-1], heads=c.arg(5, "num_heads"),
                window=tuple(c.arg(4, "window_size")), shift=tuple(c.arg(6, "shift_size")),
                cosine=False)


def _emit_swa(node: Traced, x: Shape) -> list[Layer] | None:
    """The function alone, holding every param of its module (the bias table read as its
    state): the layer; else its module is (:func:`_whole`)."""
    return _whole([node], x, False)


def _whole(nodes: Sequence[Traced], shape: Shape, nhwc: bool) -> list[Layer] | None:
    """torchvision's ``ShiftedWindowAttention``(``V2``, ``3d``) on a channels-last map ``shape``:
    its ``shifted_window_attention`` call gives the fields; the module's params (bias table or
    cpb_mlp) and output shape must be the kind's."""
    calls = [n for n in nodes if n.op == "shifted_window_attention"]
    if nhwc or len(calls) != 1 or len(shape) not in (4, 5) or nodes[-1].shape != shape:
        return None
    call = calls[0]
    op = ShiftedWindowAttention(shape[-1], call.attr("heads"), tuple(call.attr("window")),
                                tuple(call.attr("shift")), bool(call.attr("cosine")))
    params = sum(n.params for n in nodes)
    op = _built(op, shape, params) if len(op.window) == 3 else op
    try:
        cost = shifted_window_attention(op, shape)
    except ShapeError:
        return None
    if cost.params != params:
        return None
    layer: Layer = {"kind": "shifted_window_attention", "heads": op.heads,
                    "window": _size(op.window), "shift": _size(op.shift)}
    return [{**layer, "cosine": True} if op.cosine else layer]


def _built(op: ShiftedWindowAttention, shape: Shape, params: int) -> ShiftedWindowAttention:
    """The op with the window its 3-D module was built with: its function reads the window
    narrowed to the map (an axis no longer than it), its bias table's rows (of the module's
    ``params``) say the built one; the one window that gives them, else ``op`` unchanged."""
    rows, extra = divmod(params - 4 * op.channels ** 2 - 4 * op.channels, op.heads)
    if extra or rows < 1:
        return op
    options = [[w] if w < size else [(d + 1) // 2 for d in range(2 * w - 1, rows + 1, 2)
                                     if rows % d == 0]
               for w, size in zip(op.window, shape[1:-1], strict=True)]
    found = [w for w in itertools.product(*options) if table_rows(w) == rows]
    return replace(op, window=found[0]) if len(found) == 1 else op


def _size(sizes: tuple[int, ...]) -> Any:
    """A spec size: one int when every axis has it, else the list."""
    return sizes[0] if len(set(sizes)) == 1 else list(sizes)


def _window(_: Op, __: Shape) -> None:
    return None  # windows, shifted every other block: the whole map, as a conservative bound


SHIFTED_WINDOW_ATTENTION = OpKind(
    ShiftedWindowAttention, shifted_window_attention, _swa_module,
    dict.fromkeys(("shifted_window_attention", "shifted_window_attention_v2"), "attention"),
    keys_of=lambda op: ("shifted_window_attention_v2" if op.cosine else "shifted_window_attention",),
    learnable=True, weight_grad=True,
    window=_window, layout="NHWC",
    spec=SpecKind(fields(heads=Field("int", doc="attention heads (divide the channels)"),
                         window=Field("sizes", doc="window size, int or [h, w] ([d, h, w] on "
                                      "[N, D, H, W, C])"),
                         shift=Field("sizes", 0, minimum=0,
                                     doc="cyclic shift per axis (0: plain windows)"),
                         cosine=Field("bool", False, doc="Swin V2: cosine attention, logit "
                                      "scale and the cpb_mlp bias")),
                  "torchvision's `ShiftedWindowAttention`(`V2`) on `[N, H, W, C]`, "
                  "`ShiftedWindowAttention3d` on `[N, D, H, W, C]`: "
                  "T·(4·C² + 2·wh·ww·C) MACs over the padded tokens T (3-D: ·wd)"),
    lower=_lower_swa,
    imports=Imports(functions={f"{_SWIN}.shifted_window_attention": _read_swa,
                               f"{_SWIN3D}.shifted_window_attention_3d": _read_swa3d,
                               f"{_OWN}.window_attention": _read_swa},  # the kind's own module
                    emit=_emit_swa,
                    classes=dict.fromkeys(("ShiftedWindowAttention", "ShiftedWindowAttentionV2",
                                           "ShiftedWindowAttention3d"), _whole)))
PATCH_MERGE = OpKind(
    PatchMerge, patch_merge, _merge_module, {"patch_merge": "views"}, layout="NHWC",
    spec=SpecKind(fields(), "Swin: `[N, H, W, C]` -> `[N, ⌈H/2⌉, ⌈W/2⌉, 4·C]`, the 2×2 phases "
                  "on the channels (torchvision's `_patch_merging_pad`; on `[N, D, H, W, C]` "
                  "of H and W)"),
    lower=lambda f, x, at: PatchMerge(),
    imports=Imports(functions={f"{_SWIN}._patch_merging_pad": lambda c: {},
                               f"{_OWN}.patch_merging_pad": lambda c: {}},
                    emit=lambda node, x: [{"kind": "patch_merge"}] if len(x) in (4, 5) else None))

KINDS = (SHIFTED_WINDOW_ATTENTION, PATCH_MERGE)
