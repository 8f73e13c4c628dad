"""The latency model: NNLS fits, predictions and the device.yaml loader.

Pure: synthetic samples from known coefficients, hand-written files; no torch, no timing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.errors import SpecError
from convcost.net.latency import (
    ClassFit,
    Sample,
    SpecTiming,
    fit,
    nnls,
)
from convcost.net.latency_file import dump, load_latency_model

MACHINE = {"cpu": "test cpu", "device": "cpu", "threads": 1, "torch": "2.13.0", "dtype": "float32",
           "backend": "torch"}


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-30)


NNLS_CASES = [
    # t = 2·x + 3 on x = 1, 2, 3 (second column all zero): exact, (2, 0, 3)
    ("exact line", [(1, 0, 1), (2, 0, 1), (3, 0, 1)], [5, 7, 9], [2, 0, 3]),
    # t = 10 - x wants a negative slope: clamped to 0, the constant is the mean (9+8+7)/3 = 8
    ("negative slope clamped", [(1, 0, 1), (2, 0, 1), (3, 0, 1)], [9, 8, 7], [0, 0, 8]),
    # t = x + 2·y, no constant: (1, 2, 0)
    ("two features", [(1, 0, 1), (0, 1, 1), (1, 1, 1), (2, 1, 1)], [1, 2, 3, 4], [1, 2, 0]),
]


@pytest.mark.parametrize(("case", "rows", "targets", "want"), NNLS_CASES, ids=[c[0] for c in NNLS_CASES])
def test_nnls(case: str, rows: list[tuple[int, ...]], targets: list[float], want: list[float]) -> None:
    got = nnls([[float(v) for v in r] for r in rows], targets)
    assert all(abs(g - w) < 1e-9 for g, w in zip(got, want, strict=True)), got


def synthetic(name: str, scale: int) -> SpecTiming:
    """Groups timed exactly by depthwise t = 1e-9·bytes + 2e-6, pointwise t = 1e-10·MACs + 1e-6."""
    samples = []
    for i in range(1, 5):
        macs, moved = scale * i * 10**6, scale * (5 - i) * 10**5
        samples.append(Sample("depthwise", macs // 50, moved, 1e-9 * moved + 2e-6))
        samples.append(Sample("pointwise", macs, moved, 1e-10 * macs + 1e-6))
    layers = sum(s.seconds for s in samples)
    return SpecTiming(name, tuple(samples), layers + 8 * 5e-6, sum(s.macs for s in samples))


def test_fit_recovers_the_coefficients_and_the_overhead() -> None:
    model = fit([synthetic("a", 1), synthetic("b", 3)], MACHINE)
    dw, pw = model.classes["depthwise"], model.classes["pointwise"]
    assert close(dw.per_byte_s, 1e-9) and close(dw.per_layer_s, 2e-6) and dw.per_mac_s < 1e-15
    assert close(pw.per_mac_s, 1e-10) and close(pw.per_layer_s, 1e-6) and pw.samples == 8
    # end to end = 1 · Σ groups + 8 groups × 5 µs, by construction
    assert close(model.pass_factor, 1.0) and close(model.overhead_per_group_s, 5e-6)


def test_dump_load_round_trip(tmp_path: Path) -> None:
    model = fit([synthetic("a", 1), synthetic("b", 3)], MACHINE)
    path = tmp_path / "device.yaml"
    path.write_text(dump(model), encoding="utf-8")
    assert load_latency_model(path) == model


GOOD = """\
format: convcost-latency/1
machine: {cpu: test cpu, device: cpu, threads: 1, torch: 2.13.0, dtype: float32, backend: torch}
calibrated_on: [a, b]
pass_factor: 1.0
overhead_per_group_s: 0.0
classes:
  all: {per_mac_s: 1.0e-09, per_byte_s: 0.0, per_layer_s: 1.0e-06, samples: 10}
"""

# (case, text replacing GOOD's, where and what the one-line error says)
BAD = [
    ("unknown key", GOOD + "extra: 1\n", "device.yaml:8: extra: unknown key"),
    ("duplicate key", GOOD + "calibrated_on: [c]\n", "device.yaml:8: calibrated_on: duplicate key"),
    ("wrong format", GOOD.replace("latency/1", "latency/3"), "device.yaml:1: format: must be"),
    ("negative", GOOD.replace("per_byte_s: 0.0", "per_byte_s: -1.0e-9"),
     "device.yaml:7: classes.all.per_byte_s: must be in [0, 1] seconds"),
    ("huge", GOOD.replace("per_mac_s: 1.0e-09", "per_mac_s: 5"),
     "device.yaml:7: classes.all.per_mac_s: must be in [0, 1] seconds"),
    ("factor", GOOD.replace("pass_factor: 1.0", "pass_factor: 1000"),
     "device.yaml:4: pass_factor: must be in [0, 100], got 1000"),
    ("nan", GOOD.replace("per_mac_s: 1.0e-09", "per_mac_s: .nan"), "classes.all.per_mac_s: must be a number"),
    ("bool", GOOD.replace("samples: 10", "samples: true"), "classes.all.samples: must be an integer"),
    ("threads 0", GOOD.replace("threads: 1", "threads: 0"), "machine.threads: must be a positive integer"),
    ("dtype", GOOD.replace("dtype: float32", "dtype: int8"),
     "machine.dtype: must be one of float32, bfloat16"),
    ("no all", GOOD.replace("  all:", "  depthwise:"), "classes.all: missing required field"),
    ("unknown class", GOOD + "  conv3d: {per_mac_s: 0, per_byte_s: 0, per_layer_s: 0, samples: 1}\n",
     "classes.conv3d: unknown key"),
    ("control char", GOOD.replace("cpu: test cpu", 'cpu: "a\\x1b[31m"'), "machine.cpu: must be printable"),
    ("not a mapping", "[1, 2]\n", "device.yaml:1: must be a mapping, got list"),
    ("empty", "", "device.yaml: must be a mapping, got nothing"),
    ("yaml syntax", "format: [\n", "device.yaml:2: YAML syntax error"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD, ids=[c[0] for c in BAD])
def test_loader_refuses_with_one_line(case: str, text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "device.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_latency_model(path)
    assert message in str(err.value)
    result = CliRunner().invoke(app, ["model", "mobilenet_block", "--no-verify", "--latency-model",
                                      str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_model_prediction_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "device.yaml"
    path.write_text(GOOD, encoding="utf-8")
    data = json.loads(CliRunner().invoke(app, ["model", "mobilenet_block", "--no-verify", "-f", "json",
                                               "--latency-model", str(path)]).stdout)
    # 4 fused groups (dw and pw of two dsconv units), one class "all": 1 ns per MAC + 1 µs each:
    # 30,845,696 MACs · 1e-9 + 4 · 1e-6 = 0.030849696 s; pass factor 1, overhead 0
    latency = data["latency"]
    assert close(latency["total_s"], 30_845_696e-9 + 4e-6) and len(latency["groups"]) == 4
    assert close(sum(g["predicted_s"] for g in latency["groups"]), latency["layers_s"])
    # the first dw conv unit: 112·112·3·9 = 338,688 MACs -> 338.688 µs + 1 µs
    assert latency["groups"][0]["name"] == "features.0.dw"
    assert close(latency["groups"][0]["predicted_s"], 338_688e-9 + 1e-6)
    table = CliRunner().invoke(app, ["model", "mobilenet_block", "--no-verify", "--memory",
                                     "--latency-model", str(path)]).stdout
    assert "pred. (µs)" in table and "predicted latency 30.850 ms end to end: 4 layer groups" in table
    plain = json.loads(CliRunner().invoke(app, ["model", "mobilenet_block", "--no-verify", "-f",
                                                "json"]).stdout)
    assert plain["latency"] is None


def test_sweep_latency_column(tmp_path: Path) -> None:
    path = tmp_path / "device.yaml"
    path.write_text(GOOD, encoding="utf-8")
    data = json.loads(CliRunner().invoke(app, ["sweep", "mobilenet_block", "--alpha", "1,0.5",
                                               "--latency-model", str(path), "-f", "json"]).stdout)
    # α = 1: the model above, 0.030849696 s; α = 0.5 halves the pw widths, fewer MACs
    first, second = data["points"]
    assert close(first["latency_s"], 30_845_696e-9 + 4e-6)
    assert close(second["latency_s"], second["macs"] * 1e-9 + 4e-6)
    _ = ClassFit  # the public type of a class's coefficients
