"""Tiny models written as timm writes its MAC-free norms and subsamples (XCiT's F.normalize), for
the importer's tests: each becomes its kind, none opaque."""

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
