"""`convcost profile` and `convcost calibrate` on tiny specs: structure and consistency only.

Timing values are never asserted (the machine is shared); shares, sums, partitions, files
and error paths are.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

import convcost
from convcost.cli.app import app
from convcost.cost.groups import fused_groups
from convcost.net.latency_file import load_latency_model
from convcost.report.output_schema import output_schema
from convcost.runtime.profile import profile

TINY = """\
name: tiny
input: {channels: 3, resolution: 32}
layers:
  - {kind: conv, name: stem, out_channels: 8, kernel_size: 3, stride: 2, bn: true, act: relu}
  - {kind: pool, name: pool, op: max, kernel_size: 2}
  - {kind: inverted_residual, name: ir, out_channels: 8, expand_ratio: 2}
  - {kind: dsconv, name: ds, out_channels: 16}
  - {kind: pool, name: gap, op: avg, global: true}
  - {kind: flatten, name: flat}
  - {kind: linear, name: fc, out_features: 10}
"""
QUICK = ["--warmup", "1", "--repeats", "3", "--threads", "1"]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_groups_partition_and_totals(tiny: Path) -> None:
    analysis = convcost.analyze(convcost.load_spec(tiny))
    prof = profile(analysis, warmup=1, repeats=3, threads=1)
    groups = list(fused_groups(analysis.root))
    assert [t.name for t in prof.layers] == [g.name for g in groups]
    # stem (conv+bn+relu), pool, ir.expand, ir.dw, ir.project, ir.add, ds.dw, ds.pw, gap, flat, fc
    assert [t.layer_class for t in prof.layers] == [
        "standard", "other", "pointwise", "depthwise", "pointwise", "other", "depthwise",
        "pointwise", "other", "other", "fully connected"]
    assert sum(len(list(g.leaves())) for g in groups) == len(analysis.leaves())
    assert sum(t.timing.macs for t in prof.layers) == analysis.totals.macs
    assert all(len(t.timing.times_s) == 3 for t in prof.layers)
    assert prof.layers_s == sum(t.timing.median_s for t in prof.layers)
    assert prof.overhead_s == prof.end_to_end.median_s - prof.layers_s
    # groups are timed in place: pass i's sum is the sum of every group's i-th time
    assert len(prof.pass_sums_s) == 3
    assert prof.pass_sums_s[1] == sum(t.timing.times_s[1] for t in prof.layers)
    assert prof.machine.threads == 1 and prof.machine.dtype == "float32"


def test_profile_json_shares_and_sums(tiny: Path, tmp_path: Path) -> None:
    target = tmp_path / "profile.json"
    result = CliRunner().invoke(app, ["profile", str(tiny), *QUICK, "-f", "json", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # -o/--output: written to the file
    data = json.loads(target.read_text(encoding="utf-8"))
    jsonschema.validate(data, output_schema())
    assert (data["schema_version"], data["command"]) == (1, "profile")
    layers, classes, totals = data["layers"], data["by_class"], data["totals"]
    assert math.isclose(sum(r["time_share"] for r in layers), 1.0)
    assert math.isclose(sum(r["macs_share"] for r in layers), 1.0)
    assert math.isclose(sum(r["time_share"] for r in classes), 1.0)
    assert math.isclose(sum(r["seconds"] for r in classes), totals["layers_s"])
    assert sum(r["macs"] for r in classes) == sum(r["macs"] for r in layers)
    assert math.isclose(sum(r["median_s"] for r in layers), totals["layers_s"])
    assert math.isclose(totals["end_to_end"]["median_s"] - totals["layers_s"], totals["overhead_s"])
    assert all(r["q1_s"] <= r["median_s"] <= r["q3_s"] for r in layers)
    assert {r["class"] for r in classes} == {"standard", "pointwise", "depthwise", "other",
                                             "fully connected"}


def test_profile_table_says_it_in_one_line(tiny: Path, tmp_path: Path) -> None:
    png = tmp_path / "profile.png"
    result = CliRunner().invoke(app, ["profile", str(tiny), *QUICK, "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert "depthwise is " in result.stdout and "% of MACs but " in result.stdout
    assert "overhead = end-to-end − sum" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("extra", [["--dtype", "bfloat16"], ["--backend", "onnxruntime"]])
def test_other_dtype_and_backend(tiny: Path, extra: list[str]) -> None:
    if extra[-1] == "onnxruntime":
        pytest.importorskip("onnxruntime")
    result = CliRunner().invoke(app, ["profile", str(tiny), *QUICK, *extra, "-f", "json"])
    assert result.exit_code == 0, result.output
    machine = json.loads(result.stdout)["machine"]
    assert extra[-1] in (machine["dtype"], machine["backend"])


BAD = [
    (["--dtype", "float16"], "'float16' is not one of 'float32', 'bfloat16'"),  # a choice: at parse time
    (["--backend", "tvm"], "'tvm' is not one of 'torch', 'onnxruntime'"),
    (["--repeats", "0"], "--repeats: need ≥ 1 timed run"),
    (["--threads", "0"], "--threads: must be a positive integer"),
    (["--device", "tpu"], "'tpu' is not one of 'cpu', 'cuda'"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[a[0] for a, _ in BAD])
def test_bad_options_exit_2(tiny: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["profile", str(tiny), *args])
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_calibrate_writes_a_model_that_predicts(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "device.yaml"
    result = CliRunner().invoke(app, ["calibrate", str(tiny), "mobilenet_block", *QUICK, "-o",
                                      str(out), "--per-class"])
    assert result.exit_code == 0, result.output
    model = load_latency_model(out)
    assert model.calibrated_on == ("tiny", "mobilenet_block")
    assert model.machine["threads"] == 1 and model.machine["backend"] == "torch"
    assert "all" in model.classes and all(f.per_mac_s >= 0 for f in model.classes.values())
    fitted = CliRunner().invoke(app, ["calibrate", str(tiny), *QUICK, "-o", str(out), "-f", "json",
                                      "--per-class"])
    assert fitted.exit_code == 0, fitted.output
    jsonschema.validate(json.loads(fitted.stdout), output_schema())
    assert [f["spec"] for f in json.loads(fitted.stdout)["fit"]] == ["tiny"]
    data = json.loads(CliRunner().invoke(app, ["model", str(tiny), "--no-verify", "-f", "json",
                                               "--latency-model", str(out)]).stdout)
    latency = data["latency"]
    assert math.isclose(sum(g["predicted_s"] for g in latency["groups"]), latency["layers_s"])
    assert math.isclose(latency["layers_s"] + latency["overhead_s"], latency["total_s"])


def test_calibrate_kernel_model_predicts(tiny: Path, tmp_path: Path) -> None:
    """The default kernel model: sampled kernels timed alone, the nets interleaved; a file the
    other commands read, whose in-sample JSON meets the schema."""
    out = tmp_path / "device.yaml"
    result = CliRunner().invoke(app, ["calibrate", str(tiny), "mobilenet_block", *QUICK, "-o", str(out),
                                      "--samples", "2", "--adaptive", "1", "--rounds", "2", "-f", "json"])
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(result.stdout), output_schema())
    model = load_latency_model(out)
    assert model.calibrated_on == ("tiny", "mobilenet_block")
    assert model.machine["threads"] == 1 and model.machine["batch"] == 1
    assert model.machine["backend_version"] == pytest.importorskip("torch").__version__
    data = json.loads(CliRunner().invoke(app, ["model", "mobilenet_v2", "--no-verify", "-f", "json",
                                               "--latency-model", str(out)]).stdout)
    assert data["latency"]["total_s"] > 0


@pytest.mark.parametrize("flags", [["--dtype", "bfloat16", "--batch", "2"], ["--backend", "onnxruntime"]])
def test_calibrate_kernel_model_settings(tiny: Path, tmp_path: Path, flags: list[str]) -> None:
    if "onnxruntime" in flags:
        pytest.importorskip("onnxruntime")
    out = tmp_path / "device.yaml"
    result = CliRunner().invoke(app, ["calibrate", str(tiny), *QUICK, "-o", str(out), "--samples", "1",
                                      "--adaptive", "0", "--rounds", "1", *flags])
    assert result.exit_code == 0, result.output
    machine = load_latency_model(out).machine
    assert machine["dtype"] == (flags[1] if flags[0] == "--dtype" else "float32")
    assert machine["batch"] == (2 if "--batch" in flags else 1)
    assert machine["backend"] == ("onnxruntime" if "onnxruntime" in flags else "torch")


def test_calibrate_lut(tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("name: s\ninput: {channels: 8, resolution: 16}\nlayers:\n"
                     "  - {kind: dwconv, name: d, kernel_size: {choices: [3, 5]}, bn: true, act: relu}\n"
                     "  - {kind: pwconv, name: p, out_channels: {choices: [8, 16]}}\n", encoding="utf-8")
    out = tmp_path / "lut.yaml"
    result = CliRunner().invoke(app, ["calibrate", "--lut", str(space), "-o", str(out), *QUICK, "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, output_schema())
    entries = data["latency_model"]["entries"]
    # d: 2 kernel choices on one input; p: one input shape (dw keeps 8×16×16) × 2 widths
    assert [(e["layer"], e["choice"]) for e in entries] == [
        ("d", {"kernel_size": 3}), ("d", {"kernel_size": 5}), ("p", {"out_channels": 8}),
        ("p", {"out_channels": 16})]
    assert all(e["seconds"] > 0 for e in entries) and out.read_text(encoding="utf-8").startswith("# convcost")
