"""Windows, repeats and broadcasts of traced tensors (``x.unfold``, ``x.repeat_interleave``,
``x.expand``) are read as their kinds (``sliding``, ``repeat_interleave``, ``expand``): nothing
opaque, figures equal to torch's, the cross-check agreeing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from helpers import graph_of
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.runtime.flop_count import flop_counter

MODEL = "tests/torch/import_models.py:Tiled"


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_tiling_ops_are_their_kinds(tracer: str) -> None:
    graph = graph_of(MODEL, (2, 3, 8, 8), tracer=tracer)
    assert not graph.opaque()
    ops = {n.op: n for n in graph}
    assert [n.attr("size") for n in graph if n.op == "sliding"] == [6, 6]
    assert (ops["repeat_interleave"].attr("repeats"), ops["repeat_interleave"].attr("dim")) == (4, 0)
    assert ops["repeat_interleave"].shape == (8, 1, 4)  # N·4 windows at N = 2


def _exact(name: str, shape: tuple[int, ...]) -> dict[str, Any]:
    """``convcost model`` on it: exit 0, nothing opaque, the cross-check agreeing, params and
    MACs equal to sum(p.numel()) and FlopCounterMode's FLOPs / 2 (math attention)."""
    import import_models

    model = getattr(import_models, name)().eval()
    with torch.no_grad(), flop_counter() as counter:
        model(torch.zeros(shape))
    text = "x".join(map(str, shape))
    result = CliRunner().invoke(app, ["model", f"tests/torch/import_models.py:{name}", "--input",
                                      text, "-f", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    totals = data["totals"]
    assert totals["complete"] and not totals["uncounted"] and data["verify"]["ok"], data["verify"]
    assert (totals["params"], totals["macs"]) == (
        sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2)
    return data


def test_tiled_model_is_exact() -> None:
    data = _exact("Tiled", (2, 3, 8, 8))
    # params: conv 3·4 + 4 = 16, proj 4·4 + 4 = 20: 36; MACs at N = 2: conv 2·4·8·8·3 = 1,536,
    # q·kᵀ 8·1·36·4 = 1,152, a·k 8·1·36·4 = 1,152, proj 8·3·4·4 = 384: 4,224
    assert (data["totals"]["params"], data["totals"]["macs"]) == (36, 4_224)
    kinds = [layer["kind"] for layer in data["layers"]]
    assert kinds.count("sliding") == 2 and {"repeat_interleave", "expand"} <= set(kinds)


def test_export_reads_a_gathered_window_mask() -> None:
    """TinyViT's ``biases[:, idxs]`` under torch.export: an ``aten.index`` of a parameter by a
    buffer is that parameter, read by the attention as a ``param`` mask at its query's batch."""
    graph = graph_of("tests/torch/import_models.py:WindowMask", (1, 3, 8, 8))
    assert graph.tracer == "torch.export" and not graph.opaque()
    sdpa = next(n for n in graph if n.op == "attention")
    assert (sdpa.params, sdpa.attr("mask"), sdpa.attr("state")) == (6, (2, 4, 4), ((2, 4, 4),))
    data = _exact("WindowMask", (2, 3, 8, 8))
    # params: embed 3·8·4 + 8 = 104, qkv 8·24 + 24 = 216, biases 2·3 = 6: 326; MACs at N = 2:
    # embed 2·8·4·4·12 = 3,072, qkv 8·4·8·24 = 6,144, q·kᵀ and a·v 2·(8·2·4·4·4) = 2,048: 11,264
    assert (data["totals"]["params"], data["totals"]["macs"]) == (326, 11_264)
    assert [layer["params"] for layer in data["layers"] if layer["kind"] == "param"] == [6]


@pytest.mark.slow  # torchvision's import and the cross-check: seconds; the kind's cheap cases are
# its formula, emit and token-zoo convention cases
def test_mvit_rel_pos_and_shortcut_are_exact() -> None:
    """torchvision MViT-V2's ``_add_rel_pos`` is one ``rel_pos`` layer (its two einsums and
    matmul counted as FlopCounterMode does) and ``_add_shortcut`` an add (its in-place sum read
    after it); nothing opaque."""
    data = _exact("TinyMViT", (1, 3, 4, 16, 16))
    rel = [layer for layer in data["layers"] if layer["kind"] == "rel_pos"]
    # q [1, 1, 1 + 2·4·4, 8], keys 2×2×2: params (3 + 7 + 7)·8 = 136; MACs 1·32·8·(2 + 2 + 2)
    assert [(layer["params"], layer["macs"]) for layer in rel] == [(136, 1_536)] * 2


# Halo at N = 2 on a 4×4 map: 2 heads of 4 (B·heads = 4), 2×2 blocks of 2×2, windows of 4×4
# (16 keys), tables of 7 rows. params: stem 3·8 + 8 = 32; per attention q 8·8 = 64, kv 8·16 =
# 128, tables 2·7·4 = 56: 248; 32 + 2·248 = 528. MACs: stem 2·16·3·8 = 768; per attention q
# 2·16·8·8 = 2,048, kv 2·16·8·16 = 4,096, q·kᵀ 4·4·4·16·4 = 4,096, the rel logits q·Rᵀ twice
# 2·(16·2·2·7·4) = 3,584, a·v 4·4·4·16·4 = 4,096: 17,920; 768 + 2·17,920 = 36,608
_HALO = (528, 36_608)


def test_halo_attention_is_exact() -> None:
    """timm's HaloAttn op for op: its relative logits (q @ rel_k.transpose(-1, -2) of a [7, 4]
    table, F.pad of a rank-3 and a rank-2 tensor, the second by rel_size - W the trace computes,
    x_pad[:, :W, win_size - 1:] of traced bounds) are a param merged by matmul, pads between
    reshapes and two slices: nothing opaque (5 opaque layers of timm:haloregnetz_b before)."""
    data = _exact("Halo", (2, 3, 4, 4))
    assert (data["totals"]["params"], data["totals"]["macs"]) == _HALO
    layers = {layer["name"]: layer for layer in data["layers"]}
    assert [(layers[n]["kind"], layers[n]["out_shape"]) for n in ("pad_3", "pad_3_pad", "pad_3_reshape")] \
        == [("reshape", [1, 1, 16]), ("pad", [1, 1, 21]), ("reshape", [21])]  # 2·8 + (7 − 2)
    assert [layer["params"] for layer in data["layers"] if layer["kind"] == "param"] == [28] * 4
    assert [layers[n]["out_shape"] for n in ("getitem_3", "getitem_3_slice")] == [[2, 7], [2, 4]]


@pytest.mark.parametrize("tracer", ["fx", "export", "record"])
def test_halo_attention_imports_whole_with_each_tracer(tracer: str) -> None:
    from convcost.net.analysis import analyze
    from convcost.runtime.importer.convert import to_spec
    from convcost.spec.loader import parse_spec
    from convcost.spec.yamlsafe import load_yaml

    source = "tests/torch/import_models.py:Halo"
    imported = to_spec(graph_of(source, (2, 3, 4, 4), tracer=tracer), source)
    assert not any(layer["kind"] == "opaque" for layer in imported.spec["layers"])
    root = analyze(parse_spec(load_yaml(imported.yaml))).root
    assert (root.params, root.macs) == _HALO
