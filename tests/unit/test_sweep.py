"""`convcost sweep` (issue 7): every grid point equals `convcost model` at that α and resolution."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import every_spec
from helpers import v1_macs_by_hand as _v1_macs_by_hand
from typer.testing import CliRunner

import convcost
from convcost.cli.app import app
from convcost.cost.memory import model_memory
from convcost.cost.roofline import model_estimate, resolve
from convcost.net.sweep import sweep

SPECS = Path(__file__).resolve().parents[2] / "specs"
V1 = SPECS / "mobilenet_v1.yaml"
ALPHAS = ["1", "0.75", "0.5", "0.25"]
RESOLUTIONS = ["224", "192", "160", "128"]


def _invoke(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_4x4_sweep_equals_16_model_runs(runner: CliRunner) -> None:
    data = json.loads(_invoke(runner, "sweep", str(V1), "--alpha", ",".join(ALPHAS),
                              "--resolution", ",".join(RESOLUTIONS), "--format", "json").stdout)
    assert len(data["points"]) == 16
    for point in data["points"]:
        model = json.loads(_invoke(
            runner, "model", str(V1), "--no-verify", "--format", "json",
            "--alpha", str(point["alpha"]), "--resolution", str(point["resolution"])).stdout)
        assert (point["params"], point["macs"], point["flops"]) == (
            model["totals"]["params"], model["totals"]["macs"], model["totals"]["flops"])
    assert [(p["alpha"], p["resolution"]) for p in data["points"]] == [
        (float(a), int(r)) for a in ALPHAS for r in RESOLUTIONS]


@pytest.mark.parametrize(("alpha", "resolution", "macs", "params"), [
    # MobileNet paper Table 6 (0.75 MobileNet-224: 325 M mult-adds, 2.6 M params) and
    # Table 7 (1.0 MobileNet-192: 418 M), exactly
    (0.75, 224, 325_400_448, 2_585_560),
    (1.0, 192, 418_121_728, 4_231_976),
    (1.0, 224, 568_740_352, 4_231_976),
])
def test_paper_rows(alpha: float, resolution: int, macs: int, params: int) -> None:
    result = sweep(convcost.load_spec(V1), [1.0, 0.75, 0.5, 0.25], [224, 192, 160, 128])
    point = next(p for p in result.points if (p.alpha, p.resolution) == (alpha, resolution))
    assert (point.macs, point.params) == (macs, params)
    if alpha == 1.0:
        assert point.macs == _v1_macs_by_hand(resolution)


# specs with fixed group counts: α must keep every scaled width a multiple of its groups
# (RegNetY-400MF: widths 48, 104, 208, 440 in 6, 13, 26, 55 groups of 8; α·8 must be an int)
GROUPED_ALPHAS = {"regnet_y_400mf": [1.0, 0.5, 1.5, 0.25],
                  # Swin-T: heads 3-6-12-24 divide 96·α, 192·α, 384·α and 768·α at these α
                  "swin_t": [1.0, 0.5, 0.25, 0.75]}
# the U-Net concatenates each skip with an upsampled map: its side must be a multiple of 16;
# ρ sets the length of a 1-D input: M5 reads 8,000 audio samples
SIDES = {"unet": [224, 96, 160], "m5_audio": [8000, 4001, 16000]}
# a ViT's position embedding is a parameter of 197 tokens: it runs at 224 only
FIXED_SIZE = {"vit_b_16", "mobilevit_xxs", "ssdlite320",  # SSDlite: recorded at 320
              "efficientformer_l1"}  # its attention bias holds 224's 49 tokens


@pytest.mark.parametrize("name", every_spec(sorted(p.stem for p in SPECS.glob("*.yaml")
                                                    if p.stem not in ("shufflenet_v2_x1_0",
                                                                      *FIXED_SIZE))))
def test_factored_sweep_equals_per_point_analysis(name: str) -> None:
    spec = convcost.load_spec(SPECS / f"{name}.yaml")
    alphas = GROUPED_ALPHAS.get(name, [1.0, 0.6, 1.4, 0.35])
    resolutions = SIDES.get(name, [224, 97, 160])
    result = sweep(spec, alphas, resolutions)
    for point in result.points:
        totals = convcost.analyze(spec, alpha=point.alpha, resolution=point.resolution).totals
        assert (point.params, point.macs) == (totals.params, totals.macs)


def test_factorisation_is_checked(write_spec: Any) -> None:
    """A linear layer on a flattened feature map: its params grow with the resolution."""
    path = write_spec("""
name: no_global_pool
input: {channels: 3, resolution: 8}
layers:
  - {kind: conv, name: conv, out_channels: 4, kernel_size: 3, stride: 2}
  - {kind: flatten, name: flatten}
  - {kind: linear, name: fc, out_features: 10}
""")
    spec = convcost.load_spec(path)
    result = sweep(spec, [1.0, 0.5], [8, 16])
    assert not result.factored
    # at α 0.5, 16x16: conv 3 -> 2 channels, stride 2: 8x8 output; fc in 2*8*8 = 128 features
    point = result.at(1, 1)
    assert point.params == 2 * 3 * 9 + 128 * 10 + 10  # conv (no BN by default) + fc
    assert point.macs == 2 * 8 * 8 * 3 * 9 + 128 * 10
    assert sweep(convcost.load_spec(V1), [1.0, 0.5], [224, 128]).factored


def test_roofline_sweep_and_progress(write_spec: Any) -> None:
    spec = convcost.load_spec(SPECS / "mobilenet_block.yaml")
    roof = resolve("t4", None, None, "float16")
    calls: list[tuple[int, int]] = []
    result = sweep(spec, [1.0, 0.5], [32, 16, 8], roof=roof, dtype="float16",
                   progress=lambda done, total: calls.append((done, total)))
    assert [done for done, _ in calls][:6] == [1, 2, 3, 4, 5, 6]
    assert {total for _, total in calls} == {6}
    assert roof is not None and result.roofline == roof.label
    for point in result.points:
        analysis = convcost.analyze(spec, alpha=point.alpha, resolution=point.resolution)
        expected = model_estimate(model_memory(analysis.root, "float16"), roof).seconds
        assert point.seconds == expected


def test_formats(runner: CliRunner) -> None:
    args = ["sweep", str(V1), "--alpha", "1,0.5", "--resolution", "224,128"]
    rows = list(csv.DictReader(io.StringIO(_invoke(runner, *args, "--format", "csv").stdout)))
    assert [(r["alpha"], r["resolution"], r["macs"], r["params"]) for r in rows][:2] == [
        ("1.0", "224", "568740352", "4231976"),
        ("1.0", "128", str(_v1_macs_by_hand(128)), "4231976")]
    assert list(rows[0]) == ["alpha", "resolution", "params", "macs", "flops"]  # no time_s: no roofline
    markdown = _invoke(runner, *args, "--format", "markdown").stdout
    assert "| 1.0 mobilenet_v1-224 | 1.0 | 224 | 1.000000 | 568740352 | 4231976 |" in markdown
    table = _invoke(runner, *args).stdout
    assert "568.7" in table and "million mult-adds" in table
    default = json.loads(_invoke(runner, "sweep", str(V1), "--format", "json").stdout)
    assert default["resolutions"] == [224] and default["alphas"] == [1.0, 0.75, 0.5, 0.25]
    timed = json.loads(_invoke(runner, *args, "--roofline", "t4", "--format", "json").stdout)
    assert all(p["time_s"] > 0 for p in timed["points"])


@pytest.mark.parametrize(("args", "message"), [
    (["--alpha", "1,x"], "--alpha: must be comma-separated numbers"),
    (["--alpha", "1,-0.5"], "--alpha: must be comma-separated numbers > 0"),
    (["--resolution", "224,nan"], "--resolution: must be comma-separated numbers"),
    (["--roofline", "t4", "--dtype", "bfloat16"], "no nominal bfloat16 peak"),
    # --dtype sets the roofline's bytes: alone it would change nothing
    (["--dtype", "float16"], "--dtype: sets the bytes of the roofline estimate; give --roofline"),
    (["--dtype", "float64"], "'float64' is not one of 'float32', 'float16', 'bfloat16', 'int8'"),
])
def test_bad_options(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["sweep", str(V1), *args])
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_plot_without_matplotlib(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "sweep.png"
    result = runner.invoke(app, ["sweep", str(V1), "--plot", str(out)])
    assert result.exit_code == 2
    assert result.stderr == "convcost: error: --plot needs matplotlib: pip install 'convcost[plot]'\n"
    assert result.stdout == "" and not out.exists()


@pytest.mark.slow
def test_plot(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "sweep.png"
    _invoke(runner, "sweep", str(V1), "--resolution", "224,160", "--plot", str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
