"""``convcost fit``: every design against a brute-force enumeration of analysed specs, the
front against a brute-force dominance check, and the command's formats and errors. Pure."""

from __future__ import annotations

import functools
import itertools
import json
from pathlib import Path
from types import MappingProxyType

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.cli.fit_command import default_resolutions, grid_values, seconds
from convcost.errors import ConvcostError
from convcost.net.analysis import analyze
from convcost.net.fit import Design, FitBudget, Stage, fit, grid, maximal, repeated_stages, with_depths
from convcost.net.latency import ClassFit, LatencyModel, predict
from convcost.spec.loader import load_spec, parse_spec

V1 = load_spec("convcost/zoo/mobilenet_v1.yaml")
ALPHAS, SIZES = [0.5, 0.75, 1.0], [128, 224]
LATENCY = LatencyModel(
    MappingProxyType({"cpu": "test", "device": "cpu", "threads": 1, "torch": "x", "dtype": "float32",
                      "backend": "torch"}),
    MappingProxyType({"all": ClassFit(2e-11, 1e-10, 3e-6, 1),
                      "depthwise": ClassFit(0.0, 4e-10, 5e-6, 1)}), 1.25, 2e-6, ("a",))


@functools.cache
def brute_force() -> tuple[Design, ...]:
    """Every design analysed from scratch: the spec rewritten with each depth."""
    stages = repeated_stages(V1)
    out = []
    for alpha, size in itertools.product(ALPHAS, SIZES):
        for depths in itertools.product(*(range(1, s.repeat + 1) for s in stages)):
            result = analyze(with_depths(V1, stages, depths), alpha=alpha, resolution=size)
            out.append(Design(params=result.totals.params, macs=result.totals.macs, alpha=alpha,
                              resolution=size, depths=depths,
                              latency_s=predict(LATENCY, result.root).total_s))
    return tuple(out)


def test_mobilenet_v1_stages() -> None:
    # stage2, stage3, stage5: 2 copies each, stage4: 6 (paper Table 1); 2·2·6·2 = 48 depth plans
    assert repeated_stages(V1) == (Stage("stage2", 2), Stage("stage3", 2), Stage("stage4", 6),
                                   Stage("stage5", 2))


def test_every_design_equals_its_brute_force_analysis() -> None:
    stages, fixed, designs = grid(V1, ALPHAS, SIZES, latency=LATENCY)
    expected = brute_force()
    assert fixed == () and len(stages) == 4 and len(designs) == 3 * 2 * 48
    for got, want in zip(designs, expected, strict=True):
        assert (got.alpha, got.resolution, got.depths) == (want.alpha, want.resolution, want.depths)
        assert (got.params, got.macs) == (want.params, want.macs)  # exact integers
        assert got.latency_s == pytest.approx(want.latency_s, rel=1e-9)
    # the full-depth 1.0-224 point is the paper's network: 4,231,976 params, 568,740,352 MACs
    assert (designs[-1].params, designs[-1].macs) == (4_231_976, 568_740_352)


def dominated(d: Design, by: Design) -> bool:
    knobs = (d.alpha, d.resolution, *d.depths)
    other = (by.alpha, by.resolution, *by.depths)
    return other != knobs and all(o >= k for o, k in zip(other, knobs, strict=True))


@pytest.mark.parametrize("budget", [FitBudget(macs=300_000_000), FitBudget(params=2_000_000),
                                    FitBudget(macs=150_000_000, params=1_500_000),
                                    FitBudget(latency_s=0.004)])
def test_front_is_the_brute_force_front(budget: FitBudget) -> None:
    result = fit(V1, ALPHAS, SIZES, budget, latency=LATENCY)
    fitting = [d for d in brute_force() if budget.admits(d)]
    front = {(d.alpha, d.resolution, d.depths) for d in fitting
             if not any(dominated(d, o) for o in fitting)}
    assert result.fitting == len(fitting) and result.searched == 288
    assert {(d.alpha, d.resolution, d.depths) for d in result.front} == front
    assert [d.macs for d in result.front] == sorted((d.macs for d in result.front), reverse=True)


MAXIMAL = [
    # dims, fits (row-major), front indices
    ([3], [True, True, False], [1]),
    ([3], [False, False, False], []),
    # 2×2: (0,0) (0,1) fit, (1,0) fits, (1,1) not: (0,1) and (1,0) are incomparable
    ([2, 2], [True, True, True, False], [1, 2]),
    # 2×3 staircase: row 0 fits up to column 2, row 1 up to column 0 -> (0,2), (1,0)
    ([2, 3], [True, True, True, True, False, False], [2, 3]),
    # a hole: (0,1) does not fit but (0,2) does, so (0,0) is still dominated
    ([1, 3], [True, False, True], [2]),
]


@pytest.mark.parametrize(("dims", "fits", "front"), MAXIMAL)
def test_maximal(dims: list[int], fits: list[bool], front: list[int]) -> None:
    assert maximal(fits, dims) == front


def test_a_stage_read_by_name_is_not_searched() -> None:
    spec = parse_spec({"name": "t", "input": {"channels": 3, "resolution": 32}, "layers": [
        {"kind": "conv", "name": "a", "out_channels": 8, "kernel_size": 3, "repeat": 3},
        {"kind": "conv", "name": "b", "out_channels": 8, "kernel_size": 1, "repeat": 2},
        {"kind": "add", "name": "sum", "from": ["a", "b"]}]})
    assert repeated_stages(spec) == ()


def test_copies_that_differ_keep_their_depth() -> None:
    # a 1×1 conv 3 -> 8 repeated: copy 1 reads 8 channels, copy 0 reads 3 -> alike from copy 1;
    # a stride-2 pool repeated halves every copy's input: copies differ -> fixed
    spec = parse_spec({"name": "t", "input": {"channels": 3, "resolution": 32}, "layers": [
        {"kind": "conv", "name": "c", "out_channels": 8, "kernel_size": 1, "repeat": 3},
        {"kind": "pool", "name": "p", "op": "max", "kernel_size": 2, "stride": 2, "repeat": 2}]})
    stages, fixed, designs = grid(spec, [1.0], [32])
    assert stages == (Stage("c", 3),) and fixed == ("p",) and len(designs) == 3


def test_latency_budget_needs_a_model() -> None:
    with pytest.raises(ConvcostError, match="--latency-model"):
        fit(V1, [1.0], [224], FitBudget(latency_s=0.01))


@pytest.mark.parametrize(("text", "kind", "values"), [
    ("0.25:1:0.25", float, [0.25, 0.5, 0.75, 1.0]),  # stop included, exact decimal steps
    ("96:224:64", int, [96, 160, 224]),
    ("1,0.5", float, [1.0, 0.5]),
])
def test_grid_values(text: str, kind: type, values: list[float]) -> None:
    assert grid_values("--alpha", text, kind) == values


@pytest.mark.parametrize("text", ["1:0.5:0.1", "0:1:0.5", "0.1:1:0", "a:b:c", "1:2000:1", "96:224:0.5"])
def test_grid_values_refused(text: str) -> None:
    kind = int if text.startswith("96") else float
    with pytest.raises(ConvcostError, match="--alpha"):
        grid_values("--alpha", text, kind)


def test_defaults_and_times() -> None:
    # 224 · 0.4 = 89.6 -> 96; multiples of 16 up to 224: 9 resolutions
    assert default_resolutions(224) == [96, 112, 128, 144, 160, 176, 192, 208, 224]
    assert seconds("--max-latency", "15ms") == pytest.approx(0.015)
    assert seconds("--max-latency", "800us") == pytest.approx(0.0008)
    with pytest.raises(ConvcostError, match="--max-latency"):
        seconds("--max-latency", "15 parsecs")


def invoke(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_cli_json_and_table_agree() -> None:
    args = ["fit", "mobilenet_v1", "--max-macs", "300M", "--alpha", "0.5:1:0.25",
            "--resolution", "128,224", "--top", "0"]
    code, out, _ = invoke([*args, "-f", "json"])
    data = json.loads(out)
    assert code == 0 and data["searched"] == 288 and data["front_size"] == len(data["front"])
    assert data["latency"] is None and all(d["macs"] <= 300_000_000 for d in data["front"])
    best = data["front"][0]
    code, table, _ = invoke(args)
    assert f"{best['macs'] / 1e6:.2f}" in table and "288 designs" in table


@pytest.mark.parametrize(("args", "message"), [
    (["fit", "mobilenet_v1"], "give a budget"),
    (["fit", "mobilenet_v1", "--max-macs", "lots"], "--max-macs:"),
    (["fit", "mobilenet_v1", "--max-latency", "15ms"], "--max-latency: needs --latency-model"),
    (["fit", "mobilenet_v1", "--max-macs", "1M", "--alpha", "0.01:100:0.01"], "--alpha:"),
    (["fit", "mobilenet_v1", "--max-macs", "1M", "--top", "-1"], "--top:"),
])
def test_cli_errors_are_one_line(args: list[str], message: str) -> None:
    code, _, err = invoke(args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow  # matplotlib: make test
def test_cli_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "front.png"
    code, _, _ = invoke(["fit", "mobilenet_v1", "--max-macs", "300M", "--alpha", "0.5,1",
                         "--resolution", "128,224", "--plot", str(target)])
    assert code == 0 and target.read_bytes()[:4] == b"\x89PNG"


def test_kernel_model_latency_equals_brute_force() -> None:
    from convcost.net.kernel_model import KernelFit, KernelModel
    from convcost.net.kernels import FEATURES

    # every feature 1e-10 s per unit, 5 µs per call: dropping copies must drop their kernels
    fits = {cls: KernelFit(MappingProxyType({f: (5e-6 if f == "one" else 1e-10) for f in names}), 1)
            for cls, names in FEATURES.items()}
    model = KernelModel(MappingProxyType({"cpu": "t", "device": "cpu", "threads": 1, "batch": 1,
                                          "dtype": "float32", "backend": "torch",
                                          "backend_version": "x"}),
                        MappingProxyType(fits), 1.3, 4e-6, ("a",))
    stages, _, designs = grid(V1, [0.5], [160], latency=model)
    for d in designs[::7]:
        truth = predict(model, analyze(with_depths(V1, stages, d.depths), alpha=0.5, resolution=160).root)
        assert d.latency_s == pytest.approx(truth.total_s, rel=1e-9)
