"""A rotary position embedding imported from a real module: one ``rope`` layer per rotation,
the attention and linears around it their own kinds, cross-checked against the original."""

from __future__ import annotations

import json
from typing import Any

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


def _imported(source: str, shape: tuple[int, ...]) -> tuple[Any, Any]:
    from convcost.frontend.registry import open_network
    from convcost.net.analysis import analyze
    from convcost.runtime.importer.crosscheck import verify_original
    from convcost.spec.loader import spec_from

    opened = open_network(source, shape)  # torch.fx cannot trace it (a traced batch size): torch.export
    assert opened.session is not None
    analysis = analyze(spec_from(opened.data, opened.text, opened.file))
    return analysis, verify_original(analysis, opened.session)


@pytest.mark.parametrize("batch", [1, 2])
def test_gemma4s_clamps_and_rope_angles_import_exactly(batch: int) -> None:
    analysis, check = _imported(f"{MODELS}:GemmaRotary", (batch, 3, 16, 16))
    labels = [leaf.label for leaf in analysis.leaves()]
    # 2 · (x - 0.5): two scalars; each clipped linear's two clamps; the angles of each axis a
    # matmul of buffers (the frequencies, read twice, and each axis' positions); 4 ropes
    assert labels[:2] == ["scalar", "scalar"] and labels.count("clamp") == 8
    assert labels.count("rope") == 4 and labels.count("matmul") == 2 and labels.count("param") == 3
    assert analysis.complete and check.ok, check
    # params: embed 3·16·16 + 16 = 784, four 16×16 linears 1,024 -> 1,808; MACs per image: embed
    # 16 patches·16·48 = 12,288, the linears 4·16·256 = 16,384, the angles 2 axes·2 freqs·16
    # positions·1 = 64, attention 2 heads·16·16·(8 + 8) = 8,192 -> 36,928 = FlopCounterMode / 2
    assert (analysis.totals.params, analysis.totals.macs) == (1_808, batch * 36_928)
    assert 2 * analysis.totals.macs == check.counter_flops
