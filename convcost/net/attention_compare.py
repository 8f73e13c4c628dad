"""``layer --attention``: a standard conv, a depthwise separable conv and a self-attention
block at one input ``[N, C, H, W]``, and the resolution where attention overtakes each conv.

The self-attention block is multi-head self-attention over the H·W tokens, as on a feature
map: 1×1 convs project q, k, v (C -> C each) and the output (C -> Cout), with ``heads`` heads
of C/heads; with ``kv_stride`` s > 1, keys and values are first downsampled by a depthwise 3×3
stride-s conv each (MobileNetV4's downsampling), so Lk = ⌈H/s⌉·⌈W/s⌉. Every figure is the sum of
the registry's formulas over the ops (exact ints). Activation memory is every tensor the
block writes, each once, the Lq×Lk attention scores included: it is what grows as N².
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from convcost.cost.opkind import Op
from convcost.cost.ops.attention import Attention
from convcost.cost.ops.conv import Conv2d
from convcost.cost.registry import cost
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ConvcostError, ShapeError

MAX_SIDE = 4096  # the crossover search's bound on H = W


@dataclass(frozen=True)
class AttentionConfig:
    """The shared input and the three blocks' hyper-parameters."""

    in_channels: int
    out_channels: int
    kernel: int
    height: int
    width: int
    heads: int = 1
    kv_stride: int = 1
    batch: int = 1

    @property
    def input_shape(self) -> Shape:
        return (self.batch, self.in_channels, self.height, self.width)


@dataclass(frozen=True)
class BlockCost:
    """One block: params, MACs, the activation elements it writes, and its output shape."""

    params: int
    macs: int
    activations: int
    output_shape: Shape


def _run(ops: list[tuple[Op, Shape]], extra: int = 0) -> BlockCost:
    """The sum of ``ops`` (each on its input), their outputs written once, plus ``extra``."""
    params = macs = written = 0
    out: Shape = ()
    for op, x in ops:
        each: LayerCost = cost(op, x)
        params, macs, written = params + each.params, macs + each.macs, written + each.output_elements
        out = each.output_shape
    return BlockCost(params, macs, written + extra, out)


def standard(cfg: AttentionConfig) -> BlockCost:
    pad = cfg.kernel // 2
    return _run([(Conv2d(cfg.in_channels, cfg.out_channels, (cfg.kernel,) * 2,
                         padding=(pad, pad)), cfg.input_shape)])


def separable(cfg: AttentionConfig) -> BlockCost:
    c, pad, x = cfg.in_channels, cfg.kernel // 2, cfg.input_shape
    dw = Conv2d(c, c, (cfg.kernel,) * 2, padding=(pad, pad), groups=c)
    return _run([(dw, x), (Conv2d(c, cfg.out_channels, (1, 1)), cost(dw, x).output_shape)])


def attention_ops(cfg: AttentionConfig) -> tuple[list[tuple[Op, Shape]], int]:
    """The self-attention block's ops on their inputs, and its scores' elements N·heads·L·Lk."""
    n, c, h, w = cfg.input_shape
    if c % cfg.heads:
        raise ConvcostError(f"--heads {cfg.heads} must divide the {c} input channels")
    proj, x = Conv2d(c, c, (1, 1)), cfg.input_shape
    ops: list[tuple[Op, Shape]] = [(proj, x)]
    kv = x
    for _ in ("key", "value"):
        src = x
        if cfg.kv_stride > 1:
            down = Conv2d(c, c, (3, 3), (cfg.kv_stride,) * 2, (1, 1), groups=c)
            ops.append((down, x))
            src = cost(down, x).output_shape
        ops.append((proj, src))
        kv = src
    d, lq, lk = c // cfg.heads, h * w, kv[2] * kv[3]
    q_tokens: Shape = (n, cfg.heads, lq, d)
    ops.append((Attention((n, cfg.heads, lk, d), (n, cfg.heads, lk, d)), q_tokens))
    ops.append((Conv2d(c, cfg.out_channels, (1, 1)), x))
    return ops, n * cfg.heads * lq * lk


def self_attention(cfg: AttentionConfig) -> BlockCost:
    ops, scores = attention_ops(cfg)
    return _run(ops, scores)


@dataclass(frozen=True)
class AttentionComparison:
    config: AttentionConfig
    rows: dict[str, BlockCost]  # standard, separable, attention
    crossover: dict[str, int | None]  # conv variant -> smallest H = W where attention costs more

    @property
    def tokens(self) -> int:
        return self.config.height * self.config.width

    @property
    def key_tokens(self) -> int:
        s = self.config.kv_stride
        return math.ceil(self.config.height / s) * math.ceil(self.config.width / s)


def crossover(cfg: AttentionConfig, conv: str) -> int | None:
    """The smallest square side r (H = W = r) at which the attention block's MACs exceed the
    conv variant's, by a scan (exact); None when not up to :data:`MAX_SIDE`."""
    variant = standard if conv == "standard" else separable
    for side in range(1, MAX_SIDE + 1):
        at = replace(cfg, height=side, width=side)
        if self_attention(at).macs > variant(at).macs:
            return side
    return None


def compare_attention(cfg: AttentionConfig) -> AttentionComparison:
    """The three blocks at ``cfg``'s input, and the crossover resolution of each conv."""
    try:
        rows = {"standard": standard(cfg), "separable": separable(cfg),
                "attention": self_attention(cfg)}
    except ShapeError as err:
        raise ConvcostError(str(err)) from None
    return AttentionComparison(cfg, rows, {conv: crossover(cfg, conv)
                                           for conv in ("standard", "separable")})
