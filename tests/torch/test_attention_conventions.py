"""Matmuls, softmax and attention: every convention's row is, exactly, its tool's number.

Each case is one leaf op on its inputs; its torch module (the op kind's factory, a real
``nn.MultiheadAttention`` for ``multihead_attention``) runs under the real fvcore, thop,
ptflops (default backend), torchinfo and FlopCounterMode, as convcost's cross-check runs them:
on the math SDPA backend with MHA's fast path off (under ``torch.no_grad()`` in eval the fast
path runs ``aten::_native_multi_head_attention``, which fvcore and FlopCounterMode count 0:
pinned below). The extra inputs (k, v, b) are buffers of a harness, so
every tool sees one input and no extra parameter. What the tools count differs widely:
docs/conventions.md, "How attention is counted", tabulates it from these cases.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any

import pytest

from convcost.conventions.rules import CONVENTIONS, PAPER
from convcost.cost.graph import Node
from convcost.cost.opkind import Op
from convcost.cost.ops.attention import Attention, MultiheadAttention, Softmax
from convcost.cost.ops.matmul import Einsum, Matmul
from convcost.cost.ops.mqa import MobileMQA
from convcost.cost.ops.rel_pos import RelPos
from convcost.cost.registry import cost, label, op_kind
from convcost.cost.value import Shape

TOOLS = ("fvcore", "thop", "ptflops", "torchinfo", "torch")

# name -> (op, input shape, the other inputs' shapes)
CASES: dict[str, tuple[Op, Shape, tuple[Shape, ...]]] = {
    "mha": (MultiheadAttention(8, 2), (2, 5, 8), ()),
    "mha_no_bias": (MultiheadAttention(8, 2, bias=False), (2, 5, 8), ()),
    "mha_weights": (MultiheadAttention(8, 2, need_weights=True), (2, 5, 8), ()),
    "mha_kv": (MultiheadAttention(8, 2, kv=(3, 6, 4)), (2, 5, 8), ((2, 3, 6), (2, 3, 4))),
    "mha_kv_same": (MultiheadAttention(12, 3, kv=(7, 12, 12)), (1, 4, 12), ((1, 7, 12),) * 2),
    "mha_seq_first": (MultiheadAttention(8, 2, batch_first=False), (5, 2, 8), ()),
    "mha_bias_kv": (MultiheadAttention(8, 2, bias_kv=True), (2, 5, 8), ()),
    "mha_zero_attn": (MultiheadAttention(8, 2, zero_attn=True), (2, 5, 8), ()),
    "mha_extra_keys_weights": (MultiheadAttention(8, 2, need_weights=True, bias_kv=True,
                                                  zero_attn=True), (2, 5, 8), ()),
    "mha_kv_seq_first_extra_keys": (
        MultiheadAttention(8, 2, kv=(3, 6, 4), batch_first=False, bias_kv=True, zero_attn=True),
        (5, 2, 8), ((3, 2, 6), (3, 2, 4))),
    "sdpa": (Attention((2, 2, 3, 4), (2, 2, 3, 6)), (2, 2, 5, 4), ((2, 2, 3, 4), (2, 2, 3, 6))),
    "sdpa_causal": (Attention((1, 3, 6, 8), (1, 3, 6, 8), causal=True), (1, 3, 6, 8),
                    ((1, 3, 6, 8), (1, 3, 6, 8))),
    "sdpa_mask": (Attention((2, 1, 4, 4), (2, 1, 4, 4), mask=(5, 4)), (2, 1, 5, 4),
                  ((2, 1, 4, 4), (2, 1, 4, 4), (5, 4))),
    "sdpa_mqa": (Attention((2, 1, 9, 4), (2, 1, 9, 6)), (2, 3, 5, 4), ((2, 1, 9, 4), (2, 1, 9, 6))),
    "matmul": (Matmul((2, 3, 4, 7)), (2, 3, 5, 4), ((2, 3, 4, 7),)),
    "matmul_broadcast": (Matmul((4, 7)), (2, 3, 5, 4), ((4, 7),)),
    "matmul_broadcast_b": (Matmul((2, 3, 4, 7)), (2, 1, 5, 4), ((2, 3, 4, 7),)),
    "operator": (Matmul((2, 3, 4, 7), "operator"), (2, 3, 5, 4), ((2, 3, 4, 7),)),
    "bmm": (Matmul((2, 4, 7), "bmm"), (2, 5, 4), ((2, 4, 7),)),
    "einsum_qk": (Einsum("bhqd,bhkd->bhqk", (2, 3, 7, 4)), (2, 3, 5, 4), ((2, 3, 7, 4),)),
    "einsum_bmm": (Einsum("bci,bcj->bij", (2, 5, 3)), (2, 5, 4), ((2, 5, 3),)),
    "einsum_t": (Einsum("bti,bsi->bst", (2, 5, 3)), (2, 4, 3), ((2, 5, 3),)),
    "einsum_mqa": (Einsum("blhk,bpk->blhp", (2, 6, 4)), (2, 5, 3, 4), ((2, 6, 4),)),
    "einsum_outer": (Einsum("bi,bj->bij", (2, 6)), (2, 5), ((2, 6),)),
    "einsum_presum": (Einsum("ij,jk->i", (3, 4)), (5, 3), ((3, 4),)),
    "softmax": (Softmax(-1), (2, 5, 7), ()),
    "softmax_dim1": (Softmax(1), (2, 5, 7), ()),
    "functional_softmax": (Softmax(-1, "functional"), (2, 5, 7), ()),
    "method_softmax": (Softmax(-1, "method"), (2, 5, 7), ()),
    "mqa": (MobileMQA(16, 24, 2, 8, 6), (2, 16, 5, 6), ()),
    "mqa_strided": (MobileMQA(16, 16, 4, 8, 8, kv_stride=2, bias=True), (1, 16, 7, 7), ()),
    # MViT-V2's relative positions: scores [1, 2, 1 + 4, 1 + 4] and q [1, 2, 5, 4] (a class token)
    "rel_pos": (RelPos((1, 2, 5, 4), (1, 2, 2), (1, 2, 2), (1, 3, 3)), (1, 2, 5, 5),
                ((1, 2, 5, 4),)),
    # timm's image MViT-V2: [h, w] sizes, q·R_h and q·R_w only; 2 × 2 queries, 1 × 2 keys
    "rel_pos_2d": (RelPos((2, 2, 5, 4), (2, 2), (1, 2), (3, 3)), (2, 2, 5, 3), ((2, 2, 5, 4),)),
    # SAM's bias alone: q [B·heads = 4, 2·3, 4] -> [4, 6, 6]
    "rel_pos_bias": (RelPos((4, 6, 4), (2, 3), (2, 3), (3, 5), False, True), (4, 6, 4), ()),
}


def leaf(op: Op, x: Shape) -> Node:
    each = cost(op, x)
    return Node(params=each.params, macs=each.macs, name="op", label=label(op), input_shape=x,
                output_shape=each.output_shape, op=op)


def _harness(op: Op, x: Shape, others: tuple[Shape, ...]) -> Any:
    import torch
    from torch import nn

    class Harness(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.op = op_kind(op).module(op, x)
            self.call = op_kind(op).call or (lambda _, m, args: m(*args))  # as a model calls it
            for i, shape in enumerate(others):
                self.register_buffer(f"in{i}", torch.zeros(shape))

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.call(op, self.op, (t, *(getattr(self, f"in{i}")
                                                             for i in range(len(others)))))
            return out

    model = Harness().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def _count(tool: str, model: Any, x: Any) -> tuple[float, int | None]:
    if tool == "fvcore":
        from fvcore.nn import FlopCountAnalysis, parameter_count

        counter = FlopCountAnalysis(model, (x,)).unsupported_ops_warnings(False)
        return counter.uncalled_modules_warnings(False).total(), parameter_count(model)[""]
    if tool == "thop":
        import thop

        macs, params = thop.profile(model, inputs=(x,), verbose=False)
        return float(macs), int(params)
    if tool == "ptflops":
        from ptflops import get_model_complexity_info

        macs, params = get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False,
                                                 print_per_layer_stat=False,
                                                 input_constructor=lambda _: x)
        return float(macs), params
    if tool == "torchinfo":
        import torchinfo

        stats = torchinfo.summary(model, input_data=[x], verbose=0)
        return stats.total_mult_adds, stats.total_params
    from convcost.runtime.flop_count import flop_counter

    with flop_counter() as counter:
        model(x)
    return counter.get_total_flops(), None


def run_tool(tool: str, op: Op, x: Shape, others: tuple[Shape, ...]) -> tuple[float, int | None]:
    """The tool's (count, params) of the op's module, on zeros."""
    import torch

    from convcost.runtime.flop_count import math_attention
    from convcost.runtime.verify import quiet

    model = _harness(op, x, others)
    with quiet(), math_attention(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        return _count(tool, model, torch.zeros(x))


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", list(CASES))
def test_the_row_is_the_tools_count(name: str, tool: str) -> None:
    op, x, others = CASES[name]
    node = leaf(op, x)
    count, params = run_tool(tool, op, x, others)
    row = CONVENTIONS[tool]
    assert row.count(node) == count, (name, tool)
    assert row.param_count(node) == params, (name, tool)
    if tool == "torch":  # on the math path, FlopCounterMode FLOPs / 2 is the paper count
        assert count == 2 * PAPER.count(node)


def test_the_cases_cover_every_rule_key_of_the_family() -> None:
    from convcost.conventions.attention_rules import ROWS
    from convcost.cost.registry import rule_keys

    seen = {key for op, _, _ in CASES.values() for key in rule_keys(op)}
    assert seen == set(ROWS["paper"])


def test_the_counts_of_one_self_attention() -> None:
    """nn.MultiheadAttention(8, 2) on [2, 5, 8], each tool's own number, worked out."""
    op, x, others = CASES["mha"]
    counts = {tool: run_tool(tool, op, x, others)[0] for tool in TOOLS}
    proj = 2 * 5 * 8 * 8 * 4  # q, k, v, out: N·L·E·E each = 2,560
    attn = 2 * (2 * 5 * 5 * 8)  # q·kᵀ and a·v: N·Lq·Lk·E each = 800
    # ptflops' hook, per image: 5·8 scaling + 3·5·8·8 proj + 15·8 bias + 2·(5·5·4 + 25 + 5·5·4)
    # heads + 5·8·9 out proj
    ptflops = 5 * 8 + 3 * 5 * 8 * 8 + 15 * 8 + 2 * (5 * 5 * 4 + 25 + 5 * 5 * 4) + 5 * 8 * 9
    assert counts == {"fvcore": proj, "thop": 0, "ptflops": ptflops, "torchinfo": 0,
                      "torch": 2 * (proj + attn)}
    assert leaf(op, x).macs == proj + attn == 3_360


def test_the_mha_fast_path_hides_it_from_fvcore() -> None:
    """In eval under no_grad, MHA takes its fast path: fvcore sees one unsupported op, ptflops
    only its hook (no patched torch.bmm/F.softmax of need_weights)."""
    import torch
    from fvcore.nn import FlopCountAnalysis

    from convcost.runtime.verify import quiet

    op, x, others = CASES["mha_weights"]
    with quiet(), contextlib.redirect_stderr(io.StringIO()):
        counter = FlopCountAnalysis(_harness(op, x, others), (torch.zeros(x),))
        assert counter.unsupported_ops_warnings(False).total() == 0
        assert dict(counter.unsupported_ops()) == {"aten::_native_multi_head_attention": 1}
        assert _count("ptflops", _harness(op, x, others), torch.zeros(x))[0] == (
            CONVENTIONS["ptflops"].count(leaf(*CASES["mha"][:2])))  # 1,930: the hook alone


def test_flop_counter_default_misses_fused_attention_on_cpu() -> None:
    """Without the math path, FlopCounterMode on CPU counts no attention matmul: the MHA fast
    path (``_native_multi_head_attention``) counts nothing; the fused SDPA kernel nothing."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    op, x, others = CASES["mha"]
    model, q = _harness(op, x, others), torch.zeros(x)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(q)
    assert counter.get_total_flops() == 0  # the fast path: nothing, not even the projections
    sdpa = _harness(*CASES["sdpa_causal"])  # E = Ev = 8: the fused CPU kernel is eligible
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        sdpa(torch.zeros(CASES["sdpa_causal"][1]))
    assert counter.get_total_flops() == 0
    assert leaf(*CASES["sdpa_causal"][:2]).macs == 2 * 3 * 6 * 6 * 8  # on the math path


def test_mobile_mqa_is_timms_multi_query_attention() -> None:
    """Same params, output shape and FlopCounterMode count as timm's MultiQueryAttention2d."""
    import torch

    from convcost.runtime.flop_count import flop_counter
    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()
    from timm.layers.attention2d import MultiQueryAttention2d

    for op, x, _ in (CASES["mqa"], CASES["mqa_strided"]):
        assert isinstance(op, MobileMQA)
        timm = MultiQueryAttention2d(op.in_channels, op.out_channels, op.heads, op.key_dim,
                                     op.value_dim, kv_stride=op.kv_stride,
                                     dw_kernel_size=op.dw_kernel, use_bias=op.bias).eval()
        ours = op_kind(op).module(op, x).eval()
        assert sum(p.numel() for p in timm.parameters()) == cost(op, x).params
        assert {n: p.shape for n, p in ours.named_parameters()} == {
            n: p.shape for n, p in timm.named_parameters()}
        for model in (timm, ours):
            with torch.no_grad(), flop_counter() as counter:
                out = model(torch.zeros(x))
            assert tuple(out.shape) == cost(op, x).output_shape
            assert counter.get_total_flops() == 2 * cost(op, x).macs
    _, c, h, w = x  # mqa_strided: 1×16×7×7, 4 heads, kd = vd = 8, kv stride 2 -> 4×4
    assert cost(*CASES["mqa_strided"][:2]).macs == (
        h * w * c * 4 * 8  # query 1×1: 6,272
        + 2 * (c * 4 * 4 * 9 + 4 * 4 * c * 8)  # key and value: dw 3×3 s2 + 1×1: 2·4,352
        + 4 * (h * w) * (4 * 4) * (8 + 8)  # attention: 50,176
        + h * w * 4 * 8 * c)  # output 1×1: 25,088
    assert math.prod(x) == 784


def test_vit_tiny_attention_is_counted_on_the_math_path() -> None:
    """timm vit_tiny_patch16_224: FlopCounterMode counts 1,074,851,328 MACs plainly on CPU and
    1,253,683,200 on convcost's math path; the difference is exactly the attention matmuls."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.runtime.flop_count import flop_counter
    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()
    import timm

    model, x = timm.create_model("vit_tiny_patch16_224").eval(), torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        with FlopCounterMode(display=False) as plain:
            model(x)
        with flop_counter() as math_path:
            model(x)
    assert plain.get_total_flops() // 2 == 1_074_851_328
    assert math_path.get_total_flops() // 2 == 1_253_683_200
    # 12 blocks × (q·kᵀ + a·v): 3 heads × 197 × 197 tokens × 64 head dim each
    attention = 12 * cost(Attention((1, 3, 197, 64), (1, 3, 197, 64)), (1, 3, 197, 64)).macs
    assert attention == 12 * 2 * 3 * 197 * 197 * 64 == 1_253_683_200 - 1_074_851_328
