"""Memory figures (issue 7): bytes, memory access cost, peak activations, BN folding, roofline.

The peak activation memory is checked against an independent computation: a liveness walk
over the aten ops torch actually runs for the built model (storages, views and all). Folded
params are checked against torch's own ``fuse_conv_bn_eval`` on the built model.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from helpers import SPECS
from helpers import analysis_of as _analysis
from helpers import blocked_env as _blocked_env
from helpers import run as _run
from typer.testing import CliRunner

import convcost
from convcost.cli.app import app
from convcost.cost.memory import DTYPES, model_memory
from convcost.cost.roofline import DEVICES, Roofline, estimate, model_estimate, resolve
from convcost.errors import ConvcostError
from convcost.net.compare import LayerConfig
from convcost.net.layer_nodes import variant_nodes

# -- one layer: every figure by hand -------------------------------------------------------

# (variant, dtype, params, weight B, input B, output B, mem access B, FLOPs) for a 3x3 conv
# 8 -> 16 on a 1x8x10x10 input (padding 1, no bias).
LAYER_CASES = [
    # weights 16*8*9 = 1152; in 8*10*10 = 800; out 16*10*10 = 1600; MACs 1600*8*9 = 115200
    ("standard", "float32", 1152, 1152 * 4, 800 * 4, 1600 * 4, (800 + 1152 + 1600) * 4, 2 * 115200),
    ("standard", "int8", 1152, 1152, 800, 1600, 800 + 1152 + 1600, 2 * 115200),
    # weights 8*9 = 72; in 800; out 800; MACs 800*9 = 7200
    ("depthwise", "float16", 72, 72 * 2, 800 * 2, 800 * 2, (800 + 72 + 800) * 2, 2 * 7200),
    # weights 16*8 = 128; in 800; out 1600; MACs 1600*8 = 12800
    ("pointwise", "bfloat16", 128, 128 * 2, 800 * 2, 1600 * 2, (800 + 128 + 1600) * 2, 2 * 12800),
    # dw then pw: the 800-element dw output is written and read again
    ("separable", "float32", 72 + 128, 200 * 4, 800 * 4, 1600 * 4,
     ((800 + 72 + 800) + (800 + 128 + 1600)) * 4, 2 * (7200 + 12800)),
]


@pytest.mark.parametrize(("variant", "dtype", "params", "weights", "inp", "out", "moved", "flops"),
                         LAYER_CASES)
def test_layer_figures(variant: str, dtype: str, params: int, weights: int, inp: int, out: int,
                       moved: int, flops: int) -> None:
    node = variant_nodes(LayerConfig(8, 16, (3, 3), 10, 10))[variant]
    mem = model_memory(node, dtype)
    assert (mem.params, mem.weight_bytes, mem.input_bytes, mem.output_bytes) == (
        params, weights, inp, out)
    assert mem.mem_access_bytes == moved
    assert mem.flops == flops
    assert mem.intensity == Fraction(flops, moved)


def test_separable_peak_holds_input_intermediate_and_output() -> None:
    node = variant_nodes(LayerConfig(8, 16, (3, 3), 10, 10))["separable"]
    # dw step: input 800 + dw output 800; pw step: dw output 800 + output 1600 (input freed)
    assert model_memory(node).peak_bytes == (800 + 1600) * 4
    assert model_memory(node).peak_leaf == "separable.pw"


def test_residual_keeps_its_input_alive(write_spec: Any) -> None:
    path = write_spec("""
name: one_block
input: {channels: 8, resolution: 16}
layers:
  - {kind: inverted_residual, name: block, expand_ratio: 6, out_channels: 8}
""")
    analysis = convcost.analyze(convcost.load_spec(path))
    mem = model_memory(analysis.root)
    # x = 8*16*16 = 2048 elements, held for the add; the expand BN reads the 48*16*16 = 12288
    # element conv output and writes as many: (2048 + 2*12288) * 4 bytes
    assert mem.peak_bytes == (2048 + 2 * 12288) * 4
    assert mem.peak_leaf == "block.expand.bn"
    add = next(m for m in mem.leaves if m.node.name == "block.add")
    # the add reads x and the projection's output and writes a third tensor
    assert add.input_bytes == 2 * 2048 * 4
    assert add.live_bytes == 3 * 2048 * 4


def test_views_move_nothing() -> None:
    mem = model_memory(_analysis("mobilenet_v2").root)
    views = [m for m in mem.leaves if m.node.label in ("flatten", "dropout")]
    assert [m.status for m in views] == ["view", "view"]
    assert all(m.mem_access_bytes == 0 and m.intensity is None for m in views)


def test_model_size_per_dtype() -> None:
    mem = model_memory(_analysis("mobilenet_v1").root, "float16")
    # 4,231,976 params (paper Table 1: 4.2 M) at 4, 2, 2 and 1 bytes
    assert mem.sizes == {"float32": 4 * 4_231_976, "float16": 2 * 4_231_976,
                         "bfloat16": 2 * 4_231_976, "int8": 4_231_976}
    assert mem.weight_bytes == mem.sizes["float16"]
    assert mem.sizes["float32"] == 4 * mem.sizes["int8"]  # int8 quantisation: 4x smaller
    assert DTYPES == {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


def test_block_rows_sum_their_leaves() -> None:
    analysis = _analysis("resnet18", resolution=64)
    mem = model_memory(analysis.root)
    for block in analysis.root.children:
        row = mem.of(block)
        leaves = [mem.of(leaf) for leaf in block.leaves()]
        assert row.mem_access_bytes == sum(m.mem_access_bytes for m in leaves)
        assert row.live_bytes == max(m.live_bytes for m in leaves)
    assert sum(mem.of(c).mem_access_bytes for c in analysis.root.children) == mem.mem_access_bytes


# -- peak activations against torch --------------------------------------------------------





def test_mobilenet_v2_peak_is_the_first_expansion() -> None:
    mem = model_memory(_analysis("mobilenet_v2").root)
    # stage2.0 expands 16 -> 96 channels at 112x112; its BN reads and writes 96*112*112
    assert mem.peak_bytes == 2 * 96 * 112 * 112 * 4
    assert mem.peak_leaf == "stage2.0.expand.bn"


# -- BatchNorm folding ---------------------------------------------------------------------







def test_fused_bn_arithmetic() -> None:
    # conv 8 -> 16 (3x3, no bias) + BN: 1152 + 2*16 = 1184 params; folded: 1152 + 16 bias = 1168
    node = variant_nodes(LayerConfig(8, 16, (3, 3), 10, 10, bn=True))["standard"]
    assert model_memory(node).params == 1184
    fused = model_memory(node, fuse_bn=True)
    assert fused.params == 1168
    assert [m.status for m in fused.leaves] == ["", "folded"]
    # the BN moves no data: traffic is the conv's, its weights now with the bias
    assert fused.mem_access_bytes == (800 + 1168 + 1600) * 4
    assert fused.peak_bytes == (800 + 1600) * 4


# -- roofline ------------------------------------------------------------------------------

# (FLOPs, bytes, peak GFLOP/s, GB/s, compute s, memory s, bound)
ROOF_CASES = [
    (2 * 10**9, 10**9, 1000, 100, Fraction(2, 1000), Fraction(1, 100), "memory"),  # 2 ms vs 10 ms
    (4 * 10**12, 10**9, 1000, 100, Fraction(4), Fraction(1, 100), "compute"),  # 4 s vs 10 ms
    (0, 4000, 1000, 100, Fraction(0), Fraction(4000, 100 * 10**9), "memory"),  # BN / activations
    (0, 0, 1000, 100, Fraction(0), Fraction(0), ""),  # a view
]


@pytest.mark.parametrize(("flops", "moved", "peak", "bw", "compute", "memory", "bound"), ROOF_CASES)
def test_roofline_estimate(flops: int, moved: int, peak: int, bw: int, compute: Fraction,
                           memory: Fraction, bound: str) -> None:
    est = estimate(flops, moved, Roofline("test", Fraction(peak), Fraction(bw)))
    assert (est.compute_s, est.memory_s, est.bound) == (compute, memory, bound)
    assert est.seconds == max(compute, memory)


def test_roofline_model_total_and_depthwise_is_memory_bound() -> None:
    analysis = _analysis("mobilenet_v1")
    mem = model_memory(analysis.root)
    roof = resolve("t4", None, None, "float32")
    assert roof is not None and roof.ridge == Fraction(8100, 320)  # 25.3125 FLOPs/byte
    est = model_estimate(mem, roof)
    assert est.seconds == sum((est.of(m.node).seconds for m in mem.leaves), Fraction(0))
    dw = [m for m in mem.leaves if m.node.label == "dwconv"]
    # a 3x3 depthwise conv does 9 MACs = 18 FLOPs per output element and moves ≥ 8 bytes
    assert all(m.intensity is not None and m.intensity < roof.ridge for m in dw)
    assert all(est.of(m.node).bound == "memory" for m in dw)


def test_roofline_options() -> None:
    assert resolve(None, None, None, "float32") is None
    custom = resolve(None, 100.0, 10.0, "int8")
    assert custom is not None and (custom.peak_gflops, custom.bandwidth_gbs) == (100, 10)
    a100 = resolve("a100", None, None, "bfloat16")
    assert a100 is not None and a100.peak_gflops == DEVICES["a100"].peak_gflops["bfloat16"]
    assert DEVICES["t4"].bandwidth_gbs == 320
    with pytest.raises(ConvcostError, match="--bandwidth-gbs"):
        resolve(None, 100.0, None, "float32")
    with pytest.raises(ConvcostError, match="--roofline: unknown preset"):
        resolve("tpu", None, None, "float32")
    with pytest.raises(ConvcostError, match="no nominal int8 peak"):
        resolve("jetson-nano", None, None, "int8")


# -- CLI -----------------------------------------------------------------------------------

def _json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_model_memory_json_fills_its_keys(runner: CliRunner) -> None:
    spec = str(SPECS / "mobilenet_v2.yaml")
    plain = _json(runner, "model", spec, "--no-verify")
    data = _json(runner, "model", spec, "--no-verify", "--memory", "--roofline", "t4")
    assert list(data) == list(plain)  # the same keys on every run
    assert plain["memory"] is None and plain["layers"][0]["weight_bytes"] is None
    assert [r["name"] for r in data["layers"]] == [r["name"] for r in plain["layers"]]
    memory = data["memory"]
    assert memory["peak_activation_bytes"] == 2 * 96 * 112 * 112 * 4
    assert memory["model_size_bytes"]["int8"] == 3_504_872  # torchvision's param count
    assert sum(row["mem_access_bytes"] for row in data["layers"]) == memory["mem_access_bytes"]
    assert memory["roofline"]["time_s"] == pytest.approx(sum(r["time_s"] for r in data["layers"]))
    leaf = next(r for r in data["layers"] if r["kind"] == "dwconv")
    assert leaf["bound"] == "memory"


def test_model_memory_table_and_fuse_bn(runner: CliRunner) -> None:
    result = runner.invoke(app, ["model", str(SPECS / "mobilenet_v1.yaml"), "--no-verify",
                                 "--fuse-bn", "--dtype", "int8", "--depth", "1"])
    assert result.exit_code == 0, result.output
    assert "memory at int8 (1 B/element, BN folded)" in result.stdout
    # BN channels: stem 32 + Σ (cin + cout) over the 13 dsconvs = 32 + 10,912 = 10,944;
    # folded: 4,231,976 - 2*10,944 BN params + 10,944 conv biases = 4,221,032
    assert "4,221,032" in result.stdout


def test_layer_memory_json(runner: CliRunner) -> None:
    data = _json(runner, "layer", "--cin", "8", "--cout", "16", "--hw", "10", "--memory",
                 "--peak-gflops", "100", "--bandwidth-gbs", "10")
    assert set(data["memory"]) == {"standard", "depthwise", "pointwise", "separable"}
    sep = data["memory"]["separable"]
    assert sep["mem_access_bytes"] == ((800 + 72 + 800) + (800 + 128 + 1600)) * 4
    # 16,800 bytes at 10 GB/s = 1.68 µs > 40,000 FLOPs at 100 GFLOP/s = 0.4 µs
    assert sep["roofline"]["time_s"] == pytest.approx(1.68e-6)
    row = next(r for r in data["variants"] if r["name"] == "separable")
    # 8*10*10*9 + 8*16*10*10 = 7,200 + 12,800 = 20,000 MACs; the whole variant's traffic
    assert (row["macs"], row["mem_access_bytes"]) == (20_000, sep["mem_access_bytes"])
    assert row["time_s"] == pytest.approx(1.68e-6)


@pytest.mark.parametrize(("args", "message"), [
    (["--dtype", "float64"], "'float64' is not one of 'float32', 'float16', 'bfloat16', 'int8'"),
    (["--peak-gflops", "100"], "--bandwidth-gbs: give both"),
    (["--roofline", "tpu"], "'tpu' is not one of 'jetson-nano', 't4', 'a100'"),
    (["--peak-gflops", "-1", "--bandwidth-gbs", "1"], "--peak-gflops: must be > 0"),
])
def test_bad_memory_options(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["model", str(SPECS / "mobilenet_v1.yaml"), "--no-verify", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.slow  # a subprocess: make test; the fast loop runs in-process with torch blocked
@pytest.mark.parametrize("argv", [
    ["model", "specs/mobilenet_v2.yaml", "--no-verify", "--memory", "--training", "--roofline", "t4",
     "--format", "json"],
    ["layer", "--cin", "8", "--cout", "16", "--hw", "10", "--memory", "--training", "--fuse-bn",
     "--format", "json"],
    ["sweep", "specs/mobilenet_v1.yaml", "--resolution", "224,128", "--roofline", "a100",
     "--format", "json"],
], ids=["model", "layer", "sweep"])
def test_analytic_figures_need_no_torch(tmp_path: Path, argv: list[str]) -> None:
    proc = _run([sys.executable, "-m", "convcost", *argv], _blocked_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    if argv[0] == "model":
        assert data["memory"]["peak_activation_bytes"] == 2 * 96 * 112 * 112 * 4
    elif argv[0] == "layer":
        # standard 3x3 conv 8 -> 16 on 10x10: 16*10*10*8*9 = 115,200 MACs, three times
        assert data["training"]["standard"]["total_macs"] == 3 * 115_200
    else:
        assert data["points"][0]["macs"] == 568_740_352  # paper Table 1: 569 M
