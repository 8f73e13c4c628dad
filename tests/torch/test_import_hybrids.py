"""Mobile attention hybrids (MobileViT, EfficientFormer, MobileNetV4-hybrid): each pattern as a
tiny module, imported exactly: params = sum(p.numel()), MACs = FlopCounterMode FLOPs / 2 on the
math attention path, nothing opaque, the cross-check agreeing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import graph_of
from shipped_specs import TIMM_SPECS
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.runtime.flop_count import flop_counter

MODELS = "tests/torch/import_models.py"
ROOT = Path(__file__).resolve().parents[2]


def _reference(name: str, shape: tuple[int, ...]) -> tuple[int, int]:
    import import_models

    model = getattr(import_models, name)().eval()
    with torch.no_grad(), flop_counter() as counter:
        model(torch.zeros(shape))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


def _model(name: str, shape: tuple[int, ...]) -> dict[str, Any]:
    text = "x".join(map(str, shape))
    result = CliRunner().invoke(app, ["model", f"{MODELS}:{name}", "--input", text, "-f", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _exact(name: str, shape: tuple[int, ...]) -> dict[str, Any]:
    data = _model(name, shape)
    totals = data["totals"]
    assert totals["complete"] and not totals["uncounted"], totals
    assert (totals["params"], totals["macs"]) == _reference(name, shape)
    assert data["verify"]["ok"], data["verify"]["mismatches"]
    return data


def test_mobilevit_patches_fold_the_batch() -> None:
    # conv 3·8 + 8 = 32, qkv 8·24 + 24 = 216, proj 8·8 + 8 = 72: 320 params;
    # MACs: conv 2·8·8·8·3 = 3,072 (N=2, 8×8); tokens N·4 = 8 batches of 16 patches:
    # qkv 8·16·8·24 = 24,576, attention 8·2·16·16·(4 + 4) = 32,768, proj 8·16·8·8 = 8,192
    data = _exact("Patches", (2, 3, 8, 8))
    assert (data["totals"]["params"], data["totals"]["macs"]) == (320, 3_072 + 24_576 + 32_768 + 8_192)
    folds = [layer for layer in data["layers"] if layer["kind"] == "reshape"]
    assert folds, "the patch reshapes are reshape layers"


def test_export_reads_unbind_pieces() -> None:
    graph = graph_of(f"{MODELS}:Patches", (1, 3, 8, 8), tracer="export")
    pieces = [n for n in graph if n.op == "unbind" and n.attr("index") is not None]
    assert [(n.attr("dim"), n.attr("index")) for n in pieces] == [(0, 0), (0, 1), (0, 2)]
    assert len({n.inputs for n in pieces}) == 1  # each a piece of the permuted qkv
    assert not graph.opaque()


@pytest.mark.parametrize(("shape", "fold", "out"), [
    ((2, 8, 4, 4), 16, (32, 2, 2, 2)),  # [2, 8, 4, 4] -> [2·16, 2, 2, 2]: 256 elements
])
def test_reshape_fold_shape_rule(shape: tuple[int, ...], fold: int, out: tuple[int, ...]) -> None:
    from convcost.cost.ops.reshape import Reshape, reshape

    assert reshape(Reshape(out[1:], fold=fold), shape).output_shape == out
    assert reshape(Reshape(shape[1:], unfold=fold), out).output_shape == shape


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_pool_minus_input_is_a_sub(tracer: str) -> None:
    graph = graph_of(f"{MODELS}:PoolMixer", (1, 3, 8, 8), tracer=tracer)
    assert [n.op for n in graph if n.op == "sub"] == ["sub"] and not graph.opaque()


def test_pool_mixer_exact() -> None:
    # conv 3·8 + 8 = 32, proj 8·4 + 4 = 36: 68 params; MACs 2·8·8·(3·8 + 8·4) = 7,168 (N=2)
    data = _exact("PoolMixer", (2, 3, 8, 8))
    assert (data["totals"]["params"], data["totals"]["macs"]) == (68, 7_168)
    assert [layer["kind"] for layer in data["layers"]].count("sub") == 1


def test_layer_scale_of_a_viewed_gamma() -> None:
    # PoolMixer's 68 params + gamma 4 = 72; MACs 7,168 (the scale: none)
    data = _exact("ScaledMixer", (2, 3, 8, 8))
    assert (data["totals"]["params"], data["totals"]["macs"]) == (72, 7_168)
    assert [layer["kind"] for layer in data["layers"]].count("layer_scale") == 1


def test_timm_mobile_mqa_is_one_layer() -> None:
    # conv 3·16 + 16 = 64; MQA: query 16·16 = 256, key/value: dw 16·9 = 144 + BN 32 + proj
    # 16·8 = 128 each (608), output 16·24 = 384: 1,248 params
    data = _exact("MobileMQA", (1, 3, 8, 8))
    assert data["totals"]["params"] == 64 + 1_248
    mqa = [layer for layer in data["layers"] if layer["kind"] == "mobile_mqa"]
    assert len(mqa) == 1 and mqa[0]["params"] == 1_248


def test_batch_norm_over_token_rows_is_exact() -> None:
    # LeViT's LinearNorm, bn(x.flatten(0, 1)).reshape_as(x): params embed 3·16·8 + 8 = 392,
    # linear 8·16 = 128, bn 2·16 = 32: 552; MACs at N = 2: embed 2·8·(2·2)·(3·16) = 3,072,
    # linear 2·4·8·16 = 1,024: 4,096
    data = _exact("TokenBatchNorm", (2, 3, 8, 8))
    assert (data["totals"]["params"], data["totals"]["macs"]) == (552, 4_096)
    assert [layer["kind"] for layer in data["layers"]][-3:] == ["reshape", "bn", "reshape"]


def test_gathered_attention_bias_and_last_dim_split_are_exact() -> None:
    # params: embed 3·16·8 + 8 = 392, qkv 8·32 + 32 = 288, proj 16·8 + 8 = 136, bias table 2·4 =
    # 8: 824; MACs at 8×8: embed 8·(2·2)·(3·16) = 1,536, qkv 4·8·32 = 1,024, q·kᵀ 2·4·4·4 = 128,
    # a·v 2·4·4·8 = 256, proj 4·16·8 = 512: 3,456
    data = _exact("BiasedAttention", (1, 3, 8, 8))
    assert (data["totals"]["params"], data["totals"]["macs"]) == (824, 3_456)
    kinds = [layer["kind"] for layer in data["layers"]]
    assert kinds.count("slice") == 3 and "opaque" not in kinds


@pytest.mark.parametrize(("spec", "model", "shape", "params", "macs"), TIMM_SPECS)
def test_timm_spec_figures(spec: str, model: str, shape: tuple[int, ...], params: int, macs: int) -> None:
    """The shipped spec's analysis gives the table's figures (the timm model's: the slow test)."""
    from convcost.net.analysis import analyze
    from convcost.spec.loader import load_spec

    analysis = analyze(load_spec(ROOT / "specs" / f"{spec}.yaml"))
    assert analysis.input_shape == shape
    assert (analysis.root.params, analysis.root.macs) == (params, macs)
    assert not any(leaf.op is not None and leaf.op.key == "opaque" for leaf in analysis.leaves())


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "model", "shape", "params", "macs"), TIMM_SPECS)
def test_timm_spec_equals_timm(spec: str, model: str, shape: tuple[int, ...], params: int,
                               macs: int) -> None:
    """The real timm model (never weights) has the table's params and FlopCounterMode MACs."""
    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()
    import timm

    net = timm.create_model(model, pretrained=False).eval()
    with torch.no_grad(), flop_counter() as counter:
        net(torch.zeros(shape))
    assert sum(p.numel() for p in net.parameters()) == params
    assert counter.get_total_flops() == 2 * macs


STAND_IN = """\
name: stand_in
input: {channels: 3, resolution: 8}
layers:
  - {kind: conv, name: boxes, out_channels: 4, kernel_size: 3}
  - {kind: conv, name: scores, from: input, out_channels: 6, kernel_size: 1}
  - {kind: recorded, name: post, from: [boxes, scores], op: 'aten.topk ×1', output_shape: [5, 4], params: 0}
"""


@pytest.mark.parametrize("kind", ["recorded", "opaque"])
def test_stand_in_output_depends_on_every_input(tmp_path: Path, kind: str) -> None:
    """A detector's post-processing stand-in reads the boxes and the scores: fvcore's torch.jit
    trace must keep the scores' conv (3·6 MACs per pixel, 8·8 of them: 1,152), which feeds
    nothing else; with zeros made from the first input only, it pruned it and counted 0."""
    spec = tmp_path / "stand_in.yaml"
    spec.write_text(STAND_IN.replace("kind: recorded", f"kind: {kind}"), encoding="utf-8")
    result = CliRunner().invoke(app, ["verify", str(spec)])
    assert result.exit_code == 0, result.output


def test_cached_bias_params_are_checked_as_read() -> None:
    """The cross-check's sum of the parameters a pass reads empties timm's bias cache first:
    the table's 4 params are read (embed 3·16·4 + 4 = 196, + 4 = 200), no params alarm."""
    import import_models

    from convcost.runtime.importer.crosscheck import _used_params

    model = import_models.CachedBias().eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 8, 8))  # fills the cache, as the import's passes do
    assert _used_params(model, (torch.zeros(1, 3, 8, 8),), []) == 200
