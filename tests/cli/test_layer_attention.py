"""``convcost layer --attention``: conv, separable conv and self-attention at one input."""

from __future__ import annotations

import json

import jsonschema
import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.net.attention_compare import AttentionConfig, compare_attention, self_attention
from convcost.report.output_schema import output_schema

ARGS = ["layer", "--cin", "64", "--cout", "64", "--hw", "56", "--attention", "--heads", "4"]

# (C, Cout, K, H, W, heads, kv stride) -> attention block MACs, params, activation elements
CASES = {
    "64 at 56, 4 heads": (
        (64, 64, 3, 56, 56, 4, 1),
        # q, k, v, out 1×1: 4·3136·64·64 = 51,380,224; q·kᵀ + a·v: 2·3136·3136·64 = 1,258,815,488
        1_310_195_712,
        4 * 64 * 64,  # 16,384
        # q, k, v, attention out, block out: 5·64·3136 = 1,003,520; scores 4·3136·3136 = 39,337,984
        40_341_504),
    "kv stride 2": (
        (64, 64, 3, 56, 56, 4, 2),
        # q, out 2·3136·64·64 = 25,690,112; k, v: dw 3×3 s2 2·64·784·9 = 903,168 + 1×1
        # 2·784·64·64 = 6,422,528; q·kᵀ + a·v 2·3136·784·64 = 314,703,872
        347_719_680,
        4 * 64 * 64 + 2 * 64 * 9,  # + the two depthwise 3×3: 17,536
        # q, attn out, out 3·64·3136 = 602,112; dw, k/v 4·64·784 = 200,704; scores 4·3136·784
        # = 9,834,496
        10_637_312),
    "odd size, stride 3": (
        (8, 16, 3, 7, 5, 2, 3),
        # q 35·8·8 = 2,240; out 35·8·16 = 4,480; k, v: Lk = 3·2 = 6: dw 2·8·6·9 = 864 + 1×1
        # 2·6·8·8 = 768; q·kᵀ + a·v 2·35·6·8 = 3,360
        11_712,
        3 * 64 + 8 * 16 + 2 * 72,  # 464
        # q, attn out 2·280 = 560; out 16·35 = 560; dw, k/v 4·48 = 192; scores 2·35·6 = 420
        1_732),
}


@pytest.mark.parametrize("name", list(CASES))
def test_attention_block_arithmetic(name: str) -> None:
    dims, macs, params, activations = CASES[name]
    block = self_attention(AttentionConfig(*dims))
    assert (block.macs, block.params, block.activations) == (macs, params, activations)


@pytest.mark.parametrize(("dims", "standard", "separable"), [
    ((64, 64, 3, 56, 56, 4, 1), 13, 1),  # H·W > (64·9 − 192 − 64)/2 = 160: 13² = 169, 12² = 144
    ((256, 256, 3, 14, 14, 8, 1), 26, 1),  # H·W > (256·9 − 768 − 256)/2 = 640: 26² = 676
    ((32, 32, 7, 8, 8, 1, 2), None, None),  # crossover side found at any H: checked below
])
def test_crossover_is_the_first_side_where_attention_costs_more(
        dims: tuple[int, ...], standard: int | None, separable: int | None) -> None:
    cmp = compare_attention(AttentionConfig(*dims))
    for conv, expected in (("standard", standard), ("separable", separable)):
        side = cmp.crossover[conv]
        assert side is not None
        if expected is not None:
            assert side == expected, conv
        at = [compare_attention(AttentionConfig(*dims[:3], s, s, *dims[5:])).rows
              for s in (side - 1, side) if s >= 1]
        assert at[-1]["attention"].macs > at[-1][conv].macs
        if len(at) == 2:
            assert at[0]["attention"].macs <= at[0][conv].macs


def test_table_states_the_formulas_and_the_crossover(runner: CliRunner) -> None:
    result = runner.invoke(app, ARGS)
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "attention: MACs = N·H·W·C·(C + Cout) (q, out) + 2·N·Lk·C² (k, v)" in out
    assert "s²·(Cout·K² − 3C − Cout)/2 = 1·(64·9 − 192 − 64)/2 = 160" in out
    assert "standard conv from 13×13" in out and "separable conv from 1×1" in out
    assert "1.31 G" in out and "1133.33 %" in out  # 1,310,195,712 / 115,605,504


def test_json_is_exact_and_validates(runner: CliRunner) -> None:
    result = runner.invoke(app, [*ARGS, "--kv-stride", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, output_schema())
    blocks = {b["name"]: b for b in data["blocks"]}
    assert blocks["attention"]["macs"] == 347_719_680
    assert blocks["standard"]["macs"] == 56 * 56 * 64 * 64 * 9  # 115,605,504
    assert blocks["attention"]["activation_bytes"] == 4 * 10_637_312
    assert data["config"]["key_tokens"] == 28 * 28 and data["crossover"]["standard"] == 29


@pytest.mark.parametrize(("extra", "message"), [
    (["--heads", "3"], "--heads 3 must divide the 64 input channels"),
    (["--stride", "2"], "--attention compares a square kernel at stride 1"),
    (["--k", "3,5"], "--attention compares a square kernel"),
])
def test_bad_attention_options_exit_2(runner: CliRunner, extra: list[str], message: str) -> None:
    result = runner.invoke(app, [*ARGS, *extra])
    assert result.exit_code == 2
    assert message in result.stderr
