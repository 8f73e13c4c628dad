"""The conventions' rows for matmuls, softmax and attention (one dict per convention name).

Each row was read from the tool's source and checked by running the tool on the op's torch
module (tests/torch/test_attention_conventions.py); docs/conventions.md, "How attention is
counted", explains the differences. ``torch`` is FlopCounterMode as convcost's cross-check runs
it: on the math SDPA backend with MHA's fast path off (by default on CPU the fused kernels are
invisible to it). Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import (
    einsum_fvcore,
    mha_fvcore_skipped,
    mha_projections,
    mha_ptflops,
    mha_weights_matmuls,
    mha_weights_ptflops,
    numel_in,
    operand_numel_times_columns,
    paper,
    thop_softmax,
    twice_paper,
    unsupported,
    zero,
    zeros,
)

COUNTED = ("matmul", "matmul_operator", "einsum", "attention", "multihead_attention")
"""The keys of this family paper counts (their MACs are real multiply-accumulates)."""

PARTS = Rule(zero, "the sum of its parts (1×1 convs, depthwise conv, BN, attention), each by "
             "its own row")
REL_POS_PARTS = Rule(zero, "the sum of its parts (two einsums and a matmul), each by its own row")
_MATMUL = "numel(a)·b[-1]"
_SDPA = "aten::scaled_dot_product_attention"
_SOFTMAXES = ("softmax", "functional_softmax", "method_softmax")
_MHA = "nn.MultiheadAttention"


def _paper() -> dict[str, Rule]:
    return {
        "matmul": Rule(paper, "numel(out)·k"), "matmul_operator": Rule(paper, "numel(out)·k"),
        "einsum": Rule(paper, "product of the kept letters' sizes"),
        "attention": Rule(paper, "B·Lq·Lk·E (q·kᵀ) + B·Lq·Lk·Ev (a·v)"),
        "multihead_attention": Rule(paper, "projections + 2·N·Lq·K·E, no bias (K = Lk, "
                                     "+ 1 with bias_kv, + 1 with zero_attn)"),
        **zeros("0: softmax and the returned weights are not MACs", mha_weights="",
                **dict.fromkeys(_SOFTMAXES, "")),
        "mobile_mqa": PARTS, "rel_pos": REL_POS_PARTS,
    }


def _fvcore() -> dict[str, Rule]:
    return {
        "matmul": Rule(operand_numel_times_columns, f"{_MATMUL} (aten::matmul, aten::bmm)",
                       tool_op="aten::matmul"),
        "matmul_operator": Rule(operand_numel_times_columns, f"{_MATMUL} (aten::matmul)",
                                tool_op="aten::matmul"),
        "einsum": Rule(einsum_fvcore, "numpy einsum_path 'optimized flop' / 2 (aten::einsum)",
                       tool_op="aten::einsum"),
        "multihead_attention": Rule(mha_projections, "in/out projections only (aten::linear); "
                                    "its SDPA unsupported", tool_op="aten::linear",
                                    skipped=mha_fvcore_skipped),
        "mha_weights": Rule(mha_weights_matmuls, "need_weights: q·kᵀ and a·v as aten::bmm",
                            tool_op="aten::bmm"),
        **unsupported(attention=_SDPA, **dict.fromkeys(_SOFTMAXES, "aten::softmax")),
        "mobile_mqa": PARTS, "rel_pos": REL_POS_PARTS,
    }


def _thop() -> dict[str, Rule]:
    return {
        "softmax": Rule(thop_softmax, "(numel/F)·(3F − 1) (count_softmax)", tool_op="nn.Softmax"),
        **unsupported(matmul="MatmulModule (torch.matmul)", matmul_operator="MatmulModule (a @ b)",
                      einsum="EinsumModule (torch.einsum)",
                      functional_softmax="F.softmax (in forward: no module)",
                      method_softmax="x.softmax (in forward: no module)",
                      attention="F.scaled_dot_product_attention (in forward: no module)",
                      multihead_attention=_MHA),
        **zeros("0: part of the unsupported nn.MultiheadAttention", mha_weights=_MHA),
        "mobile_mqa": PARTS,
        "rel_pos": Rule(zero, "the sum of its parts (0: torch.einsum, torch.matmul in forward); "
                        "its tables, no module's, are not counted", "unsupported", "RelPosModule"),
    }


def _ptflops() -> dict[str, Rule]:
    return {
        "matmul": Rule(operand_numel_times_columns, f"patched torch.matmul/bmm: {_MATMUL}, per "
                       "batch", tool_op="torch.matmul"),
        "multihead_attention": Rule(mha_ptflops, "its MHA hook, per image: scaling, projections "
                                    "(k, v as Lk·kdim², Lk·vdim²), biases, heads, softmax "
                                    "(sequence first: × N / L)",
                                    tool_op=_MHA),
        "mha_weights": Rule(mha_weights_ptflops, "need_weights: patched torch.bmm ×2 + F.softmax "
                            "N·heads·Lq·Lk, per batch", tool_op="torch.bmm"),
        **{key: Rule(numel_in, "patched F.softmax: numel, per batch", tool_op="F.softmax")
           for key in ("softmax", "functional_softmax")},
        **unsupported(matmul_operator="a @ b (Tensor.__matmul__ is not patched)",
                      einsum="torch.einsum (not patched)",
                      method_softmax="x.softmax (Tensor.softmax is not patched)",
                      attention="F.scaled_dot_product_attention (not patched)"),
        "mobile_mqa": PARTS, "rel_pos": REL_POS_PARTS,
    }


def _torchinfo() -> dict[str, Rule]:
    return {
        **zeros("0: no weight or bias parameter", **dict.fromkeys(
            ("matmul", "matmul_operator", "einsum", "attention", "mha_weights", *_SOFTMAXES), "")),
        "multihead_attention": Rule(zero, "0: not a leaf (out_proj is a child) and out_proj is "
                                    "never called", "zero", "MultiheadAttention"),
        "mobile_mqa": PARTS, "rel_pos": REL_POS_PARTS,
    }


def _torch() -> dict[str, Rule]:
    return {
        **{key: Rule(twice_paper, "2·paper (aten::bmm, aten::mm)", tool_op="aten::bmm")
           for key in COUNTED},
        **zeros("0: not a matmul", mha_weights="", **dict.fromkeys(_SOFTMAXES, "aten::softmax")),
        "mobile_mqa": PARTS, "rel_pos": REL_POS_PARTS,
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType({
    "paper": _paper(), "fvcore": _fvcore(), "thop": _thop(), "ptflops": _ptflops(),
    "torchinfo": _torchinfo(), "torch": _torch()})
"""convention name -> its rows for this family."""
