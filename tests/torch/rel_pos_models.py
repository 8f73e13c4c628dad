"""Tiny modules of timm's decomposed relative positions, each calling timm's own function by name
as timm's model does (the fx tracer keeps a declared function of another package whole where a
module's code names it), for the importer's tests. This file imports timm: only the tests that
use it load it. Each module is a few hundred parameters."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from convcost.runtime.importer.resolve import import_torchvision

import_torchvision()  # timm imports torchvision: with CPU torch, its fake ops tolerated
from timm.layers import resample_abs_pos_embed_nhwc  # noqa: E402
from timm.models.mvitv2 import cal_rel_pos_type, reshape_post_pool, reshape_pre_pool  # noqa: E402
from timm.models.vision_transformer_sam import (  # noqa: E402
    get_decomposed_rel_pos_bias,
    window_partition,
    window_unpartition,
)


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


class SamAttention(nn.Module):
    """timm's ``vision_transformer_sam.Attention`` (use_rel_pos), op for op: qkv, q, k, v as
    [B·heads, h·w, C], the decomposed rel-pos bias of q, SDPA with it as the mask, proj."""

    def __init__(self, dim: int, heads: int, size: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * size - 1, dim // heads))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * size - 1, dim // heads))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        x = x.reshape(b, h * w, -1)
        qkv = self.qkv(x).view(b, h * w, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, b * self.heads, h * w, -1).unbind(0)
        bias = get_decomposed_rel_pos_bias(q, self.rel_pos_h, self.rel_pos_w, (h, w), (h, w))
        x = functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = x.view(b, self.heads, h * w, -1).transpose(1, 2).reshape(b, h * w, -1)
        return self.proj(x).view(b, h, w, -1)


class SamBlock(nn.Module):
    """timm's SAM ``Block`` without its MLP: LayerNorm, windows of ``window`` tokens (the map
    padded to a multiple first: ``window_partition``) or none (global), attention, the windows
    put back and the padding cut (``window_unpartition``), the residual."""

    def __init__(self, dim: int, window: int, size: int) -> None:
        super().__init__()
        self.window = window
        self.norm = nn.LayerNorm(dim)
        self.attn = SamAttention(dim, 2, window or size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[1:3]
        shortcut, x = x, self.norm(x)
        if self.window > 0:
            x, pad_hw = window_partition(x, self.window)
        x = self.attn(x)
        if self.window > 0:
            x = window_unpartition(x, self.window, (h, w), pad_hw)
        return shortcut + x


class TinySam(nn.Module):
    """timm's SAM ViT (``samvit_base_patch16``'s parts) shrunk: 4×4 patches of 8 channels on a
    5×5 grid plus a learnt position table (resized as timm does when the grid differs), a block
    of 3×3 windows (the grid padded to 6×6: 4 windows) and a global block, 2 heads of 4; the
    relative-position tables 2·3 − 1 = 5 and 2·5 − 1 = 9 rows."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, 5, 8))
        self.blocks = nn.Sequential(SamBlock(8, 3, 5), SamBlock(8, 0, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).permute(0, 2, 3, 1)
        x = x + resample_abs_pos_embed_nhwc(self.pos_embed, x.shape[1:3])
        return self.blocks(x)
