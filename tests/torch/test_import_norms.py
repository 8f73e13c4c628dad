"""The importer reads timm's MAC-free ops as their kinds, never opaque (XCiT's F.normalize and
Fourier positional grid, LeViT's strided subsample, timm's and torch's RMS norms), and the
cross-check agrees."""

from __future__ import annotations

import json
from typing import Any

import pytest

from convcost.runtime.importer.convert import to_spec
from convcost.spec.yamlsafe import load_yaml

MODELS = "tests/models/norms.py"


def _layers(model: str, shape: tuple[int, ...], tracer: str = "fx") -> list[dict[str, Any]]:
    from helpers import graph_of

    source = f"{MODELS}:{model}"
    return list(load_yaml(to_spec(graph_of(source, shape, tracer=tracer), source).yaml, source)["layers"])


@pytest.mark.parametrize(("model", "shape", "expected"), [
    # q over the tokens, k over the channels with p = 1
    ("Normalize", (2, 3, 16, 16), [{"kind": "normalize", "dim": -1},
                                   {"kind": "normalize", "dim": 1, "p": 1.0}]),
    # the grid of the 4×4 patches, 8 sines and cosines per axis, then its 1×1 projection
    ("Fourier", (1, 3, 16, 16), [{"kind": "fourier_pos", "hidden": 8, "size": [4, 4]}]),
    # every other row, then every other column of the 4×4 token map
    ("Subsample", (2, 3, 16, 16), [{"kind": "slice", "start": 0, "step": 2},
                                   {"kind": "slice", "start": 0, "dim": 2, "step": 2}]),
])
def test_each_norm_is_its_kind(model: str, shape: tuple[int, ...], expected: list[dict[str, Any]]) -> None:
    layers = _layers(model, shape)
    assert not [layer for layer in layers if layer["kind"] == "opaque"]
    found = [{k: v for k, v in layer.items() if k not in ("name", "from")} for layer in layers
             if layer["kind"] == expected[0]["kind"]]
    assert found == expected


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_rms_norms_are_read(tracer: str) -> None:
    """timm's RmsNormAct2d and RmsNorm2d by their class (the norm, then GELU), nn.RMSNorm and
    F.rms_norm over the last dim of tokens: none opaque, under torch.fx and torch.export."""
    layers = _layers("Rms", (1, 3, 8, 8), tracer=tracer)
    assert not [layer for layer in layers if layer["kind"] == "opaque"]
    kinds = [(layer["kind"], layer.get("last_dim", False)) for layer in layers
             if layer["kind"] in ("rmsnorm", "act")]
    assert kinds == [("rmsnorm", False), ("act", False), ("rmsnorm", False), ("rmsnorm", True),
                     ("rmsnorm", True)]


def test_a_resized_weight_under_torch_export_is_that_weight() -> None:
    """NaFlexViT's positions: a cast and an antialiased resize of the 4×4 table alone are the
    table (its 4·4·8 = 128 params), read by the add, as torch.fx reads an interpolated weight."""
    layers = _layers("ResizedPos", (1, 3, 24, 24), tracer="export")
    assert not [layer for layer in layers if layer["kind"] == "opaque"]
    [residual] = [layer for layer in layers if layer["kind"] == "residual"]  # x + pos
    assert residual["layers"] == [{"kind": "param", "shape": [36, 8], "params": 128}]


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_a_resize_fvcore_counts_is_a_layer_of_its_own(tracer: str) -> None:
    """Qwen3-VL's positions resized bilinearly: fvcore counts 4 per output of aten's bilinear
    upsample, so the 4×4 table is a param (4·4·8 = 128 params), then an upsample to 6×6."""
    layers = _layers("ResizedPos(bilinear=True)", (1, 3, 24, 24), tracer=tracer)
    kinds = [(layer["kind"], layer.get("shape"), layer.get("mode")) for layer in layers
             if layer["kind"] in ("param", "upsample", "opaque")]
    assert kinds == [("param", [8, 4, 4], None), ("upsample", None, "bilinear")]


def test_a_strided_slice_under_torch_export() -> None:
    """torch.export records LeViT's subsample as one aten.slice per dim, each with its step."""
    layers = _layers("Subsample", (2, 3, 16, 16), tracer="export")
    assert [(layer.get("dim", 1), layer.get("step")) for layer in layers if layer["kind"] == "slice"] \
        == [(1, 2), (2, 2)]


@pytest.mark.parametrize(("model", "shape", "params", "macs"), [
    # conv 3·8·16 + 8 = 392 params; its MACs 2·8·4·4·3·16 = 12,288, q @ kᵀ 2·8·16·8 = 2,048
    ("Normalize", "2x3x16x16", 392, 14_336),
    # patches 392 params, 8·4·4·48 = 6,144 MACs; the projection 16·8 + 8 = 136, 4·4·16·8 = 2,048
    ("Fourier", "1x3x16x16", 528, 8_192),
    # patches 392 params, 2·6,144 MACs; q 8·8 + 8 = 72 params, 2·4 tokens·64 = 512 MACs
    ("Subsample", "2x3x16x16", 464, 12_800),
    # convs 3·8·9 + 8 = 224 and 8·8 + 8 = 72, four γ of 8: 328 params; MACs 64·8·27 + 64·8·8
    ("Rms", "1x3x8x8", 328, 17_920),
    # patches 392 params + the 4×4×8 table 128; 36 tokens·8·48 = 13,824 MACs (fvcore: + 4·8·6·6)
    ("ResizedPos(bilinear=True)", "1x3x24x24", 520, 13_824),
])
def test_the_cross_check_agrees(model: str, shape: str, params: int, macs: int) -> None:
    from typer.testing import CliRunner

    from convcost.cli.app import app

    result = CliRunner().invoke(app, ["model", f"{MODELS}:{model}", "--input", shape, "--format", "json"])
    data = json.loads(result.stdout)
    assert data["verify"]["ok"], data["verify"]["mismatches"]
    assert (data["totals"]["params"], data["totals"]["macs"]) == (params, macs)
