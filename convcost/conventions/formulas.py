"""The formulas the conventions' rows share: what a tool counts for a leaf, as an exact int
(or a Fraction where the tool's own arithmetic is fractional). Pure: no torch."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

from convcost.conventions.convention import Rule
from convcost.cost.graph import Node
from convcost.cost.ops.channel_norm import GroupNorm, InstanceNorm, LayerNorm
from convcost.cost.ops.linear import Linear
from convcost.cost.ops.merge import Add
from convcost.cost.ops.norm import BatchNorm
from convcost.cost.ops.transpose import ConvTranspose2d
from convcost.cost.ops.upsample import Upsample


def numel_in(node: Node) -> int:
    return math.prod(node.input_shape)


def numel_out(node: Node) -> int:
    """numel(out): ``N·Cout·Ho·Wo`` for a conv, ``N·out`` for a linear layer (their bias)."""
    return math.prod(node.output_shape)


def paper(node: Node) -> int:
    """Conv and linear MACs of the registry's formulas (no bias)."""
    return node.macs


def twice_paper(node: Node) -> int:
    return node.flops


def zero(node: Node) -> int:
    return 0


def affine(node: Node) -> bool:
    """Whether a norm learns γ and β (BatchNorm, GroupNorm, LayerNorm, InstanceNorm)."""
    return isinstance(node.op, BatchNorm | GroupNorm | LayerNorm | InstanceNorm) and node.op.affine


def bn_eval(node: Node) -> int:
    # [N, C, ...]: numel · 2 (normalise + affine), numel · 1 without affine
    return numel_in(node) * (2 if affine(node) else 1)


def norm_fvcore(node: Node) -> int:
    # fvcore's norm_flop_counter (aten::group_norm, layer_norm, instance_norm): numel · 5 with a
    # weight, numel · 4 without ("a rough estimate", its source says)
    return numel_in(node) * (5 if affine(node) else 4)


def at_output_positions(node: Node) -> int:
    # thop's count_convNd and torchinfo ('Conv' in the class name) on a transposed conv: taps per
    # *output* position, numel(out)·(Cin/g)·kh·kw, ≈ stride² × the true N·Hi·Wi·Cin·(Cout/g)·K
    op = node.op
    assert isinstance(op, ConvTranspose2d)
    return numel_out(node) * (op.in_channels // op.groups) * op.kernel[0] * op.kernel[1]


def ptflops_upsample(node: Node) -> Fraction:
    # hook: numel(output[0]) (the first image, read as if it were the batch), then / N again:
    # numel(out) / N²; plus the patched F.interpolate, per batch: numel(out) for a size, or
    # numel(in)·s² for a scale s, a float as ptflops computes it
    op = node.op
    assert isinstance(op, Upsample)
    n = node.input_shape[0]
    functional = (Fraction(numel_out(node)) if op.scale is None
                  else Fraction(numel_in(node) * op.scale ** 2))
    return Fraction(numel_out(node), n * n) + functional


def bn_thop(node: Node) -> int:
    # [N, C, ...]: numel · 4 affine, numel · 2 without (thop's calculate_norm, doubled)
    return 2 * bn_eval(node)


def batch_params(node: Node) -> int:
    # torchinfo, any non-conv module: out.shape[0] · its parameter count (BN: N·2·C)
    return node.output_shape[0] * node.params


def thop_adaptive_avg(node: Node) -> int:
    # [N, C, Hi, Wi] -> [N, C, Ho, Wo]: int(((Hi/Ho)·(Wi/Wo) + 1) · numel(out)) in float64,
    # the order of operations of thop's count_adap_avgpool (exact for global pooling)
    _, _, hi, wi = node.input_shape
    _, _, ho, wo = node.output_shape
    return int(((hi / ho) * (wi / wo) + 1) * numel_out(node))


def batch_linear(node: Node) -> int:
    # torchinfo, a Linear: out.shape[0]·weight.numel() = N·in·out, on [N, F] or per position
    # ([N, H, W, F] -> out.shape[0] is N: the H·W positions are not counted)
    op = node.op
    assert isinstance(op, Linear)
    return node.output_shape[0] * op.in_features * op.out_features


def batch_linear_bias(node: Node) -> int:
    # torchinfo: out.shape[0]·bias.numel() = N·out
    op = node.op
    assert isinstance(op, Linear)
    return node.output_shape[0] * op.out_features


def add_calls(node: Node) -> int:
    assert isinstance(node.op, Add), "the add rule"
    return node.op.inputs - 1


def binary_adds(tool_op: str) -> Rule:
    """An n-ary ``add`` unsupported by a tool that sees each of its n − 1 binary adds."""
    return Rule(zero, f"0: unsupported {tool_op}, skipped (n − 1 calls for n inputs)",
                "unsupported", tool_op, add_calls)


def per_image(formula: Callable[[Node], int]) -> Callable[[Node], int]:
    """ptflops' module hooks: the batch count, divided by the batch (a multiple of it here)."""
    return lambda node: formula(node) // node.input_shape[0]


def twice(formula: Callable[[Node], int]) -> Callable[[Node], int]:
    """ptflops' hooked module calling a patched ``F.*``: per image once, per batch again."""
    return lambda node: per_image(formula)(node) + formula(node)


def zeros(doc: str, **ops: str) -> dict[str, Rule]:
    return {key: Rule(zero, doc, "zero", op) for key, op in ops.items()}


def unsupported(**ops: str) -> dict[str, Rule]:
    return {key: Rule(zero, f"0: unsupported {op}, skipped", "unsupported", op)
            for key, op in ops.items()}


def no_bias(doc: str) -> dict[str, Rule]:
    return zeros(doc, conv_bias="", linear_bias="")
