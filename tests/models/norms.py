"""Tiny models written as timm writes its MAC-free ops (XCiT's F.normalize and Fourier grid,
LeViT's subsample), for the importer's tests: each becomes its kind, none opaque."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Normalize(nn.Module):
    """XCiT's cross-covariance attention, shortened: q and k normalised over the tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 4, stride=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.proj(x).flatten(2)  # [N, 8, 16]
        q = F.normalize(t, dim=-1)
        k = F.normalize(t, p=1.0, dim=1)
        return q @ k.transpose(-2, -1)  # [N, 8, 8]


class PositionalEncodingFourier(nn.Module):
    """timm XCiT's positional grid (named as timm names it), 16 channels to 8, at 4×4."""

    def __init__(self) -> None:
        super().__init__()
        self.token_projection = nn.Conv2d(16, 8, kernel_size=1)

    def forward(self, b: int, h: int, w: int) -> torch.Tensor:
        y_embed = torch.arange(1, h + 1).to(torch.float32).unsqueeze(1).repeat(1, 1, w)
        x_embed = torch.arange(1, w + 1).to(torch.float32).repeat(1, h, 1)
        y_embed = y_embed / (y_embed[:, -1:, :] + 1e-6) * 6.283185307179586
        x_embed = x_embed / (x_embed[:, :, -1:] + 1e-6) * 6.283185307179586
        dim_t = torch.arange(8).to(torch.float32)
        dim_t = 10000 ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / 8)
        pos_x = x_embed[:, :, :, None] / dim_t
        pos_y = y_embed[:, :, :, None] / dim_t
        pos_x = torch.stack([pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()], dim=4).flatten(3)
        pos_y = torch.stack([pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()], dim=4).flatten(3)
        pos = torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)
        return self.token_projection(pos).repeat(b, 1, 1, 1)


class Fourier(nn.Module):
    """XCiT's stem: patches, plus the Fourier grid of their sizes projected to their width."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 4, stride=4)
        self.pos_embed = PositionalEncodingFourier()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        return x + self.pos_embed(x.shape[0], x.shape[2], x.shape[3])


class Subsample(nn.Module):
    """LeViT's attention subsample: the 4×4 tokens viewed as a map, every other row and column."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 4, stride=4)
        self.q = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.proj(x).flatten(2).transpose(1, 2)  # [N, 16, 8]
        b, _, c = t.shape
        t = t.view(b, 4, 4, c)[:, ::2, ::2]
        return self.q(t.reshape(b, -1, c))  # [N, 4, 8]


class RmsNorm2d(nn.Module):
    """timm's RmsNorm2d (timm.layers.fast_norm.rms_norm2d), named as timm names it."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = torch.mean(x.pow(2), dim=1, keepdim=True)
        x = x * torch.rsqrt(v + 1e-6)
        return x * self.weight.reshape(1, -1, 1, 1)


class RmsNormAct2d(RmsNorm2d):
    """timm's RmsNormAct2d: the norm, then its activation (MobileNetV5's conv units)."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(super().forward(x))


class Rms(nn.Module):
    """MobileNetV5's conv units (a conv, RmsNormAct2d; a conv, RmsNorm2d), then tokens under
    nn.RMSNorm and F.rms_norm (DeepSeek's ViT)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), RmsNormAct2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 8, 1), RmsNorm2d(8)
        self.norm = nn.RMSNorm(8)
        self.gamma = nn.Parameter(torch.ones(8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.bn2(self.conv2(self.bn1(self.conv1(x)))).flatten(2).transpose(1, 2)
        return F.rms_norm(self.norm(t), (8,), self.gamma)


class ResizedPos(nn.Module):
    """NaFlexViT's learnt 4×4 positions cast to float and resized (bicubic, antialiased) to the
    6×6 patch grid, added to the patch tokens (its tests trace it with torch.export); with
    ``bilinear``, Qwen3-VL's (a resize fvcore counts)."""

    def __init__(self, bilinear: bool = False) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 4, stride=4)
        self.pos_embed = nn.Parameter(torch.zeros(1, 4, 4, 8))
        self.bilinear = bilinear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.proj(x)  # [N, 8, 6, 6]
        pos = self.pos_embed.permute(0, 3, 1, 2).float()
        if self.bilinear:
            pos = F.interpolate(pos, size=(6, 6), mode="bilinear", align_corners=False)
        else:
            pos = F.interpolate(pos, size=t.shape[-2:], mode="bicubic", antialias=True, align_corners=False)
        return t.flatten(2).transpose(1, 2) + pos.flatten(2).transpose(1, 2)
