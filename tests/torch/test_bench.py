"""`convcost bench` (issue 7): measured latency, run for real on a tiny config with few repeats.

Timings are never asserted against targets (they depend on the machine); the tests check
the fields, their consistency, and the analytic figures reported next to them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import blocked_env as _blocked_env
from helpers import run as _run
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.cost.memory import model_memory
from convcost.net.compare import LayerConfig
from convcost.net.layer_nodes import variant_nodes

VARIANTS = ("standard", "depthwise", "pointwise", "separable")

SPECS = Path(__file__).resolve().parents[2] / "specs"
TINY = ["--cin", "4", "--cout", "8", "--hw", "8", "--repeats", "3", "--warmup", "1"]


def _json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["bench", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _check_timing(timing: dict[str, Any], repeats: int) -> None:
    assert len(timing["times_s"]) == repeats
    assert min(timing["times_s"]) == timing["min_s"] > 0
    assert timing["min_s"] <= timing["q1_s"] <= timing["median_s"] <= timing["q3_s"] <= timing["max_s"]
    assert timing["iqr_s"] == pytest.approx(timing["q3_s"] - timing["q1_s"])
    assert timing["flops"] == 2 * timing["macs"]
    assert timing["gflops_per_s"] == pytest.approx(timing["flops"] / timing["median_s"] / 1e9)
    assert timing["gb_per_s"] == pytest.approx(timing["mem_access_bytes"] / timing["median_s"] / 1e9)


def test_layer_bench_json(runner: CliRunner) -> None:
    import torch

    data = _json(runner, *TINY, "--threads", "1")
    assert data["device"] == ("cpu" if not torch.cuda.is_available() else torch.cuda.get_device_name())
    assert (data["threads"], data["warmup"], data["repeats"]) == (1, 1, 3)
    assert data["torch"] == torch.__version__
    assert data["config"]["in_channels"] == 4 and data["config"]["input_shape"] == [1, 4, 8, 8]
    assert [t["name"] for t in data["timings"]] == list(VARIANTS)
    assert data["base"] == "standard"
    nodes = variant_nodes(LayerConfig(4, 8, (3, 3), 8, 8))
    timings = {t["name"]: t for t in data["timings"]}
    for name, timing in timings.items():
        _check_timing(timing, 3)
        assert timing["macs"] == nodes[name].macs
        assert timing["mem_access_bytes"] == model_memory(nodes[name]).mem_access_bytes
    # standard 8*8*8*4*9 = 18,432 MACs; depthwise 4*8*8*9 = 2,304: a MACs ratio of 8
    assert (timings["standard"]["macs"], timings["depthwise"]["macs"]) == (18_432, 2_304)
    assert timings["depthwise"]["macs_ratio"] == 8.0
    assert timings["standard"]["speedup"] == 1.0
    assert timings["depthwise"]["speedup"] == pytest.approx(
        timings["standard"]["median_s"] / timings["depthwise"]["median_s"])


def test_spec_bench_json(runner: CliRunner) -> None:
    data = _json(runner, str(SPECS / "mobilenet_block.yaml"), "--repeats", "2", "--warmup", "0",
                 "--resolution", "32")
    (timing,) = data["timings"]
    assert data["model"] == timing["name"] and data["input"][2:] == [32, 32]
    _check_timing(timing, 2)
    assert timing["speedup"] is None and data["base"] is None  # no base: null, not absent


def test_layer_bench_table(runner: CliRunner) -> None:
    result = runner.invoke(app, ["bench", *TINY])
    assert result.exit_code == 0, result.output
    assert "measured speed-up vs standard" in result.stdout
    assert "8.00×" in result.stdout  # the depthwise MACs ratio
    assert "1 warm-up + 3 timed runs each" in result.stdout
    assert result.stderr == ""  # no progress bar outside a terminal


def test_bench_summary_keeps_the_totals(runner: CliRunner) -> None:
    """--summary: the timing table without its notes; in JSON every run's time (times_s) is null."""
    table = runner.invoke(app, ["bench", *TINY, "--summary"])
    assert table.exit_code == 0, table.output
    assert "8.00×" in table.stdout  # the depthwise MACs ratio: 18,432 / 2,304
    assert "timed runs each" not in table.stdout and "GFLOP/s =" not in table.stdout
    data = _json(runner, *TINY, "--summary")
    assert [t["times_s"] for t in data["timings"]] == [None] * 4
    assert [t["macs"] for t in data["timings"]] == [18_432, 2_304, 8 * 4 * 64, 2_304 + 8 * 4 * 64]
    for timing in data["timings"]:
        assert 0 < timing["min_s"] <= timing["median_s"] <= timing["max_s"]


@pytest.mark.parametrize(("args", "message"), [
    ([], "give a spec, or --cin and --cout"),
    ([str(SPECS / "mobilenet_block.yaml"), "--cin", "4"], "give a spec or --cin/--cout, not both"),
    ([*TINY, "--device", "tpu"], "'tpu' is not one of 'auto', 'cpu', 'cuda'"),
    (["--cin", "4", "--cout", "8", "--hw", "8", "--repeats", "0"], "--repeats: need ≥ 1 timed run"),
    (["--cin", "4", "--cout", "8", "--hw", "8", "--threads", "0"], "--threads: must be a positive"),
])
def test_bad_input(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["bench", *args])
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_without_torch(tmp_path: Path) -> None:
    proc = _run([sys.executable, "-m", "convcost", "bench", *TINY], _blocked_env(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr == "convcost: error: convcost bench needs torch: pip install 'convcost[torch]'\n"


@pytest.mark.parametrize("threads", ["64", "100000"])
def test_threads_are_capped_at_the_core_count(runner: CliRunner, threads: str) -> None:
    import os

    data = _json(runner, *TINY, "--threads", threads)
    assert data["threads"] == min(int(threads), os.cpu_count() or 1)
