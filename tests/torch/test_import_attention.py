"""The importer reads attention: nn.MultiheadAttention, SDPA, matmuls, einsum and softmax
become their kinds (not opaque), each with the traced figures; the cross-check agrees."""

from __future__ import annotations

import pytest
from helpers import graph_of

from convcost.runtime.importer.convert import to_spec
from convcost.spec.yamlsafe import load_yaml

MODEL = "tests/torch/import_models.py:Attend"
SHAPE = (2, 3, 16, 16)  # 16 tokens of 16 after the 4×4 patch conv


def test_attention_ops_are_read_as_their_kinds() -> None:
    graph = graph_of(MODEL, SHAPE, tracer="fx")
    by_op = {}
    for node in graph:
        by_op.setdefault(node.op, []).append(node)
    mha = by_op["multihead_attention"][0]
    assert dict(mha.attrs) == {"embed_dim": 16, "heads": 2, "bias": True, "kv": None,
                               "need_weights": False, "batch_first": True, "bias_kv": False,
                               "zero_attn": False}
    assert mha.params == 3 * 16 * 16 + 48 + 16 * 16 + 16  # in_proj + out_proj: 1,088
    sdpa = by_op["attention"][0]
    assert sdpa.attr("causal") and sdpa.attr("key_shape") == (2, 2, 16, 8)
    assert [m.attr("fn") for m in by_op["matmul"]] == ["operator", "operator", "matmul"]
    assert [s.attr("form") for s in by_op["softmax"]] == ["module", "method"]
    assert by_op["einsum"][0].attr("equation") == "bhqd,bhkd->bhqk"


def test_emitted_layers_and_their_macs() -> None:
    graph = graph_of(MODEL, SHAPE, tracer="fx")
    imported = to_spec(graph, MODEL)
    layers = {layer["name"]: layer for layer in load_yaml(imported.yaml, MODEL)["layers"]}
    kinds = [layer["kind"] for layer in layers.values()]
    for kind in ("multihead_attention", "attention", "matmul", "softmax", "einsum"):
        assert kind in kinds, kind
    assert layers["attn"] == {"kind": "multihead_attention", "name": "attn", "heads": 2}
    assert layers["scaled_dot_product_attention"]["causal"] is True


@pytest.mark.parametrize("verify", [True])
def test_model_cross_checks_params_and_attention(verify: bool) -> None:
    """``convcost model`` on it: params equal sum(p.numel()) (MHA's out_proj is read, never
    called), and the cross-check (math path) raises no mismatch."""
    import json

    from typer.testing import CliRunner

    from convcost.cli.app import app

    result = CliRunner().invoke(app, ["model", MODEL, "--input", "2x3x16x16", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["totals"]["params"] == 784 + 1_088 + 816  # embed, attn, qkv: 2,688
    assert data["verify"]["ok"], data["verify"]["mismatches"]
    # attention layers' paper MACs: MHA 4·2·16·16·16 + 2·2·16·16·16 = 49,152; SDPA, q·kᵀ,
    # a·v, einsum, matmul: 2·2·16·16·8 = 8,192 each, SDPA twice that
    macs = {layer["name"]: layer["macs"] for layer in data["layers"]}
    assert macs["attn"] == 49_152 and macs["scaled_dot_product_attention"] == 16_384
    assert macs["einsum"] == macs["matmul"] == 8_192
