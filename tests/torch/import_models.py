"""Hand-written models for the importer tests, also loadable as ``tests/torch/import_models.py:Name``.

``Functional`` uses every functional op the importer must understand; ``Shared`` calls one
conv twice; ``Inexpressible`` uses an op no spec kind expresses (``torch.cumsum``);
``Untraceable`` loops over a shape, which torch.fx cannot trace but torch.export can.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Functional(nn.Module):
    """Modules and functional ops mixed, input 1×3×32×32."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)  # 16×16×16
        self.bn = nn.BatchNorm2d(16)
        self.left = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.fc1 = nn.Conv2d(16, 4, 1)
        self.fc2 = nn.Conv2d(4, 16, 1)
        self.head = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.stem(x)))
        a, b = x.chunk(2, dim=1)  # 2 × 8×16×16
        x = torch.cat([self.left(a), b], 1)  # 16×16×16
        p, q = torch.split(x, [4, 12], dim=1)
        x = torch.cat((q, p), dim=1)
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)  # channel shuffle
        s = x.mean([2, 3], keepdim=True)  # 16×1×1
        x = x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))  # squeeze-excitation
        x = x + F.hardswish(x)
        x = F.interpolate(x, scale_factor=0.5, mode="nearest")  # 16×8×8
        x = F.adaptive_avg_pool2d(x, (2, 1))  # 16×2×1
        return self.head(torch.flatten(x, 1))  # 32 -> classes


class Shared(nn.Module):
    """One 3×3 conv applied twice: its 8·8·9 + 8 params once, its MACs twice."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.conv(torch.relu(self.conv(x)))
        return self.pool(x)


class Inexpressible(nn.Module):
    """A conv, then a cumulative sum no spec kind expresses, then another conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)
        self.conv2 = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(torch.cumsum(self.conv1(x), dim=1))


class Untraceable(nn.Module):
    """Loops over ``x.shape[1] // 4``: a Python int in torch.export, a Proxy in torch.fx."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(x.shape[1] // 4):
            x = F.relu(self.conv(x))
        return x


class Decoder(nn.Module):
    """The open format's leaves: transposed conv, GroupNorm, GELU, upsample, mean, layer scale."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.norm = nn.GroupNorm(4, 8)
        self.act = nn.GELU()
        self.gamma = nn.Parameter(torch.ones(8, 1, 1))
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.norm(self.up(self.conv(x))))  # 8×16×16
        x = F.interpolate(x * self.gamma, scale_factor=2, mode="bilinear")  # 8×32×32
        return self.head(x.mean([2, 3]))


class Shuffled(nn.Module):
    """Two channel shuffles written as view / transpose / view, input 1×3×8×8, nothing opaque."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=4, bias=False)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        n, c, h, w = x.shape
        x = x.view(n, 4, c // 4, h, w).transpose(1, 2).contiguous().view(n, c, h, w)  # torchvision's
        x = self.dw(x)
        x = torch.transpose(x.reshape(n, 2, c // 2, h, w), 1, 2).reshape(n, -1, h, w)
        return self.head(x)


class Resized(nn.Module):
    """A pooled branch and a head resized back to a reference tensor's H×W, as DeepLabV3's ASPP
    pooling and its head do; input 1×3×16×16."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)  # 8×8×8
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 8, 1), nn.ReLU())
        self.head = nn.Conv2d(16, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stem(x)
        p = F.interpolate(self.pool(y), size=y.shape[-2:], mode="bilinear", align_corners=False)
        z = self.head(torch.cat([y, p], 1))
        return F.interpolate(z, size=x.shape[-2:], mode="bilinear", align_corners=False)


class Graph(nn.Module):
    """Branches and merges the spec writes as a graph: input 1×3×16×16, nothing opaque.

    A split in order (``chunk``), parallel convs joined by ``torch.cat``, a residual ``+``, a
    gate ``*`` after ``F.adaptive_avg_pool2d``, ``torch.split`` into a depthwise branch and an
    identity, ``x.mean([2, 3])`` and ``view`` to flatten, ``F.interpolate`` and ``F.relu``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Conv2d(4, 4, 1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        self.left = nn.Conv2d(8, 8, 1)
        self.right = nn.Conv2d(8, 8, 3, padding=1)
        self.gate = nn.Conv2d(16, 16, 1)
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(x))  # 8×16×16
        p, q = x.chunk(2, 1)
        x = x + torch.cat([self.a(p), self.b(q)], 1)  # a split, then a residual add
        x = torch.cat([self.left(x), self.right(x)], dim=1)  # 16×16×16: two branches
        x = x * torch.sigmoid(self.gate(F.adaptive_avg_pool2d(x, 1)))  # a gate
        u, v = torch.split(x, [6, 10], dim=1)
        x = torch.cat([F.relu(self.dw(u)), v], 1)
        x = F.interpolate(x, scale_factor=0.5)  # 16×8×8
        n = x.shape[0]
        return self.head(x.mean([2, 3]).view(n, -1))


class _Body(nn.Module):
    """conv-BN-ReLU-conv-BN added to its input (no ReLU after the add: no basic_block)."""

    def __init__(self, channels: int, project: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.proj = nn.Conv2d(channels, channels, 1) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return (x if self.proj is None else self.proj(x)) + y


class Residuals(nn.Module):
    """A stem, a residual on the identity, one with a 1×1 shortcut; input 1×3×16×16."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.plain = _Body(8)
        self.projected = _Body(8, project=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projected(self.plain(self.stem(x)))


class WithAux(nn.Module):
    """A conv and an auxiliary head the forward never calls (GoogLeNet's aux heads in eval)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)  # 3·4 + 4 = 16 params
        self.aux = nn.Linear(4, 2)  # 4·2 + 2 = 10 params, never called

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Lerp(nn.Module):
    """Two convs blended by ``torch.lerp`` (an op no spec kind expresses), then a pooled head."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 4, 4)
        self.b = nn.Conv2d(3, 8, 4, 4)
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.lerp(self.a(x), self.b(x), 0.5).mean((2, 3)))


class Tokens(nn.Module):
    """A ViT-style stem: patch conv, flatten to tokens, a class token concatenated in front
    (ops no spec kind expresses), then a head on the class token."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.cls = nn.Parameter(torch.zeros(1, 1, 8))
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1)
        return self.head(tokens[:, 0])



def MeanSE() -> nn.Module:
    """timm's EfficientNet inverted residual with squeeze-excitation, whose squeeze is
    ``x.mean((2, 3), keepdim=True)`` (no pooling module): fvcore counts no aten::mean."""
    from functools import partial

    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()  # timm imports torchvision: with CPU torch, its fake ops tolerated
    from timm.models._efficientnet_blocks import InvertedResidual, SqueezeExcite

    return InvertedResidual(16, 16, exp_ratio=4.0, se_layer=partial(SqueezeExcite, rd_ratio=0.25))


class Direct(nn.Module):
    """A block whose forward is called directly (timm's HRNet): no hook of it fires."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block.forward(self.stem(x))


class Eca(nn.Module):
    """timm's ECA gate: ``x.mean((2, 3)).view(N, 1, -1)``, a Conv1d over the channels, sigmoid,
    ``.view(N, -1, 1, 1)``, then ``x * y.expand_as(x)``."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.conv(x.mean((2, 3)).view(x.shape[0], 1, -1)).sigmoid().view(x.shape[0], -1, 1, 1)
        return x * y.expand_as(x)


class EcaNet(nn.Module):
    """A stem, timm's ECA gate (``y.view(b, 1, -1)``, ``y.view(b, -1, 1, 1).sigmoid()``), a global
    pool and a classifier: ``width`` the stem's channels, to build it at another α."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.eca = nn.Conv1d(1, 1, 3, padding=1, bias=False)
        self.fc = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, b = self.stem(x), x.shape[0]
        y = self.eca(x.mean((2, 3)).view(b, 1, -1)).view(b, -1, 1, 1).sigmoid()
        return self.fc((x * y.expand_as(x)).mean((2, 3)))


class SelectiveKernel(nn.Module):
    """SKNet's selective kernel: two conv paths ``torch.stack``-ed on dim 1, their ``x.sum(1)``
    squeezed to a softmax over the paths, the paths weighted and ``torch.sum``-med."""

    def __init__(self) -> None:
        super().__init__()
        self.paths = nn.ModuleList([nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(3, 8, 3, padding=2, dilation=2)])
        self.select = nn.Conv2d(8, 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.stack([path(x) for path in self.paths], dim=1)  # N×2×8×H×W
        attn = self.select(x.sum(1).mean((2, 3), keepdim=True)).view(x.shape[0], 2, 8, 1, 1)
        return torch.sum(x * attn.softmax(dim=1), dim=1)


class _GroupNorm1(nn.GroupNorm):
    """timm's GroupNorm1 (PoolFormer): one group, ``F.group_norm`` called in its own forward."""

    def __init__(self, channels: int) -> None:
        super().__init__(1, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


class FunctionalGroupNorm(nn.Module):
    """A conv, then timm's GroupNorm1 (torch.fx traces into it: the functional group norm)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.norm = _GroupNorm1(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


class Mixer(nn.Module):
    """A conv, then a channel mix written ``torch.einsum`` (no spec kind: an opaque layer
    that holds MACs fvcore and FlopCounterMode count), then a head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.mix = nn.Parameter(torch.zeros(8, 8))
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.einsum("nchw,dc->ndhw", self.conv(x), self.mix))


class Attend(nn.Module):
    """Patch tokens through nn.MultiheadAttention (need_weights=False), then SDPA, ``q @ kᵀ``,
    nn.Softmax, ``torch.matmul``, ``torch.einsum`` and ``x.softmax`` on its q, k, v."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 16, 4, 4)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.qkv = nn.Linear(16, 48)
        self.sm = nn.Softmax(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2)
        y = self.attn(x, x, x, need_weights=False)[0]
        n, length, _ = y.shape
        q, k, v = self.qkv(y).reshape(n, length, 3, 2, 8).permute(2, 0, 3, 1, 4).unbind(0)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        b = self.sm(q @ k.transpose(-2, -1)) @ v
        e = torch.einsum("bhqd,bhkd->bhqk", q, k).softmax(-1)
        return a + b + torch.matmul(e, v)


class Patches(nn.Module):
    """MobileViT's global block: unfold 2×2 patches (the batch becomes N·P), a self-attention on
    ``qkv.unbind(0)`` over the patches' tokens, fold back; ``x.shape`` in an ``if`` (as timm's
    resize check) makes torch.fx fail, so torch.export reads it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.qkv = nn.Linear(8, 24)
        self.proj = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        n, c, h, w = x.shape
        if h % 2:
            x = F.interpolate(x, size=(h + 1, w + 1))
        x = x.reshape(n * c * h // 2, 2, w // 2, 2).transpose(1, 2)
        x = x.reshape(n, c, h * w // 4, 4).transpose(1, 3).reshape(n * 4, h * w // 4, -1)
        q, k, v = self.qkv(x).reshape(n * 4, h * w // 4, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
        x = self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n * 4, -1, c))
        x = x.contiguous().view(n, 4, h * w // 4, -1).transpose(1, 3)
        x = x.reshape(n * c * h // 2, w // 2, 2, 2).transpose(1, 2)
        return x.reshape(n, c, h, w)


class IndexedQKV(nn.Module):
    """timm's older attention (CaiT, CrossViT): ``q, k, v = qkv[0], qkv[1], qkv[2]`` after
    ``permute(2, 0, 3, 1, 4)``, ``q @ kᵀ``, softmax, ``a @ v``, then the class token ``y[:, -1]``."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 4, 4)
        self.qkv = nn.Linear(16, 48)
        self.proj = nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)  # N×L×16
        n, length, c = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, 2, 8).permute(2, 0, 3, 1, 4)  # 3×N×2×L×8
        q, k, v = qkv[0], qkv[1], qkv[2]
        y = ((q @ k.transpose(-2, -1)).softmax(-1) @ v).transpose(1, 2).reshape(n, length, c)
        return self.proj(x + y)[:, -1]


class RelativeBias(nn.Module):
    """A relative-position bias as BEiT and Swin read it: a learnt table gathered by a buffer
    of indices (``table[index.view(-1)]``), viewed, permuted and added to ``q @ kᵀ``."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)  # 4×4 tokens
        self.table = nn.Parameter(torch.zeros(7 * 7, 2))  # (2·4 - 1)² offsets × 2 heads
        self.register_buffer("index", torch.arange(16 * 16).remainder(49).reshape(16, 16))
        self.qk = nn.Linear(8, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)  # N×16×8
        n, length, _ = x.shape
        q, k = self.qk(x).reshape(n, length, 2, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
        bias = self.table[self.index.view(-1)].view(length, length, -1).permute(2, 0, 1)
        return (q @ k.transpose(-2, -1) + bias.unsqueeze(0)).softmax(-1)


class WeightMatmul(nn.Module):
    """SwiftFormer's ``x @ self.w_g`` (a learnt [C, 1] vector) and CSATv2's ``F.linear(x, basis)``
    (a fixed basis, a buffer) on tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)  # 4×4 tokens
        self.w_g = nn.Parameter(torch.zeros(8, 1))
        self.register_buffer("basis", torch.zeros(8, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(self.patch(x).flatten(2).transpose(1, 2), self.basis)  # N×16×8
        return x @ self.w_g


class GatedBranches(nn.Module):
    """EfficientViM's gates and head: ``sigmoid(alpha)`` of a [2, C] table, ``x + alpha[0] ·
    (dw(x) − x)``, ``x * D`` (a [1] parameter), then logits weighted by ``weights.softmax(-1)``
    and summed as ``torch.stack(logits).sum(0)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.alpha = nn.Parameter(torch.zeros(2, 4))
        self.D = nn.Parameter(torch.ones(1))
        self.heads = nn.ModuleList(nn.Linear(4, 10) for _ in range(2))
        self.weights = nn.Parameter(torch.ones(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = torch.sigmoid(self.alpha).view(2, -1, 1, 1)
        x = self.conv(x)
        x = x + alpha[0] * (self.dw(x) - x)
        x = x * self.D + alpha[1] * x
        pooled = x.mean((2, 3))
        weights = self.weights.softmax(-1)
        return torch.stack([weights[i] * head(pooled) for i, head in enumerate(self.heads)]).sum(0)


class LinearAttention(nn.Module):
    """EfficientViT's LiteMLA core: ReLU q and k, v padded with a column of ones, ``kᵀv`` and
    ``q (kᵀv)`` in float32 under ``torch.autocast(enabled=False)`` (torch.export records it as a
    wrapper of a sub-graph), the last column the normaliser: ``out[..., :-1] / (out[..., -1:] +
    eps)``. A branch on the input's size: torch.fx cannot trace it, torch.export can."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Conv2d(3, 24, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        if h * w < 1:
            return x
        q, k, v = self.qkv(x).reshape(n, -1, 24, h * w).transpose(-1, -2).chunk(3, dim=-1)
        v = F.pad(v, (0, 1), mode="constant", value=1.0)
        with torch.autocast(device_type="cpu", enabled=False):
            out = F.relu(q).float() @ (F.relu(k).transpose(-1, -2) @ v.float())
            out = out[..., :-1] / (out[..., -1:] + 1e-5)
        return out.transpose(-1, -2).reshape(n, -1, h, w)


class FixedStats(nn.Module):
    """CSATv2's DCT stem arithmetic: ``x.mul(std).add_(mean) * 255 + 128`` (buffers), a zigzag
    order ``x[:, :, [...]]`` (a list), ``(x - mean) / (var ** 0.5 + eps)`` (buffers alone)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.register_buffer("std", torch.ones(3, 1, 1))
        self.register_buffer("shift", torch.zeros(3, 1, 1))
        self.register_buffer("mean", torch.zeros(4, 64))
        self.register_buffer("var", torch.ones(4, 64))
        self.order = [(7 * i) % 64 for i in range(64)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x.mul(self.std).add_(self.shift) * 255 + 128).flatten(2)[:, :, self.order]
        return ((x - self.mean) / (self.var ** 0.5 + 1e-8)).reshape(1, 4, 8, 8)


class BatchMoved(nn.Module):
    """Tokens, a linear to two heads' halves, ``permute(2, 0, 1, 3)`` (the batch moves to dim 1,
    as qkv's in timm's attention), then ``t.amax(0)``: no kind says it, and its opaque stand-in
    must take the batch of the model, not the permuted tensor's 2."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.qk = nn.Linear(8, 16)
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)  # N×L×8
        n, length, _ = tokens.shape
        t = self.qk(tokens).reshape(n, length, 2, 8).permute(2, 0, 1, 3)  # 2×N×L×8
        return self.head(t.amax(0))


class PoolMixer(nn.Module):
    """PoolFormer's and EfficientFormer's token mixer ``pool(x) - x`` between two convs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.proj = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return self.proj(self.pool(x) - x)


class ScaledMixer(nn.Module):
    """EfficientFormer's block: ``x + ls(pool(x) - x)``, the layer scale timm's LayerScale2d,
    ``x * gamma.view(1, -1, 1, 1)``."""

    def __init__(self) -> None:
        super().__init__()
        self.mixer = PoolMixer()
        self.gamma = nn.Parameter(torch.ones(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mixer(x)
        return y + y * self.gamma.view(1, -1, 1, 1)


class ScaledQuery(nn.Module):
    """CaiT's attentions: ``q = qkv[0] * self.scale`` (a number), ``q @ kᵀ``, softmax, ``a @ v``;
    then a class-attention query ``q(x[:, 0]).unsqueeze(1)`` against every token."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 4, 4)
        self.qkv = nn.Linear(16, 48)
        self.q = nn.Linear(16, 16)
        self.scale = 8 ** -0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)  # N×L×16
        n, length, c = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, 2, 8).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        x = x + ((q @ k.transpose(-2, -1)).softmax(-1) @ v).transpose(1, 2).reshape(n, length, c)
        cls = self.q(x[:, 0]).unsqueeze(1)  # N×1×16
        return (cls @ x.transpose(1, 2)).softmax(-1) @ x  # N×1×16


def TinySwin(v2: bool = False) -> nn.Module:
    """torchvision's Swin (V2: ``swin_v2``'s block, attention and merging) shrunk: 4×4 patches of
    8 channels, two stages of 2 and 1 blocks (1 and 2 heads), 2×2 windows; on 1x3x20x24 the
    first stage's 5×6 map pads to whole windows and its second block shifts them."""
    from functools import partial

    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()
    from torchvision.models import swin_transformer as swin

    extra = dict(block=swin.SwinTransformerBlockV2, downsample_layer=swin.PatchMergingV2) if v2 else {}
    return swin.SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[2, 1], num_heads=[1, 2],
                                window_size=[2, 2], num_classes=10,
                                norm_layer=partial(nn.LayerNorm, eps=1e-5), **extra)


def TinySwin3d() -> nn.Module:
    """torchvision's video Swin (``swin3d_t``'s blocks, 3-D windowed attention and merging)
    shrunk: 2×4×4 patches of 8 channels, two stages of 2 and 1 blocks (1 and 2 heads), 4×2×2
    windows; on 1x3x6x20x20 the maps (3×5×5, then 3×3×3) pad to whole windows, the window's
    depth narrows to their 3 frames, and the first stage's second block shifts them."""
    from functools import partial

    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()
    from torchvision.models.video.swin_transformer import SwinTransformer3d

    return SwinTransformer3d(patch_size=[2, 4, 4], embed_dim=8, depths=[2, 1], num_heads=[1, 2],
                             window_size=[4, 2, 2], num_classes=10,
                             norm_layer=partial(nn.LayerNorm, eps=1e-5))


def TinySwinV2(cr: bool = False) -> nn.Module:
    """timm's Swin V2 (``cr``: Swin V2-CR) shrunk: 4×4 patches of 8 channels, two stages of 2 and
    1 blocks (1 and 2 heads), 4×4 windows; on 1x3x32x32 the first stage's 8×8 map is 4 windows
    and its second block shifts them, the second stage's 4×4 map is one window."""
    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()  # timm imports torchvision: with CPU torch, its fake ops tolerated
    from timm.models.swin_transformer_v2 import SwinTransformerV2
    from timm.models.swin_transformer_v2_cr import SwinTransformerV2Cr

    if cr:
        return SwinTransformerV2Cr(img_size=(32, 32), patch_size=4, window_size=4, embed_dim=8,
                                   depths=(2, 1), num_heads=(1, 2), num_classes=10)
    return SwinTransformerV2(img_size=32, patch_size=4, embed_dim=8, depths=(2, 1),
                             num_heads=(1, 2), window_size=4, num_classes=10)


def MobileMQA() -> nn.Module:
    """timm's MobileNetV4 Mobile MQA (``MultiQueryAttention2d``): 2 query heads sharing one key
    and value head, keys and values downsampled by a stride-2 depthwise conv and a BatchNorm."""
    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()  # timm imports torchvision: with CPU torch, its fake ops tolerated
    from timm.layers.attention2d import MultiQueryAttention2d

    return nn.Sequential(nn.Conv2d(3, 16, 1), MultiQueryAttention2d(16, 24, num_heads=2, key_dim=8,
                                                                   value_dim=8, kv_stride=2))


class Defaults(nn.Module):
    """``forward(x, mask=None, causal=False)`` as timm's ViTs write it: run as ``model(x)``, the
    defaults are constants of the trace, not inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                causal: bool = False) -> torch.Tensor:
        x = self.conv(x)
        return x if mask is None and not causal else x * mask


class _StdConv(nn.Conv2d):
    """timm's ScaledStdConv2d (``gain``) or StdConv2d (none): the weight standardised per output
    channel by ``F.batch_norm`` in training mode before the conv."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, gain: bool = True) -> None:
        super().__init__(cin, cout, k, stride, padding=k // 2)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1)) if gain else None
        self.scale = (cin * k * k) ** -0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gain = None if self.gain is None else (self.gain * self.scale).view(-1)
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                              weight=gain, training=True, momentum=0.0, eps=1e-6)
        return F.conv2d(x, weight.reshape_as(self.weight), self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class StdConvs(nn.Module):
    """NFNet-style weight-standardised convs, with a gain and without, then a pooled head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _StdConv(3, 8, 3, stride=2)
        self.conv = _StdConv(8, 8, 1, gain=False)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(F.relu(self.stem(x))))


class TokenMean(nn.Module):
    """A ViT's head on the average of its tokens (``global_pool='avg'``): ``x.mean(dim=1)``."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.patch(x).flatten(2).transpose(1, 2))  # N×16×8
        return self.head(x.mean(dim=1))


class TracedSlice(nn.Module):
    """PiT's split of the class token from the patch tokens, ``k = cls.shape[1]``, ``x[:, :k]``
    and ``x[:, k:]`` (bounds computed in the trace), each through its own linear."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.cls = nn.Parameter(torch.zeros(1, 1, 8))
        self.fc_cls = nn.Linear(8, 8)
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)  # N×16×8
        cls = self.cls.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)  # N×17×8
        k = cls.shape[1]
        return torch.cat([self.fc_cls(x[:, :k]), self.fc(x[:, k:])], dim=1)


class MHAVariant(nn.Module):
    """Patch tokens through an ``nn.MultiheadAttention`` sequence first, with ``add_bias_kv``
    or ``add_zero_attn`` (the ``multihead_attention`` kind's flags)."""

    def __init__(self, batch_first: bool = True, bias_kv: bool = False, zero_attn: bool = False) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 16, 4, 4)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=batch_first, add_bias_kv=bias_kv,
                                          add_zero_attn=zero_attn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2)
        if not self.attn.batch_first:
            x = x.transpose(0, 1)  # [L, N, E]
        return self.attn(x, x, x, need_weights=False)[0]


class WholeWindows(nn.Module):
    """Twins' and Swin's pad of a channels-last map to whole windows, its amounts computed from
    the traced sizes (``(ws - W % ws) % ws``): 0 on 8×8 with 4×4 windows, a pad that adds nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 2, 2)
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x).permute(0, 2, 3, 1)  # N×H×W×C
        pad_r, pad_b = (4 - x.shape[2] % 4) % 4, (4 - x.shape[1] % 4) % 4
        return self.fc(F.pad(x, (0, 0, 0, pad_r, 0, pad_b)))


class WindowBias(nn.Module):
    """Swin's window attention scores (timm): a relative-position bias gathered from a learnt
    table by a buffer index, viewed and permuted, added to the scores; the shifted windows'
    mask (a buffer) added; the map cropped back with ``x[:, :H, :W, :]`` (H, W traced); FocalNet's
    ``0 + x``."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 4, 4)  # [N, 8, 2, 2]: 2 heads of 4 tokens, 4 wide
        self.table = nn.Parameter(torch.zeros(9, 2))  # (2·2 − 1)² offsets, 2 heads
        self.register_buffer("index", torch.zeros(16, dtype=torch.long))
        self.register_buffer("mask", torch.zeros(1, 4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(x).flatten(2).view(-1, 2, 4, 4)  # [N, heads, tokens, 4]
        scores = t @ torch.swapaxes(t, -2, -1)  # [N, 2, 4, 4] (MaxViT's swapaxes: a transpose)
        bias = self.table[self.index.view(-1)].view(4, 4, -1).permute(2, 0, 1).contiguous()
        scores = (scores + bias.unsqueeze(0)).view(-1, 1, 2, 4, 4) + self.mask.unsqueeze(1)
        y = scores.view(-1, 2, 4, 4).permute(0, 2, 3, 1)  # [N, 4, 4, 2]: a map, channels last
        h, w = y.shape[1], y.shape[2]
        return 0 + y[:, :h, :w, :].contiguous()


class TiledPosition(nn.Module):
    """Hiera's (SAM2) position embedding: a learnt map resized to the tokens' (``F.interpolate``,
    bicubic) plus a learnt window tiled over it, added to a channels-last map."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 4, 2, 2)
        self.pos = nn.Parameter(torch.zeros(1, 4, 2, 2))
        self.window = nn.Parameter(torch.zeros(1, 4, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).permute(0, 2, 3, 1)  # [N, 4, 4, 4]
        h, w = x.shape[1:3]
        pos = F.interpolate(self.pos, size=(h, w), mode="bicubic")
        pos = pos + self.window.tile((h // 2, w // 2))
        return x + pos.permute(0, 2, 3, 1)


class InPlacePosition(nn.Module):
    """torchvision MViT-V1's position embedding: ``temporal.repeat_interleave`` updated in place
    by ``spatial.expand(T, -1, -1)``, a class position concatenated in front, then added to
    the tokens in place (``x.add_(pos)``: later ops read ``x``)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 4, 2, 2)  # 16 tokens of 4 = 2 frames of 2×4
        self.spatial = nn.Parameter(torch.zeros(8, 4))
        self.temporal = nn.Parameter(torch.zeros(2, 4))
        self.cls = nn.Parameter(torch.zeros(4))
        self.token = nn.Parameter(torch.zeros(1, 1, 4))
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2)  # [N, 16, 4]
        x = torch.cat((self.token.expand(x.size(0), -1, -1), x), dim=1)  # [N, 17, 4]
        pos = torch.repeat_interleave(self.temporal, 8, dim=0)
        pos.add_(self.spatial.unsqueeze(0).expand(2, -1, -1).reshape(-1, 4))
        pos = torch.cat((self.cls.unsqueeze(0), pos), dim=0).unsqueeze(0)
        x.add_(pos)
        return self.fc(x)


class QkvBiasCat(nn.Module):
    """Swin-V2's and BEiT's qkv bias: ``cat((q_bias, k_zeros, v_bias))``, k's a buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 4, 2, 2)
        self.qkv = nn.Linear(4, 12, bias=False)
        self.q_bias, self.v_bias = nn.Parameter(torch.zeros(4)), nn.Parameter(torch.zeros(4))
        self.register_buffer("k_bias", torch.zeros(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2)
        return F.linear(x, self.qkv.weight, torch.cat((self.q_bias, self.k_bias, self.v_bias)))


def with_rank(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """torchvision MViT's ``_unsqueeze``: a tensor and a number (fx-wrapped: traced as a call)."""
    return x * 1, x.dim()


torch.fx.wrap("with_rank")


class RankTuple(nn.Module):
    """MViT's pooling: ``x, rank = _unsqueeze(x, 4, 1)`` (a tensor and a number), then the class
    token split off with ``torch.tensor_split(x, (8,), dim=2)``, the rest pooled by a conv."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 4, 2, 2)
        self.pool = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(x).flatten(2).transpose(1, 2).unsqueeze(1)  # [N, 1, 16, 4]
        t, _ = with_rank(t)
        first, rest = torch.tensor_split(t, (8,), dim=2)  # [N, 1, 8, 4] each
        y = self.pool(rest.transpose(2, 3).reshape(-1, 4, 2, 4)).flatten(2).transpose(1, 2)
        return torch.cat((first[:, 0], y), 1)


class HeadNorms(nn.Module):
    """Norms on [N, C] in classifier heads (fvcore false alarms in an earlier importer): timm's
    inception_next MlpClassifierHead (``x.mean((2, 3))``, fc1, act, LayerNorm, fc2) and
    EfficientViT-B's / CPUBone's LinearLayer (Linear, LayerNorm, act) before the classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 2, 1)
        self.fc1, self.act, self.norm = nn.Linear(8, 16), nn.GELU(), nn.LayerNorm(16, eps=1e-6)
        self.pre_classifier = nn.Sequential(nn.Linear(16, 12, bias=False), nn.LayerNorm(12), nn.Hardswish())
        self.fc2 = nn.Linear(12, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.act(self.fc1(self.stem(x).mean((2, 3)))))
        return self.fc2(self.pre_classifier(x))


class AntiAliased(nn.Module):
    """TResNet's blur pool (a reflect pad, then a fixed binomial filter per channel held in a
    buffer, stride 2) and NASNet's TF-SAME max pool (a pad of -inf, then the pool)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        binomial = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("filt", (binomial[:, None] * binomial[None, :] / 16).repeat(8, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(self.conv(x), (1, 1, 1, 1), mode="reflect")
        x = F.conv2d(x, self.filt, stride=2, groups=8)
        return F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=-float("inf")), 3, 2)


class CachedBias(nn.Module):
    """timm's EfficientFormer/LeViT attention bias: a table read through a per-device cache in
    eval (filled by the first forward, emptied by ``train()``), added to token scores."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 4, 4, 4)  # 2×2 tokens of 4 at 8×8
        self.biases = nn.Parameter(torch.zeros(4))
        self.register_buffer("idxs", torch.tensor([[0, 1, 2, 3]] * 4))
        self.cache: dict[str, torch.Tensor] = {}

    def train(self, mode: bool = True) -> CachedBias:
        super().train(mode)
        if mode and self.cache:
            self.cache = {}
        return self

    def bias(self, device: torch.device) -> torch.Tensor:
        if self.training:
            return self.biases[self.idxs]
        key = str(device)
        if key not in self.cache:
            self.cache[key] = self.biases[self.idxs]
        return self.cache[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(x).flatten(2)  # N×4×4
        return t + self.bias(x.device)


class ChannelsLastNorm(nn.Module):
    """NesT's and Swin-V2's stems, VOLO's value projection: a LayerNorm and a Linear module on
    ``conv(x).permute(0, 2, 3, 1)``, the permute back done by the parent: their outputs are
    [N, H, W, C]."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 4, 4)
        self.norm = nn.LayerNorm(8)
        self.v = nn.Linear(8, 8)
        self.conv = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.v(self.norm(self.stem(x).permute(0, 2, 3, 1))).permute(0, 3, 1, 2))


class GluTokens(nn.Module):
    """gMLP-Mixer's GluMlp on tokens: ``a, b = fc1(x).chunk(2, dim=-1)``, ``fc2(a * act(b))``."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.fc1 = nn.Linear(8, 16)
        self.act = nn.SiLU()
        self.fc2 = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.fc1(self.patch(x).flatten(2).transpose(1, 2)).chunk(2, dim=-1)
        return self.fc2(a * self.act(b))


class GatedConvNhwc(nn.Module):
    """MambaOut's gated conv block on [N, H, W, C]: ``g, i, c = split(fc1(x), sizes, -1)``, a
    depthwise conv on ``c`` permuted to NCHW and back, ``fc2(act(g) * cat((i, c), -1))``."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 4, 4)
        self.fc1 = nn.Linear(8, 16)
        self.conv = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x).permute(0, 2, 3, 1)
        g, i, c = torch.split(self.fc1(x), (8, 4, 4), dim=-1)
        c = self.conv(c.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return x + self.fc2(self.act(g) * torch.cat((i, c), dim=-1))
class UnfoldFold(nn.Module):
    """TNT's ``nn.Unfold`` of pixels and VOLO's ``F.fold`` of the columns back: free copies
    between two convs."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.unfold = nn.Unfold(3, padding=1, stride=2)
        self.head = nn.Conv2d(4, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        columns = self.unfold(self.stem(x))
        return self.head(F.fold(columns, (8, 8), 3, padding=1, stride=2))


class ChannelsLastAdd(ChannelsLastNorm):
    """VOLO's blocks: ``x = x + v(norm(x))`` on the channels-last ``[N, H, W, C]`` view of a conv
    map, permuted back for the next conv."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x).permute(0, 2, 3, 1)
        x = x + self.v(self.norm(x))
        return self.conv(x.permute(0, 3, 1, 2))


class LstmTokens(nn.Module):
    """Sequencer's BiLSTM over tokens: ``x, _ = self.rnn(x)`` (the unread last states)."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.rnn = nn.LSTM(8, 4, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, _ = self.rnn(self.patch(x).flatten(2).transpose(1, 2))
        return self.fc(x)


class BiasedAttention(nn.Module):
    """EfficientFormer's and LeViT's attention: q, k, v split along the last dim of one qkv
    projection, q·kᵀ scaled plus a relative-position bias gathered from a [heads, tokens] table
    (``biases[:, idxs]``), softmax, ·v."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 4, 4)  # 2×2 = 4 tokens of 8 at 8×8
        self.qkv = nn.Linear(8, 32)  # 2 heads of q 4, k 4, v 8
        self.proj = nn.Linear(16, 8)
        self.biases = nn.Parameter(torch.zeros(2, 4))
        self.register_buffer("idxs", torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(x).flatten(2).transpose(1, 2)  # N×4×8
        n = t.shape[0]
        q, k, v = self.qkv(t).reshape(n, 4, 2, -1).permute(0, 2, 1, 3).split([4, 4, 8], dim=3)
        attn = (q @ k.transpose(-2, -1)) * 0.5 + self.biases[:, self.idxs]
        return self.proj((attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(n, 4, 16))


class TokenMax(nn.Module):
    """VOLO's auxiliary head: ``aux.max(1)[0]``, the largest of each feature over the tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        return self.fc(tokens).max(1)[0]


class GlobalReduce(nn.Module):
    """A hand-written net's global pooling: ``x.amax((2, 3))``, ``x.sum((2, 3), keepdim=True)``
    and ``torch.amax(x, dim=(-2, -1), keepdim=True)`` over H×W, then a linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(24, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        pooled = (x.amax((2, 3)), x.sum((2, 3), keepdim=True).flatten(1),
                  torch.amax(x, dim=(-2, -1), keepdim=True).flatten(1))
        return self.fc(torch.cat(pooled, 1))


class TokenBatchNorm(nn.Module):
    """LeViT's LinearNorm: a Linear on tokens, then ``bn(x.flatten(0, 1)).reshape_as(x)``, a
    BatchNorm1d over the N·L token rows."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 4, 4)  # 2×2 = 4 tokens of 8 at 8×8
        self.linear = nn.Linear(8, 16, bias=False)
        self.bn = nn.BatchNorm1d(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.linear(self.embed(x).flatten(2).transpose(1, 2))  # N×4×16
        return self.bn(t.flatten(0, 1)).reshape_as(t)


class _Cbs(nn.Module):
    """A YOLO ``Conv``: conv (with a bias: no BN for the exporter to fold), SiLU."""

    def __init__(self, c_in: int, c_out: int, k: int = 1, s: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, k // 2)
        self.silu = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.silu(self.conv(x))


class _C3(nn.Module):
    """A YOLOv5 C3: cv3(cat(m(cv1(x)), cv2(x))), m two 3×3 units (the clash of 'h13.cv3.silu')."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.cv1, self.cv2, self.cv3 = _Cbs(c, c // 2), _Cbs(c, c // 2), _Cbs(c, c)
        self.m = nn.Sequential(_Cbs(c // 2, c // 2, 3), _Cbs(c // 2, c // 2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C2fPad(nn.Module):
    """A YOLOv8-style net: a C2f (``chunk(2, 1)``, one 3×3 unit on the last half, cat of the
    three), a C3 named ``h13``, ``F.pad(x, (0, 1, 0, 1))`` and a stride-2 conv. The TorchScript
    exporter computes the chunk's Slice ends and the pads in the graph (Shape, Gather, Div, ...)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.cv1 = _Cbs(3, 8, 3, 2), _Cbs(8, 8)
        self.m, self.cv2 = _Cbs(4, 4, 3), _Cbs(12, 8)
        self.h13, self.down = _C3(8), _Cbs(8, 8, 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = list(self.cv1(self.stem(x)).chunk(2, 1))
        y.append(self.m(y[-1]))
        x = self.h13(self.cv2(torch.cat(y, 1)))
        return self.down(F.pad(x, (0, 1, 0, 1)))


class ConvRelPos(nn.Module):
    """CoaT's convolutional relative position encoding: per head, the tokens after the class
    token (``q[:, :, 1:, :]``), a depthwise conv of the values over the map, their product
    padded back to the class token's row (``F.pad(ev, (0, 0, 1, 0, 0, 0))``); then LowFormer's
    crop of an upsampling to the input's size (``o[..., :H, :W]``, H and W traced)."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.cls = nn.Parameter(torch.zeros(1, 1, 8))
        self.conv = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.up = nn.ConvTranspose2d(8, 8, 4, 2, 1, groups=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h, w = x.shape[0], x.shape[2] // 4, x.shape[3] // 4
        t = self.patch(x).flatten(2).transpose(1, 2)  # N×16×8
        t = torch.cat([self.cls.expand(n, -1, -1), t], dim=1).view(n, 17, 2, 4).transpose(1, 2)
        img = t[:, :, 1:, :]  # N×2×16×4
        v = self.conv(img.transpose(-1, -2).reshape(n, 8, h, w))
        ev = F.pad(img * v.reshape(n, 2, 4, h * w).transpose(-1, -2), (0, 0, 1, 0, 0, 0))
        y = (t + ev).transpose(1, 2).reshape(n, 17, 8)[:, 1:].transpose(1, 2).reshape(n, 8, h, w)
        size = y.shape[-2:]
        return self.up(F.avg_pool2d(y, 2))[..., :size[0], :size[1]]


class Tiled(nn.Module):
    """HaloNet's overlapping key/value blocks (``x.unfold`` twice on a padded map), GC ViT's
    global query repeated per window (``repeat_interleave`` by a count the trace computes) and
    a broadcast of a computed tensor (``expand``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.proj = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # N×4×8×8
        n = y.shape[0]
        blocks = F.pad(y, [1, 1, 1, 1]).unfold(2, 6, 4).unfold(3, 6, 4)  # N×4×2×2×6×6
        keys = blocks.reshape(n * 4, 4, 36).transpose(1, 2)  # (N·4)×36×4
        q = y.mean((2, 3), keepdim=True).flatten(2).transpose(1, 2)  # N×1×4
        q = q.repeat_interleave(keys.shape[0] // n, dim=0)  # (N·4)×1×4
        out = (q @ keys.transpose(1, 2)).softmax(-1) @ keys  # (N·4)×1×4
        return self.proj(out.expand(-1, 3, -1))  # (N·4)×3×4


def rel_logits_1d(q: torch.Tensor, rel_k: torch.Tensor, permute_mask: tuple[int, ...]) -> torch.Tensor:
    """timm's ``halo_attn.rel_logits_1d``, op for op: q·R, then the pad, flatten, pad, reshape and
    slice that shift relative to absolute positions, tiled over the window."""
    b, h, w, _ = q.shape
    rel_size = rel_k.shape[0]
    win_size = (rel_size + 1) // 2
    x = (q @ rel_k.transpose(-1, -2))
    x = x.reshape(-1, w, rel_size)
    x_pad = F.pad(x, [0, 1]).flatten(1)
    x_pad = F.pad(x_pad, [0, rel_size - w])
    x_pad = x_pad.reshape(-1, w + 1, rel_size)
    x = x_pad[:, :w, win_size - 1:]
    x = x.reshape(b, h, 1, w, win_size).expand(-1, -1, win_size, -1, -1)
    return x.permute(permute_mask)


class Halo(nn.Module):
    """timm's ``HaloAttn`` (and its ``PosEmbedRel``), op for op, on a stem conv's [N, 8, 4, 4] map:
    2 heads of 4, blocks of 2×2 with a halo of 1 (windows of 4×4, tables of 2·4 − 1 = 7 rows),
    then again with stride 2, the average pool after it (``avg_down``)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 1)
        self.q = nn.ModuleList([nn.Conv2d(8, 8, 1, bias=False) for _ in range(2)])
        self.kv = nn.ModuleList([nn.Conv2d(8, 16, 1, bias=False) for _ in range(2)])
        self.height_rel = nn.ParameterList([nn.Parameter(torch.zeros(7, 4)) for _ in range(2)])
        self.width_rel = nn.ParameterList([nn.Parameter(torch.zeros(7, 4)) for _ in range(2)])
        self.pool = nn.AvgPool2d(2, 2)

    def pos_embed(self, q: torch.Tensor, i: int) -> torch.Tensor:
        b, bb, hw, _ = q.shape
        q = q.reshape(-1, 2, 2, 4)
        rel_logits_w = rel_logits_1d(q, self.width_rel[i], permute_mask=(0, 1, 3, 2, 4))
        q = q.transpose(1, 2)
        rel_logits_h = rel_logits_1d(q, self.height_rel[i], permute_mask=(0, 3, 1, 4, 2))
        return (rel_logits_h + rel_logits_w).reshape(b, bb, hw, -1)

    def attn(self, x: torch.Tensor, i: int) -> torch.Tensor:
        b, _, h, w = x.shape
        nh, nw = h // 2, w // 2
        q = self.q[i](x).reshape(-1, 4, nh, 2, nw, 2).permute(0, 1, 3, 5, 2, 4)
        q = q.reshape(b * 2, 4, -1, nh * nw).transpose(1, 3)
        kv = F.pad(self.kv[i](x), [1, 1, 1, 1])
        kv = kv.unfold(2, 4, 2).unfold(3, 4, 2).reshape(b * 2, 8, nh * nw, -1).permute(0, 2, 3, 1)
        k, v = torch.split(kv, [4, 4], dim=-1)
        attn = (q @ k.transpose(-1, -2)) * 0.5 + self.pos_embed(q, i)
        out = (attn.softmax(dim=-1) @ v).transpose(1, 3)
        out = out.reshape(-1, 2, 2, nh, nw).permute(0, 3, 1, 4, 2).contiguous().view(b, 8, h, w)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attn(self.stem(x), 0)
        return self.pool(self.attn(x, 1))


class Rotary(nn.Module):
    """Attention with a rotary embedding on q and k, as timm's EVA/DINOv3 apply it
    (``apply_rot_embed_cat(..., half=True)``): the sin/cos table computed in forward from the
    positions and a buffer of frequencies, a class token left unrotated (``q[:, :, :1]``)."""

    def __init__(self, half: bool = True) -> None:
        super().__init__()
        self.half = half  # rotate_half, else EVA-02's interleaved pairs (timm's rot)
        self.embed = nn.Conv2d(3, 8, 4, 4)
        self.cls = nn.Parameter(torch.zeros(1, 1, 8))
        self.qkv = nn.Linear(8, 24)
        self.proj = nn.Linear(8, 8)
        self.register_buffer("inv_freq", 1.0 / 100 ** (torch.arange(2) / 2), persistent=False)

    def rotate(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        sin, cos = emb.chunk(2, -1)
        if self.half:
            x1, x2 = x.chunk(2, dim=-1)
            turned = torch.cat([-x2, x1], dim=-1)
        else:
            turned = torch.stack([-x[..., 1::2], x[..., ::2]], -1).reshape(x.shape)
        return (x * cos + turned * sin).to(dtype=x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2)  # [N, 16, 8]
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)  # [N, 17, 8]
        angles = torch.arange(16.0)[:, None] * self.inv_freq  # [16, 2]
        # rotate_half's layout [f0, f1, f0, f1], or the pairs' [f0, f0, f1, f1]: [16, 4]
        angles = torch.cat([angles, angles], -1) if self.half else angles.repeat_interleave(2, -1)
        emb = torch.cat([angles.sin(), angles.cos()], -1)  # [16, 8]
        q, k, v = self.qkv(x).reshape(x.shape[0], 17, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
        q = torch.cat([q[:, :, :1, :], self.rotate(q[:, :, 1:, :], emb)], dim=2).type_as(v)
        k = torch.cat([k[:, :, :1, :], self.rotate(k[:, :, 1:, :], emb)], dim=2).type_as(v)
        x = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(x.shape[0], 17, 8)
        return self.proj(x)


class CastWeights(nn.Module):
    """Weights cast before use, as timm's RmsNormFp32 and Qwen3-VL's ``pos_embed.to(x.dtype)``:
    ``F.layer_norm(x.float(), (C,), weight.float(), bias.float())`` and ``x + pos.to(x.dtype)``."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 4, 4)
        self.pos = nn.Parameter(torch.zeros(1, 16, 8))
        self.weight, self.bias = nn.Parameter(torch.ones(8)), nn.Parameter(torch.zeros(8))
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2)  # [N, 16, 8]
        x = x + self.pos.to(x.dtype)
        x = F.layer_norm(x.float(), (8,), self.weight.float(), self.bias.float(), 1e-6).to(x.dtype)
        return self.head(x)


class WindowMask(nn.Module):
    """TinyViT's attention: windows folded into the batch, SDPA whose ``attn_mask`` is a bias
    gathered from a [heads, offsets] table (``biases[:, idxs]``: [heads, N, N], no batch axis);
    a size test torch.fx cannot trace, so torch.export reads it."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 2, 2)  # 4×4 at 8×8
        self.qkv = nn.Linear(8, 24)  # 2 heads of q, k, v 4
        self.biases = nn.Parameter(torch.zeros(2, 3))
        idxs = torch.tensor([[0, 1, 2, 1], [1, 0, 1, 2], [2, 1, 0, 1], [1, 2, 1, 0]])
        self.register_buffer("idxs", idxs, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.embed(x)  # N×8×4×4
        if y.shape[-1] % 2:
            y = F.pad(y, (0, 1, 0, 1))
        n = y.shape[0]
        t = y.reshape(n, 8, 2, 2, 2, 2).permute(0, 2, 4, 3, 5, 1).reshape(n * 4, 4, 8)  # 4 windows
        q, k, v = self.qkv(t).reshape(n * 4, 4, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=self.biases[:, self.idxs])


def TinyMViT() -> nn.Module:
    """torchvision's MViT-V2 (``mvit_v2_s``'s blocks: pooled keys and values, decomposed
    relative positions by the fx-wrapped ``_add_rel_pos``, the pooled-query shortcut
    ``_add_shortcut``) shrunk: 2×4×4 patches of 8 channels, two blocks of 1 head whose keys
    and values pool by [1, 2, 2]; on 1x3x4x16x16: 2×4×4 queries, 2×2×2 keys."""
    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()
    from torchvision.models.video import mvit

    block = mvit.MSBlockConfig(num_heads=1, input_channels=8, output_channels=8, kernel_q=[3, 3, 3],
                               kernel_kv=[3, 3, 3], stride_q=[1, 1, 1], stride_kv=[1, 2, 2])
    return mvit.MViT(spatial_size=(16, 16), temporal_size=4, block_setting=[block, block], residual_pool=True,
                     residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True,
                     num_classes=4, patch_embed_kernel=(3, 7, 7), patch_embed_stride=(2, 4, 4),
                     patch_embed_padding=(1, 3, 3))


class GatedPositionAttention(nn.Module):
    """ConViT's gated positional self-attention (GPSA, timm's ``convit``), on 16 patch tokens of
    8 channels, 2 heads: its relative positions computed on the first call and cached in a buffer
    (a shape test fx cannot trace), projected by a ``Linear(3, heads)`` to positional scores, each
    head's patch and positional scores mixed by the sigmoid of a learnt gate, renormalised."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.qk = nn.Linear(8, 16, bias=False)
        self.v = nn.Linear(8, 8, bias=False)
        self.proj = nn.Linear(8, 8)
        self.pos_proj = nn.Linear(3, 2)
        self.gating_param = nn.Parameter(torch.ones(2))
        self.register_buffer("rel_indices", torch.zeros(1, 1, 1, 3), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)  # N×16×8
        b, n, c = x.shape
        if self.rel_indices.shape[1] != n:
            self.rel_indices = self.positions(n)
        qk = self.qk(x).reshape(b, n, 2, 2, c // 2).permute(2, 0, 3, 1, 4)
        pos_score = self.pos_proj(self.rel_indices.expand(b, -1, -1, -1)).permute(0, 3, 1, 2)
        patch_score = ((qk[0] @ qk[1].transpose(-2, -1)) * 0.5).softmax(dim=-1)
        gating = self.gating_param.view(1, -1, 1, 1)
        attn = (1. - torch.sigmoid(gating)) * patch_score + torch.sigmoid(gating) * pos_score.softmax(dim=-1)
        attn /= attn.sum(dim=-1).unsqueeze(-1)
        v = self.v(x).reshape(b, n, 2, c // 2).permute(0, 2, 1, 3)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))

    @staticmethod
    def positions(n: int) -> torch.Tensor:
        side = int(n ** .5)
        rel = torch.zeros(1, n, n, 3)
        ind = torch.arange(side, dtype=torch.float32)
        ind = ind.view(1, -1) - ind.view(-1, 1)
        indx = ind.repeat(side, side)
        indy = ind.repeat_interleave(side, dim=0).repeat_interleave(side, dim=1)
        rel[:, :, :, 2] = (indx ** 2 + indy ** 2).unsqueeze(0)
        rel[:, :, :, 1] = indy.unsqueeze(0)
        rel[:, :, :, 0] = indx.unsqueeze(0)
        return rel


class TwoImages(nn.Module):
    """Two images, a 3→8 3×3 conv each, added, a 1×1 head: 2·(8·3·9 + 8) + 8·4 + 4 = 484 params."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
        return self.head(self.a(image1) + self.b(image2))


class ImageTokens(nn.Module):
    """An image [N, 3, H, W] and tokens [N, L, 16] (another rank): a 3→8 3×3 stride-2 conv,
    pooled, plus a 16→8 linear, averaged over the tokens: 8·3·9 + 8 + 16·8 + 8 = 360 params."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.embed = nn.Linear(16, 8)

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.conv(image).flatten(2).mean(2) + self.embed(tokens).mean(1)


class Sampled(nn.Module):
    """A spatial transformer's sampling: x read at a grid a conv predicts (tanh: inside [-1, 1]);
    volumetric: a conv3d's [N, 3, D, H, W] offsets, a grid [N, D, H, W, 3]."""

    def __init__(self, volumetric: bool = False) -> None:
        super().__init__()
        conv = nn.Conv3d if volumetric else nn.Conv2d
        self.conv = conv(3, 4, 3, padding=1)
        self.grid = conv(4, 3 if volumetric else 2, 1)
        self.dims = (0, 2, 3, 4, 1) if volumetric else (0, 2, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        grid = torch.tanh(self.grid(y)).permute(*self.dims)
        return nn.functional.grid_sample(y, grid, padding_mode="reflection", align_corners=False)


class ClippedLinear(nn.Module):
    """timm's ``Gemma4ClippableLinear``: the linear's input and output clamped between buffers."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(features, features, bias=False)
        for name, bound in (("input_min", -1e4), ("input_max", 1e4), ("output_min", -1e4),
                            ("output_max", 1e4)):
            self.register_buffer(name, torch.tensor(bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.clamp(x, self.input_min, self.input_max)
        return torch.clamp(self.linear(x), self.output_min, self.output_max)


class GemmaRotary(nn.Module):
    """timm's Gemma4 vision attention in small (``gemma4_vit``): pixels ``2 * (x - 0.5)``, clipped
    linears, and a 2-D rotary embedding whose angles are ``inv_freq @ positions`` per axis (two
    matmuls FlopCounterMode counts), applied to each half of the head dim by ``rotate_half``."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 16, 4, 4)  # 4×4 patches of 16
        self.q, self.k, self.v, self.o = (ClippedLinear(16) for _ in range(4))
        self.register_buffer("inv_freq", 1.0 / 100 ** (torch.arange(0, 4, 2).float() / 4), persistent=False)

    @staticmethod
    def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        turned = torch.cat((-x[..., x.shape[-1] // 2:], x[..., : x.shape[-1] // 2]), dim=-1)
        return x * cos.unsqueeze(2) + turned * sin.unsqueeze(2)

    def tables(self, n: int, grid: int) -> tuple[torch.Tensor, torch.Tensor]:
        ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
        positions = torch.stack([xs.flatten(), ys.flatten()], dim=-1).unsqueeze(0).expand(n, -1, -1)
        inv = self.inv_freq[None, :, None].float().expand(n, -1, 1)  # [N, 2, 1]
        cos, sin = [], []
        for i in range(2):  # x, then y
            freqs = (inv @ positions[:, None, :, i].float()).transpose(1, 2)  # [N, 16, 2]
            emb = torch.cat((freqs, freqs), dim=-1)
            cos.append(emb.cos())
            sin.append(emb.sin())
        return torch.cat(cos, dim=-1), torch.cat(sin, dim=-1)  # [N, 16, 8]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(2 * (x - 0.5)).flatten(2).transpose(1, 2)  # [N, 16, 16]
        n = x.shape[0]
        cos, sin = self.tables(n, 4)
        q, k, v = (proj(x).view(n, 16, 2, 8) for proj in (self.q, self.k, self.v))
        q, k = (torch.cat([self.rotate(part, c, s) for part, c, s in zip(
            t.split(4, -1), cos.split(4, -1), sin.split(4, -1), strict=True)], dim=-1) for t in (q, k))
        x = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.o(x.transpose(1, 2).reshape(n, 16, 16))
