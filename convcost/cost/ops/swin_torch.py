"""The torch modules of :mod:`convcost.cost.ops.swin` (torch imported inside functions only):
torchvision's ``ShiftedWindowAttention``(``V2``, ``3d``) and ``_patch_merging_pad``, op for op,
so that every tool counts them as it counts torchvision's (tests/torch/test_swin.py). One code
runs 2-D and 3-D windows: the axes are those of the window."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from convcost.cost.ops.swin import CPB_HIDDEN, ShiftedWindowAttention, effective, table_rows, up
from convcost.cost.value import Shape

if TYPE_CHECKING:
    import torch


def _init(m: Any, op: ShiftedWindowAttention, x: Shape) -> None:
    """The module's weights and buffers; its window and shift on maps of ``x``'s sizes, as
    plain ints (3-D: torchvision's module narrows them to the map at each call)."""
    import torch
    from torch import nn

    c, (wh, ww) = op.channels, op.window[-2:]
    m.op, (m.window, m.shift, _) = op, effective(op, x)
    m.qkv, m.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
    if op.cosine:
        m.logit_scale = nn.Parameter(torch.zeros(op.heads, 1, 1))
        m.cpb_mlp = nn.Sequential(nn.Linear(2, CPB_HIDDEN), nn.ReLU(),
                                  nn.Linear(CPB_HIDDEN, op.heads, bias=False))
        m.register_buffer("coords", torch.zeros(1, 2 * wh - 1, 2 * ww - 1, 2))
    else:
        m.table = nn.Parameter(torch.zeros(table_rows(op.window), op.heads))
    grid = torch.stack(torch.meshgrid(*map(torch.arange, op.window), indexing="ij")).flatten(1)
    rel = (grid[:, :, None] - grid[:, None, :]).permute(1, 2, 0)
    index = rel.new_zeros(rel.shape[:2])
    for axis, win in enumerate(op.window):  # mixed radix: (2w − 1) positions per axis
        index = index * (2 * win - 1) + rel[..., axis] + win - 1
    m.register_buffer("index", index)


def _bias(m: Any) -> torch.Tensor:
    """The relative-position bias ``[1, heads, area, area]`` of the windows (V2: of the
    cpb_mlp; 3-D: torchvision's index cut to a window narrowed to the map)."""
    import torch

    heads, size = m.op.heads, math.prod(m.window)
    table = m.cpb_mlp(m.coords).view(-1, heads) if m.op.cosine else m.table
    bias = table[m.index[:size, :size].flatten()].view(size, size, -1)
    bias = bias.permute(2, 0, 1).contiguous().unsqueeze(0)
    return 16 * torch.sigmoid(bias) if m.op.cosine else bias


def _scores(q: torch.Tensor, k: torch.Tensor, x: torch.Tensor, bias: torch.Tensor,
            logit_scale: torch.Tensor | None, heads: int, window: Sequence[int],
            padded: Sequence[int], shift: Sequence[int]) -> torch.Tensor:
    """Attention weights of the windows: q·kᵀ (V2 cosine, scaled), the bias, the shift's mask
    on the ``padded`` map."""
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
        windows = math.prod(p // w for p, w in zip(padded, window, strict=True))
        attn = attn.view(x.size(0) // windows, windows, heads, x.size(1), x.size(1)) + _mask(
            x, padded, window, shift).unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, heads, x.size(1), x.size(1))
    return functional.dropout(functional.softmax(attn, dim=-1), p=0.0, training=False)


def window_attention(x: torch.Tensor, qkv_weight: torch.Tensor, proj_weight: torch.Tensor,
                     relative_position_bias: torch.Tensor, window_size: Sequence[int],
                     num_heads: int, shift_size: Sequence[int], attention_dropout: float = 0.0,
                     dropout: float = 0.0,
                     qkv_bias: torch.Tensor | None = None, proj_bias: torch.Tensor | None = None,
                     logit_scale: torch.Tensor | None = None) -> torch.Tensor:
    """torchvision's ``shifted_window_attention`` (its arguments, in order; 3-D:
    ``shifted_window_attention_3d``'s): pad, roll, windows, attention, back. The importer's
    torch.fx tracer keeps it one call (as torchvision's ``torch.fx.wrap``): the kind's module
    reads back as one layer."""
    import torch
    from torch.nn import functional

    n, *sizes, c = x.shape
    pads = [0, 0] + [p for s, w in zip(sizes[::-1], window_size[::-1], strict=True)
                     for p in (0, up(s, w) - s)]
    x = functional.pad(x, pads)
    padded, dims = x.shape[1:-1], tuple(range(1, len(sizes) + 1))
    shift = [s if w < p else 0 for s, w, p in zip(shift_size, window_size, padded, strict=True)]
    x = torch.roll(x, [-s for s in shift], dims) if sum(shift) else x
    x = _partition(x, window_size)
    qkv = functional.linear(x, qkv_weight, qkv_bias)
    q, k, v = qkv.reshape(x.size(0), x.size(1), 3, num_heads, c // num_heads).permute(2, 0, 3, 1, 4)
    attn = _scores(q, k, x, relative_position_bias, logit_scale, num_heads, window_size,
                   padded, shift)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c)
    x = functional.dropout(functional.linear(x, proj_weight, proj_bias), p=dropout, training=False)
    x = _reverse(x, n, padded, window_size)
    x = torch.roll(x, shift, dims) if sum(shift) else x
    return x[(slice(None), *(slice(s) for s in sizes))].contiguous()


def _partition(x: torch.Tensor, window: Sequence[int]) -> torch.Tensor:
    """``[N, *padded, C]`` -> ``[N·windows, area, C]``, each window's tokens in a row."""
    n, *padded, c = x.shape
    axes = len(window)
    x = x.view(n, *(s for p, w in zip(padded, window, strict=True) for s in (p // w, w)), c)
    order = (0, *range(1, 2 * axes, 2), *range(2, 2 * axes + 1, 2), 2 * axes + 1)
    return x.permute(order).reshape(-1, math.prod(window), c)


def _reverse(x: torch.Tensor, n: int, padded: Sequence[int], window: Sequence[int]) -> torch.Tensor:
    """``[N·windows, area, C]`` -> ``[N, *padded, C]``."""
    axes, c = len(window), x.shape[-1]
    x = x.view(n, *(p // w for p, w in zip(padded, window, strict=True)), *window, c)
    order = (0, *(i for axis in range(1, axes + 1) for i in (axis, axis + axes)), 2 * axes + 1)
    return x.permute(order).reshape(n, *padded, c)


def _forward(m: Any, x: torch.Tensor) -> torch.Tensor:
    return window_attention(x, m.qkv.weight, m.proj.weight, _bias(m), m.window, m.op.heads,
                            m.shift, 0.0, 0.0, m.qkv.bias, m.proj.bias,
                            m.logit_scale if m.op.cosine else None)


def _mask(x: torch.Tensor, padded: Sequence[int], window: Sequence[int],
          shift: Sequence[int]) -> torch.Tensor:
    """torchvision's attention mask of the shifted windows (-100 across a region's edge)."""
    mask = x.new_zeros(tuple(padded))
    regions = [((0, -w), (-w, -s), (-s, None)) for w, s in zip(window, shift, strict=True)]
    for count, cut in enumerate(itertools.product(*regions)):
        mask[tuple(slice(a, b) for a, b in cut)] = count
    mask = _partition(mask[None, ..., None], window)[..., 0]
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
        def __init__(self, op: ShiftedWindowAttention, x: Shape) -> None:
            super().__init__()
            _init(self, op, x)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return _forward(self, x)

    class PatchMergeModule(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return patch_merging_pad(x)

    return ShiftedWindowAttentionModule, PatchMergeModule


FX_LEAVES = (window_attention, patch_merging_pad)
"""The functions the importer's torch.fx tracer keeps whole (``autowrap_functions``)."""
