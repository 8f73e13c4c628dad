"""Training MACs (issue 7): forward + grad-input + grad-weight, against ``FlopCounterMode``.

``FlopCounterMode`` is exact for ``groups = 1`` convolutions and linear layers, so there the
training FLOPs must equal its count of one forward + backward pass. For grouped convolutions
it counts grad-weight ``g`` times too high (docs/conventions.md, tool bugs): the tests pin
that relation, and check our count against the same conv split into ``g`` plain convs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import convcost
from convcost.cli.app import app
from convcost.cost.training import training

SPECS = Path(__file__).resolve().parents[2] / "specs"
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


















def test_first_layer_needs_no_grad_input() -> None:
    analysis = convcost.analyze(convcost.load_spec(SPECS / "mobilenet_v2.yaml"))
    result = training(analysis.root)
    stem = next(leaf for leaf in result.leaves if leaf.node.name == "stem.conv")
    assert (stem.grad_input_macs, stem.grad_weight_macs) == (0, stem.forward_macs)
    # every other conv/linear: grad-input = grad-weight = forward, so total = 3F - stem
    assert result.total_macs == 3 * analysis.totals.macs - stem.forward_macs
    assert result.forward_macs == analysis.totals.macs == 300_774_272


def test_a_parameter_before_the_first_conv_makes_its_input_need_grad(write_spec: Any) -> None:
    path = write_spec("""
name: bn_first
input: {channels: 3, resolution: 8}
layers:
  - {kind: bn, name: norm}
  - {kind: conv, name: conv, out_channels: 4, kernel_size: 3}
""")
    result = training(convcost.analyze(convcost.load_spec(path)).root)
    # conv 3 -> 4, 3x3, padding 1 on 8x8: 4*8*8*3*9 = 6912 MACs, each pass
    assert (result.forward_macs, result.grad_input_macs, result.grad_weight_macs) == (
        6912, 6912, 6912)


def test_model_training_json_and_table(runner: CliRunner) -> None:
    spec = str(SPECS / "mobilenet_v1.yaml")
    plain = runner.invoke(app, ["model", spec, "--no-verify", "--format", "json"])
    result = runner.invoke(app, ["model", spec, "--no-verify", "--training", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == list(json.loads(plain.stdout))  # the same keys on every run
    assert json.loads(plain.stdout)["training"] is None
    t = data["training"]
    stem = 112 * 112 * 32 * 3 * 9  # stem forward MACs: no grad-input
    assert t["forward_macs"] == 568_740_352
    assert t["total_macs"] == 3 * 568_740_352 - stem
    assert sum(row["training_macs"] for row in data["layers"]) == t["total_macs"]
    table = runner.invoke(app, ["model", spec, "--no-verify", "--training", "--depth", "1"])
    assert table.exit_code == 0
    assert f"{3 * 568_740_352 - stem:,}" in table.stdout


def test_layer_training(runner: CliRunner) -> None:
    result = runner.invoke(app, ["layer", "--cin", "8", "--cout", "16", "--hw", "10",
                                 "--training", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["training"]
    # standard 3x3 8 -> 16 on 10x10: 16*10*10*8*9 = 115,200 MACs, three times
    assert data["standard"]["total_macs"] == 3 * 115_200
    # separable: dw 8*10*10*9 = 7,200 + pw 16*10*10*8 = 12,800
    assert data["separable"]["total_macs"] == 3 * (7_200 + 12_800)
