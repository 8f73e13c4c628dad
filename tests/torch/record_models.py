"""Small models neither torch.fx nor torch.export can trace: convcost records them as they run
(tests/torch/test_import_record.py; also model sources: ``tests/torch/record_models.py:Branching``)."""

from __future__ import annotations

import torch
from torch import nn


class Branching(nn.Module):
    """A data-dependent ``if``: on zeros the ReLU's output sums to >= 0, so the pool runs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))
        if y.sum() >= 0:
            y = self.pool(y)
        return self.head(y.mean((2, 3)))


class Refining(nn.Module):
    """Iterative refinement: a ``while`` loop on a tensor's value, three steps of one conv."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1)
        self.step = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stem(x)
        n = 0
        while n < 3 and bool(y.abs().max() < 1e9):
            y = self.step(y)
            n += 1
        return y


class TopK(nn.Module):
    """Post-processing: scores, then top-k (k read from the data) and a gather."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.head = nn.Linear(6, 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.head(self.conv(x).mean((2, 3)))
        k = int((scores > -1e9).sum().item()) // 4
        values, index = scores.topk(k, dim=1)
        return scores.gather(1, index) + values


class Matmul(nn.Module):
    """A data-dependent ``if`` then ``addmm`` of activations: MACs no kind expresses."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x).flatten(2)[0]
        if y.sum() > 1e9:
            y = y * 2
        return torch.addmm(y[:, :4], y, y.t())


class RoiHead(nn.Module):
    """A detector's second stage: boxes kept by a data-dependent top-k, a crop per box, a conv
    head on the batch of crops, then its output scored with the boxes again (Mask R-CNN's mask
    head between the box post-processing and the paste of masks into the image)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(x)
        scores = feats.mean(1).flatten(1)[0]
        k = int((scores > -1e9).sum().item()) // 64
        keep = scores.topk(k).indices
        rows, cols = (keep // 16).clamp(max=12), (keep % 16).clamp(max=12)
        pairs = zip(rows.tolist(), cols.tolist(), strict=True)
        crops = torch.stack([feats[0, :, r:r + 4, c:c + 4] for r, c in pairs])
        masks = self.head(crops)
        return masks.mean((1, 2, 3)) + rows.float()


class Warping(nn.Module):
    """Sampling as RAFT's lookups: features read at a fixed grid made from no input (RAFT's first
    lookup, around the fixed coordinates), then at that grid moved by offsets a conv predicts."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.offsets = nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        n, _, h, w = y.shape
        rows, cols = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
        base = torch.stack((cols, rows), -1).expand(n, h, w, 2)
        fixed = nn.functional.grid_sample(y, base, align_corners=True)
        grid = base + self.offsets(fixed).permute(0, 2, 3, 1)
        return nn.functional.grid_sample(fixed, grid, mode="nearest", padding_mode="border")
