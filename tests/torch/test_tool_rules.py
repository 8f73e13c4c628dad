"""Each peer tool's integer rule for the new leaf kinds and merges, checked by running the tool.

One case is a torch module on one input; every rule is an exact formula of the shapes, written
next to the tool it describes. This pins the tools' behaviour (docs/conventions.md, per-op
rules): a tool upgrade that changes a rule fails here first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
from helpers import run_tool_on_module

Count = int | Fraction


@dataclass(frozen=True)
class Case:
    """A module factory, its input shape and what each tool counts (formulas of the shapes)."""

    name: str
    make: Callable[[], Any]
    x: tuple[int, ...]
    y: tuple[int, ...]  # the output shape torch must give
    params: int
    rules: dict[str, Count]
    unsupported: tuple[str, ...] = ()  # fvcore's unsupported aten ops (counted 0)
    thop_params: int | None = None  # thop drops the params of modules without a rule


def _nn(name: str, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    def make() -> Any:
        from torch import nn

        return getattr(nn, name)(*args, **kwargs)

    return make


def _custom(name: str, *args: Any) -> Callable[[], Any]:
    def make() -> Any:
        return getattr(_modules(), name)(*args)

    return make


def _kind(key: str, fields: tuple[Any, ...], x: tuple[int, ...]) -> Callable[[], Any]:
    """The torch module of convcost's op kind ``key`` made of ``fields``, on input ``x``."""
    def make() -> Any:
        from convcost.cost.registry import OPS

        return OPS[key].module(OPS[key].op(*fields), x)

    return make


def _shuffle(groups: int) -> Callable[[], Any]:
    def make() -> Any:
        from convcost.cost.ops import Shuffle
        from convcost.cost.registry import OPS

        return OPS["shuffle"].module(Shuffle(groups), (2, 6, 5, 7))

    return make


def _fourier(hidden: int, size: tuple[int, int]) -> Callable[[], Any]:
    def make() -> Any:
        from convcost.cost.ops.fourier import FourierPosition
        from convcost.cost.registry import OPS

        return OPS["fourier_pos"].module(FourierPosition(hidden, size), (2, 3, 8, 8))

    return make


def _rms(channels: int, affine: bool, last_dim: bool) -> Callable[[], Any]:
    def make() -> Any:
        from convcost.cost.ops.rms_norm import RmsNorm
        from convcost.cost.registry import OPS

        return OPS["rmsnorm"].module(RmsNorm(channels, affine, last_dim), (2, 4, 3, 5))

    return make


def _strided_slice() -> Any:
    from convcost.cost.ops.slicing import Slice
    from convcost.cost.registry import OPS

    return OPS["slice"].module(Slice(0, 7, 2, 2), (2, 7, 7, 6))


def _modules() -> Any:
    """Small modules written as the architectures write them (torchvision, timm)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class LayerNorm2d(nn.LayerNorm):  # torchvision.models.convnext.LayerNorm2d
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.permute(0, 2, 3, 1)
            x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    class Mean(nn.Module):  # torchvision ShuffleNetV2 / MNASNet: x.mean([2, 3])
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean([2, 3])

    class AvgPoolF(nn.Module):  # torchvision InceptionA/C/E: F.avg_pool2d in forward
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)

    class MaxPoolF(nn.Module):  # torchvision InceptionB/D: F.max_pool2d in forward
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.max_pool2d(x, kernel_size=3, stride=2)

    class ReLUF(nn.Module):  # torchvision GoogLeNet / Inception v3 BasicConv2d: F.relu
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.relu(x, inplace=True)

    class LayerScale(nn.Module):  # timm LayerScale2d; torchvision CNBlock.layer_scale
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(channels, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.gamma

    class PadConv(nn.Sequential):  # TF SAME: ZeroPad2d(l, r, t, b) then a conv without padding
        def __init__(self, pad: tuple[int, int, int, int], *conv: Any) -> None:
            super().__init__(nn.ZeroPad2d(pad), nn.Conv2d(*conv))

    class Permute(nn.Module):  # torchvision.ops.misc.Permute
        def __init__(self, dims: list[int]) -> None:
            super().__init__()
            self.dims = dims

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.permute(x, self.dims)

    class LinearNHWC(nn.Sequential):  # ConvNeXt's Linear on the NHWC tensor, between permutes
        def __init__(self, *linear: Any) -> None:
            super().__init__(Permute([0, 2, 3, 1]), nn.Linear(*linear), Permute([0, 3, 1, 2]))

    class Add(nn.Module):  # a merge written `a + b + c`, inputs made in the module
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + x.flip(1) + x.flip(2)

    class Concat(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, x[:, :2], x], 1)

    class Gate(nn.Module):  # SE scale: x * g, g of shape [N, C, 1, 1]
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * x.amax((2, 3), keepdim=True)

    class Div(nn.Module):  # EfficientViT's linear attention: out[..., :-1] / out[..., -1:]
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x / x.amax(-1, keepdim=True)

    class Normalize(nn.Module):  # timm XCiT / EdgeNeXt cross-covariance attention: q, k
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.normalize(x, dim=-1)

    return type("M", (), {k: v for k, v in locals().items() if isinstance(v, type)})


# -- the cases; I = numel(input), O = numel(output), N = batch ----------------------------------

CASES = [
    # ConvTranspose2d(4, 6, 3, stride 2, pad 1, output_padding 1), [1, 4, 5, 6] -> [1, 6, 10, 12]
    # Ho = (5-1)·2 - 2 + 1·(3-1) + 1 + 1 = 10, Wo = 12; MACs = N·Hi·Wi·Cin·(Cout/g)·K
    # = 1·5·6·4·6·9 = 6480; O = 720; thop/torchinfo: O·(Cin/g)·K = 720·4·9 = 25920
    Case("convT", _nn("ConvTranspose2d", 4, 6, 3, 2, 1, 1, bias=False), (1, 4, 5, 6), (1, 6, 10, 12), 216,
         {"fvcore": 6480, "thop": 25920, "ptflops": 6480, "torchinfo": 25920, "torch": 2 * 6480}),
    # same with bias at N = 2: MACs 12960; bias O = 1440; ptflops (12960 + 1440) / 2 = 7200;
    # torchinfo (216 + 6)·N·Ho·Wo = 222·240 = 53280
    Case("convT bias N2", _nn("ConvTranspose2d", 4, 6, 3, 2, 1, 1, bias=True), (2, 4, 5, 6),
         (2, 6, 10, 12), 222,
         {"fvcore": 12960, "thop": 51840, "ptflops": 7200, "torchinfo": 53280, "torch": 25920}),
    # groups 3, dilation 2, bias, N 2: [2, 6, 4, 5] -> Ho = 3·2 - 2 + 2·2 + 1 + 1 = 10, Wo = 12
    # MACs = 2·20·6·2·9 = 4320; O = 1440; thop O·(6/3)·9 = 25920; torchinfo (108+6)·240 = 27360
    # ptflops (4320 + 1440) / 2 = 2880
    Case("convT g3 d2", _nn("ConvTranspose2d", 6, 6, 3, 2, 1, 1, 3, True, 2), (2, 6, 4, 5),
         (2, 6, 10, 12), 114,
         {"fvcore": 4320, "thop": 25920, "ptflops": 2880, "torchinfo": 27360, "torch": 8640}),
    # depthwise k4 s3 output_padding 2: [1, 6, 3, 4] -> Ho = 2·3 + 3 + 2 + 1 = 12, Wo = 15
    # MACs 1·12·6·1·16 = 1152; O = 1080; thop 1080·1·16 = 17280
    Case("convT dw", _nn("ConvTranspose2d", 6, 6, 4, 3, 0, 2, 6, False), (1, 6, 3, 4),
         (1, 6, 12, 15), 96,
         {"fvcore": 1152, "thop": 17280, "ptflops": 1152, "torchinfo": 17280, "torch": 2304}),
    # Upsample nearest ×2, [2, 3, 5, 7] -> [2, 3, 10, 14]: O = 840, I = 210
    # ptflops: hook numel(out[0]) = 420, / N = 210; F.interpolate I·2² = 840 -> 1050
    Case("up nearest x2", _nn("Upsample", scale_factor=2), (2, 3, 5, 7), (2, 3, 10, 14), 0,
         {"fvcore": 840, "thop": 840, "ptflops": 1050, "torchinfo": 0, "torch": 0}),
    # bilinear ×2: fvcore 4·O = 3360; thop 11·O = 9240; ptflops as nearest
    Case("up bilinear x2", _nn("Upsample", scale_factor=2, mode="bilinear"), (2, 3, 5, 7),
         (2, 3, 10, 14), 0,
         {"fvcore": 3360, "thop": 9240, "ptflops": 1050, "torchinfo": 0, "torch": 0}),
    # nearest × (2, 3): [2, 3, 10, 21], O = 1260; ptflops 630 / 2 + I·int(2.0)·int(3.0) = 315 + 1260
    Case("up nearest x(2,3)", _nn("Upsample", scale_factor=(2, 3)), (2, 3, 5, 7), (2, 3, 10, 21),
         0, {"fvcore": 1260, "thop": 1260, "ptflops": 1575, "torchinfo": 0, "torch": 0}),
    # bilinear × (2.5, 1.5): Ho = floor(12.5) = 12, Wo = floor(10.5) = 10, O = 720; ptflops casts
    # each factor to int64: 360 / 2 + 210·2·1 = 600
    Case("up bilinear x(2.5,1.5)", _nn("Upsample", scale_factor=(2.5, 1.5), mode="bilinear"),
         (2, 3, 5, 7), (2, 3, 12, 10), 0,
         {"fvcore": 2880, "thop": 7920, "ptflops": 600, "torchinfo": 0, "torch": 0}),
    # nearest × 1.5: [2, 3, 7, 10], O = 420; ptflops 210 / 2 + 210·1.5² = 105 + 472.5 -> int 577
    Case("up nearest x1.5", _nn("Upsample", scale_factor=1.5), (2, 3, 5, 7), (2, 3, 7, 10), 0,
         {"fvcore": 420, "thop": 420, "ptflops": Fraction(1155, 2), "torchinfo": 0, "torch": 0}),
    # bilinear to size (9, 11): O = 594; fvcore 2376; thop 6534; ptflops 297 / 2 + 99·6 = 742.5
    Case("up bilinear size", _nn("Upsample", size=(9, 11), mode="bilinear"), (2, 3, 5, 7),
         (2, 3, 9, 11), 0,
         {"fvcore": 2376, "thop": 6534, "ptflops": Fraction(1485, 2), "torchinfo": 0, "torch": 0}),
    # nearest to size 8, N = 3: [3, 3, 8, 8], O = 576; ptflops 192 / 3 + 8²·N·C = 64 + 576
    Case("up nearest size int N3", _nn("Upsample", size=8), (3, 3, 5, 7), (3, 3, 8, 8), 0,
         {"fvcore": 576, "thop": 576, "ptflops": 640, "torchinfo": 0, "torch": 0}),
    # GroupNorm(2, 6), [2, 6, 5, 7], I = 420: fvcore 5·I; thop no rule (params dropped);
    # ptflops hook 2·I / N = 420; torchinfo N·params = 24
    Case("groupnorm", _nn("GroupNorm", 2, 6), (2, 6, 5, 7), (2, 6, 5, 7), 12,
         {"fvcore": 2100, "thop": 0, "ptflops": 420, "torchinfo": 24, "torch": 0}, thop_params=0),
    # GroupNorm(3, 6, affine=False) N 3, I = 630: fvcore 4·I; ptflops I / N
    Case("groupnorm no affine", _nn("GroupNorm", 3, 6, affine=False), (3, 6, 5, 7), (3, 6, 5, 7),
         0, {"fvcore": 2520, "thop": 0, "ptflops": 210, "torchinfo": 0, "torch": 0}),
    # LayerNorm2d(6) (a subclass of nn.LayerNorm): fvcore 5·I = 2100; thop and ptflops key their
    # rules by exact type: 0 (thop drops the 12 params); torchinfo N·params = 24
    Case("layernorm2d", _custom("LayerNorm2d", 6), (2, 6, 5, 7), (2, 6, 5, 7), 12,
         {"fvcore": 2100, "thop": 0, "ptflops": 0, "torchinfo": 24, "torch": 0}, thop_params=0),
    Case("layernorm2d no affine", _custom("LayerNorm2d", 6, 1e-6, False), (1, 6, 5, 7),
         (1, 6, 5, 7), 0, {"fvcore": 840, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}),
    # InstanceNorm2d(6) (affine False by default), I = 420: fvcore 4·I; thop 2·I; ptflops I / N
    Case("instancenorm", _nn("InstanceNorm2d", 6), (2, 6, 5, 7), (2, 6, 5, 7), 0,
         {"fvcore": 1680, "thop": 840, "ptflops": 210, "torchinfo": 0, "torch": 0}),
    # affine: fvcore 5·I; thop 4·I; ptflops 2·I / N; torchinfo N·2·C
    Case("instancenorm affine", _nn("InstanceNorm2d", 6, affine=True), (2, 6, 5, 7),
         (2, 6, 5, 7), 12,
         {"fvcore": 2100, "thop": 1680, "ptflops": 420, "torchinfo": 24, "torch": 0}),
    # activations on [3, 6, 5, 7], I = 630, N = 3. ptflops: GELU, ELU, PReLU have a hook
    # (numel / N) and call a patched F.* (numel): 210 + 630 = 840; LeakyReLU only the hook
    Case("gelu", _nn("GELU"), (3, 6, 5, 7), (3, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 840, "torchinfo": 0, "torch": 0}, ("aten::gelu",)),
    Case("gelu tanh", _nn("GELU", approximate="tanh"), (1, 6, 5, 7), (1, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 420, "torchinfo": 0, "torch": 0}, ("aten::gelu",)),
    Case("leaky_relu", _nn("LeakyReLU", 0.1), (3, 6, 5, 7), (3, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 210, "torchinfo": 0, "torch": 0},
         ("aten::leaky_relu",)),
    # PReLU(6): thop count_prelu numel = 630 (eval); torchinfo N·params = 18
    Case("prelu", _nn("PReLU", 6), (3, 6, 5, 7), (3, 6, 5, 7), 6,
         {"fvcore": 0, "thop": 630, "ptflops": 840, "torchinfo": 18, "torch": 0}, ("aten::prelu",)),
    Case("prelu shared", _nn("PReLU"), (2, 6, 5, 7), (2, 6, 5, 7), 1,
         {"fvcore": 0, "thop": 420, "ptflops": 630, "torchinfo": 2, "torch": 0}, ("aten::prelu",)),
    Case("elu", _nn("ELU"), (3, 6, 5, 7), (3, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 840, "torchinfo": 0, "torch": 0}, ("aten::elu",)),
    Case("tanh", _nn("Tanh"), (3, 6, 5, 7), (3, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}, ("aten::tanh",)),
    Case("mish", _nn("Mish"), (3, 6, 5, 7), (3, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}, ("aten::mish",)),
    Case("hardtanh", _nn("Hardtanh", -2.0, 2.0), (3, 6, 5, 7), (3, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}, ("aten::hardtanh",)),
    Case("identity", _nn("Identity"), (3, 6, 5, 7), (3, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}),
    # x.mean([2, 3]): [2, 6, 5, 7] -> [2, 6]; fvcore has no aten::mean handle
    Case("mean", _custom("Mean"), (2, 6, 5, 7), (2, 6), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}, ("aten::mean",)),
    # F.avg_pool2d(x, 3, 1, 1) on [2, 6, 5, 7]: I = 420; ptflops patches F.avg_pool2d: numel(in)
    # per batch = 420, no module hook; thop sees no pool module: 0; fvcore: unsupported
    Case("avg_pool functional", _custom("AvgPoolF"), (2, 6, 5, 7), (2, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 420, "torchinfo": 0, "torch": 0},
         ("aten::avg_pool2d",)),
    # F.max_pool2d(x, 3, 2): (5-3)//2+1 = 2, (7-3)//2+1 = 3; ptflops I = 420
    Case("max_pool functional", _custom("MaxPoolF"), (2, 6, 5, 7), (2, 6, 2, 3), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 420, "torchinfo": 0, "torch": 0},
         ("aten::max_pool2d",)),
    # F.relu(x, inplace=True) on [2, 6, 5, 7]: ptflops' patched F.relu: numel(in) = 420, per
    # batch, no hook (nn.ReLU: 420 / 2 + 420); thop sees no ReLU module; fvcore: free
    Case("relu functional", _custom("ReLUF"), (2, 6, 5, 7), (2, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 420, "torchinfo": 0, "torch": 0}),
    # x * γ, γ [6, 1, 1] named gamma: torchinfo counts only params named weight/bias: 0;
    # thop: a custom module, its 6 params dropped
    Case("layer_scale", _custom("LayerScale", 6), (2, 6, 5, 7), (2, 6, 5, 7), 6,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}, ("aten::mul",),
         thop_params=0),
    # TF SAME, 3×3 stride 2 on 8×9: Ho = ceil(8/2) = 4, pad_h = (4-1)·2 + 3 - 8 = 1 -> (0, 1);
    # Wo = 5, pad_w = 4·2 + 3 - 9 = 2 -> (1, 1); MACs = 2·6·4·5·4·9 = 8640, bias O = 240
    # ptflops (8640 + 240) / 2 = 4440; torchinfo 8640 + 240; fvcore: aten::pad unsupported
    Case("tf_same conv", _custom("PadConv", (1, 1, 0, 1), 4, 6, 3, 2, 0, 1, 1, True),
         (2, 4, 8, 9), (2, 6, 4, 5), 222,
         {"fvcore": 8640, "thop": 8640, "ptflops": 4440, "torchinfo": 8880, "torch": 17280},
         ("aten::pad",)),
    # Linear(6, 4) per position on [2, 6, 5, 7]: N·H·W = 70 positions, MACs 70·6·4 = 1680
    # (fvcore aten::linear numel(in)·out; thop in·numel(out)); ptflops' hook (6·4 + 4)·70 / N
    # = 980; torchinfo out.shape[0]·params = 2·(24 + 4) = 56: the positions are not counted
    Case("linear per position", _custom("LinearNHWC", 6, 4), (2, 6, 5, 7), (2, 4, 5, 7), 28,
         {"fvcore": 1680, "thop": 1680, "ptflops": 980, "torchinfo": 56, "torch": 3360}),
    # no bias, [1, 6, 3, 4]: 12·6·5 = 360; torchinfo 1·30
    Case("linear per position no bias", _custom("LinearNHWC", 6, 5, False), (1, 6, 3, 4),
         (1, 5, 3, 4), 30,
         {"fvcore": 360, "thop": 360, "ptflops": 360, "torchinfo": 30, "torch": 720}),
    # merges written in forward: a + b + c is two aten::add (unsupported in fvcore), cat is
    # ignored, x * g one aten::mul; Tensor.__add__/__mul__ are not patched by ptflops
    Case("add of three", _custom("Add"), (2, 6, 5, 7), (2, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0},
         ("aten::flip", "aten::flip", "aten::add", "aten::add")),
    Case("concat", _custom("Concat"), (2, 6, 5, 7), (2, 14, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}),
    # channel shuffle: view, transpose(1, 2), contiguous, view; fvcore ignores the views and
    # the transpose as free, thop/ptflops/torchinfo have no rule for a module without weights
    Case("shuffle", _shuffle(3), (2, 6, 5, 7), (2, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}),
    Case("gate mul", _custom("Gate"), (2, 6, 5, 7), (2, 6, 5, 7), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0},
         ("aten::amax", "aten::mul")),
    # F.normalize(q, dim=-1): a vector norm, a clamp, an expand and a division, none a MAC:
    # fvcore skips the four as unsupported; no tool's rule or patch sees it; no params
    Case("normalize", _custom("Normalize"), (2, 4, 8, 16), (2, 4, 8, 16), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0},
         ("aten::linalg_vector_norm", "aten::clamp_min", "aten::expand_as", "aten::div")),
    # XCiT's Fourier grid, 8 per axis at 3×5: [2, 16, 3, 5] of the sizes alone; fvcore skips its
    # 2 repeats, 2 adds (+ eps), 6 divisions, 3 muls (2π, 2·⌊i/2⌋), 1 pow, 2 sines, 2 cosines
    # LeViT's subsample, every other column of [2, 7, 7, 6]: ⌈7 / 2⌉ = 4; an aten::slice, free
    Case("slice step", _strided_slice, (2, 7, 7, 6), (2, 7, 4, 6), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}),
    # timm's RmsNorm2d on [2, 4, 3, 5]: x·rsqrt(mean(x², 1) + eps)·γ; fvcore skips all six ops;
    # torchinfo out.shape[0]·params = 2·4; thop drops γ (no rule); no tool counts a MAC
    Case("rmsnorm 2d", _rms(4, True, False), (2, 4, 3, 5), (2, 4, 3, 5), 4,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 8, "torch": 0},
         ("aten::pow", "aten::mean", "aten::add", "aten::rsqrt", "aten::mul", "aten::mul"), thop_params=0),
    Case("rmsnorm 2d no affine", _rms(4, False, False), (2, 4, 3, 5), (2, 4, 3, 5), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0},
         ("aten::pow", "aten::mean", "aten::add", "aten::rsqrt", "aten::mul")),
    # nn.RMSNorm(5) over the last dim: one aten::rms_norm; torchinfo 2·5
    Case("rmsnorm last", _rms(5, True, True), (2, 4, 3, 5), (2, 4, 3, 5), 5,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 10, "torch": 0}, ("aten::rms_norm",),
         thop_params=0),
    Case("fourier_pos", _fourier(8, (3, 5)), (2, 3, 8, 8), (2, 16, 3, 5), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0},
         ("aten::repeat",) * 2 + ("aten::add",) * 2 + ("aten::div",) * 6 + ("aten::mul",) * 3
         + ("aten::pow", "aten::sin", "aten::sin", "aten::cos", "aten::cos")),
    # x[:, :, index], 10 entries of a buffer picking among 6: aten::index, which fvcore ignores
    # as free; no tool's rule, patch or parameter: 0 everywhere
    Case("gather", _kind("gather", (10, 2), (2, 4, 6, 3)), (2, 4, 6, 3), (2, 4, 10, 3), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}),
    # a [3, 3, 2] buffer returned as [1, 3, 3, 2] whatever the batch (ViT-RelPos's coordinates)
    Case("param unexpanded buffer", _kind("param", ((3, 3, 2), 0, False), (2, 3, 8, 8)), (2, 3, 8, 8),
         (1, 3, 3, 2), 0, {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}),
    # a / b, b broadcast over the last dim: fvcore skips aten::div (and the amax that makes b)
    # as unsupported; no tool's rule or patch sees a division; no params
    Case("div", _custom("Div"), (2, 4, 8, 16), (2, 4, 8, 16), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0},
         ("aten::amax", "aten::div")),
    # x + 128, a number (the shift kind's own module): fvcore skips aten::add; thop has no
    # rule for the module, ptflops no hook and no patch of Tensor.__add__
    Case("shift", _kind("shift", (128.0,), (2, 4, 8, 16)), (2, 4, 8, 16), (2, 4, 8, 16), 0,
         {"fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}, ("aten::add",)),
]

TOOLS = ("fvcore", "thop", "ptflops", "torchinfo", "torch")


def _floor(count: Count) -> int:
    return math.floor(count)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("tool", TOOLS)
def test_tool_rule(case: Case, tool: str) -> None:
    result = run_tool_on_module(tool, case.make, case.x)
    assert result.output_shape == case.y
    assert result.count == _floor(case.rules[tool]), (case.name, tool)
    if tool == "fvcore":
        assert sorted(result.unsupported) == sorted(case.unsupported)
    expected_params = {"torch": None, "thop": case.thop_params}.get(tool, case.params)
    if tool == "thop" and expected_params is None:
        expected_params = case.params
    assert result.params == expected_params, (case.name, tool)
