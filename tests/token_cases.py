"""The token and view kinds' cases for tests/unit/test_formulas.py: op, input shape, output
shape, params, MACs, with the arithmetic in a comment (and the error cases)."""

from __future__ import annotations

from convcost.cost.opkind import Op
from convcost.cost.ops import Flatten, Linear
from convcost.cost.ops.channel_norm import LayerNorm
from convcost.cost.ops.gather import Gather
from convcost.cost.ops.layer_scale import LayerScale
from convcost.cost.ops.param import Param
from convcost.cost.ops.rel_pos import RelPos
from convcost.cost.ops.reshape import Permute, Reshape, Roll, Transpose, Unbind, Unflatten, View
from convcost.cost.ops.swin import PatchMerge, ShiftedWindowAttention
from convcost.cost.ops.swin_v2 import CosineWindowAttention
from convcost.cost.ops.tiling import Expand, RepeatInterleave, Sliding
from convcost.cost.ops.windows import WindowPartition, WindowReverse
from convcost.cost.value import Shape

TOKENS: dict[str, tuple[Op, Shape, Shape, int, int]] = {
    # linear over the last dim: MACs = prod(leading)·in·out; params in·out + out
    "linear tokens": (Linear(768, 3072), (2, 197, 768), (2, 197, 3072),
                      2_362_368,  # 768*3072 + 3072
                      929_562_624),  # 2*197*768*3072
    "linear rank 5": (Linear(8, 4, False), (1, 2, 3, 5, 8), (1, 2, 3, 5, 4), 32, 960),  # 30*8*4
    "linear channels-last": (Linear(96, 384, last_dim=True), (1, 56, 56, 96), (1, 56, 56, 384),
                             37_248,  # 96*384 + 384
                             115_605_504),  # 56*56*96*384
    "layernorm tokens": (LayerNorm(768, last_dim=True), (1, 197, 768), (1, 197, 768), 1_536, 0),
    "layernorm channels-last": (LayerNorm(96, False, True), (1, 56, 56, 96), (1, 56, 56, 96), 0, 0),
    "layer_scale tokens": (LayerScale(384), (1, 197, 384), (1, 197, 384), 384, 0),  # γ: [C]
    # views and windows: no params, no MACs; exact shapes
    "reshape qkv": (Reshape((197, 3, 12, 64)), (1, 197, 2304), (1, 197, 3, 12, 64), 0, 0),
    "reshape -1": (Reshape((-1, 64)), (2, 197, 12, 64), (2, 2364, 64), 0, 0),  # 197*12*64/64
    "view": (View((196, 768)), (1, 768, 14, 14), (1, 196, 768), 0, 0),
    "permute qkv": (Permute((2, 0, 3, 1, 4)), (1, 197, 3, 12, 64), (3, 1, 12, 197, 64), 0, 0),
    "permute negative": (Permute((0, -1, 1)), (1, 768, 196), (1, 196, 768), 0, 0),
    "transpose": (Transpose(1, 2), (1, 768, 196), (1, 196, 768), 0, 0),
    "transpose last two": (Transpose(-2, -1), (1, 12, 197, 64), (1, 12, 64, 197), 0, 0),
    "flatten patches": (Flatten(2), (1, 768, 14, 14), (1, 768, 196), 0, 0),  # 14*14
    "flatten middle": (Flatten(1, 2), (1, 7, 7, 96), (1, 49, 96), 0, 0),
    "unflatten": (Unflatten(1, (14, -1)), (1, 196, 768), (1, 14, 14, 768), 0, 0),  # 196/14
    "unbind q": (Unbind(0, 2), (3, 1, 12, 197, 64), (1, 12, 197, 64), 0, 0),
    "unbind class token": (Unbind(1, 0), (1, 197, 768), (1, 768), 0, 0),
    "roll": (Roll((-3, -3), (1, 2)), (1, 56, 56, 96), (1, 56, 56, 96), 0, 0),
    # 56/7 · 56/7 = 64 windows of 7·7 = 49 tokens, per image
    "window partition": (WindowPartition((7, 7)), (2, 56, 56, 96), (128, 49, 96), 0, 0),
    "window reverse": (WindowReverse((7, 7), (56, 56)), (128, 49, 96), (2, 56, 56, 96), 0, 0),
    # Swin-T's first block: T = 56·56 = 3,136 tokens, C = 96, 3 heads, 7×7 windows:
    # params 4·96² + 4·96 (qkv, proj) + 13·13·3 (bias table) = 37,248 + 507 = 37,755;
    # MACs 3,136·4·96² (qkv, proj) + 2·3,136·49·96 (q·kᵀ, a·v) = 115,605,504 + 29,503,488
    "swin window attention": (ShiftedWindowAttention(96, 3, (7, 7), (3, 3)), (1, 56, 56, 96),
                              (1, 56, 56, 96), 37_755, 145_108_992),
    # 9×10 padded to 12×12 by 4×4 windows: T = 144; C = 8, 2 heads; V2: params 4·64 + 4·8 +
    # 2 (logit scale) + 3·512 + 512·2 (cpb_mlp) = 2,850; MACs 144·4·64 + 2·144·16·8 = 73,728 +
    # cpb_mlp 7·7·(2·512 + 512·2) = 100,352
    "swin v2 padded": (ShiftedWindowAttention(8, 2, (4, 4), (2, 2), cosine=True), (1, 9, 10, 8),
                       (1, 9, 10, 8), 2_850, 174_080),
    # Swin3D-T's first block: T = 8·56·56 = 25,088 tokens, C = 96, 3 heads, 8×7×7 windows of
    # 392 tokens: params 4·96² + 4·96 + 15·13·13·3 (bias table) = 37,248 + 7,605 = 44,853;
    # MACs 25,088·4·96² + 2·25,088·392·96 = 924,844,032 + 1,888,223,232
    "swin3d window attention": (ShiftedWindowAttention(96, 3, (8, 7, 7), (4, 3, 3)),
                                (1, 8, 56, 56, 96), (1, 8, 56, 56, 96), 44_853, 2_813_067_264),
    # 3×5×5 by 4×2×2 windows: the depth narrows to its 3 frames (window 3×2×2 = 12 tokens), H
    # and W pad to 6: T = 3·6·6 = 108; C = 8, 2 heads: params 4·64 + 4·8 + 7·3·3·2 (the built
    # window's table) = 414; MACs 108·4·64 + 2·108·12·8 = 27,648 + 20,736
    "swin3d narrowed window": (ShiftedWindowAttention(8, 2, (4, 2, 2), (2, 1, 1)), (1, 3, 5, 5, 8),
                               (1, 3, 5, 5, 8), 414, 48_384),
    # timm swinv2_base_window12_192's first block: 16 windows of 12·12 = 144 tokens, C = 128, 4
    # heads, T = 2,304: params 4·128² + 3·128 (q, v biases, proj's) + 4 (logit scale) + 3·512 +
    # 512·4 (MLP) = 69,508; MACs 2,304·4·128² + 2·2,304·144·128 + 23·23·(2·512 + 512·4) =
    # 150,994,944 + 84,934,656 + 1,625,088
    "swinv2 cosine window attention": (CosineWindowAttention(128, 4, (12, 12)), (16, 144, 128),
                                       (16, 144, 128), 69_508, 237_554_688),
    # timm swinv2_cr_tiny_224's first block: 64 windows of 49 tokens, C = 96, 3 heads, T = 3,136:
    # params 4·96² + 4·96 + 3 + 3·384 + 384·3 + 3 = 39,558; MACs 3,136·4·96² + 2·3,136·49·96 +
    # 49²·(2·384 + 384·3) (MLP over every pair) = 115,605,504 + 29,503,488 + 4,609,920
    "swinv2_cr cosine window attention": (CosineWindowAttention(96, 3, (7, 7), 384, "swinv2_cr"),
                                          (64, 49, 96), (64, 49, 96), 39_558, 149_718_912),
    # 2×2 phases on the channels, odd sizes padded: [1, 7, 5, 3] -> [1, 4, 3, 12]
    "patch merge": (PatchMerge(), (1, 7, 5, 3), (1, 4, 3, 12), 0, 0),
    # Swin3D: of H and W only, the frames kept: [1, 8, 7, 5, 3] -> [1, 8, 4, 3, 12]
    "patch merge 3-D": (PatchMerge(), (1, 8, 7, 5, 3), (1, 8, 4, 3, 12), 0, 0),
    # param: the parameter's elements; its output expanded to the batch it reads
    "param class token": (Param((1, 768)), (4, 196, 768), (4, 1, 768), 768, 0),
    "param pos embedding": (Param((197, 768)), (1, 197, 768), (1, 197, 768), 151_296, 0),  # 197*768
    # Swin's bias gathered from its (2·7 − 1)²·3 = 507-element table, not 3·49·49
    "param gathered bias": (Param((3, 49, 49), 507), (64, 3, 49, 49), (64, 3, 49, 49), 507, 0),
    "param buffer mask": (Param((64, 1, 49, 49), 0), (1, 64, 3, 49, 49), (1, 64, 1, 49, 49), 0, 0),
    # MViT-V2's decomposed rel-pos: q [1, 2, 1 + 2·4·4, 8], keys [2, 2, 2]: params (3 + 7 + 7)·8 =
    # 136; MACs q·R_h, q·R_w, q·R_t: 1·2·32·8·(2 + 2 + 2) = 3,072
    "rel_pos mvit": (RelPos((1, 2, 33, 8), (2, 4, 4), (2, 2, 2), (3, 7, 7)), (1, 2, 33, 9),
                     (1, 2, 33, 9), 136, 3_072),
    "rel_pos no class token": (RelPos((2, 1, 4, 4), (1, 2, 2), (1, 1, 2), (1, 3, 3), False),
                               (2, 1, 4, 2), (2, 1, 4, 2), 28, 128),  # 7·4; 2·1·4·4·(1 + 1 + 2)
    # timm's image MViT-V2 ([h, w]: q·R_h, q·R_w, no time): q [2, 3, 1 + 4·4, 8], keys 2×2, tables
    # 2·4 − 1 = 7 rows: params (7 + 7)·8 = 112; MACs 2·3·16·8·(2 + 2) = 3,072
    "rel_pos 2-D": (RelPos((2, 3, 17, 8), (4, 4), (2, 2), (7, 7)), (2, 3, 17, 5), (2, 3, 17, 5),
                    112, 3_072),
    # 2-D, no class token, keys wider than queries (3×2 against 3×4: tables 5 and 7 rows):
    # params (5 + 7)·4 = 48; MACs 1·2·6·4·(3 + 4) = 336
    "rel_pos 2-D no class token": (RelPos((1, 2, 6, 4), (3, 2), (3, 4), (5, 7), False),
                                   (1, 2, 6, 12), (1, 2, 6, 12), 48, 336),
    # SAM's bias alone: q [B·heads = 24, 14·14, 64] of a 14×14 window, tables 2·14 − 1 = 27
    # rows: [24, 196, 196]; params (27 + 27)·64 = 3,456; MACs 24·196·64·(14 + 14) = 8,429,568
    "rel_pos SAM bias": (RelPos((24, 196, 64), (14, 14), (14, 14), (27, 27), False, True),
                         (24, 196, 64), (24, 196, 196), 3_456, 8_429_568),
    # HaloNet's kv.unfold(2, 12, 8) on 14 + 2·2 = 18 padded rows: (18 − 12) // 8 + 1 = 1 window;
    # then unfold(3, 12, 8) on 18 columns: 1 more, each window's 12 appended last (a view)
    "sliding halo rows": (Sliding(2, 12, 8), (1, 256, 18, 18), (1, 256, 1, 18, 12), 0, 0),
    "sliding halo columns": (Sliding(3, 12, 8), (1, 256, 1, 18, 12), (1, 256, 1, 1, 12, 12), 0, 0),
    "sliding step 1 last dim": (Sliding(-1, 3, 1), (2, 4, 7), (2, 4, 5, 3), 0, 0),  # 7 − 3 + 1 = 5
    # GC ViT's global query, one copy per window: [1, 7, 7, 64] -> [1·64, 7, 7, 64] (a copy)
    "repeat_interleave batch": (RepeatInterleave(64, 0), (1, 7, 7, 64), (64, 7, 7, 64), 0, 0),
    "repeat_interleave channels": (RepeatInterleave(3, -1), (2, 5, 4), (2, 5, 12), 0, 0),  # 4·3
    # HaloNet's rel_logits_1d: x.reshape(B, H, 1, W, win).expand(-1, -1, win, -1, -1), a view
    "expand a 1": (Expand((7, 11, -1, -1)), (32, 7, 1, 7, 11), (32, 7, 11, 7, 11), 0, 0),
    # ViT-RelPos's log-spaced coordinates (2·14 − 1)² × 2, a buffer not expanded: batch 1 at N = 8
    "param unexpanded buffer": (Param((27, 27, 2), 0, expand=False), (8, 3, 224, 224), (1, 27, 27, 2), 0, 0),
    # gather: the index's 196² = 38,416 entries of the 27² = 729 table rows; a copy, no MACs
    "gather rows": (Gather(38_416), (1, 729, 6), (1, 38_416, 6), 0, 0),
    "gather dim 2": (Gather(5, 2), (2, 3, 4, 7), (2, 3, 5, 7), 0, 0),  # 4 entries -> 5 picked
}

TOKEN_ERRORS: dict[str, tuple[Op, Shape, str]] = {
    "linear tokens features": (Linear(768, 10), (1, 197, 384), "expects 768 input features, got 384"),
    "gather the batch": (Gather(4, 0), (2, 6), "gather dim 0 must be a dim after the batch"),
    "gather past the rank": (Gather(4, 2), (2, 6), "gather dim 2 must be a dim after the batch"),
    "layernorm tokens features": (LayerNorm(6, last_dim=True), (1, 3, 5), "expects 6 features"),
    "reshape elements": (Reshape((5, 5)), (1, 24), "do not hold the 24 elements"),
    "reshape two -1": (Reshape((-1, -1)), (1, 24), "at most one -1"),
    "reshape -1 not dividing": (Reshape((-1, 5)), (1, 24), "do not hold the 24 elements"),
    "permute not a permutation": (Permute((0, 1, 1)), (1, 2, 3), "not a permutation of 3 dims"),
    "permute rank": (Permute((0, 1)), (1, 2, 3), "not a permutation of 3 dims"),
    "transpose dim out of range": (Transpose(1, 3), (1, 2, 3), "dim 3 is out of range"),
    "flatten start after end": (Flatten(2, 1), (1, 2, 3, 4), "start_dim 2 comes after end_dim 1"),
    "unflatten sizes": (Unflatten(1, (4, 4)), (1, 15, 2), "do not hold the 15 elements"),
    "unbind index": (Unbind(0, 3), (3, 1, 4), "index 3 is outside dim 0 of size 3"),
    "roll shifts and dims": (Roll((1,), (1, 2)), (1, 4, 4, 2), "one shift per dim"),
    "sliding window too long": (Sliding(2, 9, 1), (1, 4, 8, 8),
                                "windows of 9 (step 1) do not fit dim 2 of size 8"),
    "sliding dim out of range": (Sliding(4, 2, 1), (1, 4, 8, 8), "dim 4 is out of range"),
    "rel_pos keys": (RelPos((1, 2, 33, 8), (2, 4, 4), (2, 2, 2), (3, 7, 7)), (1, 2, 33, 8),
                     "rel_pos needs scores [B, H, 1 + 32, 1 + 8]"),
    "rel_pos sizes": (RelPos((1, 2, 33, 8), (2, 4, 4), (2, 2), (3, 7, 7)), (1, 2, 33, 9),
                      "3 sizes each"),
    "expand a size not 1": (Expand((4, 3)), (1, 2, 3), "do not broadcast [1, 2, 3]"),
    "expand rank": (Expand((4,)), (1, 1, 3), "do not broadcast [1, 1, 3]"),
    "repeat_interleave dim": (RepeatInterleave(2, 3), (1, 4, 8), "dim 3 is out of range"),
    "window partition size": (WindowPartition((7, 7)), (1, 30, 28, 8), "does not split into 7×7"),
    "window partition rank": (WindowPartition((7, 7)), (1, 49, 8), "needs an [N, H, W, C] input"),
    "window reverse tokens": (WindowReverse((7, 7), (14, 14)), (4, 48, 8), "needs [N·4, 49, C]"),
    "swin attention channels": (ShiftedWindowAttention(96, 3, (7, 7)), (1, 56, 56, 48),
                                "expects 96 channels"),
    "swin attention rank": (ShiftedWindowAttention(96, 3, (7, 7)), (1, 49, 96), "NHWC"),
    "swin3d attention rank": (ShiftedWindowAttention(96, 3, (8, 7, 7), (0, 0, 0)), (1, 56, 56, 96),
                              "[N, D, H, W, C] (NDHWC)"),
    "swin3d attention shift": (ShiftedWindowAttention(96, 3, (8, 7, 7)), (1, 8, 56, 56, 96),
                               "one shift per window axis"),
    "swin3d cosine": (ShiftedWindowAttention(8, 2, (2, 2, 2), (0, 0, 0), cosine=True),
                      (1, 4, 4, 4, 8), "cosine (Swin V2) is 2-D only"),
    "patch merge rank": (PatchMerge(), (1, 49, 96), "[N, H, W, C] (NHWC)"),
    "cosine window attention tokens": (CosineWindowAttention(96, 3, (7, 7)), (64, 48, 96),
                                       "expects 7·7 tokens a window, got 48"),
    "cosine window attention rank": (CosineWindowAttention(96, 3, (7, 7)), (1, 7, 7, 96),
                                     "[N·windows, n, C] (NLC)"),
    "cosine window attention channels": (CosineWindowAttention(96, 3, (7, 7)), (64, 49, 48),
                                         "expects 96 channels"),
}
