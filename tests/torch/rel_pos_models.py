"""Tiny modules of timm's decomposed relative positions, each calling timm's own function by name
as timm's model does (the fx tracer keeps a declared function of another package whole where a
module's code names it), for the importer's tests. This file imports timm: only the tests that
use it load it. Each module is a few hundred parameters."""

from __future__ import annotations

import torch
from torch import nn

from convcost.runtime.importer.resolve import import_torchvision

import_torchvision()  # timm imports torchvision: with CPU torch, its fake ops tolerated
from timm.models.mvitv2 import cal_rel_pos_type, reshape_post_pool, reshape_pre_pool  # noqa: E402


class TinyTimmMViT(nn.Module):
    """timm's MViT-V2 attention (``mvitv2.MultiScaleAttention``, op for op: a class token, keys
    and values pooled by a depthwise conv then LayerNorm, rel_pos_type 'spatial', the pooled
    query's residual) on 4×4 patches of 8 channels, 2 heads of 4: 4×4 queries, 2×2 keys, tables
    of 2·max(4, 2) − 1 = 7 rows."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 8))
        self.qkv = nn.Linear(8, 24)
        self.pool_k = nn.Conv2d(4, 4, 3, 2, 1, groups=4, bias=False)
        self.norm_k = nn.LayerNorm(4)
        self.pool_v = nn.Conv2d(4, 4, 3, 2, 1, groups=4, bias=False)
        self.norm_v = nn.LayerNorm(4)
        self.rel_pos_h = nn.Parameter(torch.zeros(7, 4))
        self.rel_pos_w = nn.Parameter(torch.zeros(7, 4))
        self.proj = nn.Linear(8, 8)

    def pooled(self, x: torch.Tensor, feat_size: list[int], pool: nn.Module,
               norm: nn.Module) -> tuple[torch.Tensor, list[int]]:
        x, tok = reshape_pre_pool(x, feat_size, True)
        x, size = reshape_post_pool(pool(x), 2, tok)
        return norm(x), size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x)
        feat_size = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, 2, -1).permute(2, 0, 3, 1, 4).unbind(dim=0)
        k, k_size = self.pooled(k, feat_size, self.pool_k, self.norm_k)
        v, _ = self.pooled(v, feat_size, self.pool_v, self.norm_v)
        attn = (q * 0.5) @ k.transpose(-2, -1)
        attn = cal_rel_pos_type(attn, q, True, feat_size, k_size, self.rel_pos_h, self.rel_pos_w)
        x = attn.softmax(dim=-1) @ v + q
        return self.proj(x.transpose(1, 2).reshape(b, -1, 8))
