"""A rotary position embedding imported from a real module: one ``rope`` layer per rotation,
the attention and linears around it their own kinds, cross-checked against the original."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app

MODELS = "tests/torch/import_models.py"


@pytest.mark.parametrize("model", ["Rotary", "Rotary(half=False)"])
def test_a_rotary_attention_imports_exactly(model: str) -> None:
    result = CliRunner().invoke(app, ["model", f"{MODELS}:{model}", "--input", "1x3x16x16", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    kinds = [layer["kind"] for layer in data["layers"]]
    assert kinds.count("rope") == 2 and "opaque" not in kinds  # q and k, nothing flagged
    # params: embed 3·16·8 + 8 = 392, cls 8, qkv 8·24 + 24 = 216, proj 8·8 + 8 = 72 -> 688;
    # MACs: embed 16·8·48 = 6,144, qkv 17·8·24 = 3,264, attention 2 heads·17·17·(4 + 4) = 4,624,
    # proj 17·8·8 = 1,088 -> 15,120 (the rotations' multiplies and adds are no MAC)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (688, 15_120)
    assert data["totals"]["complete"] and data["verify"]["ok"]


def test_weights_cast_before_use_are_the_weights() -> None:
    result = CliRunner().invoke(app, ["model", f"{MODELS}:CastWeights", "--input", "1x3x16x16", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "opaque" not in [layer["kind"] for layer in data["layers"]]
    # params: embed 3·16·8 + 8 = 392, pos 16·8 = 128, norm 2·8 = 16, head 8·4 + 4 = 36 -> 572;
    # MACs: embed 16·8·48 = 6,144, head 16·8·4 = 512 -> 6,656
    assert (data["totals"]["params"], data["totals"]["macs"]) == (572, 6_656)
    assert data["totals"]["complete"] and data["verify"]["ok"]
