"""Hand-written detector-style models for the coverage corpus (benchmarks/coverage.py) and the
importer tests, loadable as ``tests/models/yolo.py:Name``. Random weights, nothing downloaded.

``YoloC3`` is a YOLOv5-style net: C3 blocks of two bottlenecks, an SPPF, an FPN neck that
upsamples by a scale factor and concatenates, and a three-scale detect head. ``YoloC2f`` is the
YOLOv8 form: C2f blocks that ``chunk`` a conv's output and concatenate every bottleneck's.
``Slicing`` slices channels (``x[:, a:b]``, ``narrow``, ``split``), pads with ``F.pad``, and
runs in-place activations and adds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Conv(nn.Module):
    """Conv, BatchNorm, SiLU (YOLO's ``Conv``)."""

    def __init__(self, cin: int, cout: int, k: int = 1, s: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c: int, shortcut: bool = True) -> None:
        super().__init__()
        self.cv1 = Conv(c, c, 1)
        self.cv2 = Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    """Two 1×1 branches, ``n`` bottlenecks on the first, concatenated, then a 1×1."""

    def __init__(self, cin: int, cout: int, n: int = 2, shortcut: bool = True) -> None:
        super().__init__()
        hidden = cout // 2
        self.cv1 = Conv(cin, hidden)
        self.cv2 = Conv(cin, hidden)
        self.cv3 = Conv(2 * hidden, cout)
        self.m = nn.Sequential(*(Bottleneck(hidden, shortcut) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C2f(nn.Module):
    """YOLOv8's C2f: chunk a 1×1 conv's output in two, chain ``n`` bottlenecks, concatenate all."""

    def __init__(self, cin: int, cout: int, n: int = 2, shortcut: bool = True) -> None:
        super().__init__()
        self.c = cout // 2
        self.cv1 = Conv(cin, 2 * self.c)
        self.cv2 = Conv((2 + n) * self.c, cout)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.cv1 = Conv(cin, cin // 2)
        self.cv2 = Conv(cin * 2, cout)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


class _Yolo(nn.Module):
    """Backbone P3-P5, top-down neck (upsample ×2 by scale factor, concat), 1×1 detect convs."""

    def __init__(self, block: type[nn.Module], classes: int = 80, width: int = 16) -> None:
        super().__init__()
        w = width
        self.stem = Conv(3, w, 3, 2)
        self.b2 = nn.Sequential(Conv(w, 2 * w, 3, 2), block(2 * w, 2 * w, 2))
        self.b3 = nn.Sequential(Conv(2 * w, 4 * w, 3, 2), block(4 * w, 4 * w, 2))
        self.b4 = nn.Sequential(Conv(4 * w, 8 * w, 3, 2), block(8 * w, 8 * w, 2))
        self.b5 = nn.Sequential(Conv(8 * w, 16 * w, 3, 2), block(16 * w, 16 * w, 1), SPPF(16 * w, 16 * w))
        self.reduce5 = Conv(16 * w, 8 * w)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.n4 = block(16 * w, 8 * w, 2, False)
        self.reduce4 = Conv(8 * w, 4 * w)
        self.n3 = block(8 * w, 4 * w, 2, False)
        outputs = 3 * (classes + 5)
        self.detect = nn.ModuleList(nn.Conv2d(c, outputs, 1) for c in (4 * w, 8 * w, 16 * w))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        p3 = self.b3(self.b2(self.stem(x)))
        p4 = self.b4(p3)
        p5 = self.b5(p4)
        t5 = self.reduce5(p5)
        n4 = self.n4(torch.cat((self.up(t5), p4), 1))
        t4 = self.reduce4(n4)
        n3 = self.n3(torch.cat((F.interpolate(t4, scale_factor=2.0, mode="nearest"), p3), 1))
        return tuple(conv(f) for conv, f in zip(self.detect, (n3, n4, p5), strict=True))


class YoloC3(_Yolo):
    """YOLOv5-style, input 1×3×256×256."""

    def __init__(self, classes: int = 80, width: int = 16) -> None:
        super().__init__(C3, classes, width)


class YoloC2f(_Yolo):
    """YOLOv8-style, input 1×3×256×256."""

    def __init__(self, classes: int = 80, width: int = 16) -> None:
        super().__init__(C2f, classes, width)


class Slicing(nn.Module):
    """Channel slices, narrow, split, F.pad, in-place activations and adds; input 1×3×64×64."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self.a = nn.Conv2d(16, 16, 3, 1, 1, groups=16, bias=False)
        self.b = nn.Conv2d(8, 8, 3, 2, 0, bias=False)
        self.c = nn.Conv2d(32, 32, 1, bias=False)
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu_(self.stem(x))  # 32×32×32
        a = self.a(x[:, :16])
        b = x.narrow(1, 16, 8)
        rest = torch.split(x, [24, 8], dim=1)[1]
        x = torch.cat((a, b, rest), 1)  # 32 channels
        y = self.c(x)
        y.add_(x)
        y = F.silu(y, inplace=True)
        y = F.pad(y, (0, 1, 0, 1))  # 32×33×33
        y = torch.cat((self.b(y[:, :8]), self.b(y[:, 8:16]), F.max_pool2d(y[:, 16:], 3, 2)), 1)  # 16×16
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))
