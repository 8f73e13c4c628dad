"""``convcost layer`` through the CLI: issue 2's acceptance figures, every format and option, bad input.

This typer's ``CliRunner`` keeps the streams apart: ``result.stdout`` and ``result.stderr`` each hold
one stream, ``result.output`` both interleaved.
"""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from convcost import ConvcostError, layer_cost
from convcost.cli.app import app

BASE = ("--cin", "64", "--cout", "128", "--k", "3", "--hw", "224")
VARIANTS = ("standard", "depthwise", "pointwise", "separable")


def _layer(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, ["layer", *args])


def _json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = _layer(runner, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    data: dict[str, Any] = json.loads(result.stdout)
    batch = data["config"]["input_shape"][0]
    for row in data["variants"]:  # each variant also by name, with its N×C×H×W output shape
        data[row["name"]] = {**row, "output_shape": [batch, row["out_c"], row["out_h"], row["out_w"]]}
    return data


def _theory(cout: int, kh: int, kw: int) -> float:
    return float(Fraction(1, cout) + Fraction(1, kh * kw))  # 1/N + 1/K²


# --- issue 2 acceptance -------------------------------------------------------------------------


def test_acceptance_64_128_k3_224(runner: CliRunner) -> None:
    data = _json(runner, *BASE)
    assert data["standard"]["macs"] == 3_699_376_128  # 1*128*224*224*64*3*3
    assert data["depthwise"]["macs"] == 28_901_376  # 1*64*224*224*3*3
    assert data["pointwise"]["macs"] == 411_041_792  # 1*128*224*224*64
    assert data["separable"]["macs"] == 439_943_168  # 28,901,376 + 411,041,792
    assert data["separable"]["flops"] == 879_886_336  # 2*439,943,168
    assert data["standard"]["output_shape"] == [1, 128, 224, 224]
    assert data["depthwise"]["output_shape"] == [1, 64, 224, 224]
    assert data["ratio"]["macs"] == data["ratio"]["theory"] == _theory(128, 3, 3)  # 1/128 + 1/9
    assert data["ratio"]["theory"] == pytest.approx(0.118924, abs=5e-7)


def test_acceptance_table(runner: CliRunner) -> None:
    result = _layer(runner, *BASE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for row in VARIANTS:
        assert row in out
    assert "3.70 G" in out  # standard MACs 3,699,376,128
    assert "439.94 M" in out  # separable MACs 439,943,168
    assert "1/N + 1/K² = 1/128 + 1/9 = 0.118924" in out
    assert "8.41×" in out  # 3,699,376,128 / 439,943,168
    assert "88.1 % fewer" in out  # 1 - (1/128 + 1/9)


def test_stride_2_keeps_theory(runner: CliRunner) -> None:
    data = _json(runner, *BASE, "--stride", "2")
    assert data["standard"]["output_shape"] == [1, 128, 112, 112]  # (224+2-3)//2+1
    assert data["standard"]["macs"] == 924_844_032  # 1*128*112*112*64*3*3
    assert data["separable"]["macs"] == 109_985_792  # 1*64*112*112*3*3 + 1*128*112*112*64
    assert data["ratio"]["macs"] == data["ratio"]["theory"] == _theory(128, 3, 3)


@pytest.mark.parametrize(("cin", "cout", "standard", "separable"), [
    (3, 4, 108, 39),  # 4*3*3*3 ; 3*3*3 + 3*4
    (3, 256, 6_912, 795),  # 256*3*3*3 ; 3*3*3 + 3*256
    (64, 128, 73_728, 8_768),  # 128*64*3*3 ; 64*3*3 + 64*128
])
def test_params(runner: CliRunner, cin: int, cout: int, standard: int, separable: int) -> None:
    data = _json(runner, "--cin", str(cin), "--cout", str(cout), "--k", "3", "--hw", "32")
    assert data["standard"]["params"] == standard
    assert data["separable"]["params"] == separable
    assert data["ratio"]["params"] == float(Fraction(separable, standard))


@pytest.mark.torch  # needs torch: deselected by the fast loop
def test_bias_matches_torch_conv(runner: CliRunner) -> None:
    import torch

    data = _json(runner, "--cin", "3", "--cout", "4", "--k", "3", "--hw", "32", "--bias")
    torch_params = sum(p.numel() for p in torch.nn.Conv2d(3, 4, 3).parameters())
    assert data["standard"]["params"] == torch_params == 112  # 4*3*3*3 + 4
    assert data["depthwise"]["params"] == 30  # 3*1*3*3 + 3
    assert data["pointwise"]["params"] == 16  # 4*3 + 4
    assert data["standard"]["macs"] == 4 * 32 * 32 * 3 * 9  # bias adds no MACs


# --- machine formats ----------------------------------------------------------------------------


def test_json_schema(runner: CliRunner) -> None:
    data = _json(runner, "--cin", "8", "--cout", "16", "--hw", "10")
    assert [row["name"] for row in data["variants"]] == list(VARIANTS)
    for row in data["variants"]:
        assert all(type(row[key]) is int for key in ("params", "macs", "flops", "out_c", "out_h", "out_w"))
        assert row["flops"] == 2 * row["macs"]
        assert row["count"] == row["macs"]  # paper convention: the count is the MACs
    assert set(data["ratio"]) == {"macs", "params", "theory"}
    assert all(type(v) is float for v in data["ratio"].values())
    assert data["memory"] is None and data["training"] is None  # not asked for: null, not absent


def test_csv_exact_integers(runner: CliRunner) -> None:
    result = _layer(runner, *BASE, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    assert list(rows) == list(VARIANTS)
    assert rows["standard"]["macs"] == "3699376128"  # 1*128*224*224*64*3*3
    assert rows["standard"]["flops"] == "7398752256"  # 2*3,699,376,128
    assert rows["standard"]["params"] == "73728"  # 128*64*3*3
    assert rows["separable"]["macs"] == "439943168"  # 64*224*224*9 + 64*128*224*224
    assert rows["separable"]["params"] == "8768"  # 64*9 + 64*128


def test_markdown_exact_integers(runner: CliRunner) -> None:
    result = _layer(runner, *BASE, "--format", "markdown")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "| standard | 128×224×224 | 73728 | 3699376128 | 7398752256 | 1.000000 |" in lines
    assert "| separable | 128×224×224 | 8768 | 439943168 | 879886336 | 0.118924 |" in lines
    assert any("88.1 % fewer" in line for line in lines)


# --- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "shape", "macs"), [
    # --alpha truncates: int(64*0.5) = 32, int(128*0.5) = 64
    (("--alpha", "0.5"), [1, 64, 224, 224], 924_844_032),  # 1*64*224*224*32*3*3
    # int(64*0.7) = int(44.8) = 44 and int(128*0.7) = int(89.6) = 89 (rounding would give 45, 90)
    (("--alpha", "0.7"), [1, 89, 224, 224], 1_768_402_944),  # 1*89*224*224*44*3*3
    (("--rho", "0.5"), [1, 128, 112, 112], 924_844_032),  # 1*128*112*112*64*3*3
    (("--rho", "0.714285"), [1, 128, 160, 160], 1_887_436_800),  # round(224*0.714285) = 160
    (("--batch", "4"), [4, 128, 224, 224], 14_797_504_512),  # 4*128*224*224*64*3*3
    (("--k", "1x7"), [1, 128, 224, 224], 2_877_292_544),  # pad (0, 3); 1*128*224*224*64*1*7
    (("--stride", "2x1"), [1, 128, 112, 224], 1_849_688_064),  # 1*128*112*224*64*3*3
    (("--padding", "0"), [1, 128, 222, 222], 3_633_610_752),  # 1*128*222*222*64*3*3
    (("--padding", "2x0"), [1, 128, 226, 222], 3_699_081_216),  # 1*128*226*222*64*3*3
    (("--padding", "same", "--dilation", "2"), [1, 128, 224, 224], 3_699_376_128),
    (("--dilation", "2"), [1, 128, 224, 224], 3_699_376_128),  # auto pad 2*(3-1)//2 = 2, span 5
    (("--dilation", "2", "--padding", "1"), [1, 128, 222, 222], 3_633_610_752),  # 224+2-5+1 = 222
])
def test_options(runner: CliRunner, args: tuple[str, ...], shape: list[int], macs: int) -> None:
    data = _json(runner, *BASE, *args)
    assert data["standard"]["output_shape"] == shape
    assert data["standard"]["macs"] == macs
    assert data["ratio"]["macs"] == data["ratio"]["theory"]


def test_alpha_scales_channels(runner: CliRunner) -> None:
    data = _json(runner, *BASE, "--alpha", "0.5")
    assert data["config"]["in_channels"] == 32  # int(64*0.5)
    assert data["config"]["out_channels"] == 64  # int(128*0.5)
    assert data["standard"]["params"] == 18_432  # 64*32*3*3
    assert data["ratio"]["theory"] == _theory(64, 3, 3)  # N = the scaled cout


def test_non_square_input(runner: CliRunner) -> None:
    data = _json(runner, "--cin", "64", "--cout", "128", "--h", "224", "--w", "112")
    assert data["standard"]["output_shape"] == [1, 128, 224, 112]
    assert data["standard"]["macs"] == 1_849_688_064  # 1*128*224*112*64*3*3
    assert data["separable"]["macs"] == 219_971_584  # 1*64*224*112*9 + 1*128*224*112*64


def test_batch_scales_macs_not_params(runner: CliRunner) -> None:
    one = _json(runner, *BASE)
    four = _json(runner, *BASE, "--batch", "4")
    for name in VARIANTS:
        assert four[name]["macs"] == 4 * one[name]["macs"]
        assert four[name]["params"] == one[name]["params"]
        assert four[name]["output_shape"] == [4, *one[name]["output_shape"][1:]]


def test_bn_adds_two_params_per_channel(runner: CliRunner) -> None:
    plain = _json(runner, *BASE)
    bn = _json(runner, *BASE, "--bn")
    added = {"standard": 256, "depthwise": 128, "pointwise": 256}  # 2*128, 2*64, 2*128
    for name, extra in added.items():
        assert bn[name]["params"] == plain[name]["params"] + extra
        assert bn[name]["macs"] == plain[name]["macs"]
    assert bn["separable"]["params"] == 9_152  # 64*9 + 2*64 + 64*128 + 2*128
    assert bn["ratio"]["macs"] == bn["ratio"]["theory"]  # BN adds no paper MACs


@pytest.mark.parametrize("options", [
    {"in_channels": 0, "out_channels": 4},
    {"in_channels": 3, "out_channels": -4},
    {"in_channels": 3, "out_channels": 4, "stride": (0, 0)},
])
def test_api_refuses_non_positive_sizes(options: dict[str, Any]) -> None:
    with pytest.raises(ConvcostError, match="must be positive"):
        layer_cost(kernel_size=3, height=8, **options)


# --- bad input ----------------------------------------------------------------------------------

BAD: dict[str, tuple[tuple[str, ...], str]] = {
    "cin zero": (("--cin", "0", "--cout", "4", "--hw", "8"), "--cin"),
    "cout negative": (("--cin", "3", "--cout", "-4", "--hw", "8"), "--cout"),
    "hw zero": (("--cin", "3", "--cout", "4", "--hw", "0"), "--hw"),
    "hw negative": (("--cin", "3", "--cout", "4", "--hw", "-8"), "--hw"),
    "h zero": (("--cin", "3", "--cout", "4", "--h", "0", "--w", "8"), "--hw"),
    "batch zero": (("--cin", "3", "--cout", "4", "--hw", "8", "--batch", "0"), "--batch"),
    "k zero": (("--cin", "3", "--cout", "4", "--hw", "8", "--k", "0"), "--k"),
    "k not a number": (("--cin", "3", "--cout", "4", "--hw", "8", "--k", "3y"), "--k"),
    "stride zero": (("--cin", "3", "--cout", "4", "--hw", "8", "--stride", "0"), "--stride"),
    "dilation zero": (("--cin", "3", "--cout", "4", "--hw", "8", "--dilation", "0"), "--dilation"),
    "padding negative": (("--cin", "3", "--cout", "4", "--hw", "8", "--padding", "-1"), "--padding"),
    "kernel larger than padded input": (
        ("--cin", "3", "--cout", "4", "--hw", "2", "--k", "5", "--padding", "0"),
        "larger than the padded input 2"),  # span 5 > 2+0
    "dilated kernel larger": (("--cin", "3", "--cout", "4", "--hw", "4", "--dilation", "3",
                               "--padding", "1"), "span 7"),  # 3*(3-1)+1 = 7 > 4+2
    "same with stride 2": (("--cin", "3", "--cout", "4", "--hw", "8", "--padding", "same",
                            "--stride", "2"), "'same' needs stride 1"),
    "alpha zero": (("--cin", "3", "--cout", "4", "--hw", "8", "--alpha", "0"), "--alpha"),
    "alpha negative": (("--cin", "3", "--cout", "4", "--hw", "8", "--alpha", "-0.5"), "--alpha"),
    "alpha nan": (("--cin", "3", "--cout", "4", "--hw", "8", "--alpha", "nan"), "--alpha"),
    "alpha inf": (("--cin", "3", "--cout", "4", "--hw", "8", "--alpha", "inf"), "--alpha"),
    "alpha rounds channels to 0": (("--cin", "3", "--cout", "4", "--hw", "8", "--alpha", "0.1"),
                                   "--cin"),  # int(3*0.1) = 0
    "rho zero": (("--cin", "3", "--cout", "4", "--hw", "8", "--rho", "0"), "--rho"),
    "rho nan": (("--cin", "3", "--cout", "4", "--hw", "8", "--rho", "nan"), "--rho"),
    "rho overflow": (("--cin", "3", "--cout", "4", "--hw", "8", "--rho", "1e400"), "--rho"),
    "hw with h": (("--cin", "3", "--cout", "4", "--hw", "8", "--h", "8"), "not both"),
    "no size": (("--cin", "3", "--cout", "4"), "missing input size"),
    "h without w": (("--cin", "3", "--cout", "4", "--h", "8"), "missing input size"),
    "missing cin": (("--cout", "4", "--hw", "8"), "--cin"),
    "unknown option": (("--cin", "3", "--cout", "4", "--hw", "8", "--bogus"), "--bogus"),
    "cin not an integer": (("--cin", "three", "--cout", "4", "--hw", "8"), "--cin"),
    "format bad": (("--cin", "3", "--cout", "4", "--hw", "8", "--format", "yaml"),
                   "layer: Invalid value for '--format' / '-f': 'yaml' is not one of 'table', "
                   "'json', 'csv', 'markdown'."),
}


@pytest.mark.parametrize(("args", "message"), list(BAD.values()), ids=list(BAD))
def test_bad_input(runner: CliRunner, args: tuple[str, ...], message: str) -> None:
    result = _layer(runner, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("convcost: error: ")
    assert message in lines[0]
