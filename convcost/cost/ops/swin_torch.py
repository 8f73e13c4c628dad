"""The torch modules of :mod:`convcost.cost.ops.swin` (torch imported inside functions only):
torchvision's ``ShiftedWindowAttention``(``V2``) and ``_patch_merging_pad``, op for op, so that
every tool counts them as it counts torchvision's (tests/torch/test_swin.py)."""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any

from convcost.cost.ops.swin import CPB_HIDDEN, ShiftedWindowAttention, table_rows, up
from convcost.cost.value import Pair

if TYPE_CHECKING:
    import torch


def _init(m: Any, op: ShiftedWindowAttention) -> None:
    import torch
    from torch import nn

    c, (wh, ww) = op.channels, op.window
    m.op = op
    m.qkv, m.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
    if op.cosine:
        m.logit_scale = nn.Parameter(torch.zeros(op.heads, 1, 1))
        m.cpb_mlp = nn.Sequential(nn.Linear(2, CPB_HIDDEN), nn.ReLU(),
                                  nn.Linear(CPB_HIDDEN, op.heads, bias=False))
        m.register_buffer("coords", torch.zeros(1, 2 * wh - 1, 2 * ww - 1, 2))
    else:
        m.table = nn.Parameter(torch.zeros(table_rows(op.window), op.heads))
    grid = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij"))
    rel = (grid.flatten(1)[:, :, None] - grid.flatten(1)[:, None, :]).permute(1, 2, 0)
    m.register_buffer("index", ((rel[..., 0] + wh - 1) * (2 * ww - 1) + rel[..., 1] + ww - 1).flatten())


def _bias(m: Any) -> torch.Tensor:
    """The relative-position bias ``[1, heads, wh·ww, wh·ww]`` (V2: of the cpb_mlp)."""
    import torch

    heads, size = m.op.heads, m.op.window[0] * m.op.window[1]
    table = m.cpb_mlp(m.coords).view(-1, heads) if m.op.cosine else m.table
    bias = table[m.index].view(size, size, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
    return 16 * torch.sigmoid(bias) if m.op.cosine else bias


def _scores(q: torch.Tensor, k: torch.Tensor, x: torch.Tensor, bias: torch.Tensor,
            logit_scale: torch.Tensor | None, heads: int, window: Pair,
            grid: tuple[int, int, int], shift: tuple[int, int]) -> torch.Tensor:
    """Attention weights of the windows: q·kᵀ (V2 cosine, scaled), the bias, the shift's mask;
    ``grid``: the windows, the padded height and width."""
    import torch
    from torch.nn import functional

    c = x.shape[-1]
    if logit_scale is not None:
        attn = functional.normalize(q, dim=-1) @ functional.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(logit_scale, max=math.log(100.0)).exp()
    else:
        attn = (q * (c // heads) ** -0.5).matmul(k.transpose(-2, -1))
    attn = attn + bias
    if sum(shift):
        windows, hp, wp = grid
        attn = attn.view(x.size(0) // windows, windows, heads, x.size(1), x.size(1)) + _mask(
            x, (hp, wp), window, shift).unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, x.size(1), x.size(1))
    return functional.dropout(functional.softmax(attn, dim=-1), p=0.0, training=False)


def window_attention(x: torch.Tensor, qkv_weight: torch.Tensor, proj_weight: torch.Tensor,
                     relative_position_bias: torch.Tensor, window_size: Pair, num_heads: int,
                     shift_size: Pair, attention_dropout: float = 0.0, dropout: float = 0.0,
                     qkv_bias: torch.Tensor | None = None, proj_bias: torch.Tensor | None = None,
                     logit_scale: torch.Tensor | None = None) -> torch.Tensor:
    """torchvision's ``shifted_window_attention`` (its arguments, in order): pad, roll, windows,
    attention, back. The importer's torch.fx tracer keeps it one call (as torchvision's
    ``torch.fx.wrap``): the kind's module reads back as one layer."""
    import torch
    from torch.nn import functional

    n, h, w, c = x.shape
    (wh, ww), heads = window_size, num_heads
    x = functional.pad(x, (0, 0, 0, up(w, ww) - w, 0, up(h, wh) - h))
    hp, wp = x.shape[1], x.shape[2]
    sh, sw = (s if win < size else 0 for s, win, size in zip(shift_size, window_size, (hp, wp),
                                                               strict=True))
    x = torch.roll(x, (-sh, -sw), (1, 2)) if sh + sw else x
    windows = (hp // wh) * (wp // ww)
    x = x.view(n, hp // wh, wh, wp // ww, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(n * windows, wh * ww, c)
    qkv = functional.linear(x, qkv_weight, qkv_bias)
    q, k, v = qkv.reshape(x.size(0), x.size(1), 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    attn = _scores(q, k, x, relative_position_bias, logit_scale, heads, window_size,
                   (windows, hp, wp), (sh, sw))
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c)
    x = functional.dropout(functional.linear(x, proj_weight, proj_bias), p=dropout, training=False)
    x = x.view(n, hp // wh, wp // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(n, hp, wp, c)
    x = torch.roll(x, (sh, sw), (1, 2)) if sh + sw else x
    return x[:, :h, :w, :].contiguous()


def _forward(m: Any, x: torch.Tensor) -> torch.Tensor:
    return window_attention(x, m.qkv.weight, m.proj.weight, _bias(m), m.op.window, m.op.heads,
                            m.op.shift, 0.0, 0.0, m.qkv.bias, m.proj.bias,
                            m.logit_scale if m.op.cosine else None)


def _mask(x: torch.Tensor, size: tuple[int, int], window: Pair, shift: Pair) -> torch.Tensor:
    """torchvision's attention mask of the shifted windows (-100 across a region's edge)."""
    (hp, wp), (wh, ww), (sh, sw) = size, window, shift
    mask = x.new_zeros((hp, wp))
    count = 0
    for h in ((0, -wh), (-wh, -sh), (-sh, None)):
        for w in ((0, -ww), (-ww, -sw), (-sw, None)):
            mask[h[0]:h[1], w[0]:w[1]] = count
            count += 1
    mask = mask.view(hp // wh, wh, wp // ww, ww).permute(0, 2, 1, 3).reshape(-1, wh * ww)
    mask = mask.unsqueeze(1) - mask.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


def patch_merging_pad(x: torch.Tensor) -> torch.Tensor:
    """torchvision's ``_patch_merging_pad`` (one call to the importer's torch.fx tracer)."""
    import torch
    from torch.nn import functional

    h, w = x.shape[-3], x.shape[-2]
    x = functional.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    return torch.cat([x[..., i::2, j::2, :] for j in (0, 1) for i in (0, 1)], -1)


@cache
def classes() -> tuple[type, type]:
    """(the attention module class, the patch merge module class)."""
    from torch import nn

    class ShiftedWindowAttentionModule(nn.Module):
        def __init__(self, op: ShiftedWindowAttention) -> None:
            super().__init__()
            _init(self, op)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return _forward(self, x)

    class PatchMergeModule(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return patch_merging_pad(x)

    return ShiftedWindowAttentionModule, PatchMergeModule


FX_LEAVES = (window_attention, patch_merging_pad)
"""The functions the importer's torch.fx tracer keeps whole (``autowrap_functions``)."""
