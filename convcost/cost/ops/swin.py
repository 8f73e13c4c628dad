"""Swin's window attention and patch merging on channels-last maps ``[N, H, W, C]``.

``shifted_window_attention`` is torchvision's ``ShiftedWindowAttention`` (``heads``, ``window``,
``shift``) and, with ``cosine``, ``ShiftedWindowAttentionV2``: the map padded to whole windows,
rolled by the shift, cut into windows, a qkv ``F.linear``, ``q·kᵀ`` (V2: of the L2-normalised q
and k, times a learnt logit scale), plus the relative-position bias (V1: gathered from a learnt
table of ``(2wh−1)·(2ww−1)·heads``; V2: the output of a 2→512→heads MLP over the table's
coordinates, ``cpb_mlp``), plus the shifted windows' mask, softmax, ``·v``, a projection, the
windows put back. Params are the module's ``sum(p.numel())``; paper MACs its two linears, its two
matmuls and V2's ``cpb_mlp`` (FlopCounterMode's count: the gather, mask, softmax and scaling are
not MACs).

``patch_merge`` is torchvision's ``_patch_merging_pad``: the map padded to even sizes, its four
2×2 phases concatenated on the channels, ``[N, ⌈H/2⌉, ⌈W/2⌉, 4·C]``: a copy, no params, no MACs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, TorchCall, Traced, spec_size
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.value import LayerCost, Pair, Shape
from convcost.errors import ShapeError

CPB_HIDDEN = 512  # torchvision's cpb_mlp: Linear(2, 512) + ReLU + Linear(512, heads, bias=False)
_SWIN = "torchvision.models.swin_transformer"
_OWN = "convcost.cost.ops.swin_torch"  # the kind's own torch module (swin_torch.FX_LEAVES)


@dataclass(frozen=True)
class ShiftedWindowAttention(Op):
    key: ClassVar[str] = "shifted_window_attention"
    channels: int
    heads: int
    window: Pair
    shift: Pair = (0, 0)
    cosine: bool = False


@dataclass(frozen=True)
class PatchMerge(Op):
    key: ClassVar[str] = "patch_merge"


def _nhwc(x: Shape, what: str) -> tuple[int, int, int, int]:
    if len(x) != 4:
        raise ShapeError(f"{what} needs a channels-last map [N, H, W, C] (NHWC), got {list(x)}")
    return x[0], x[1], x[2], x[3]


def up(size: int, step: int) -> int:
    return -(-size // step) * step


def table_rows(window: Pair) -> int:
    return (2 * window[0] - 1) * (2 * window[1] - 1)


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
    n, h, w, c = _nhwc(x, "shifted_window_attention")
    if c != op.channels or c % op.heads:
        raise ShapeError(f"shifted_window_attention expects {op.channels} channels "
                         f"({op.heads} heads dividing them), got {c}")
    wh, ww = op.window
    tokens = n * up(h, wh) * up(w, ww)
    macs = 4 * tokens * c * c + 2 * tokens * wh * ww * c
    if op.cosine:
        macs += table_rows(op.window) * (2 * CPB_HIDDEN + CPB_HIDDEN * op.heads)
    return LayerCost(swa_params(op), macs, x)


def patch_merge(_: PatchMerge, x: Shape) -> LayerCost:
    # [N, H, W, C] -> [N, ⌈H/2⌉, ⌈W/2⌉, 4·C]; no params, no MACs
    n, h, w, c = _nhwc(x, "patch_merge")
    return LayerCost(0, 0, (n, -(-h // 2), -(-w // 2), 4 * c))


def _swa_module(op: ShiftedWindowAttention, _: Shape) -> Any:
    from convcost.cost.ops.swin_torch import classes

    return classes()[0](op)


def _merge_module(_: PatchMerge, __: Shape) -> Any:
    from convcost.cost.ops.swin_torch import classes

    return classes()[1]()


def _lower_swa(f: Mapping[str, Any], x: Shape, at: Lowering) -> ShiftedWindowAttention:
    op = ShiftedWindowAttention(x[-1], f["heads"], f["window"], f["shift"], f["cosine"])
    return checked(shifted_window_attention, op, x, at.path)


def _read_swa(c: TorchCall) -> Fields:
    """``shifted_window_attention(x, qkv_weight, proj_weight, bias, window_size, num_heads,
    shift_size, ..., logit_scale)``: its hyper-parameters (its module's class says the rest)."""
    window, shift = c.arg(4, "window_size"), c.arg(6, "shift_size")
    return dict(channels=c.in_shapes[0][-1], heads=c.arg(5, "num_heads"), window=tuple(window),
                shift=tuple(shift),
                cosine=c.arg(11, "logit_scale") is not None)


def _emit_swa(node: Traced, x: Shape) -> list[Layer] | None:
    """The function alone, holding every param of its module (the bias table read as its
    state): the layer; else its module is (:func:`_whole`)."""
    return _whole([node], x, False)


def _whole(nodes: Sequence[Traced], shape: Shape, nhwc: bool) -> list[Layer] | None:
    """torchvision's ``ShiftedWindowAttention``(``V2``) on a channels-last map ``shape``: its
    ``shifted_window_attention`` call gives the fields; the module's params (bias table or
    cpb_mlp) and output shape must be the kind's."""
    calls = [n for n in nodes if n.op == "shifted_window_attention"]
    if nhwc or len(calls) != 1 or len(shape) != 4 or nodes[-1].shape != shape:
        return None
    call = calls[0]
    op = ShiftedWindowAttention(shape[-1], call.attr("heads"), tuple(call.attr("window")),
                                tuple(call.attr("shift")), bool(call.attr("cosine")))
    try:
        cost = shifted_window_attention(op, shape)
    except ShapeError:
        return None
    if cost.params != sum(n.params for n in nodes):
        return None
    layer: Layer = {"kind": "shifted_window_attention", "heads": op.heads,
                    "window": spec_size(op.window), "shift": spec_size(op.shift)}
    return [{**layer, "cosine": True} if op.cosine else layer]


def _window(_: Op, __: Shape) -> None:
    return None  # windows, shifted every other block: the whole map, as a conservative bound


SHIFTED_WINDOW_ATTENTION = OpKind(
    ShiftedWindowAttention, shifted_window_attention, _swa_module,
    dict.fromkeys(("shifted_window_attention", "shifted_window_attention_v2"), "attention"),
    keys_of=lambda op: ("shifted_window_attention_v2" if op.cosine else "shifted_window_attention",),
    learnable=True, weight_grad=True,
    window=_window, layout="NHWC",
    spec=SpecKind(fields(heads=Field("int", doc="attention heads (divide the channels)"),
                         window=Field("pair", doc="window size, int or [h, w]"),
                         shift=Field("pair", 0, minimum=0, doc="cyclic shift (0: plain windows)"),
                         cosine=Field("bool", False, doc="Swin V2: cosine attention, logit "
                                      "scale and the cpb_mlp bias")),
                  "torchvision's `ShiftedWindowAttention`(`V2`) on `[N, H, W, C]`: "
                  "T·(4·C² + 2·wh·ww·C) MACs over the padded tokens T"),
    lower=_lower_swa,
    imports=Imports(functions={f"{_SWIN}.shifted_window_attention": _read_swa,
                               f"{_OWN}.window_attention": _read_swa},  # the kind's own module
                    emit=_emit_swa,
                    classes={"ShiftedWindowAttention": _whole, "ShiftedWindowAttentionV2": _whole}))
PATCH_MERGE = OpKind(
    PatchMerge, patch_merge, _merge_module, {"patch_merge": "views"}, layout="NHWC",
    spec=SpecKind(fields(), "Swin: `[N, H, W, C]` -> `[N, ⌈H/2⌉, ⌈W/2⌉, 4·C]`, the 2×2 phases "
                  "on the channels (torchvision's `_patch_merging_pad`)"),
    lower=lambda f, x, at: PatchMerge(),
    imports=Imports(functions={f"{_SWIN}._patch_merging_pad": lambda c: {},
                               f"{_OWN}.patch_merging_pad": lambda c: {}},
                    emit=lambda node, x: [{"kind": "patch_merge"}] if len(x) == 4 else None))

KINDS = (SHIFTED_WINDOW_ATTENTION, PATCH_MERGE)
