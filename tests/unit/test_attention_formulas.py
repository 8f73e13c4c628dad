"""Matmul, einsum, softmax, attention, multi-head attention and Mobile MQA: hand-worked cases.

Each case states the output shape, params and MACs, with the arithmetic in a comment; then
the error cases, and what each convention counts for them (pure: the tools themselves run in
tests/torch/test_attention_conventions.py).
"""

from __future__ import annotations

import pytest

from convcost.conventions.rules import CONVENTIONS
from convcost.cost.graph import Node
from convcost.cost.opkind import Op
from convcost.cost.ops.attention import Attention, MultiheadAttention, Softmax
from convcost.cost.ops.matmul import Einsum, Matmul
from convcost.cost.ops.mqa import MobileMQA
from convcost.cost.registry import cost, label, part_nodes
from convcost.cost.value import Shape
from convcost.errors import ShapeError

Case = tuple[Op, Shape, Shape, int, int]  # op, input shape, output shape, params, MACs

CASES: dict[str, Case] = {
    "matmul": (Matmul((2, 3, 4, 7)), (2, 3, 5, 4), (2, 3, 5, 7), 0,
               840),  # numel(out) 2*3*5*7 = 210, × k 4
    "matmul broadcast": (Matmul((4, 7)), (2, 3, 5, 4), (2, 3, 5, 7), 0,
                         840),  # b broadcast over 2×3: 2*3*5*7*4
    "matmul broadcast b": (Matmul((2, 3, 4, 7)), (2, 1, 5, 4), (2, 3, 5, 7), 0,
                           840),  # a broadcast over 3 heads: 2*3*5*7*4
    "bmm": (Matmul((8, 16, 9), "bmm"), (8, 10, 16), (8, 10, 9), 0, 11_520),  # 8*10*9*16
    "einsum q·kᵀ": (Einsum("bhqd,bhkd->bhqk", (2, 3, 7, 4)), (2, 3, 5, 4), (2, 3, 5, 7), 0,
                    840),  # b h q k d = 2*3*5*7*4
    "einsum mqa": (Einsum("blhk,bpk->blhp", (2, 6, 4)), (2, 5, 3, 4), (2, 5, 3, 6), 0,
                   720),  # b l h p k = 2*5*3*6*4
    "einsum pre-sum": (Einsum("ij,jk->i", (3, 4)), (5, 3), (5,), 0,
                       15),  # k summed away first: i j = 5*3
    "einsum outer": (Einsum("bi,bj->bij", (2, 6)), (2, 5), (2, 5, 6), 0,
                     0),  # nothing contracted: torch multiplies, no MAC
    "softmax": (Softmax(-1), (2, 5, 7), (2, 5, 7), 0, 0),
    "sdpa": (Attention((2, 2, 3, 4), (2, 2, 3, 6)), (2, 2, 5, 4), (2, 2, 5, 6), 0,
             600),  # q·kᵀ 2*2*5*3*4 = 240 + a·v 2*2*5*3*6 = 360
    "sdpa mqa": (Attention((2, 1, 9, 4), (2, 1, 9, 6)), (2, 3, 5, 4), (2, 3, 5, 6), 0,
                 2_700),  # one k/v head shared by 3: 2*3*5*9*(4 + 6)
    "vit_tiny block": (Attention((1, 3, 197, 64), (1, 3, 197, 64)), (1, 3, 197, 64),
                       (1, 3, 197, 64), 0,
                       14_902_656),  # 2 * 3*197*197*64
    "mha": (MultiheadAttention(8, 2), (2, 5, 8), (2, 5, 8),
            288,  # in_proj 3*8*8 + 3*8 + out_proj 8*8 + 8
            3_360),  # 4 projections 2*5*8*8 = 4*640 + q·kᵀ, a·v 2 * 2*5*5*8 = 800
    "mha no bias": (MultiheadAttention(8, 2, bias=False), (2, 5, 8), (2, 5, 8),
                    256, 3_360),  # 4*8*8; no bias MACs either way
    "mha kdim vdim": (MultiheadAttention(8, 2, kv=(3, 6, 4)), (2, 5, 8), (2, 5, 8),
                      240,  # q 8*8 + k 8*6 + v 8*4 + 3*8 bias + out 8*8 + 8 = 64+48+32+24+72
                      2_240),  # q 640 + k 2*3*6*8 = 288 + v 2*3*4*8 = 192 + out 640
                      # + 2 * 2*5*3*8 = 480
    "mha sequence first": (MultiheadAttention(8, 2, batch_first=False), (5, 2, 8), (5, 2, 8),
                           288, 3_360),  # [L, N, E] = [5, 2, 8]: the "mha" case's N=2, L=5
    "mha bias_kv": (MultiheadAttention(8, 2, bias_kv=True), (2, 5, 8), (2, 5, 8),
                    304,  # 288 + bias_k, bias_v 8 each
                    3_520),  # 4*640 projections + 2 * 2*5*6*8 = 960: 6 keys (5 + bias_k)
    "mha zero_attn": (MultiheadAttention(8, 2, zero_attn=True), (2, 5, 8), (2, 5, 8),
                      288, 3_520),  # no param; 6 keys (5 + a zero key): as bias_kv
    "mha both, kdim vdim, seq first": (
        MultiheadAttention(8, 2, kv=(3, 6, 4), batch_first=False, bias_kv=True, zero_attn=True),
        (5, 2, 8), (5, 2, 8),
        256,  # "mha kdim vdim"'s 240 + bias_k, bias_v 8 each
        2_560),  # q 640 + k 288 + v 192 + out 640 = 1,760 + 2 * 2*5*(3 + 2)*8 = 800 (3 keys + 2)
    "vit_b_16 mha": (MultiheadAttention(768, 12), (1, 197, 768), (1, 197, 768),
                     2_362_368,  # 4*768*768 + 4*768
                     524_391_936),  # 4*197*768*768 = 464,781,312 + 2*197*197*768 = 59,610,624
    "mobile mqa": (MobileMQA(16, 16, 4, 8, 8, kv_stride=2, bias=True), (1, 16, 7, 7),
                   (1, 16, 7, 7),
                   1_696,  # q 16*32+32 = 544; k, v: dw 16*9 + BN 2*16 + 1×1 16*8+8 = 312 each;
                   # out 32*16+16 = 528
                   109_056),  # q 7*7*16*32 = 25,088; k, v: dw 3×3 s2 to 4×4: 16*4*4*9 = 2,304
                   # + 1×1 4*4*16*8 = 2,048, twice: 8,704; attention 4 heads*49*16*(8+8) =
                   # 50,176; out 7*7*32*16 = 25,088
    "mobile mqa no stride": (MobileMQA(16, 24, 2, 8, 6), (2, 16, 5, 6), (2, 24, 5, 6),
                             16 * 16 + 16 * 8 + 16 * 6 + 12 * 24,  # q, k, v, out 1×1: 768
                             2 * 30 * (16 * 16 + 16 * 8 + 16 * 6 + 2 * 30 * 14 + 12 * 24)),
                             # N*H*W * (1×1s per position + heads*L*(kd+vd) + out): 120,960
}


@pytest.mark.parametrize("name", list(CASES))
def test_formula(name: str) -> None:
    op, x, out, params, macs = CASES[name]
    got = cost(op, x)
    assert (got.output_shape, got.params, got.macs) == (out, params, macs), name


@pytest.mark.parametrize(("op", "x", "message"), [
    (Matmul((5, 7)), (2, 5, 4), "matmul contracts 4 with 5"),
    (Matmul((3, 4, 7)), (2, 5, 4), "batch sizes"),
    (Matmul((7,)), (2, 5, 7), "rank ≥ 2"),
    (Matmul((3, 4, 7), "bmm"), (2, 5, 4), "bmm needs two"),
    (Einsum("bij,bjk", (2, 3, 4)), (2, 5, 3), "two operands"),
    (Einsum("ii,ij->j", (3, 4)), (3, 3), "repeats"),
    (Einsum("bij,bjk->bik", (2, 4, 4)), (2, 5, 3), "j is 3 and 4"),
    (Einsum("b...j,bjk->bk", (2, 4, 4)), (2, 5, 3), "letters only"),
    (Softmax(3), (2, 5, 7), "dim 3"),
    (Attention((2, 2, 3, 5), (2, 2, 3, 6)), (2, 2, 5, 4), "q·kᵀ"),
    (MultiheadAttention(8, 3), (2, 5, 8), "heads 3 must divide"),
    (MultiheadAttention(8, 2), (2, 5, 6), "embed_dim 8"),
    (MultiheadAttention(8, 2), (2, 8), "tokens"),
    (MultiheadAttention(8, 2, batch_first=False), (5, 2), r"\[L, N, E\]"),
    (MobileMQA(8, 8, 2, 4, 4), (1, 6, 4, 4), "8 input channels"),
])
def test_shape_errors(op: Op, x: Shape, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        cost(op, x)


def _leaf(op: Op, x: Shape) -> Node:
    each = cost(op, x)
    return Node(params=each.params, macs=each.macs, name="attn", label=label(op), input_shape=x,
                output_shape=each.output_shape, op=op)


def test_conventions_of_one_self_attention() -> None:
    """nn.MultiheadAttention(8, 2) on [2, 5, 8] (tests/torch runs the tools on it)."""
    node = _leaf(*CASES["mha"][:2])
    counts = {name: row.count(node) for name, row in CONVENTIONS.items()}
    # fvcore: the 4 projections 4*640; ptflops' hook per image: 40 scaling + 960 projections
    # + 120 bias + 2*(100 + 25 + 100) heads + 360 out proj; torch: 2 × paper
    assert counts == {"paper": 3_360, "fvcore": 2_560, "thop": 0, "ptflops": 1_930,
                      "torchinfo": 0, "torch": 6_720}
    assert CONVENTIONS["thop"].param_count(node) == 0  # nn.MultiheadAttention: no thop rule
    assert CONVENTIONS["thop"].unsupported(node) == {"nn.MultiheadAttention": 1}


def test_conventions_of_a_sequence_first_mha_with_extra_keys() -> None:
    """nn.MultiheadAttention(8, 2, add_bias_kv, add_zero_attn) on [L, N, E] = [5, 2, 8]."""
    node = _leaf(MultiheadAttention(8, 2, batch_first=False, bias_kv=True, zero_attn=True), (5, 2, 8))
    counts = {name: row.count(node) for name, row in CONVENTIONS.items()}
    # paper: 4*640 + 2 * 2*5*7*8 = 1,120 (7 keys: 5 + bias_k + zero); fvcore: projections
    # 2,560; ptflops' hook reads the inputs only (1,930 per image, as "mha"), times N = 2,
    # over its batch, the input's first dim L = 5: 3,860 / 5 = 772; torch: 2 × paper
    assert counts == {"paper": 3_680, "fvcore": 2_560, "thop": 0, "ptflops": 772,
                      "torchinfo": 0, "torch": 7_360}
    # fvcore skips the bias_k, bias_v repeats and the zero key's extra mul
    assert CONVENTIONS["fvcore"].unsupported(node) == {
        "aten::div": 1, "aten::mul": 5, "aten::scaled_dot_product_attention": 1,
        "aten::unflatten": 1, "aten::repeat": 2}


def test_sdpa_is_counted_by_flop_counter_only() -> None:
    node = _leaf(*CASES["sdpa"][:2])
    assert {name: row.count(node) for name, row in CONVENTIONS.items()} == {
        "paper": 600, "fvcore": 0, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 1_200}
    assert CONVENTIONS["fvcore"].unsupported(node) == {"aten::scaled_dot_product_attention": 1}


def test_mobile_mqa_is_counted_as_its_parts() -> None:
    """Each convention counts the Mobile MQA leaf as its convs, BNs and attention."""
    node = _leaf(*CASES["mobile mqa"][:2])
    parts = part_nodes(node)
    assert [p.name for p in parts] == [
        "attn.query.proj", "attn.key.down_conv", "attn.key.norm", "attn.key.proj",
        "attn.value.down_conv", "attn.value.norm", "attn.value.proj", "attn.attention",
        "attn.output.proj"]
    assert sum(p.macs for p in parts) == node.macs and sum(p.params for p in parts) == node.params
    fvcore = CONVENTIONS["fvcore"]
    bn = 2 * (16 * 4 * 4 * 2)  # two BNs in eval: numel·2 each
    assert fvcore.count(node) == node.macs - 50_176 + bn  # SDPA unsupported, BNs counted
    assert fvcore.unsupported(node) == {"aten::scaled_dot_product_attention": 1}
    assert CONVENTIONS["thop"].param_count(node) == node.params


@pytest.mark.parametrize(("equation", "a", "b", "want"), [
    # "abcd,abed->abce" is not one of fvcore's two special cases: numpy's einsum_path prints
    # 2·2·16·16·8 = 8,192 MACs × 2 = "1.638e+04" FLOPs, which fvcore halves to 8,190
    ("bhqd,bhkd->bhqk", (2, 2, 16, 8), (2, 2, 16, 8), 8_190),
    # 2·3·5·7·4 = 840 MACs: "1.680e+03" FLOPs prints exactly, 840
    ("bhqd,bhkd->bhqk", (2, 3, 5, 4), (2, 3, 7, 4), 840),
    # fvcore's special case "abc,abd->acd": n·c·t·p = 2·5·3·6 = 180, no rounding
    ("abc,abd->acd", (2, 5, 3), (2, 5, 6), 180),
])
def test_fvcore_einsum_reads_numpys_rounded_printout(equation: str, a: Shape, b: Shape,
                                                     want: int) -> None:
    assert CONVENTIONS["fvcore"].count(_leaf(Einsum(equation, b), a)) == want
