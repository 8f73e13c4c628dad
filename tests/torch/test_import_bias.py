"""Attention with a learnt relative-position bias, imported exactly (issue 20's BEiT, CoAtNet,
ViT-RelPos and SAM rows, each pattern as a tiny module of tests/torch/bias_models.py): params =
sum(p.numel()), MACs = FlopCounterMode FLOPs / 2 on the math attention path, nothing opaque,
the cross-check agreeing."""

from __future__ import annotations

import json
from typing import Any

import torch
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.runtime.flop_count import flop_counter

MODELS = "tests/torch/bias_models.py"


def _reference(name: str, shape: tuple[int, ...]) -> tuple[int, int]:
    import bias_models

    model = getattr(bias_models, name)().eval()
    with torch.no_grad(), flop_counter() as counter:
        model(torch.zeros(shape))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


def _exact(name: str, shape: tuple[int, ...]) -> dict[str, Any]:
    text = "x".join(map(str, shape))
    result = CliRunner().invoke(app, ["model", f"{MODELS}:{name}", "--input", text, "-f", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    totals = data["totals"]
    assert totals["complete"] and not totals["uncounted"], totals
    assert (totals["params"], totals["macs"]) == _reference(name, shape)
    assert data["verify"]["ok"], data["verify"]["mismatches"]
    return data


def test_gathered_mask_and_concatenated_qkv_bias() -> None:
    # params: embed 3·8 + 8 = 32, qkv 8·24 = 192, q_bias + v_bias 16, table 9·2 = 18: 258
    # MACs (N = 2, 4 tokens): embed 2·4·3·8 = 192, qkv 2·4·8·24 = 1,536,
    # attention 2·2 heads·4·4·(4 + 4) = 512
    data = _exact("GatheredBias", (2, 3, 2, 2))
    assert (data["totals"]["params"], data["totals"]["macs"]) == (258, 192 + 1_536 + 512)
    kinds = {layer["name"]: layer["kind"] for layer in data["layers"]}
    assert kinds["scaled_dot_product_attention_mask"] == "param"
    assert kinds["linear"] == "linear"


def test_an_mlp_on_a_buffer_runs_once_whatever_the_batch() -> None:
    # params: embed 32, qkv 8·24 + 24 = 216, fc1 2·5 + 5 = 15, fc2 5·2 + 2 = 12: 275
    # MACs (N = 3, 4 tokens): embed 3·4·3·8 = 288, qkv 3·4·8·24 = 2,304, attention
    # 3·2·4·4·(4 + 4) = 768; the MLP once on the 3·3 = 9 coordinates: fc1 9·2·5 = 90,
    # fc2 9·5·2 = 90 (not 3× at batch 3)
    data = _exact("BufferMlp", (3, 3, 2, 2))
    assert (data["totals"]["params"], data["totals"]["macs"]) == (275, 288 + 2_304 + 768 + 180)
    layers = {layer["name"]: layer for layer in data["layers"]}
    assert (layers["getitem_4"]["kind"], layers["buffer"]["kind"]) == ("gather", "param")
