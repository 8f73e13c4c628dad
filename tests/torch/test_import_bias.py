"""Attention with a learnt relative-position bias, imported exactly (issue 20's BEiT, CoAtNet,
ViT-RelPos and SAM rows, each pattern as a tiny module of tests/torch/bias_models.py; timm's
decomposed relative positions, MViT-V2's and SAM's, in tests/torch/rel_pos_models.py): params =
sum(p.numel()), MACs = FlopCounterMode FLOPs / 2 on the math attention path, nothing opaque,
the cross-check agreeing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.runtime.flop_count import flop_counter

MODELS = "bias_models"


def _reference(name: str, shape: tuple[int, ...], models: str) -> tuple[int, int]:
    import importlib

    model = getattr(importlib.import_module(models), name)().eval()
    with torch.no_grad(), flop_counter() as counter:
        model(torch.zeros(shape))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


def _exact(name: str, shape: tuple[int, ...], models: str = MODELS) -> dict[str, Any]:
    text = "x".join(map(str, shape))
    result = CliRunner().invoke(app, ["model", f"tests/torch/{models}.py:{name}", "--input", text,
                                      "-f", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    totals = data["totals"]
    assert totals["complete"] and not totals["uncounted"], totals
    assert (totals["params"], totals["macs"]) == _reference(name, shape, models)
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


@pytest.mark.slow  # timm's import and the cross-check: seconds; the kind's cheap cases are its
# formula, emit and token-zoo convention cases
def test_timm_mvit_rel_pos_is_exact() -> None:
    """timm's ``mvitv2.cal_rel_pos_type`` (which fx cannot trace through: it branches on the
    sizes) is kept whole and read as one ``rel_pos`` layer of [h, w] sizes."""
    # params: patch 3·16·8 + 8 = 392, cls 8, qkv 8·24 + 24 = 216, pool_k and pool_v 4·9 = 36
    # each, norm_k and norm_v 8 each, tables 2·7·4 = 56, proj 8·8 + 8 = 72: 832
    # MACs (N = 1; 1 + 16 queries, 1 + 4 keys, 2 heads of 4): patch 16·8·48 = 6,144, qkv
    # 17·8·24 = 3,264, pools 2·(2·4·2·2·9) = 576, q·kᵀ and a·v 2·(2·17·5·4) = 1,360, rel_pos
    # 1·2·16·4·(2 + 2) = 512, proj 17·8·8 = 1,088: 12,944
    data = _exact("TinyTimmMViT", (1, 3, 16, 16), "rel_pos_models")
    assert (data["totals"]["params"], data["totals"]["macs"]) == (832, 12_944)
    rel = [(layer["params"], layer["macs"]) for layer in data["layers"] if layer["kind"] == "rel_pos"]
    assert rel == [(56, 512)]


@pytest.mark.slow  # timm's import, torch.export and the cross-check: seconds
@pytest.mark.parametrize(("size", "macs", "rel"), [
    # MACs (N = 2): patch 2·25·8·48 = 19,200; block 0, 2·4 windows of 3×3 (5 padded to 6): qkv
    # 8·9·8·24 = 13,824, bias 16·9·4·(3 + 3) = 3,456, q·kᵀ and a·v 2·(16·9·9·4) = 10,368, proj
    # 8·9·8·8 = 4,608; block 1, 5×5 tokens: qkv 2·25·8·24 = 9,600, bias 4·25·4·(5 + 5) = 4,000,
    # q·kᵀ and a·v 2·(4·25·25·4) = 20,000, proj 2·25·8·8 = 3,200: 88,256
    (20, 88_256, [(40, 3_456), (72, 4_000)]),
    # a 4×4 grid: the 5×5 position table resized down (its 200 params read as 4·4·8 = 128), the
    # global block's 9-row tables resized to 7: patch 2·16·8·48 = 12,288; block 0 as at 20
    # (4 padded to 6) 32,256; block 1: qkv 2·16·8·24 = 6,144, bias 4·16·4·(4 + 4) = 2,048,
    # q·kᵀ and a·v 2·(4·16·16·4) = 8,192, proj 2·16·8·8 = 2,048: 62,976
    (16, 62_976, [(40, 3_456), (72, 2_048)]),
])
def test_sam_rel_pos_bias_and_padded_windows_are_exact(size: int, macs: int,
                                                       rel: list[tuple[int, int]]) -> None:
    """timm's SAM under torch.export (its position table's resize branches on sizes: fx cannot
    trace it): ``get_decomposed_rel_pos_bias`` inlined is one ``rel_pos`` layer of the ``bias``
    variant, SDPA's mask; the windows' ``F.pad`` of the channels-last map a pad between permutes;
    the position table resized to another grid a param of all its params."""
    # params: patch 3·16·8 + 8 = 392, pos 5·5·8 = 200; block 0: norm 16, qkv 216, tables
    # 2·5·4 = 40, proj 72; block 1: norm 16, qkv 216, tables 2·9·4 = 72, proj 72: 1,312
    data = _exact("TinySam", (2, 3, size, size), "rel_pos_models")
    assert (data["totals"]["params"], data["totals"]["macs"]) == (1_312, macs)
    assert [(layer["params"], layer["macs"]) for layer in data["layers"]
            if layer["kind"] == "rel_pos"] == rel
    assert [layer["kind"] for layer in data["layers"] if layer["name"].startswith("blocks.0.pad")] == [
        "permute", "pad", "permute"]
