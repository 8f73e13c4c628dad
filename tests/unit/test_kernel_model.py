"""The kernel latency model: kernel detection on hand-built graphs, fits on synthetic timings
with a known answer, sampling, the format-2 file. Pure: no torch, no timing."""

from __future__ import annotations

import random
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml
from helpers import ROOT, load_script
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.errors import SpecError
from convcost.net.analysis import analyze
from convcost.net.kernel_file import dump_kernels
from convcost.net.kernel_model import (
    KernelFit,
    KernelModel,
    KernelSample,
    NetTiming,
    compose,
    fit_class,
    fit_kernels,
    predict_kernels,
)
from convcost.net.kernel_sampling import KernelConfig, adaptive_configs, bounded, random_configs, zoo_ranges
from convcost.net.kernels import FEATURES, KERNEL_CLASSES, detect
from convcost.net.latency import predict
from convcost.net.latency_file import load_latency_model
from convcost.spec.loader import load_spec, parse_spec


def net(layers: list[dict[str, Any]], channels: int = 8, size: int = 10) -> Any:
    return analyze(parse_spec({"name": "t", "input": {"channels": channels, "resolution": size},
                               "layers": layers})).root


CONV = {"kind": "conv", "name": "c", "out_channels": 16, "kernel_size": 3}
RELU = {"kind": "act", "name": "r", "fn": "relu"}
DETECT = [
    # (case, layers, [(class, groups of the kernel)])
    ("conv+bn+act unit", [{**CONV, "bn": True, "act": "relu"}], [("conv", ["c"])]),
    ("conv, then bn and act layers",
     [CONV, {"kind": "bn", "name": "b"}, {"kind": "act", "name": "a", "fn": "relu"}, {"kind": "identity"}],
     [("conv", ["c", "b", "a"])]),
    ("dw+bn+act", [{"kind": "dwconv", "name": "d", "bn": True, "act": "relu6"}], [("dwconv", ["d"])]),
    ("add+act", [{"kind": "add", "name": "s", "from": ["input", "input"]}, RELU],
     [("add", ["s", "r"])]),
    ("conv then pool: two kernels", [CONV, {"kind": "pool", "name": "p", "op": "max", "kernel_size": 2,
                                            "stride": 2}], [("conv", ["c"]), ("pool", ["p"])]),
    ("global pool, flatten (no kernel), linear+act",
     [{"kind": "pool", "name": "g", "op": "avg", "global": True}, {"kind": "flatten", "name": "f"},
      {"kind": "linear", "name": "fc", "out_features": 4}, RELU],
     [("pool", ["g"]), ("linear", ["fc", "r"])]),
    ("a lone activation first", [RELU, CONV], [("elementwise", ["r"]), ("conv", ["c"])]),
    ("concat", [CONV, {"kind": "concat", "name": "cat", "from": ["input", "c"]}],
     [("conv", ["c"]), ("elementwise", ["cat"])]),
    ("per-position linear is a 1×1 conv",
     [{"kind": "linear", "name": "mlp", "out_features": 32, "per_position": True}, {"kind": "identity"}],
     [("conv", ["mlp"])]),
    ("dropout and identity run nothing",
     [{"kind": "dropout", "name": "d"}, {"kind": "identity", "name": "i"}], []),
]


@pytest.mark.parametrize(("case", "layers", "want"), DETECT, ids=[c[0] for c in DETECT])
def test_detect(case: str, layers: list[dict[str, Any]], want: list[tuple[str, list[str]]]) -> None:
    got = [(k.kernel_class, [g.name for g in k.groups]) for k in detect(net(layers))]
    assert got == want


def test_conv_features() -> None:
    # 3×3 conv 8 -> 16 on 1×8×10×10, stride 1, BN, hardswish:
    # MACs = 100 outputs · 16 · 8 · 9 = 115,200; window = MACs / 8 = 14,400 (1,600 outputs · 9);
    # patches = MACs / 16 = 7,200; in = 800; out = 1,600; bn = 1,600; act = 1,600 (hardswish is
    # dear), relu 0; weights 1,152 + BN 32
    (kernel,) = detect(net([{**CONV, "bn": True, "act": "hardswish"}]))
    f = kernel.features
    assert (f["macs"], f["window"], f["patches"], f["in_elems"], f["out_elems"], f["bn_elems"],
            f["act_elems"], f["relu_elems"], f["weights"]) == (
        115_200, 14_400, 7_200, 800, 1_600, 1_600, 1_600, 0, 1_184)
    # with a bias and a ReLU instead: no BN, the cheap activation counted apart; weights 1,152 + 16
    (relu,) = detect(net([{**CONV, "bias": True, "act": "relu"}]))
    assert (relu.features["bn_elems"], relu.features["act_elems"], relu.features["relu_elems"],
            relu.features["weights"]) == (0, 0, 1_600, 1_168)


FEATURE_CASES = [
    # (case, layers, feature, value) on a 1×8×10×10 input
    # 3×3 stride-2 max pool: 5×5 outputs · 8 channels = 200 outputs, window 200·9 = 1,800
    ("max pool window", [{"kind": "pool", "op": "max", "kernel_size": 3, "stride": 2, "padding": 1}],
     "max_window", 1_800),
    ("avg pool: no max window", [{"kind": "pool", "op": "avg", "kernel_size": 3, "stride": 2, "padding": 1}],
     "max_window", 0),
    ("avg pool window", [{"kind": "pool", "op": "avg", "kernel_size": 3, "stride": 2, "padding": 1}],
     "window", 1_800),
    ("lone BN: 800 elements", [{"kind": "bn"}], "bn_elems", 800),
    ("lone ReLU: no BN", [RELU], "bn_elems", 0),
    ("lone ReLU: cheap", [RELU], "relu_elems", 800),
    ("add+relu: two inputs of 800, relu on 800", [{"kind": "add", "from": ["input", "input"]}, RELU],
     "in_elems", 1_600),
    ("add+relu: the relu", [{"kind": "add", "from": ["input", "input"]}, RELU], "relu_elems", 800),
    ("add+silu: dear, not cheap", [{"kind": "add", "from": ["input", "input"]},
                                   {"kind": "act", "fn": "silu"}], "relu_elems", 0),
]


@pytest.mark.parametrize(("case", "layers", "feature", "want"), FEATURE_CASES,
                         ids=[c[0] for c in FEATURE_CASES])
def test_kernel_features(case: str, layers: list[dict[str, Any]], feature: str, want: float) -> None:
    (kernel,) = detect(net(layers))
    assert kernel.features[feature] == want


def test_every_shipped_spec_is_covered_by_kernels() -> None:
    # every fused group but the views is in exactly one kernel, in order
    from convcost.cost.groups import fused_groups
    from convcost.net.kernels import head_class

    for path in sorted(Path("specs").glob("*.yaml")):
        root = analyze(load_spec(path)).root
        spanned = [g.name for k in detect(root) for g in k.groups]
        assert spanned == [g.name for g in fused_groups(root) if head_class(g) is not None], path


TRUE = {"conv": (2e-11, 1e-10, 0.0, 3e-10, 5e-10, 7e-10, 2e-9, 0.0, 4e-6),
        "dwconv": (0.0, 3e-10, 6e-10, 4e-10, 1e-9, 5e-6),
        "linear": (3e-11, 0.0, 2e-10, 2e-6), "add": (4e-10, 2e-10, 6e-10, 0.0, 3e-6),
        "pool": (1e-10, 8e-10, 0.0, 3e-10, 2e-6), "elementwise": (5e-10, 0.0, 9e-10, 2e-10, 1e-9, 1e-6),
        "attention": (3e-11, 2e-9, 0.0, 4e-10, 6e-6)}


def synthetic(cls: str, count: int, seed: int) -> list[KernelSample]:
    """Samples timed exactly by the TRUE coefficients, on random features (one = 1)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        f = {name: (1.0 if name == "one" else 10 ** rng.uniform(2, 8)) for name in FEATURES[cls]}
        out.append(KernelSample(cls, MappingProxyType(f), sum(c * f[n] for n, c in
                                                               zip(FEATURES[cls], TRUE[cls], strict=True))))
    return out


@pytest.mark.parametrize("cls", KERNEL_CLASSES)
def test_fit_recovers_known_coefficients(cls: str) -> None:
    fitted = fit_class(cls, synthetic(cls, 40, seed=len(cls)))
    for name, want in zip(FEATURES[cls], TRUE[cls], strict=True):
        got = fitted.coefficients[name]
        assert got == pytest.approx(want, rel=1e-6, abs=1e-18), name
    assert fitted.samples == 40


def test_fit_clamps_a_negative_slope() -> None:
    # elementwise t = 1 µs − 1e-12·in_elems would need a negative coefficient: clamped to 0,
    # the best non-negative fit of t ≈ 1 µs is then no slope at all
    zeros = dict.fromkeys(("out_elems", "bn_elems", "relu_elems", "act_elems"), 0.0)
    samples = [KernelSample("elementwise", {"in_elems": x, **zeros, "one": 1.0},
                            1e-6 - 1e-12 * x) for x in (1e3, 1e4, 1e5)]
    fitted = fit_class("elementwise", samples)
    assert fitted.coefficients["in_elems"] == 0.0 and fitted.coefficients["one"] > 0


MACHINE = {"cpu": "test", "device": "cpu", "threads": 1, "batch": 1, "dtype": "float32",
           "backend": "torch", "backend_version": "2.13.0"}


def nets(kernel_fits: dict[str, KernelFit], factor: float, overhead: float) -> list[NetTiming]:
    """The shipped specs' kernels, timed exactly as factor · Σ t + overhead · kernels."""
    model = KernelModel(MappingProxyType(MACHINE), MappingProxyType(kernel_fits), factor, overhead, ())
    out = []
    for name in ("mobilenet_v1", "resnet18", "mobilenet_v3_small", "squeezenet1_1"):
        a = analyze(load_spec(f"specs/{name}.yaml"))
        kernels = tuple(detect(a.root))
        out.append(NetTiming(name, kernels, model.net_s(kernels), a.totals.macs))
    return out


def test_compose_recovers_factor_and_overhead_and_loso_is_exact() -> None:
    fits = fit_kernels([s for cls in KERNEL_CLASSES for s in synthetic(cls, 30, seed=1)])
    timed = nets(fits, 1.4, 7e-6)
    model = compose(fits, timed, MACHINE)
    assert model.pass_factor == pytest.approx(1.4, rel=1e-6)
    assert model.overhead_per_kernel_s == pytest.approx(7e-6, rel=1e-6)
    bench = load_script(ROOT / "benchmarks" / "bench_latency_model.py", "bench_latency_model")
    folds = bench.leave_one_out(fits, timed, MACHINE)  # the benchmark's cross-validation
    assert max(f.model_error for f in folds) < 1e-6  # the model is the generator
    assert max(f.macs_error for f in folds) > 0.05  # MACs alone cannot see the per-kernel terms


def test_prediction_agrees_with_the_kernel_sum() -> None:
    fits = fit_kernels([s for cls in KERNEL_CLASSES for s in synthetic(cls, 30, seed=2)])
    model = KernelModel(MappingProxyType(MACHINE), MappingProxyType(fits), 1.2, 3e-6, ("a",))
    root = analyze(load_spec("specs/resnet18.yaml")).root
    prediction = predict(model, root)
    kernels = detect(root)
    assert prediction.total_s == pytest.approx(model.net_s(kernels), rel=1e-12)
    assert prediction.group_count == len(kernels) == prediction.count_in(root)
    assert predict_kernels(model, root).layers_s == pytest.approx(model.layers_s(kernels), rel=1e-12)
    from convcost.report.model_view import latency_note

    assert f": {len(kernels)} kernels " in latency_note(prediction)  # resnet18: 31 kernels


def test_file_round_trip_and_errors(tmp_path: Path) -> None:
    fits = fit_kernels([s for cls in KERNEL_CLASSES for s in synthetic(cls, 20, seed=3)])
    model = KernelModel(MappingProxyType(MACHINE), MappingProxyType(fits), 1.2, 3e-6, ("a", "b"))
    path = tmp_path / "device.yaml"
    text = dump_kernels(model)
    path.write_text(text, encoding="utf-8")
    assert load_latency_model(path) == model
    for bad, message in ((text.replace("batch: 1", "batch: 0"), "machine.batch: must be a positive"),
                         (text.replace("  conv:\n", "  conv3d:\n"), "kernels.conv3d: unknown key"),
                         (text.replace("pass_factor: 1.2", "pass_factor: -1"), "pass_factor: must be in"),
                         (text + "extra: 1\n", "extra: unknown key")):
        path.write_text(bad, encoding="utf-8")
        with pytest.raises(SpecError, match=message):
            load_latency_model(path)


def zoo_kernels() -> list[Any]:
    return [k for name in ("mobilenet_v2", "resnet18", "mobilenet_v3_small")
            for k in detect(analyze(load_spec(f"specs/{name}.yaml")).root)]


def test_random_configs_stay_in_the_zoo_range_and_are_one_kernel() -> None:
    ranges = zoo_ranges(zoo_kernels())
    configs = random_configs(ranges, 5, seed=7)
    assert configs == random_configs(ranges, 5, seed=7)  # seeded
    assert {c.kernel_class for c in configs} == set(ranges) and len(configs) == 5 * len(ranges)
    for c in configs:
        r = ranges[c.kernel_class]
        assert r.cin[0] <= c.cin <= r.cin[1] and r.size[0] <= c.size <= r.size[1] and bounded(c)
        (kernel,) = detect(analyze(parse_spec(c.spec_data())).root)
        assert kernel.kernel_class == c.kernel_class


def test_adaptive_samples_near_the_worst() -> None:
    configs = [KernelConfig("conv", 16, 16, 28, 3), KernelConfig("conv", 512, 512, 7, 1)]
    new = adaptive_configs(configs, [0.9, 0.01], 6, seed=3)
    # the worst fifth (at least one) is the 16-channel conv: every new config scales it by ⅔ … 1.5
    assert len(new) == 6 and all(10 <= c.cin <= 24 and 18 <= c.size <= 42 for c in new)


def test_random_configs_keep_the_kind_of_zoo_kernel() -> None:
    ranges = zoo_ranges(zoo_kernels())
    configs = random_configs(ranges, 20, seed=5)
    for c in configs:  # kernel size, stride, activation and BN of a real kernel of the class
        assert (c.kernel, c.stride, c.act, c.bn) in {a[3:] for a in ranges[c.kernel_class].anchors}, c
    # every other draw picks a kernel size and stride first: every conv shape of the zoo is sampled
    assert {(c.kernel, c.stride) for c in configs if c.kernel_class == "conv"} == {
        a[3:5] for a in ranges["conv"].anchors}
    # a conv without BN (the SE convs of mobilenet_v3_small have a bias) is built with a bias
    plain = next(c for c in configs if c.kernel_class == "conv" and not c.bn)
    assert plain.spec_data()["layers"][0]["bias"] is True


def test_a_file_from_before_a_feature_reads_it_as_zero(tmp_path: Path) -> None:
    import re

    fits = fit_kernels([s for cls in KERNEL_CLASSES for s in synthetic(cls, 20, seed=4)])
    model = KernelModel(MappingProxyType(MACHINE), MappingProxyType(fits), 1.2, 3e-6, ("a",))
    text, count = re.subn(r"\n    max_window: .*", "", dump_kernels(model))
    assert count == 1
    path = tmp_path / "old.yaml"
    path.write_text(text, encoding="utf-8")
    old = load_latency_model(path)
    assert old.kernels["pool"].coefficients["max_window"] == 0.0
    assert old.kernels["pool"].coefficients["window"] == model.kernels["pool"].coefficients["window"]


DETECT_ORT = [
    # (case, layers, [(class, leaves in the kernel)]) for onnxruntime (tests/torch/test_kernels_ort.py
    # checks the same rules against onnxruntime's optimised graph)
    ("conv+bn+relu: BN folds, ReLU fuses", [{**CONV, "bn": True, "act": "relu"}], [("conv", 3)]),
    ("conv+bn+hardswish: the activation runs apart", [{**CONV, "bn": True, "act": "hardswish"}],
     [("conv", 2), ("elementwise", 1)]),
    ("conv+bn, add, relu: the add and its ReLU fold into the conv (16 channels, a multiple of 8)",
     [{**CONV, "name": "a", "bn": True, "act": "relu"}, {**CONV, "name": "b", "bn": True},
      {"kind": "add", "name": "s", "from": ["a", "b"]}, RELU], [("conv", 3), ("conv", 4)]),
    ("12 channels: no NCHWc, the add stays", [{**CONV, "name": "a", "out_channels": 12, "bn": True},
                                              {"kind": "add", "name": "s", "from": ["a", "a"]}],
     [("conv", 2), ("add", 1)]),
    ("a lone add: its ReLU runs apart", [{"kind": "add", "name": "s", "from": ["input", "input"]}, RELU],
     [("add", 1), ("elementwise", 1)]),
    ("linear+relu6: only a ReLU fuses into a Gemm",
     [{"kind": "flatten"}, {"kind": "linear", "out_features": 4}, {"kind": "act", "fn": "relu6"}],
     [("linear", 1), ("elementwise", 1)]),
]


@pytest.mark.parametrize(("case", "layers", "want"), DETECT_ORT, ids=[c[0] for c in DETECT_ORT])
def test_detect_onnxruntime(case: str, layers: list[dict[str, Any]], want: list[tuple[str, int]]) -> None:
    assert [(k.kernel_class, len(k.groups)) for k in detect(net(layers), "onnxruntime")] == want


def test_onnxruntime_prediction_puts_a_split_activation_on_its_group() -> None:
    # mobilenet_v3_small under onnxruntime: every hardswish after a conv is a kernel of its own,
    # its time lands on the conv's fused group; the total pays the overhead on every kernel
    fits = fit_kernels([s for cls in KERNEL_CLASSES for s in synthetic(cls, 30, seed=2)])
    model = KernelModel(MappingProxyType({**MACHINE, "backend": "onnxruntime"}), MappingProxyType(fits),
                        1.0, 3e-6, ("a",))
    root = analyze(load_spec("specs/mobilenet_v3_small.yaml")).root
    kernels, torch_kernels = detect(root, "onnxruntime"), detect(root)
    assert len(kernels) > len(torch_kernels)  # the split activations
    prediction = predict_kernels(model, root)
    assert prediction.layers_s == pytest.approx(model.layers_s(kernels), rel=1e-12)
    assert prediction.group_count == len(kernels)
    assert prediction.total_s == pytest.approx(model.net_s(kernels), rel=1e-12)


def shaped(shape: list[int], layers: list[dict[str, Any]]) -> Any:
    return analyze(parse_spec({"name": "t", "input": {"shape": shape}, "layers": layers})).root


ATTENTION_CASES = [
    # (case, input shape, layers, (macs, scores, in_elems, out_elems))
    # SDPA on q = k = v [1, 4, 16, 8]: B·heads = 4, Lq = Lk = 16, E = Ev = 8:
    # MACs 4·16·16·(8 + 8) = 16,384; scores 4·16·16 = 1,024; in 3·512 = 1,536; out 512
    ("sdpa", [1, 4, 16, 8], [{"kind": "attention", "from": ["input", "input", "input"]}],
     (16_384, 1_024, 1_536, 512)),
    # MHA, 4 heads, on tokens [1, 10, 32]: projections in 10·32·96 + out 10·32·32 = 40,960,
    # attention 10·10·(32 + 32) = 6,400: 47,360 MACs; scores 4·10·10 = 400; in 1·(320 + 10·64)
    ("multihead_attention", [1, 10, 32], [{"kind": "multihead_attention", "heads": 4}],
     (47_360, 400, 960, 320)),
]


@pytest.mark.parametrize(("case", "shape", "layers", "want"), ATTENTION_CASES,
                         ids=[c[0] for c in ATTENTION_CASES])
def test_attention_kernel(case: str, shape: list[int], layers: list[dict[str, Any]],
                          want: tuple[int, int, int, int]) -> None:
    (kernel,) = detect(shaped(shape, layers))
    f = kernel.features
    assert kernel.kernel_class == "attention"
    assert (f["macs"], f["scores"], f["in_elems"], f["out_elems"]) == want


def test_attention_configs_are_one_attention_kernel() -> None:
    # a zoo of one SDPA (4 heads of width 8 over 16 tokens): the sampled configurations scale
    # heads, width and tokens and stay one attention kernel each
    zoo = detect(shaped([1, 4, 16, 8], ATTENTION_CASES[0][2]))
    ranges = zoo_ranges(zoo)
    assert ranges["attention"].anchors == ((4, 8, 16, 1, 1, "", False),)
    for c in random_configs(ranges, 6, seed=2):
        (kernel,) = detect(analyze(parse_spec(c.spec_data())).root)
        assert kernel.kernel_class == "attention"
        assert kernel.features["scores"] == c.cin * c.size ** 2


def test_a_3d_conv_is_a_conv_kernel_and_is_not_sampled() -> None:
    # conv3d 3 -> 8, k3, padding 1 on [1, 3, 4, 8, 8]: 2,048 outputs (8·4·8·8), MACs = 2,048 · 3 · 27
    # = 165,888; window = MACs / 3 = 55,296 (2,048 outputs · 27); then a 3-D max pool k2:
    # 8·2·4·4 = 256 outputs, window 256·8 = 2,048
    root = shaped([1, 3, 4, 8, 8], [{"kind": "conv3d", "out_channels": 8, "kernel_size": 3, "padding": 1},
                                    {"kind": "pool3d", "op": "max", "kernel_size": 2}])
    conv, pool = detect(root)
    assert (conv.kernel_class, conv.features["macs"], conv.features["window"]) == ("conv", 165_888, 55_296)
    assert (pool.kernel_class, pool.features["max_window"]) == ("pool", 2_048)
    assert zoo_ranges([conv, pool]) == {}  # configurations are 2-D images: no 3-D anchor


def test_a_prediction_without_a_fit_for_attention_says_it_is_short(tmp_path: Path) -> None:
    # a device file fitted on conv nets only: attention's two kernels would be 0 s, silently
    fits = fit_kernels([s for cls in KERNEL_CLASSES if cls != "attention"
                        for s in synthetic(cls, 20, seed=4)])
    model = KernelModel(MappingProxyType(MACHINE), MappingProxyType(fits), 1.2, 3e-6, ("a",))
    layers = [{"kind": "multihead_attention", "heads": 4}, {"kind": "multihead_attention", "heads": 4}]
    prediction = predict(model, shaped([1, 10, 32], layers))
    assert dict(prediction.unfitted) == {"attention": 2}
    assert prediction.short_note is not None and "leaves out 2 attention kernel(s)" in prediction.short_note
    assert predict(model, analyze(load_spec("specs/resnet18.yaml")).root).short_note is None
    device, spec = tmp_path / "device.yaml", tmp_path / "vit.yaml"
    device.write_text(dump_kernels(model), encoding="utf-8")
    spec.write_text(yaml.safe_dump({"name": "vit", "input": {"shape": [1, 10, 32]}, "layers": layers}))
    result = CliRunner().invoke(app, ["model", str(spec), "--no-verify", "--latency-model", str(device)])
    assert result.exit_code == 0, result.output
    assert "convcost: the predicted latency leaves out 2 attention kernel(s)" in result.stderr
