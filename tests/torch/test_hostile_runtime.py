"""Threads, signals and devices of the commands that run torch (issue 24, "Threads, signals
and sizes"). Each case runs in a measured child process: exit code, stderr, wall time and the
child's own peak RSS (bounds generous enough for a loaded 2-core machine)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import measured, one_line_error

from convcost.exit_codes import ExitCode

QUICK = ["--warmup", "0", "--repeats", "1"]
RSS_MIB = 1500.0  # torch alone is ~400 MiB; a crashing thread pool of 100,000 threads is GiBs


# make test: profile; make test-all also both calibrations (a child of ~3 s of CPU each)
@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ["profile", "mobilenet_block", *QUICK, "-f", "json"],
    pytest.param(["calibrate", "mobilenet_block", "--per-class", *QUICK, "-f", "json", "-o",
                  "latency.yaml"], marks=pytest.mark.exhaustive),
    pytest.param(["calibrate", "mobilenet_block", *QUICK, "--samples", "2", "--adaptive", "0",
                  "--rounds", "1", "-f", "json", "-o", "latency.yaml"],  # the kernel model, which
                 marks=pytest.mark.exhaustive),  # also pins to as many CPUs
])
def test_threads_beyond_the_cores_are_capped_as_bench_does(tmp_path: Path, command: list[str],
                                                           ) -> None:
    """``--threads 100000`` segfaulted in torch's thread pool; now min(threads, cores)."""
    run = measured([*command, "--threads", "100000"], cwd=tmp_path, timeout=300)
    assert run.returncode == ExitCode.OK, run.stderr[-2000:]
    assert "Traceback" not in run.stderr and run.rss_mib < RSS_MIB, run.rss_mib
    data = json.loads(run.stdout)
    machine = data["machine"] if "machine" in data else data["latency_model"]["machine"]
    assert 1 <= machine["threads"] <= (os.cpu_count() or 1)


# make test: profile and bench; make test-all also both calibrations (~2.5 s of CPU each)
@pytest.mark.slow
@pytest.mark.parametrize(("command", "fragment"), [
    (["profile", "mobilenet_block", "--device", "cuda"], "--device: cuda requested"),
    pytest.param(["calibrate", "mobilenet_block", "--device", "cuda", "--per-class", "-o", "x.yaml"],
                 "--device: cuda requested", marks=pytest.mark.exhaustive),
    pytest.param(["calibrate", "mobilenet_block", "--device", "cuda", "-o", "x.yaml"], "--device: ",
                 marks=pytest.mark.exhaustive),
    (["bench", "mobilenet_block", "--device", "cuda"], "--device: cuda requested"),
])
def test_cuda_without_a_gpu_names_the_flag_given(tmp_path: Path, command: list[str],
                                                 fragment: str) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    run = measured(command, cwd=tmp_path, timeout=300)
    one_line_error(run, ExitCode.BAD_INPUT, fragment)
    assert not (tmp_path / "x.yaml").exists()


@pytest.mark.slow
# importing, building, timing (on an idle machine the timing loop starts ~3 s in: the child
# spins until the signal, so 5 s rather than 8 spares make test 3 s of CPU and of a worker)
@pytest.mark.parametrize("after", [0.3, 1.5, 5.0])
def test_ctrl_c_during_a_long_profile_exits_130_promptly(tmp_path: Path, after: float) -> None:
    (tmp_path / "out.json").write_text("the user's old file\n")
    run = measured(["profile", "mobilenet_block", "--repeats", "1000000000", "-f", "json",
                    "-o", "out.json"], cwd=tmp_path, interrupt_after=after, timeout=120)
    assert (run.returncode, run.stderr) == (ExitCode.INTERRUPTED, "convcost: aborted\n"), run
    assert run.seconds < 20, run.seconds  # the watchdog ends a hung unwinding after 3 s
    assert run.rss_mib < RSS_MIB
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    assert (tmp_path / "out.json").read_text() == "the user's old file\n"


def _onnx_conv(path: Path, out_channels: int) -> None:
    """A one-conv ONNX model: X 1×8×16×16, a 3×3 conv to ``out_channels``."""
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    weight = onnx.numpy_helper.from_array(np.zeros((out_channels, 8, 3, 3), np.float32), "W")
    node = onnx.helper.make_node("Conv", ["X", "W"], ["Y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, (1, 8, 16, 16))],
        [onnx.helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, None)], [weight])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)]),
              str(path))


# make test-all (~10 s of CPU: eight children importing torch and onnx): import -o writes
# through the same atomic writer (outfile.replacing) whose race make test runs in
# tests/cli/test_output_paths.py::test_concurrent_writers_leave_one_complete_file
@pytest.mark.slow
@pytest.mark.exhaustive
def test_concurrent_imports_to_one_file_leave_one_complete_spec(tmp_path: Path) -> None:
    """Two ``import -o same.yaml`` at once, three times: the spec is always one of the two
    complete imports (each read back whole), never a mixture; no temporary file is left."""
    import subprocess
    import sys

    for name, width in (("a.onnx", 16), ("b.onnx", 2048)):  # two different specs
        _onnx_conv(tmp_path / name, width)
    alone = {}
    for name in ("a.onnx", "b.onnx"):
        run = measured(["import", name, "-o", f"{name}.yaml"], cwd=tmp_path, timeout=300)
        assert run.returncode == 0, run.stderr
        alone[name] = (tmp_path / f"{name}.yaml").read_text()
    assert alone["a.onnx"] != alone["b.onnx"]
    for _ in range(3):
        procs = [subprocess.Popen([sys.executable, "-m", "convcost", "import", name, "-o",
                                   "same.yaml", "--force"], cwd=tmp_path, stderr=subprocess.PIPE)
                 for name in ("a.onnx", "b.onnx")]
        assert [p.wait(timeout=300) for p in procs] == [0, 0]
        assert (tmp_path / "same.yaml").read_text() in alone.values()
        assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
