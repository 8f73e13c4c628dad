"""Swin V2's cosine window attention as timm writes it: on the tokens of the windows
``[N·windows, n, C]`` (the partition, shift and mask are the model's own ops around it).

``cosine_window_attention`` is timm's ``swin_transformer_v2.WindowAttention`` (``variant:
swinv2``) and ``swin_transformer_v2_cr.WindowMultiHeadAttention`` (``swinv2_cr``): a qkv linear,
``q·kᵀ`` of the L2-normalised q and k times a learnt logit scale (clamped, exp), plus a
relative-position bias made by a 2 → ``hidden`` → heads MLP (ReLU), softmax, ``·v``, a
projection. swinv2: the MLP runs over the ``(2wh−1)·(2ww−1)`` relative coordinates, its output
is gathered to ``[heads, n, n]`` and squashed (16·sigmoid); qkv has no bias of its own but a
learnt q and v bias (k's a zero buffer); the MLP's second linear has no bias. swinv2_cr: the MLP
runs over all ``n²`` pairs of positions, with biases; qkv has its bias. Params are the module's
``sum(p.numel())``; paper MACs its linears (the MLP's too: FlopCounterMode counts them) and its two
matmuls; the normalisation, scale, gather, sigmoid and softmax are no MACs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced, spec_size
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.ops.swin import table_rows
from convcost.cost.value import LayerCost, Pair, Shape
from convcost.errors import ShapeError

VARIANTS = ("swinv2", "swinv2_cr")


@dataclass(frozen=True)
class CosineWindowAttention(Op):
    key: ClassVar[str] = "cosine_window_attention"
    channels: int
    heads: int
    window: Pair
    hidden: int = 512  # the position-bias MLP's width (timm: 512 swinv2, 384 swinv2_cr)
    variant: str = "swinv2"


def bias_rows(op: CosineWindowAttention) -> int:
    """The rows the position-bias MLP runs over: the relative coordinates, or every pair."""
    area = op.window[0] * op.window[1]
    return table_rows(op.window) if op.variant == "swinv2" else area * area


def cwa_params(op: CosineWindowAttention) -> int:
    # qkv 3C² and proj C² + C; swinv2: q, v biases 2C, MLP 2·h + h + h·heads; swinv2_cr: qkv
    # bias 3C, MLP 2·h + h + h·heads + heads; the logit scale: heads
    c, h, heads = op.channels, op.hidden, op.heads
    own = 4 * c * c + c + heads + 3 * h + h * heads
    return own + (2 * c if op.variant == "swinv2" else 3 * c + heads)


def cosine_window_attention(op: CosineWindowAttention, x: Shape) -> LayerCost:
    # [B, n, C] -> [B, n, C], n = wh·ww tokens a window, T = B·n:
    # MACs = T·C·3C (qkv) + 2·T·n·C (q·kᵀ, a·v over the heads) + T·C·C (proj)
    #        + rows·(2·h + h·heads) (the bias MLP; rows (2wh−1)(2ww−1), swinv2_cr n²)
    if len(x) != 3:
        raise ShapeError(f"cosine_window_attention needs the windows' tokens [N·windows, n, C] "
                         f"(NLC), got {list(x)}")
    b, n, c = x
    if n != op.window[0] * op.window[1]:
        raise ShapeError(f"cosine_window_attention expects {op.window[0]}·{op.window[1]} tokens "
                         f"a window, got {n}")
    if c != op.channels or c % op.heads:
        raise ShapeError(f"cosine_window_attention expects {op.channels} channels "
                         f"({op.heads} heads dividing them), got {c}")
    tokens = b * n
    macs = 4 * tokens * c * c + 2 * tokens * n * c
    macs += bias_rows(op) * (2 * op.hidden + op.hidden * op.heads)
    return LayerCost(cwa_params(op), macs, x)


def _module(op: CosineWindowAttention, _: Shape) -> Any:
    from convcost.cost.ops.swin_v2_torch import module

    return module(op)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> CosineWindowAttention:
    op = CosineWindowAttention(x[-1], f["heads"], f["window"], f["hidden"], f["variant"])
    return checked(cosine_window_attention, op, x, at.path)


def _window(bias: Traced, variant: str, tokens: int) -> Pair | None:
    """swinv2: the coordinate table the MLP's first linear reads, ``[1, 2wh−1, 2ww−1, h]``
    out; swinv2_cr: a square window of ``tokens`` (its ``n²`` rows say only their count)."""
    if variant == "swinv2":
        shape = bias.shape
        return ((shape[1] + 1) // 2, (shape[2] + 1) // 2) if len(shape) == 4 else None
    side = math.isqrt(tokens)
    return (side, side) if side * side == tokens else None


def _whole(variant: str) -> Any:
    def whole(nodes: Sequence[Traced], shape: Shape, nhwc: bool) -> list[Layer] | None:
        """timm's module on the windows' tokens ``shape``: the heads from ``q·kᵀ``, the MLP's
        width and the window from its first linear (2 coordinates in); its params and output
        shape must be the kind's (else another module of that class name: None)."""
        matmuls = [n for n in nodes if n.op == "matmul"]
        mlp = [n for n in nodes if n.op == "linear" and n.attr("in_features") == 2]
        if nhwc or len(shape) != 3 or nodes[-1].shape != shape or len(matmuls) != 2 \
                or len(mlp) != 1 or len(matmuls[0].shape) != 4:
            return None
        window = _window(mlp[0], variant, shape[1])
        if window is None:
            return None
        op = CosineWindowAttention(shape[-1], matmuls[0].shape[1], window,
                                   mlp[0].attr("out_features"), variant)
        try:
            params = cosine_window_attention(op, shape).params
        except ShapeError:
            return None
        if params != sum(n.params for n in nodes):
            return None
        return [{"kind": op.key, "heads": op.heads, "window": spec_size(op.window),
                 "hidden": op.hidden, "variant": variant}]
    return whole


COSINE_WINDOW_ATTENTION = OpKind(
    CosineWindowAttention, cosine_window_attention, _module,
    {"cosine_window_attention": "attention"}, learnable=True, weight_grad=True,
    spec=SpecKind(fields(heads=Field("int", doc="attention heads (divide the channels)"),
                         window=Field("pair", doc="window size, int or [h, w] (h·w tokens)"),
                         hidden=Field("int", 512, doc="the position-bias MLP's width"),
                         variant=Field("choice", "swinv2", VARIANTS,
                                       doc="timm's swinv2 (MLP over the relative coordinates) "
                                       "or swinv2_cr (over every pair of positions)")),
                  "timm's Swin V2 `WindowAttention` (`swinv2_cr`: `WindowMultiHeadAttention`) on "
                  "the windows' tokens `[N·windows, n, C]`: T·(4·C² + 2·n·C) MACs + its "
                  "position-bias MLP's"),
    lower=_lower,
    imports=Imports(classes={"WindowAttention": _whole("swinv2"),
                             "WindowMultiHeadAttention": _whole("swinv2_cr")}))

KINDS = (COSINE_WINDOW_ATTENTION,)
