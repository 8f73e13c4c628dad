"""The torch builder and the fvcore / FlopCounterMode cross-check (``convcost verify``).

torch and fvcore are imported inside the tests only, and never by convcost's pure core.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from helpers import covering_specs
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.conventions.rules import FVCORE, PAPER
from convcost.cost import registry
from convcost.cost.value import LayerCost
from convcost.errors import MissingDependencyError
from convcost.net.analysis import Analysis, analyze
from convcost.runtime.verify import verify
from convcost.spec.loader import load_spec, parse_spec

SPECS = Path(__file__).resolve().parents[2] / "specs"

# (spec, resolution for the cross-check, published param count). vgg16 is cross-checked at 64,
# the U-Net at 128, to keep fvcore's trace quick; params do not depend on the resolution.
PUBLISHED = [
    ("mobilenet_v1", None, 4_231_976),  # MobileNet paper Table 1 / the seed model
    ("mobilenet_v2", None, 3_504_872),  # torchvision
    ("mobilenet_v3_large", None, 5_483_032),
    ("mobilenet_v3_small", None, 2_542_856),
    ("efficientnet_b0", None, 5_288_548),
    ("shufflenet_v2_x1_0", None, 2_278_604),
    ("regnet_y_400mf", None, 4_344_144),  # torchvision
    ("efficientnet_v2_s", None, 21_458_488),
    ("squeezenet1_1", None, 1_235_496),
    ("densenet121", None, 7_978_856),  # torchvision
    ("convnext_tiny", None, 28_589_128),  # torchvision
    ("googlenet", None, 6_624_904),
    ("deeplabv3_mobilenet_v3_large", None, 11_025_477),  # torchvision
    ("inception_v3", None, 23_834_568),
    ("unet", 128, 31_037_698),  # the reference of tests/torch/test_unet.py
    ("resnet18", None, 11_689_512),
    ("resnet50", None, 25_557_032),
    ("vgg16", 64, 138_357_544),
    ("r3d_18", 56, 33_371_472),  # torchvision (video, 1×3×16×H×W; verified at 56 for time)
    ("m5_audio", None, 571_939),  # the reference of tests/torch/test_audio_spec.py
    ("vit_b_16", None, 86_567_656),  # torchvision
    ("swin_t", None, 28_288_354),  # torchvision
    ("mobilevit_xxs", None, 1_272_024),  # timm (its patch folds: at 256 only)
    ("efficientformer_l1", None, 12_289_928),  # timm (its attention bias: at 224 only)
    ("ssdlite320", None, 3_440_060),  # torchvision (recorded at 320: its shapes hold there only)
    ("mobilenet_block", None, None),  # the seed blocks: no published count
    ("standard_cnn", None, None),
]


def test_every_shipped_spec_is_listed() -> None:
    assert sorted(name for name, _, _ in PUBLISHED) == sorted(p.stem for p in SPECS.glob("*.yaml"))


def _kind_sample(rows: list[tuple[str, int | None, int | None]]) -> list[Any]:
    """``rows`` as parameters: make test cross-checks the specs that together hold every layer
    kind (helpers.covering_specs: 15 of the 27, ~60 % of the CPU), make test-all every spec (the
    same build and counts on more of the same kinds). Every spec's analytic totals stay pinned in
    the fast loop (tests/cli/golden/totals/, and torchvision's published counts in
    tests/unit/test_shipped_specs.py)."""
    keep = covering_specs(tuple(name for name, _, _ in rows))
    return [row if row[0] in keep else pytest.param(*row, marks=pytest.mark.exhaustive) for row in rows]


@pytest.mark.parametrize(("name", "resolution", "published"), _kind_sample(PUBLISHED))
def test_shipped_spec_verifies(name: str, resolution: int | None, published: int | None) -> None:
    analysis = analyze(load_spec(SPECS / f"{name}.yaml"), resolution=resolution)
    result = verify(analysis)
    assert result.mismatches() == []
    assert result.ok
    assert len(result.layers) == sum(1 for level, _ in analysis.root.walk() if level)
    if published is not None:
        assert result.torch_params == published  # sum(p.numel()) of the built torch model
    assert result.counter_flops == 2 * analysis.totals.macs  # FlopCounterMode, run in verify
    # the convention's data predicts exactly what fvcore reports unsupported
    assert result.unsupported == FVCORE.unsupported(analysis.root)


def _names(analysis: Analysis) -> set[str]:
    return {node.name for level, node in analysis.root.walk() if level}


def test_module_names_are_node_names() -> None:
    from convcost.runtime.build import build

    analysis = analyze(load_spec(SPECS / "mobilenet_v3_small.yaml"), resolution=32)
    modules = dict(build(analysis).named_modules())
    assert _names(analysis) <= set(modules)
    # the only other modules are the root and the containers of dotted top-level names
    assert set(modules) - _names(analysis) == {"", "features", "classifier"}
    assert "features.4.se.scale" in modules and "classifier.3" in modules


def test_forward_shapes_and_params_per_node() -> None:
    """A forward hook on every node's module sees the analytic output shape."""
    import torch

    from convcost.runtime.build import build

    analysis = analyze(load_spec(SPECS / "shufflenet_v2_x1_0.yaml"), resolution=64, batch=2)
    model = build(analysis).eval()
    modules = dict(model.named_modules())
    seen: dict[str, tuple[int, ...]] = {}
    for name in _names(analysis):
        modules[name].register_forward_hook(
            lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape)))
    with torch.no_grad():
        out = model(torch.zeros(analysis.input_shape))
    assert tuple(out.shape) == (2, 1000)
    for level, node in analysis.root.walk():
        if level:
            assert seen[node.name] == node.output_shape, node.name
            assert sum(p.numel() for p in modules[node.name].parameters()) == node.params


def test_convention_figures_on_one_block() -> None:
    """The fvcore convention adds BN numel·2 and adaptive-pool numel to paper MACs."""
    spec = parse_spec({"input": {"channels": 4, "resolution": 6}, "layers": [
        {"kind": "conv", "out_channels": 8, "bn": True, "act": "relu6"},
        {"kind": "pool", "op": "avg", "global": True}]})
    analysis = analyze(spec)
    assert PAPER.total(analysis) == 8 * 6 * 6 * 4 * 3 * 3  # 10,368
    assert FVCORE.total(analysis) == 10_368 + 8 * 6 * 6 * 2 + 8 * 6 * 6  # conv + BN + pool input
    assert dict(FVCORE.unsupported(analysis.root)) == {"aten::hardtanh": 1}


def _off_by_one(kind: str, figure: str) -> MappingProxyType[str, Any]:
    """The registry with one op kind's MACs or params wrong by one."""
    right = registry.OPS[kind].formula

    def wrong(op: Any, x: Any) -> LayerCost:
        cost = right(op, x)
        return dataclasses.replace(cost, **{figure: getattr(cost, figure) + 1})

    return MappingProxyType({**registry.OPS, kind: dataclasses.replace(registry.OPS[kind], formula=wrong)})


TINY = """\
name: tiny
input: {channels: 3, resolution: 16}
layers:
  - {kind: conv, name: stem, out_channels: 8, stride: 2, bn: true, act: relu}
  - {kind: pool, name: pool, op: avg, global: true}
  - {kind: flatten, name: flatten}
  - {kind: linear, name: head, out_features: 10}
"""

# (formula, figure made wrong by one, what `verify` must name)
INJECTED = [
    ("conv", "macs", ["stem.conv: fvcore 13,825 ≠ 13,824",  # 1*8*8*8*3*3*3 = 13,824
                      "stem: fvcore 14,849 ≠ 14,848",  # + BN 8*8*8*2 = 1,024
                      "model: flop_counter_flops 27,810 ≠ 27,808"]),  # 2*(13,824 + 8*10)
    ("linear", "macs", ["head: fvcore 81 ≠ 80"]),  # 1*8*10 = 80
    ("linear", "params", ["head: params 91 ≠ 90"]),  # 8*10 + 10 = 90
    ("bn", "params", ["stem.bn: params 17 ≠ 16"]),  # 2*8 = 16
]


@pytest.mark.parametrize(("kind", "figure", "named"), INJECTED)
def test_injected_formula_error_fails_and_names_the_layer(
    runner: CliRunner, write_spec: Any, monkeypatch: pytest.MonkeyPatch, kind: str, figure: str,
    named: list[str],
) -> None:
    spec = write_spec(TINY)
    assert runner.invoke(app, ["verify", str(spec)]).exit_code == 0
    monkeypatch.setattr(registry, "OPS", _off_by_one(kind, figure))
    result = runner.invoke(app, ["verify", str(spec)])
    assert result.exit_code == 1, result.output
    for text in named:
        assert text in result.stdout
    assert result.stderr == f"convcost: error: 1 of 1 specs disagree with torch/fvcore: {spec}\n"


def test_injected_error_in_model_table(runner: CliRunner, write_spec: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`convcost model` prints its tables with ✗ and both numbers, then exits 1."""
    spec = write_spec(TINY)
    monkeypatch.setattr(registry, "OPS", _off_by_one("linear", "macs"))
    result = runner.invoke(app, ["model", str(spec)])
    assert result.exit_code == 1
    assert "✗ fvcore 81 ≠ 80" in result.stdout  # the head row: 1*8*10 = 80
    assert "totals" in result.stdout and "cross-check" in result.stdout
    assert result.stderr.startswith("convcost: error: ✗ tiny: 3 mismatch(es): head: fvcore 81 ≠ 80")


def test_verify_cli_agrees(runner: CliRunner) -> None:
    specs = [str(SPECS / "mobilenet_block.yaml"), str(SPECS / "mobilenet_v2.yaml")]
    result = runner.invoke(app, ["verify", *specs, "--resolution", "32"])
    assert result.exit_code == 0, result.output
    analysis = analyze(load_spec(specs[1]), resolution=32)
    layers = len(_names(analysis))
    assert f"✓ mobilenet_v2: {layers} layers agree" in result.stdout
    assert f"MACs {analysis.totals.macs:,} = FlopCounterMode FLOPs / 2" in result.stdout
    assert "aten::hardtanh ×35, aten::add ×10 (unsupported)" in result.stdout  # 35 ReLU6, 10 adds


@pytest.mark.parametrize("argv", [
    ["verify", "missing.yaml"],
    ["verify", "--resolution", "0", str(SPECS / "mobilenet_v2.yaml")],
])
def test_verify_cli_bad_input_exits_2(runner: CliRunner, argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert result.stderr.startswith("convcost: error: ") and result.stderr.count("\n") == 1


def test_verify_bad_spec_names_the_line(runner: CliRunner, write_spec: Any) -> None:
    spec = write_spec(TINY.replace("out_features: 10", "out_features: ten"))
    result = runner.invoke(app, ["verify", str(spec)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"convcost: error: {spec}:7: layers[3].out_features: ")


def _no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("convcost.runtime.verify.available", lambda: False)


def test_verify_without_torch_exits_2(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_torch(monkeypatch)
    result = runner.invoke(app, ["verify", str(SPECS / "mobilenet_block.yaml")])
    assert result.exit_code == 2
    assert result.stderr == ("convcost: error: the cross-check needs torch and fvcore: "
                             "pip install 'convcost[torch]'\n")


def test_model_without_torch_prints_the_analysis_and_a_hint(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_torch(monkeypatch)
    result = runner.invoke(app, ["model", str(SPECS / "mobilenet_block.yaml")])
    assert result.exit_code == 0
    assert "30.85 M" in result.stdout  # MACs: the analytic result is all there
    assert "cross-check" not in result.stdout and "torch ✓" not in result.stdout
    assert result.stderr == ("convcost: note: not cross-checked: the cross-check needs torch and "
                             "fvcore: pip install 'convcost[torch]'\n")


def test_torch_unimportable_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """With torch unimportable (sys.modules entry None) verify raises, naming the extra."""
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'convcost\[torch\]'"):
        verify(analyze(load_spec(SPECS / "mobilenet_block.yaml")))


def test_model_table_has_check_column(runner: CliRunner) -> None:
    result = runner.invoke(app, ["model", str(SPECS / "mobilenet_v3_small.yaml"), "--depth", "1",
                                 "--resolution", "32"])
    assert result.exit_code == 0, result.output
    head = next(line for line in result.stdout.splitlines() if "features.4 " in line)
    assert head.rstrip().endswith("✓")
    assert "fvcore skipped (counted 0): aten::hardswish ×19" in result.stdout


def test_model_json_and_csv_carry_the_check(runner: CliRunner) -> None:
    spec = str(SPECS / "mobilenet_block.yaml")
    data = json.loads(runner.invoke(app, ["model", spec, "--format", "json"]).stdout)
    analysis = analyze(load_spec(spec))
    assert data["verify"]["ok"] is True
    assert data["verify"]["mismatches"] == []
    assert data["verify"]["unsupported_ops"] == dict(FVCORE.unsupported(analysis.root))
    assert data["verify"]["totals"]["params"] == data["totals"]["params"] == 2852
    # dw (3*9+3) + bn 6 + pw (3*32+32) + bn 64; dw (32*9+32) + bn 64 + pw (32*64+64) + bn 128
    unchecked = runner.invoke(app, ["model", spec, "--format", "json", "--no-verify"]).stdout
    assert json.loads(unchecked)["verify"] is None  # not computed: null, not absent
    csv = runner.invoke(app, ["model", spec, "--format", "csv"]).stdout
    # no column only torch adds: the checked CSV is the unchecked one
    assert csv == runner.invoke(app, ["model", spec, "--format", "csv", "--no-verify"]).stdout
    # 112*112*3*9 MACs; 3*9 + 3 bias params (out_shape 3x112x112, layout NCHW since 9d39783)
    assert "features.0.dw.conv,features.0.dw,dwconv,conv,3,112,112,3x112x112,NCHW,30,338688,677376" in csv
