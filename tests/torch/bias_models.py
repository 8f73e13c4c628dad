"""Tiny modules of attention with a learnt relative-position bias (issue 20's timm rows: BEiT,
CoAtNet, ViT-RelPos, SAM), for the importer's tests. Each is a few hundred parameters."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional


class GatheredBias(nn.Module):
    """BEiT's attention: a qkv ``F.linear`` whose bias is ``cat((q_bias, k_zeros, v_bias))`` (the
    key's bias a buffer), and SDPA with ``attn_mask`` a bias gathered from a learnt table by an
    index buffer, ``table[index]``: 2 heads of 4, 4 tokens (a 2×2 window: (2·2 − 1)² = 9 rows)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 1)
        self.qkv = nn.Linear(8, 24, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(8))
        self.register_buffer("k_bias", torch.zeros(8), persistent=False)
        self.v_bias = nn.Parameter(torch.zeros(8))
        self.table = nn.Parameter(torch.zeros(9, 2))
        self.register_buffer("index", torch.randint(0, 9, (16,)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2)  # [N, 4, 8]
        n, length, c = x.shape
        bias = torch.cat((self.q_bias, self.k_bias, self.v_bias))
        qkv = functional.linear(x, self.qkv.weight, bias).reshape(n, length, 3, 2, 4)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        mask = self.table[self.index].view(length, length, -1).permute(2, 0, 1).unsqueeze(0)
        x = functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return x.transpose(1, 2).reshape(n, length, c)


class BufferMlp(nn.Module):
    """ViT-RelPos's ``RelPosMlp``: an MLP over a buffer of log-spaced coordinates [3, 3, 2] (a
    2×2 window: (2·2 − 1)² rows), run once whatever the batch, its rows spread to the 4² token
    pairs by an index buffer, then permuted to [1, heads, 4, 4], SDPA's mask."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 1)
        self.qkv = nn.Linear(8, 24)
        self.fc1, self.act, self.fc2 = nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 2)
        self.register_buffer("coords", torch.zeros(3, 3, 2), persistent=False)
        self.register_buffer("index", torch.randint(0, 9, (16,)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2)  # [N, 4, 8]
        n, length, c = x.shape
        q, k, v = self.qkv(x).reshape(n, length, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
        bias = self.fc2(self.act(self.fc1(self.coords))).view(-1, 2)[self.index]
        mask = bias.view(length, length, 2).permute(2, 0, 1).unsqueeze(0)
        x = functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return x.transpose(1, 2).reshape(n, length, c)
