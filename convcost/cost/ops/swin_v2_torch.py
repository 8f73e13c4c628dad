"""The torch modules of :mod:`convcost.cost.ops.swin_v2` (torch imported inside functions only):
timm's Swin V2 ``WindowAttention`` and ``WindowMultiHeadAttention`` op for op (the same module
types, functions and tensor methods), so that every tool counts them as it counts timm's
(tests/torch/test_swin_v2.py). The buffers are zeros: only their shapes count."""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any

from convcost.cost.ops.swin_v2 import CosineWindowAttention, bias_rows

if TYPE_CHECKING:
    import torch

_MAX_SCALE = math.log(1.0 / 0.01)


def module(op: CosineWindowAttention) -> Any:
    """A new module of the op's variant."""
    v2, cr = _classes()
    return (v2 if op.variant == "swinv2" else cr)(op)


def _scores(q: torch.Tensor, k: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of q and k, times the clamped, exponentiated logit scale."""
    import torch
    from torch.nn import functional

    attn = functional.normalize(q, dim=-1) @ functional.normalize(k, dim=-1).transpose(-2, -1)
    return attn * torch.clamp(logit_scale, max=_MAX_SCALE).exp()


def _init_v2(m: Any, op: CosineWindowAttention) -> None:
    import torch
    from torch import nn

    c, area = op.channels, op.window[0] * op.window[1]
    m.op = op
    m.logit_scale = nn.Parameter(torch.zeros(op.heads, 1, 1))
    m.cpb_mlp = nn.Sequential(nn.Linear(2, op.hidden), nn.ReLU(inplace=True),
                              nn.Linear(op.hidden, op.heads, bias=False))
    m.qkv = nn.Linear(c, 3 * c, bias=False)
    m.q_bias, m.v_bias = nn.Parameter(torch.zeros(c)), nn.Parameter(torch.zeros(c))
    m.register_buffer("k_bias", torch.zeros(c), persistent=False)
    m.attn_drop, m.proj, m.proj_drop = nn.Dropout(0.0), nn.Linear(c, c), nn.Dropout(0.0)
    m.softmax = nn.Softmax(dim=-1)
    rows = (2 * op.window[0] - 1, 2 * op.window[1] - 1)
    m.register_buffer("relative_coords_table", torch.zeros(1, *rows, 2), persistent=False)
    m.register_buffer("relative_position_index", torch.zeros(area, area, dtype=torch.long),
                      persistent=False)


def _forward_v2(m: Any, x: torch.Tensor) -> torch.Tensor:
    """timm's ``swin_transformer_v2.WindowAttention.forward`` without a mask."""
    import torch
    from torch.nn import functional

    b, n, c = x.shape
    qkv = functional.linear(x, weight=m.qkv.weight, bias=torch.cat((m.q_bias, m.k_bias, m.v_bias)))
    q, k, v = qkv.reshape(b, n, 3, m.op.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
    attn = _scores(q, k, m.logit_scale)
    table = m.cpb_mlp(m.relative_coords_table).view(-1, m.op.heads)
    bias = table[m.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1).contiguous()
    attn = m.softmax(attn + 16 * torch.sigmoid(bias).unsqueeze(0))
    x = (m.attn_drop(attn) @ v).transpose(1, 2).reshape(b, n, c)
    out: torch.Tensor = m.proj_drop(m.proj(x))
    return out


def _init_cr(m: Any, op: CosineWindowAttention) -> None:
    import torch
    from torch import nn

    c = op.channels
    m.op = op
    m.qkv, m.attn_drop = nn.Linear(c, 3 * c), nn.Dropout(0.0)
    m.proj, m.proj_drop = nn.Linear(c, c), nn.Dropout(0.0)
    # timm's Mlp(2, hidden, heads, nn.ReLU, drop=(0.125, 0)): fc1, act, drop1, norm, fc2, drop2
    m.meta_mlp = nn.Sequential(nn.Linear(2, op.hidden), nn.ReLU(), nn.Dropout(0.125),
                               nn.Identity(), nn.Linear(op.hidden, op.heads), nn.Dropout(0.0))
    m.logit_scale = nn.Parameter(torch.zeros(op.heads))
    m.register_buffer("relative_coordinates_log", torch.zeros(bias_rows(op), 2), persistent=False)


def _forward_cr(m: Any, x: torch.Tensor) -> torch.Tensor:
    """timm's ``swin_transformer_v2_cr.WindowMultiHeadAttention.forward`` without a mask."""
    b, n, c = x.shape
    heads = m.op.heads
    q, k, v = m.qkv(x).view(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4).unbind(0)
    attn = _scores(q, k, m.logit_scale.reshape(1, heads, 1, 1))
    bias = m.meta_mlp(m.relative_coordinates_log).transpose(1, 0).reshape(heads, n, n)
    attn = (attn + bias.unsqueeze(0)).softmax(dim=-1)
    x = (m.attn_drop(attn) @ v).transpose(1, 2).reshape(b, n, -1)
    out: torch.Tensor = m.proj_drop(m.proj(x))
    return out


@cache
def _classes() -> tuple[type, type]:
    """(the swinv2 module class, the swinv2_cr one)."""
    from torch import nn

    class CosineWindowAttentionV2(nn.Module):
        def __init__(self, op: CosineWindowAttention) -> None:
            super().__init__()
            _init_v2(self, op)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return _forward_v2(self, x)

    class CosineWindowAttentionCr(nn.Module):
        def __init__(self, op: CosineWindowAttention) -> None:
            super().__init__()
            _init_cr(self, op)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return _forward_cr(self, x)

    return CosineWindowAttentionV2, CosineWindowAttentionCr
