"""The per-kind cost formulas: one table of hand-worked cases, the error cases, the registry.

Each case states the expected output shape, params and MACs, with the arithmetic in a comment.
FLOPs are always 2 × MACs and output elements the product of the output shape.
"""

from __future__ import annotations

import dataclasses
import math
from types import MappingProxyType

import pytest
from token_cases import TOKEN_ERRORS, TOKENS

from convcost.cost import ops
from convcost.cost.ops import (
    ACTIVATIONS,
    Activation,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    Mul,
    Opaque,
    Pool,
    Scale,
    Shape,
    Shuffle,
)
from convcost.cost.ops.arith import Div, Shift
from convcost.cost.ops.blur import Blur
from convcost.cost.ops.channel_norm import GroupNorm, InstanceNorm, LayerNorm
from convcost.cost.ops.clamp import Clamp
from convcost.cost.ops.fold import Fold, Unfold
from convcost.cost.ops.fourier import FourierPosition
from convcost.cost.ops.grid_sample import GridSample
from convcost.cost.ops.grn import GlobalResponseNorm
from convcost.cost.ops.layer_scale import LayerScale, Scalar
from convcost.cost.ops.merge import Average, Sub
from convcost.cost.ops.normalize import Normalize
from convcost.cost.ops.pad import Pad
from convcost.cost.ops.param import Unused
from convcost.cost.ops.paths import Stack, Sum
from convcost.cost.ops.recorded import Recorded
from convcost.cost.ops.recurrent import Lstm
from convcost.cost.ops.reduce import Mean
from convcost.cost.ops.reduce_max import Max
from convcost.cost.ops.rms_norm import RmsNorm
from convcost.cost.ops.rope import Rope
from convcost.cost.ops.slicing import Slice
from convcost.cost.ops.std_conv import StdConv2d
from convcost.cost.ops.transpose import ConvTranspose2d
from convcost.cost.ops.upsample import Interpolate, Upsample
from convcost.cost.ops.views import Identity
from convcost.cost.registry import OPS, cost
from convcost.errors import ShapeError

Case = tuple[ops.Op, Shape, Shape, int, int]  # op, input shape, output shape, params, MACs

CONV: dict[str, Case] = {
    # MobileNet's worked example: 64→128, k3, 224×224, pad 1.
    "standard": (Conv2d(64, 128, (3, 3), padding=(1, 1)), (1, 64, 224, 224), (1, 128, 224, 224),
                 73_728,  # 128*64*3*3
                 3_699_376_128),  # 1*128*224*224*64*3*3
    "standard bias": (Conv2d(3, 4, (3, 3), bias=True), (1, 3, 8, 8), (1, 4, 6, 6),
                      112,  # 4*3*3*3 + 4  (nn.Conv2d(3, 4, 3))
                      3_888),  # 1*4*6*6*3*3*3  (bias adds no MACs)
    "grouped": (Conv2d(8, 16, (3, 3), padding=(1, 1), groups=4), (1, 8, 10, 10), (1, 16, 10, 10),
                288,  # 16*(8/4)*3*3
                28_800),  # 1*16*10*10*(8/4)*3*3
    "grouped bias": (Conv2d(4, 8, (3, 3), padding=(1, 1), groups=2, bias=True), (1, 4, 5, 5),
                     (1, 8, 5, 5),
                     152,  # 8*(4/2)*3*3 + 8
                     3_600),  # 1*8*5*5*(4/2)*3*3
    "depthwise": (Conv2d(32, 32, (3, 3), padding=(1, 1), groups=32), (1, 32, 112, 112),
                  (1, 32, 112, 112),
                  288,  # 32*1*3*3
                  3_612_672),  # 1*32*112*112*1*3*3
    "depthwise multiplier 2": (Conv2d(16, 32, (5, 5), padding=(2, 2), groups=16), (1, 16, 14, 14),
                               (1, 32, 14, 14),
                               800,  # 32*(16/16)*5*5
                               156_800),  # 1*32*14*14*1*5*5
    "pointwise": (Conv2d(32, 64, (1, 1)), (1, 32, 112, 112), (1, 64, 112, 112),
                  2_048,  # 64*32*1*1
                  25_690_112),  # 1*64*112*112*32
    "stride 2 pad 1": (Conv2d(3, 32, (3, 3), (2, 2), (1, 1)), (1, 3, 224, 224), (1, 32, 112, 112),
                       864,  # 32*3*3*3; Ho = (224+2-3)//2+1 = 112
                       10_838_016),  # 1*32*112*112*3*3*3
    "stride 2 floor": (Conv2d(3, 8, (3, 3), (2, 2)), (1, 3, 7, 7), (1, 8, 3, 3),
                       216,  # 8*3*3*3; Ho = (7-3)//2+1 = 3
                       1_944),  # 1*8*3*3*3*3*3
    "padding pair": (Conv2d(4, 4, (3, 5), padding=(1, 2)), (1, 4, 9, 11), (1, 4, 9, 11),
                     240,  # 4*4*3*5
                     23_760),  # 1*4*9*11*4*3*5
    "padding same": (Conv2d(4, 6, (3, 3), padding="same"), (2, 4, 7, 5), (2, 6, 7, 5),
                     216,  # 6*4*3*3
                     15_120),  # 2*6*7*5*4*3*3
    "padding same even kernel": (Conv2d(2, 3, (4, 4), padding="same"), (1, 2, 6, 6), (1, 3, 6, 6),
                                 96,  # 3*2*4*4; total pad 3 (1 left, 2 right)
                                 3_456),  # 1*3*6*6*2*4*4
    "padding same dilation 2": (Conv2d(2, 2, (3, 3), padding="same", dilation=(2, 2)), (1, 2, 5, 5),
                                (1, 2, 5, 5),
                                36,  # 2*2*3*3; total pad 2*(3-1) = 4
                                900),  # 1*2*5*5*2*3*3
    "dilation 2": (Conv2d(2, 4, (3, 3), dilation=(2, 2)), (1, 2, 9, 9), (1, 4, 5, 5),
                   72,  # 4*2*3*3; span 2*(3-1)+1 = 5, Ho = 9-5+1 = 5
                   1_800),  # 1*4*5*5*2*3*3
    "dilation pair": (Conv2d(2, 4, (3, 3), padding=(1, 1), dilation=(2, 1)), (1, 2, 8, 8),
                      (1, 4, 6, 8),
                      72,  # 4*2*3*3; Ho = 8+2-5+1 = 6, Wo = 8+2-3+1 = 8
                      3_456),  # 1*4*6*8*2*3*3
    "non-square input and kernel": (Conv2d(3, 5, (1, 7), (1, 2), (0, 3)), (1, 3, 10, 17),
                                    (1, 5, 10, 9),
                                    105,  # 5*3*1*7; Ho = 10-1+1 = 10, Wo = (17+6-7)//2+1 = 9
                                    9_450),  # 1*5*10*9*3*1*7
    "batch 8": (Conv2d(16, 32, (3, 3), padding=(1, 1)), (8, 16, 28, 28), (8, 32, 28, 28),
                4_608,  # 32*16*3*3 (batch does not change params)
                28_901_376),  # 8*32*28*28*16*3*3
    "kernel fills padded input": (Conv2d(1, 1, (5, 5), padding=(1, 1)), (1, 1, 3, 3), (1, 1, 1, 1),
                                  25,  # 1*1*5*5; Ho = 3+2-5+1 = 1
                                  25),  # 1*1*1*1*1*5*5
}

BN: dict[str, Case] = {
    "bn": (BatchNorm(32), (1, 32, 112, 112), (1, 32, 112, 112), 64, 0),  # 2*32 (γ, β)
    "bn batch 4": (BatchNorm(16), (4, 16, 8, 8), (4, 16, 8, 8), 32, 0),  # 2*16
    "bn affine off": (BatchNorm(16, affine=False), (1, 16, 8, 8), (1, 16, 8, 8), 0, 0),
}

LINEAR: dict[str, Case] = {
    "linear": (Linear(1024, 1000), (1, 1024), (1, 1000),
               1_025_000,  # 1024*1000 + 1000
               1_024_000),  # 1*1024*1000
    "linear no bias": (Linear(1024, 1000, bias=False), (1, 1024), (1, 1000),
                       1_024_000,  # 1024*1000
                       1_024_000),  # 1*1024*1000
    "linear batch 4": (Linear(512, 10), (4, 512), (4, 10),
                       5_130,  # 512*10 + 10
                       20_480),  # 4*512*10
    # per position (ConvNeXt-T stage 1: Linear 96 -> 384 on the NHWC tensor, 56×56 positions)
    "linear per position": (Linear(96, 384, per_position=True), (1, 96, 56, 56), (1, 384, 56, 56),
                            37_248,  # 96*384 + 384
                            115_605_504),  # 1*56*56*96*384
    "linear per position batch 2": (Linear(6, 5, bias=False, per_position=True), (2, 6, 3, 4),
                                    (2, 5, 3, 4),
                                    30,  # 6*5
                                    720),  # 2*3*4*6*5
}

POOL: dict[str, Case] = {
    "max k3 s2 p1": (Pool("max", (3, 3), (2, 2), (1, 1)), (1, 64, 112, 112), (1, 64, 56, 56),
                     0, 0),  # (112+2-3)//2+1 = 56
    "avg k2 s2": (Pool("avg", (2, 2), (2, 2)), (1, 8, 7, 7), (1, 8, 3, 3),
                  0, 0),  # (7-2)//2+1 = 3
    "max ceil_mode": (Pool("max", (2, 2), (2, 2), ceil_mode=True), (1, 8, 7, 7), (1, 8, 4, 4),
                      0, 0),  # (7-2+1)//2+1 = 4; last window starts at 6 < 7
    "max ceil_mode k3 s2 p1": (Pool("max", (3, 3), (2, 2), (1, 1), ceil_mode=True),
                               (1, 24, 112, 112), (1, 24, 57, 57),
                               0, 0),  # (112+2-3+1)//2+1 = 57; (57-1)*2 = 112 < 112+1 kept
    "max ceil_mode dropped window": (Pool("max", (2, 2), (2, 2), (1, 1), ceil_mode=True),
                                     (1, 1, 5, 5), (1, 1, 3, 3),
                                     0, 0),  # (5+2-2+1)//2+1 = 4; (4-1)*2 = 6 ≥ 5+1 -> 3
    "avg k3 s1 p1": (Pool("avg", (3, 3), (1, 1), (1, 1)), (2, 4, 5, 6), (2, 4, 5, 6),
                     0, 0),  # 5+2-3+1 = 5, 6+2-3+1 = 6
    "max non-square": (Pool("max", (2, 3), (2, 1)), (1, 3, 8, 9), (1, 3, 4, 7),
                       0, 0),  # (8-2)//2+1 = 4, (9-3)//1+1 = 7
    # torchvision Inception v3's F.avg_pool2d(x, 3, 1, 1) and F.max_pool2d(x, 3, 2): the shape
    # rule of the module
    "functional avg k3 s1 p1": (Pool("avg", (3, 3), (1, 1), (1, 1), functional=True),
                                (1, 192, 35, 35), (1, 192, 35, 35),
                                0, 0),  # 35+2-3+1 = 35
    "functional max k3 s2": (Pool("max", (3, 3), (2, 2), functional=True),
                             (1, 288, 35, 35), (1, 288, 17, 17),
                             0, 0),  # (35-3)//2+1 = 17
    "global avg": (AdaptivePool("avg"), (1, 1280, 7, 7), (1, 1280, 1, 1), 0, 0),
    "adaptive max 2x3": (AdaptivePool("max", (2, 3)), (4, 16, 9, 9), (4, 16, 2, 3), 0, 0),
}

SHAPE_ONLY: dict[str, Case] = {
    **{f"act {fn}": (Activation(fn), (1, 16, 8, 8), (1, 16, 8, 8), 0, 0) for fn in ACTIVATIONS
       if fn != "prelu"},
    # F.relu in forward (torchvision's BasicConv2d): the shape and cost of nn.ReLU
    "act relu functional": (Activation("relu", functional=True), (2, 64, 35, 35),
                            (2, 64, 35, 35), 0, 0),
    "flatten": (Flatten(), (1, 512, 7, 7), (1, 25_088), 0, 0),  # 512*7*7
    "flatten pooled batch 2": (Flatten(), (2, 1280, 1, 1), (2, 1280), 0, 0),  # 1280*1*1
    "dropout": (Dropout(0.2), (1, 1280), (1, 1280), 0, 0),
    "identity": (Identity(), (2, 24, 5, 7), (2, 24, 5, 7), 0, 0),  # the input, as it is
    "identity flat": (Identity(), (3, 10), (3, 10), 0, 0),
    "add": (Add(), (1, 24, 56, 56), (1, 24, 56, 56), 0, 0),
    "sub (pool(x) - x)": (Sub(), (1, 48, 56, 56), (1, 48, 56, 56), 0, 0),  # no params, no MACs
    "average of two heads": (Average(2), (2, 1000), (2, 1000), 0, 0),  # (a + b) / 2: no MACs
    "scale": (Scale(), (1, 96, 14, 14), (1, 96, 14, 14), 0, 0),
    "concat": (Concat(58), (1, 58, 28, 28), (1, 116, 28, 28), 0, 0),  # 58+58
    "concat of 3": (Concat(48 + 16), (2, 64, 7, 7), (2, 128, 7, 7), 0, 0),  # 64+48+16
    "concat on dim 3": (Concat(12, 3), (1, 7, 7, 4), (1, 7, 7, 16), 0, 0),  # last dim 4+12
    "mul gate": (Mul((1, 96, 1, 1)), (1, 96, 14, 14), (1, 96, 14, 14), 0, 0),  # 1 -> 14
    "mul both broadcast": (Mul((2, 1, 5, 5)), (2, 8, 1, 5), (2, 8, 5, 5), 0, 0),  # max per dim
    "shuffle": (Shuffle(2), (1, 116, 28, 28), (1, 116, 28, 28), 0, 0),  # 116 % 2 == 0
    # opaque: the measured shape after the batch, the measured params, never a MAC
    "opaque": (Opaque("aten.cumsum ×1", (8, 6, 6), 12), (2, 8, 6, 6), (2, 8, 6, 6), 12, 0),
    # recorded: the full measured shape (300 boxes of 4, batch included), its params, never a MAC
    "recorded": (Recorded("torchvision.nms ×1", (300, 4), 0), (1, 3234, 4), (300, 4), 0, 0),
    # std_conv with a gain: the conv's MACs 8·8·64·(16·9) = 589,824; params 64·16·9 = 9,216
    # weight + 64 bias + 64 gain = 9,344
    "std_conv gain": (StdConv2d(16, 64, (3, 3), (1, 1), (1, 1), bias=True, gain=True),
                      (1, 16, 8, 8), (1, 64, 8, 8), 9_344, 589_824),
    # blur (TResNet's layer2 anti-aliasing, after its reflect pad 1: 56 -> 58): a 3×3 filter per
    # channel, stride 2: Ho = (58 - 3) // 2 + 1 = 28; MACs 152·28·28·9 = 1,072,512; params 0 (a buffer)
    "blur": (Blur(152, 152, (3, 3), (2, 2), (0, 0), groups=152), (1, 152, 58, 58), (1, 152, 28, 28),
             0, 1_072_512),
    # blur with padding 1, batch 2, 5×5: Ho = (7 + 2 - 5) // 2 + 1 = 3; MACs 2·4·3·3·25 = 1,800
    "blur padded": (Blur(4, 4, (5, 5), (2, 2), (1, 1), groups=4), (2, 4, 7, 7), (2, 4, 3, 3), 0, 1_800),
    # SKNet's two paths stacked on dim 1, then summed over it: no params, no MACs
    "stack": (Stack(1, 2), (1, 64, 56, 56), (1, 2, 64, 56, 56), 0, 0),
    "sum": (Sum(1), (1, 2, 64, 56, 56), (1, 64, 56, 56), 0, 0),
    "sum keepdim": (Sum(-1, True), (1, 32, 4, 16), (1, 32, 4, 1), 0, 0),  # the last dim 16 -> 1
    # x.sum((2, 3)) of [2, 8, 5, 7]: [2, 8] (keepdim: [2, 8, 1, 1]); no MACs
    "sum dims": (Sum(2, dims=(2, 3)), (2, 8, 5, 7), (2, 8), 0, 0),
    "sum dims keepdim": (Sum(2, True, (2, 3)), (2, 8, 5, 7), (2, 8, 1, 1), 0, 0),
    # lstm H 4 on [2, 5, 6]: params 4·4·(6 + 4) + 8·4 = 192; MACs 2·5·4·4·(6 + 4) = 1,600
    "lstm": (Lstm(4), (2, 5, 6), (2, 5, 4), 192, 1_600),
    # 2 layers, both directions: in 6 then 2·4 = 8; params 2·(160 + 32) + 2·(4·4·12 + 32) = 832;
    # MACs 2·5·2·(4·4·10 + 4·4·12) = 7,040; output 2·4 = 8 features
    "lstm bidirectional 2 layers": (Lstm(4, 2, True), (2, 5, 6), (2, 5, 8), 832, 7_040),
    # no bias: 832 - 4 · 32 = 704 params; MACs the same per step, 3·4 steps: 12·2·(160 + 192) = 8,448
    "lstm no bias": (Lstm(4, 2, True, False), (3, 4, 6), (3, 4, 8), 704, 8_448),
    # unused: GoogLeNet's aux1 (never run in eval): its 3,188,968 params, its input passed on
    "unused": (Unused(3_188_968), (1, 1000), (1, 1000), 3_188_968, 0),
}

# The leaf kinds of the open format (issue 12).
GRAPH_LEAVES: dict[str, Case] = {
    # U-Net up path: 2×2 stride 2, 128 -> 64, bias; Ho = (28-1)·2 + 1·(2-1) + 1 = 56
    "conv_transpose unet": (ConvTranspose2d(128, 64, (2, 2), (2, 2), bias=True),
                            (1, 128, 28, 28), (1, 64, 56, 56),
                            32_832,  # 128·64·2·2 + 64
                            25_690_112),  # 1·28·28·128·64·2·2
    # k3 s2 p1 output_padding 1: Ho = (5-1)·2 - 2 + 2 + 1 + 1 = 10, Wo = (6-1)·2 - 2 + 4 = 12
    "conv_transpose output_padding": (ConvTranspose2d(4, 6, (3, 3), (2, 2), (1, 1), (1, 1)),
                                      (1, 4, 5, 6), (1, 6, 10, 12),
                                      216,  # 4·6·3·3
                                      6_480),  # 1·5·6·4·6·9
    # groups 3, dilation 2: Ho = (4-1)·2 - 2 + 2·2 + 1 + 1 = 10, Wo = (5-1)·2 - 2 + 4 + 2 = 12
    "conv_transpose groups dilation": (
        ConvTranspose2d(6, 6, (3, 3), (2, 2), (1, 1), (1, 1), (2, 2), 3, True),
        (2, 6, 4, 5), (2, 6, 10, 12),
        114,  # 6·(6/3)·3·3 + 6
        4_320),  # 2·4·5·6·(6/3)·9
    # depthwise k4 s3 output_padding 2: Ho = (3-1)·3 + 3 + 2 + 1 = 12, Wo = 3·3 + 6 = 15
    "conv_transpose depthwise": (ConvTranspose2d(6, 6, (4, 4), (3, 3), output_padding=(2, 2),
                                                 groups=6),
                                 (1, 6, 3, 4), (1, 6, 12, 15),
                                 96,  # 6·1·4·4
                                 1_152),  # 1·3·4·6·1·16
    # stride 1, no padding: the "full" convolution, Ho = 4 - 1 + 2 + 1 = 6
    "conv_transpose full": (ConvTranspose2d(2, 3, (3, 3)), (1, 2, 4, 4), (1, 3, 6, 6),
                            54,  # 2·3·3·3
                            864),  # 1·4·4·2·3·9
    # TF SAME at stride 2: Ho = ceil(8/2) = 4, Wo = ceil(9/2) = 5 (pads (0, 1) and (1, 1))
    "conv tf_same stride 2": (Conv2d(4, 6, (3, 3), (2, 2), "tf_same", bias=True), (2, 4, 8, 9),
                              (2, 6, 4, 5),
                              222,  # 6·4·3·3 + 6
                              8_640),  # 2·6·4·5·4·3·3
    # stride 1, even kernel: Ho = 6, total pad 3 -> (1, 2)
    "conv tf_same even kernel": (Conv2d(2, 3, (4, 4), padding="tf_same"), (1, 2, 6, 6),
                                 (1, 3, 6, 6),
                                 96,  # 3·2·4·4
                                 3_456),  # 1·3·6·6·2·16
    # dilation 2, stride 2 on 7: Ho = ceil(7/2) = 4, pad = max((4-1)·2 + 2·2 + 1 - 7, 0) = 4
    "conv tf_same dilated": (Conv2d(1, 1, (3, 3), (2, 2), "tf_same", (2, 2)), (1, 1, 7, 7),
                             (1, 1, 4, 4),
                             9,  # 1·1·3·3
                             144),  # 1·1·4·4·1·9
    # slice: channels start..end-1, a view: 28 - 4 = 24 channels, nothing learnt, no MACs
    "slice 4:28": (Slice(4, 28), (2, 32, 5, 7), (2, 24, 5, 7), 0, 0),
    "slice of a flat tensor": (Slice(0, 3), (1, 10), (1, 3), 0, 0),
    # dim 3 of [N, H, W, C]: indices 8..11, 12 - 8 = 4 of them; the other dims kept
    "slice of the last dim": (Slice(8, 12, 3), (2, 5, 7, 16), (2, 5, 7, 4), 0, 0),
    # pad (left 1, right 2, top 0, bottom 3): H 5 + 0 + 3 = 8, W 7 + 1 + 2 = 10
    "pad": (Pad((1, 2, 0, 3)), (2, 3, 5, 7), (2, 3, 8, 10), 0, 0),
    # a pad of -inf (before a max pool): the same shapes, H 5 + 1 = 6, W 7 + 1 = 8; no MACs
    "pad -inf": (Pad((0, 1, 0, 1), "-inf"), (2, 3, 5, 7), (2, 3, 6, 8), 0, 0),
    # unfold (im2col), k 16 s 16 on 224: (224 - 15 - 1) // 16 + 1 = 14 per axis, 196 windows of
    # 3·16·16 = 768; k 3 s 2 p 1 on 28: (28 + 2 - 2 - 1) // 2 + 1 = 14 -> 196 of 192·9 = 1728
    "unfold k16 s16": (Unfold((16, 16), (16, 16)), (1, 3, 224, 224), (1, 768, 196), 0, 0),
    "unfold k3 s2 p1": (Unfold((3, 3), (2, 2), (1, 1)), (2, 192, 28, 28), (2, 1728, 196), 0, 0),
    # fold (col2im) back to 28×28: 1728 / 9 = 192 channels, the 196 windows of k3 s2 p1
    "fold k3 s2 p1": (Fold((28, 28), (3, 3), (2, 2), (1, 1)), (2, 1728, 196), (2, 192, 28, 28), 0, 0),
    # the map's own pixels pad alike (W 7 + 1 + 2 = 10, H 5 + 0 + 3 = 8): no params, no MACs
    **{f"pad {mode}": (Pad((1, 2, 0, 3), mode=mode), (2, 3, 5, 7), (2, 3, 8, 10), 0, 0)
       for mode in ("reflect", "replicate", "circular")},
    # max over the tokens (dim 1) of [2, 197, 1000]: [2, 1000], keepdim [2, 1, 1000]; no MACs
    "max tokens": (Max(1), (2, 197, 1000), (2, 1000), 0, 0),
    "max keepdim": (Max(1, True), (2, 197, 1000), (2, 1, 1000), 0, 0),
    # x.amax((2, 3)) of [2, 8, 5, 7]: [2, 8] (keepdim: [2, 8, 1, 1]); no MACs
    "amax dims": (Max(2, dims=(2, 3)), (2, 8, 5, 7), (2, 8), 0, 0),
    "amax dims keepdim": (Max(2, True, (2, 3)), (2, 8, 5, 7), (2, 8, 1, 1), 0, 0),
    # upsample: floor(H·s), floor(W·s) or the size; nothing learnt, no MACs
    "upsample nearest x2": (Upsample("nearest", 2.0), (2, 3, 5, 7), (2, 3, 10, 14), 0, 0),
    "upsample bilinear x1.5": (Upsample("bilinear", 1.5), (2, 3, 5, 7),
                               (2, 3, 7, 10), 0, 0),  # floor(7.5) = 7, floor(10.5) = 10
    "upsample size": (Upsample("bilinear", size=(9, 11)), (1, 3, 5, 7), (1, 3, 9, 11), 0, 0),
    # CrossViT's bicubic resize of its 240² input to 224²: the size, no MACs
    "upsample bicubic size": (Upsample("bicubic", size=(224, 224)), (1, 3, 240, 240),
                              (1, 3, 224, 224), 0, 0),
    # interpolate: N and C of x, H×W of the reference (held by the op); nothing learnt, no MACs
    "interpolate to a size": (Interpolate((33, 33), "bilinear"), (2, 256, 1, 1),
                              (2, 256, 33, 33), 0, 0),  # DeepLab's ASPP pooling branch
    "interpolate down": (Interpolate((3, 4)), (1, 5, 9, 11), (1, 5, 3, 4), 0, 0),
    # grid_sample: N and C of x, the grid's Ho×Wo (Do×Ho×Wo); nothing learnt, no MACs (fvcore's
    # 4 per output are its convention's: 4·256·1·7·7 = 50,176 for RAFT's lookup)
    "grid_sample raft lookup": (GridSample((256, 7, 7, 2), align_corners=True), (256, 1, 16, 16),
                                (256, 1, 7, 7), 0, 0),  # 256 = 16·16 pixels, a 7×7 window each
    "grid_sample up": (GridSample((2, 9, 11, 2), "bicubic", "border"), (2, 3, 5, 7),
                       (2, 3, 9, 11), 0, 0),  # the grid may be larger than x
    "grid_sample volumetric": (GridSample((2, 3, 4, 5, 3), "nearest"), (2, 6, 4, 6, 7),
                               (2, 6, 3, 4, 5), 0, 0),  # [N, C, D, H, W], grid [N, Do, Ho, Wo, 3]
    # norms: γ and β per channel when affine
    "groupnorm": (GroupNorm(2, 6), (2, 6, 5, 7), (2, 6, 5, 7), 12, 0),  # 2·6
    "groupnorm no affine": (GroupNorm(3, 6, False), (2, 6, 5, 7), (2, 6, 5, 7), 0, 0),
    "groupnorm 1x1 batch 2": (GroupNorm(6, 6), (2, 6, 1, 1), (2, 6, 1, 1), 12, 0),  # 2·(6/6)·1 = 2
    "layernorm convnext": (LayerNorm(768), (1, 768, 7, 7), (1, 768, 7, 7), 1_536, 0),  # 2·768
    "instancenorm": (InstanceNorm(6), (2, 6, 5, 7), (2, 6, 5, 7), 0, 0),  # affine off (torch)
    "instancenorm affine": (InstanceNorm(6, True), (2, 6, 5, 7), (2, 6, 5, 7), 12, 0),
    # activations: only PReLU learns (1 slope, or one per channel)
    "gelu": (Activation("gelu"), (1, 4, 3, 3), (1, 4, 3, 3), 0, 0),
    "prelu": (Activation("prelu"), (1, 4, 3, 3), (1, 4, 3, 3), 1, 0),
    "prelu per channel": (Activation("prelu", 4), (1, 4, 3, 3), (1, 4, 3, 3), 4, 0),
    "prelu flat": (Activation("prelu", 10), (2, 10), (2, 10), 10, 0),
    "mean": (Mean(), (2, 6, 5, 7), (2, 6), 0, 0),
    "mean keepdim": (Mean(True), (2, 6, 5, 7), (2, 6, 1, 1), 0, 0),
    "mean tokens": (Mean(False, (1,)), (2, 197, 192), (2, 192), 0, 0),  # a ViT's x.mean(1)
    "mean tokens keepdim": (Mean(True, (1,)), (2, 197, 192), (2, 1, 192), 0, 0),
    "layer_scale": (LayerScale(96), (1, 96, 56, 56), (1, 96, 56, 56), 96, 0),  # γ per channel
    # channels-last [N, H, W, C]: γ of the last dim's 48 channels
    "layer_scale last dim": (LayerScale(48, True), (1, 32, 32, 48), (1, 32, 32, 48), 48, 0),
    "scalar": (Scalar(0.125), (1, 3, 197, 64), (1, 3, 197, 64), 0, 0),  # q * 64^-0.5: a number
    "scalar rsub": (Scalar(1.0, "rsub"), (1, 4, 1, 1), (1, 4, 1, 1), 0, 0),  # 1 - sigmoid(gate)
    "scalar sub": (Scalar(0.5, "sub"), (1, 2304, 768), (1, 2304, 768), 0, 0),  # Gemma4's x - 0.5
    # Gemma4's clamp of a linear's 768 inputs at 48·48 patches: elementwise, bounds not kept: no
    # params, no MAC (FlopCounterMode counts no aten.clamp)
    "clamp": (Clamp(), (1, 2304, 768), (1, 2304, 768), 0, 0),
    "clamp map": (Clamp(), (2, 8, 5, 7), (2, 8, 5, 7), 0, 0),  # any rank: [N, C, H, W] too
    "grn": (GlobalResponseNorm(40), (2, 40, 7, 7), (2, 40, 7, 7), 80, 0),  # γ, β per channel: 2·40
    # F.normalize: each vector over its p-norm, nothing learnt, no MAC; XCiT's q over its
    # 784 tokens ([N, heads, head dim, tokens], dim -1) and a map's channels (dim 1)
    "normalize tokens": (Normalize(-1), (1, 4, 32, 784), (1, 4, 32, 784), 0, 0),
    "normalize channels p1": (Normalize(1, 1.0), (2, 6, 5, 7), (2, 6, 5, 7), 0, 0),
    # XCiT's grid: 32 sines and cosines of the row and 32 of the column at 28×28 positions:
    # [N, 2·32, 28, 28] whatever it reads (the batch only); sizes alone, nothing learnt, no MAC
    "fourier_pos": (FourierPosition(32, (28, 28)), (2, 3, 224, 224), (2, 64, 28, 28), 0, 0),
    # RMS norm: γ per channel (no β), no MAC; timm's RmsNorm2d over the 64 channels of a
    # MobileNetV5 map; nn.RMSNorm over DeepSeek's 1024 token features; without γ: nothing learnt
    "rmsnorm 2d": (RmsNorm(64), (2, 64, 32, 32), (2, 64, 32, 32), 64, 0),
    "rmsnorm tokens": (RmsNorm(1024, True, True), (1, 1521, 1024), (1, 1521, 1024), 1024, 0),
    "rmsnorm no affine": (RmsNorm(6, False), (2, 6, 5, 7), (2, 6, 5, 7), 0, 0),
    # rotary embedding of DINOv3-T's queries, 3 heads · 256 tokens · 64: x·cos + rotate(x)·sin is
    # 2·49,152 multiplies and 49,152 adds, elementwise: no conv/linear MAC; sin/cos are buffers
    "rope": (Rope(), (1, 3, 256, 64), (1, 3, 256, 64), 0, 0),
    "rope interleaved": (Rope(False), (2, 16, 12, 8), (2, 16, 12, 8), 0, 0),  # [N, L, heads, D]
    # LeViT's q subsample x[:, ::2, ::2] on [N, 7, 7, 256]: ⌈7 / 2⌉ = 4 rows (then columns); a view
    "slice step": (Slice(0, 7, 1, 2), (1, 7, 7, 256), (1, 4, 7, 256), 0, 0),
    "slice step dim 2": (Slice(1, 7, 2, 3), (1, 4, 7, 256), (1, 4, 2, 256), 0, 0),  # ⌈6 / 3⌉ = 2
    # a / b: EfficientViT's out[..., :16] / (out[..., 16:] + eps), [1, 8, 196, 1] broadcast over
    # the 16 values; no params, no MAC (FlopCounterMode counts no aten.div)
    "div broadcast": (Div((1, 8, 196, 1)), (1, 8, 196, 16), (1, 8, 196, 16), 0, 0),
    "div both broadcast": (Div((2, 1, 5, 5)), (2, 8, 1, 5), (2, 8, 5, 5), 0, 0),  # max per dim
    "shift": (Shift(128.0), (1, 512, 512), (1, 512, 512), 0, 0),  # x + 128: a number, no MAC
}

CASES = {**CONV, **BN, **LINEAR, **POOL, **SHAPE_ONLY, **GRAPH_LEAVES, **TOKENS}


@pytest.mark.parametrize(("op", "x", "shape", "params", "macs"), list(CASES.values()), ids=list(CASES))
def test_cost(op: ops.Op, x: Shape, shape: Shape, params: int, macs: int) -> None:
    result = cost(op, x)
    assert result.output_shape == shape
    assert result.params == params
    assert result.macs == macs
    assert result.flops == 2 * macs
    assert result.output_elements == math.prod(shape)


ERRORS: dict[str, tuple[ops.Op, Shape, str]] = {
    "kernel larger than padded input": (Conv2d(3, 4, (5, 5)), (1, 3, 3, 3),
                                        "larger than the padded input 3"),  # span 5 > 3+0
    "dilated kernel larger than padded input": (Conv2d(3, 4, (3, 3), padding=(1, 1), dilation=(3, 3)),
                                                (1, 3, 4, 4), "span 7"),  # 3*(3-1)+1 = 7 > 4+2
    "non-square kernel too wide": (Conv2d(3, 4, (1, 7)), (1, 3, 8, 6), "larger than the padded input 6"),
    "groups not dividing in_channels": (Conv2d(6, 8, (3, 3), groups=4), (1, 6, 8, 8),
                                        "groups 4 must divide"),  # 6 % 4 = 2
    "groups not dividing out_channels": (Conv2d(4, 6, (3, 3), groups=4), (1, 4, 8, 8),
                                         "groups 4 must divide"),  # 6 % 4 = 2
    "same with stride 2": (Conv2d(3, 4, (3, 3), (2, 2), "same"), (1, 3, 8, 8), "'same' needs stride 1"),
    "conv zero height": (Conv2d(3, 4, (1, 1)), (1, 3, 0, 8), "input shape must be positive"),
    "conv negative out_channels": (Conv2d(3, -4, (3, 3)), (1, 3, 8, 8), "channels must be positive"),
    "conv zero groups": (Conv2d(3, 3, (3, 3), groups=0), (1, 3, 8, 8), "groups must be positive"),
    "conv zero kernel": (Conv2d(3, 4, (0, 3)), (1, 3, 8, 8), "kernel must be positive"),
    "conv zero stride": (Conv2d(3, 4, (3, 3), (1, 0)), (1, 3, 8, 8), "stride must be positive"),
    "conv zero dilation": (Conv2d(3, 4, (3, 3), dilation=(0, 1)), (1, 3, 8, 8), "dilation must be positive"),
    "conv negative padding": (Conv2d(3, 4, (3, 3), padding=(-1, 0)), (1, 3, 8, 8), "padding must be ≥ 0"),
    "conv channel mismatch": (Conv2d(3, 4, (3, 3)), (1, 4, 8, 8), "expects 3 input channels, got 4"),
    "conv on flat input": (Conv2d(3, 4, (3, 3)), (1, 3), "needs a [N, C, H, W] input"),
    "linear on 4-D input": (Linear(512, 10), (1, 512, 1, 1), "add a flatten layer"),
    "linear feature mismatch": (Linear(512, 10), (1, 256), "expects 512 input features, got 256"),
    "linear per position flat": (Linear(512, 10, per_position=True), (1, 512),
                                 "linear (per_position) needs a [N, C, H, W] input"),
    "linear per position channels": (Linear(96, 384, per_position=True), (1, 192, 7, 7),
                                     "expects 96 input features, got 192"),
    "bn channel mismatch": (BatchNorm(16), (1, 8, 4, 4), "expects 16 channels, got 8"),
    "pool kernel larger than padded input": (Pool("max", (3, 3), (2, 2)), (1, 4, 2, 2),
                                             "larger than the padded input 2"),
    "pool padding over half the kernel": (Pool("max", (3, 3), (1, 1), (2, 2)), (1, 4, 8, 8),
                                          "at most half the kernel"),  # 2*2 > 3
    "shuffle groups not dividing": (Shuffle(3), (1, 116, 28, 28), "must divide channels 116"),
    "output_padding too large": (ConvTranspose2d(2, 2, (3, 3), (2, 2), output_padding=(2, 2)),
                                 (1, 2, 4, 4), "output_padding 2 must be smaller"),
    "transpose channels": (ConvTranspose2d(3, 2, (2, 2)), (1, 2, 4, 4), "expects 3 input channels"),
    "transpose groups": (ConvTranspose2d(4, 6, (2, 2), groups=4), (1, 4, 4, 4), "groups 4 must divide"),
    # (1-1)·1 - 2·1 + 0 + 0 + 1 = -1
    "transpose no output": (ConvTranspose2d(1, 1, (1, 1), padding=(1, 1)), (1, 1, 1, 1),
                            "leaves no output"),
    "transpose flat": (ConvTranspose2d(1, 1, (1, 1)), (1, 1), "needs a [N, C, H, W] input"),
    "upsample to nothing": (Upsample("nearest", 0.4), (1, 1, 2, 2), "leaves no output"),  # 0.8
    "groupnorm groups": (GroupNorm(4, 6), (1, 6, 2, 2), "groups 4 must divide the 6 channels"),
    "layernorm flat": (LayerNorm(6), (1, 6), "needs a [N, C, H, W] input"),
    # torch refuses statistics of one value: InstanceNorm on a 1×1 map at any batch; GroupNorm
    # when N·(C/G)·H·W = 1·(6/6)·1·1 = 1 (at batch 2 it is 2: allowed)
    "instancenorm 1x1": (InstanceNorm(6), (2, 6, 1, 1),
                         "instancenorm needs more than one value per channel"),
    "groupnorm one value per group": (GroupNorm(6, 6), (1, 6, 1, 1),
                                      "groupnorm needs more than one value per group"),
    "norm channels": (InstanceNorm(6), (1, 5, 2, 2), "expects 6 channels, got 5"),
    "prelu slopes": (Activation("prelu", 3), (1, 4, 2, 2), "needs 1 or the 4 channels"),
    "mean flat": (Mean(), (1, 6), "needs a [N, C, H, W] input"),
    "layer_scale channels": (LayerScale(6), (1, 5, 2, 2), "expects 6 channels, got 5"),
    "grn channels": (GlobalResponseNorm(6), (1, 5, 2, 2), "grn expects 6 channels, got 5"),
    "grn flat": (GlobalResponseNorm(6), (1, 6), "needs a [N, C, H, W] input"),
    "slice past the channels": (Slice(4, 9), (1, 8, 2, 2), "channels 4:9 are not inside the input's 8"),
    "slice empty": (Slice(3, 3), (1, 8, 2, 2), "channels 3:3 are not inside"),
    "lstm on a map": (Lstm(4), (1, 6, 4, 4), "lstm needs tokens [N, L, C] (batch first)"),
    "slice past dim 2": (Slice(2, 9, 2), (1, 4, 8), "indices of dim 2 2:9 are not inside the input's 8"),
    "slice of no dim": (Slice(0, 1, 3), (1, 4, 8), "indices of dim 3 0:1 are not inside the input's 0"),
    "pad flat": (Pad((1, 1, 1, 1)), (1, 8), "pad needs a [N, C, H, W] input"),
    "fourier_pos odd": (FourierPosition(3, (4, 4)), (1, 3, 8, 8), "an even hidden size of 2 or more, got 3"),
    "slice step 0": (Slice(0, 7, 2, 0), (1, 4, 7, 256), "slice step must be positive, got 0"),
    "rmsnorm channels": (RmsNorm(6), (2, 5, 3, 3), "rmsnorm expects 6 channels, got 5"),
    "rmsnorm tokens": (RmsNorm(6, True, True), (2, 9, 5), "rmsnorm expects 6 channels, got 5"),
    "normalize the batch": (Normalize(0), (2, 6), "normalize dim 0 must be a dim after the batch"),
    "normalize past the rank": (Normalize(-3), (2, 6), "normalize dim -3 must be a dim after the batch"),
    "max over the batch": (Max(0), (2, 197, 1000), "max dim 0 must be a dim after the batch"),
    "rope odd head dim": (Rope(), (1, 3, 256, 63), "rope expects [N, ..., L, D] with an even head dim D"),
    "rope flat": (Rope(), (1, 64), "rope expects [N, ..., L, D]"),
    # torch's grid_sample: 4-D or 5-D only, grid [N, ..., rank - 2] of x's batch; bicubic 4-D only
    "grid_sample 3-D": (GridSample((2, 5, 1)), (2, 3, 8), "a 4-D [N, C, H, W] or 5-D"),
    "grid_sample grid rank": (GridSample((2, 4, 5, 3)), (2, 3, 6, 7),
                              "needs a grid [N, Ho, Wo, 2], got [2, 4, 5, 3]"),
    "grid_sample 5-D grid": (GridSample((2, 3, 4, 5, 2)), (2, 3, 4, 6, 7),
                             "needs a grid [N, Do, Ho, Wo, 3]"),
    "grid_sample batch": (GridSample((3, 4, 5, 2)), (2, 3, 6, 7), "the grid's batch 3 is not the input's 2"),
    "grid_sample bicubic 5-D": (GridSample((2, 3, 4, 5, 3), "bicubic"), (2, 3, 4, 6, 7),
                                "bicubic samples a 4-D input only"),
    "fold of too few windows": (Fold((28, 28), (3, 3), (2, 2), (1, 1)), (2, 1728, 195),
                                "needs [N, C·9, 196]"),
    **TOKEN_ERRORS,
}


@pytest.mark.parametrize(("op", "x", "message"), list(ERRORS.values()), ids=list(ERRORS))
def test_shape_error(op: ops.Op, x: Shape, message: str) -> None:
    with pytest.raises(ShapeError) as err:
        cost(op, x)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("op", "conv_class"), [
    (Conv2d(64, 128, (3, 3)), "standard"),
    (Conv2d(64, 128, (1, 1)), "pointwise"),
    (Conv2d(64, 64, (3, 3), groups=64), "depthwise"),
    (Conv2d(16, 32, (3, 3), groups=16), "depthwise"),  # channel multiplier 2
    (Conv2d(8, 16, (3, 3), groups=4), "grouped"),
])
def test_conv_class(op: Conv2d, conv_class: str) -> None:
    assert op.conv_class == conv_class


def test_cases_cover_every_op_kind() -> None:
    from test_attention_formulas import CASES as ATTENTION  # matmul, softmax, attention kinds
    from test_formulas_nd import CASES as ND  # conv3d, pools over 1 or 3 axes

    cases = [*CASES.values(), *ATTENTION.values(), *ND.values()]
    assert {type(case[0]) for case in cases} == {kind.op for kind in OPS.values()}
    assert all(key == kind.op.key for key, kind in OPS.items())


def test_registry_is_read_only() -> None:
    assert isinstance(OPS, MappingProxyType)
    with pytest.raises(TypeError):
        OPS["conv"] = OPS["bn"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del OPS["conv"]  # type: ignore[attr-defined]
    assert OPS["conv"].formula(Conv2d(1, 1, (1, 1)), (1, 1, 1, 1)).macs == 1  # 1*1*1*1*1*1*1


def test_ops_are_frozen() -> None:
    op = Conv2d(3, 4, (3, 3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.groups = 2  # type: ignore[misc]
    result = cost(op, (1, 3, 8, 8))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.macs = 0  # type: ignore[misc]
