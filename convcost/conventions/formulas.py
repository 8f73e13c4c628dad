"""The formulas the conventions' rows share: what a tool counts for a leaf, as an exact int
(or a Fraction where the tool's own arithmetic is fractional). Pure: no torch."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

from convcost.conventions.convention import Rule
from convcost.cost.graph import Node
from convcost.cost.ops.attention import Softmax
from convcost.cost.ops.conv import Conv2d
from convcost.cost.ops.linear import Linear
from convcost.cost.ops.matmul import Einsum, Matmul, einsum_sizes, parse_equation
from convcost.cost.ops.merge import Add, Average
from convcost.cost.ops.mha import MultiheadAttention, mha_dims, mha_keys
from convcost.cost.ops.std_conv import StdConv2d
from convcost.cost.ops.transpose import ConvTranspose2d
from convcost.cost.ops.upsample import Upsample
from convcost.cost.registry import op_kind


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
    """Whether a norm learns γ and β (its kind's ``affine`` trait: BatchNorm, GroupNorm, ...)."""
    learns = op_kind(node.op).affine if node.op is not None else None
    return learns is not None and learns(node.op)


def bn_eval(node: Node) -> int:
    # [N, C, ...]: numel · 2 (normalise + affine), numel · 1 without affine
    return numel_in(node) * (2 if affine(node) else 1)


def norm_fvcore(node: Node) -> int:
    # fvcore's norm_flop_counter (aten::group_norm, layer_norm, instance_norm): numel · 5 with a
    # weight, numel · 4 without ("a rough estimate", its source says)
    return numel_in(node) * (5 if affine(node) else 4)


def std_conv_fvcore(node: Node) -> int:
    # fvcore on a weight-standardised conv: the conv (aten::_convolution) and F.batch_norm in
    # training mode on the [1, Cout, Cin/g·k·k] weight: norm_flop_counter, numel·5 with a gain
    # (its batch-norm weight), numel·4 without
    op = node.op
    assert isinstance(op, StdConv2d)
    return node.macs + op.weight_numel * (5 if op.gain else 4)


def conv_with_bias(node: Node) -> int:
    # torchinfo on a class named *Conv*: (weight + bias).numel() · N·Ho·Wo; the bias term is numel(out)
    op = node.op
    assert isinstance(op, Conv2d)
    return node.macs + (numel_out(node) if op.bias else 0)


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


def operand_numel_times_columns(node: Node) -> int:
    # fvcore's matmul_flop_jit / bmm_flop_jit and ptflops' patched torch.matmul / torch.bmm:
    # numel(a)·b[-1] (a's own batch only: a broadcast b's batch is not counted)
    op = node.op
    assert isinstance(op, Matmul)
    return numel_in(node) * op.other[-1]


def einsum_fvcore(node: Node) -> int:
    # fvcore's einsum_flop_jit: letters renamed in order of appearance; "abc,abd->acd" is
    # n·c·t·p, "abc,adc->adb" n·t·g·c; any other equation numpy's einsum_path "optimized flop"
    # / 2, floored: product of every letter's size × (1 + 1 if a letter is summed away), read
    # back from numpy's printout, "%.3e": 16,384 prints 1.638e+04, so fvcore counts 8,190
    op = node.op
    assert isinstance(op, Einsum)
    (ta, tb), out = parse_equation(op.equation)
    sizes = einsum_sizes(op, node.input_shape)
    order = {ord(c): 97 + i for i, c in enumerate(dict.fromkeys(ta + tb + out))}
    renamed = f"{ta},{tb}->{out}".translate(order)
    a, b = node.input_shape, op.other
    if renamed == "abc,abd->acd":
        return a[0] * a[1] * a[2] * b[-1]
    if renamed == "abc,adc->adb":
        return a[0] * a[1] * a[2] * b[1]
    summed = bool(set(sizes) - set(out))
    printed = Decimal(f"{math.prod(sizes.values()) * (2 if summed else 1):.3e}")
    return int(printed) // 2


def mha_fvcore_skipped(node: Node) -> dict[str, int]:
    # fvcore on nn.MultiheadAttention (math path, fast path off), as measured on torch 2.13:
    # the scaling div, 4 muls (5 with need_weights, one more with add_zero_attn), the SDPA (or,
    # with need_weights, the softmax), with add_bias_kv the 2 repeats of bias_k and bias_v and,
    # when q, k and v are one tensor, the unflatten of the packed projection
    op = node.op
    assert isinstance(op, MultiheadAttention)
    ops = {"aten::div": 1, "aten::mul": 4 + op.need_weights + op.zero_attn,
           "aten::softmax" if op.need_weights else "aten::scaled_dot_product_attention": 1}
    return ops | ({"aten::unflatten": 1} if op.kv is None else {}) | (
        {"aten::repeat": 2} if op.bias_kv else {})


def average_fvcore_skipped(node: Node) -> dict[str, int]:
    # fvcore on (a + b (+ ...)) / n: n − 1 aten::add and one aten::div, each unsupported
    op = node.op
    assert isinstance(op, Average)
    return {"aten::add": op.inputs - 1, "aten::div": 1}


def thop_softmax(node: Node) -> int:
    # thop's count_softmax: (numel / F)·(F exp + (F - 1) add + F div), F = the size of dim
    op = node.op
    assert isinstance(op, Softmax)
    f = node.input_shape[op.dim]
    return numel_in(node) // f * (3 * f - 1)


def mha_projections(node: Node) -> int:
    # fvcore: the in_proj and out_proj aten::linear calls, N·Lq·E·E + N·Lk·(kdim + vdim)·E +
    # N·Lq·E·E: paper minus the two attention matmuls over K keys (SDPA is unsupported)
    return node.macs - mha_weights_matmuls(node)


def mha_weights_matmuls(node: Node) -> int:
    # need_weights=True runs Q·Kᵀ and A·V as torch.bmm (no SDPA): 2·N·Lq·K·E, K the keys
    # attended (Lk, + 1 with add_bias_kv, + 1 with add_zero_attn)
    op = node.op
    assert isinstance(op, MultiheadAttention)
    n, lq, lk, _, _ = mha_dims(op, node.input_shape)
    return 2 * n * lq * mha_keys(op, lk) * op.embed_dim


def mha_weights_ptflops(node: Node) -> int:
    # patched torch.bmm (both matmuls) and F.softmax (N·heads·Lq·K), per batch
    op = node.op
    assert isinstance(op, MultiheadAttention)
    n, lq, lk, _, _ = mha_dims(op, node.input_shape)
    return mha_weights_matmuls(node) + n * op.heads * lq * mha_keys(op, lk)


def mha_ptflops(node: Node) -> int | Fraction:
    # ptflops' multihead_attention_counter_hook, per image: Lq·E (q scaling) + Lq·E·E +
    # Lk·kdim·kdim + Lk·vdim·vdim (projections, as it writes them) + (Lq + 2·Lk)·E (in_proj
    # bias) + heads·(Lq·Lk·E/heads + Lq·Lk + Lq·Lk·vdim/heads) + Lq·vdim·(vdim + 1) (out_proj,
    # "bias is always enabled"), from the inputs' lengths (no bias_kv, zero_attn key); times
    # the MHA's batch N, over ptflops' batch (the input's first dim: L when batch_first=False)
    op = node.op
    assert isinstance(op, MultiheadAttention)
    n, lq, lk, kdim, vdim = mha_dims(op, node.input_shape)
    e, h = op.embed_dim, op.heads
    flops = lq * e + lq * e * e + lk * kdim * kdim + lk * vdim * vdim
    flops += (lq + 2 * lk) * e if op.bias else 0
    flops += h * (lq * lk * (e // h) + lq * lk + lq * lk * (vdim // h))
    flops += lq * vdim * (vdim + 1)
    if op.batch_first:
        return flops
    share = Fraction(flops * n, node.input_shape[0])
    return int(share) if share.denominator == 1 else share
