"""How well does the kernel latency model predict networks it never saw, against the noise?

1. **Kernels.** Random single-kernel configurations over the range the shipped specs span
   (``--samples`` per class), timed alone; the per-class fit; then adaptive samples
   (``--adaptive`` per class) near the worst-predicted ones, timed, and the final fit.
2. **Networks, interleaved.** Every shipped spec (but ``--skip``) and every held-out net
   (imported from torchvision/timm by name, never used in any fit) timed end to end,
   ``--rounds`` rounds each running every network once, after ``--warmup`` rounds; fixed
   thread count, pinned where the OS allows. Min and median per network.
3. **Noise floor** per network: the relative difference between the medians of the first
   and the second half of the rounds (the same network, minutes apart), and the IQR/median.
4. **Errors**, side by side with the MACs-proportional baseline ``T = k·MACs``:
   leave-one-spec-out over the shipped specs (composition and k refitted without the spec),
   and the held-out nets (model and k fitted on all shipped specs).

    nice -n 10 python benchmarks/bench_latency_model.py --threads 1 --save run.json
    python benchmarks/bench_latency_model.py --load run.json      # re-fit, no timing

``--save`` keeps every kernel configuration beside its time, so ``--load`` recomputes the
features with the current detection: a new feature is tried on the same timings.

Prints markdown tables (docs/memory-and-latency.md §8 quotes one run) and ``--model FILE``
writes the fitted kernel model (``convcost-latency/2``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcost import analyze, load_spec  # noqa: E402
from convcost.net.analysis import Analysis  # noqa: E402
from convcost.net.kernel_model import (  # noqa: E402
    KernelFit,
    KernelModel,
    KernelSample,
    NetTiming,
    compose,
    fit_kernels,
)
from convcost.net.kernel_sampling import (  # noqa: E402
    KernelConfig,
    adaptive_configs,
    random_configs,
    zoo_ranges,
)
from convcost.net.kernels import detect  # noqa: E402


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """One network predicted by a model that never saw it, and by MACs alone (this benchmark's
    cross-validation: the package predicts, it does not validate itself)."""

    name: str
    measured_s: float
    model_s: float
    macs_s: float

    @property
    def model_error(self) -> float:
        return abs(self.model_s - self.measured_s) / self.measured_s

    @property
    def macs_error(self) -> float:
        return abs(self.macs_s - self.measured_s) / self.measured_s


def per_mac_s(nets: Sequence[NetTiming]) -> float:
    """The MACs-proportional baseline's seconds per MAC: Σ times / Σ MACs."""
    return sum(n.end_to_end_s for n in nets) / max(1, sum(n.macs for n in nets))


def leave_one_out(kernels: Mapping[str, KernelFit], nets: Sequence[NetTiming],
                  machine: Mapping[str, str | int]) -> list[HeldOut]:
    """Each net predicted with the composition (and the MACs baseline) fitted on the others."""
    out = []
    for held in nets:
        rest = [n for n in nets if n is not held]
        model = compose(kernels, rest, machine)
        out.append(HeldOut(held.name, held.end_to_end_s, model.net_s(held.kernels),
                           per_mac_s(rest) * held.macs))
    return out


def held_out(model: KernelModel, fitted_on: Sequence[NetTiming],
             unseen: Sequence[NetTiming]) -> list[HeldOut]:
    """Nets the model never saw, against the MACs baseline fitted on the same nets."""
    k = per_mac_s(fitted_on)
    return [HeldOut(n.name, n.end_to_end_s, model.net_s(n.kernels), k * n.macs) for n in unseen]


HELD_OUT = ("torchvision:resnet34", "torchvision:mnasnet1_0", "torchvision:mnasnet0_5",
            "torchvision:shufflenet_v2_x0_5", "torchvision:squeezenet1_0",
            "torchvision:regnet_x_400mf", "torchvision:regnet_y_800mf", "torchvision:efficientnet_b1",
            "timm:mixnet_s", "timm:efficientnet_lite0", "timm:lcnet_100", "timm:mobilenetv2_050",
            "timm:resnet10t", "timm:repvgg_a0")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def every(step: int, what: str) -> Any:
    """A progress callback that says ``what done/total`` every ``step`` items."""
    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            say(f"  {what} {done}/{total}")
    return progress


def shipped(skip: Sequence[str], batch: int) -> list[Analysis]:
    return [analyze(load_spec(p), batch=batch) for p in sorted((ROOT / "specs").glob("*.yaml"))
            if p.stem not in skip]


def imported(names: Sequence[str], batch: int) -> list[Analysis]:
    from convcost.cli.specs import load

    out = []
    for name in names:
        spec = load(name)
        out.append(analyze(spec, batch=batch))
        say(f"  imported {name}")
    return out


def sample_kernels(nets: Sequence[Analysis], args: argparse.Namespace,
                   setup: Any) -> tuple[list[KernelSample], list[KernelConfig]]:
    from convcost.runtime.kernel_timing import time_kernels

    ranges = zoo_ranges([k for a in nets for k in detect(a.root, args.backend)])
    configs = random_configs(ranges, args.samples, seed=args.seed, batch=args.batch)
    samples, _ = time_kernels(configs, setup, progress=every(20, "kernels"))
    fits = fit_kernels(samples)
    errors = [abs(fits[s.kernel_class].seconds(s.features) - s.seconds) / s.seconds for s in samples]
    more = []
    for cls in ranges:
        mine = [i for i, c in enumerate(configs) if c.kernel_class == cls]
        more += adaptive_configs([configs[i] for i in mine], [errors[i] for i in mine],
                                 args.adaptive, seed=args.seed + 1)
    extra, _ = time_kernels(more, setup, progress=every(20, "adaptive"))
    return samples + extra, [*configs, *more]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from convcost.runtime.kernel_timing import Setup, pinned

    setup = Setup(args.backend, args.dtype, args.threads)
    setup.check()
    with pinned(args.threads) as how:
        say(f"timing: {how}")
        data = _measure(args, setup)
    data["pinned"] = how
    return data


def _measure(args: argparse.Namespace, setup: Any) -> dict[str, Any]:
    from convcost.runtime.kernel_timing import interleaved, runner
    from convcost.runtime.profile import cpu_name

    nets = shipped(args.skip, args.batch)
    unseen = imported(args.held_out, args.batch)
    samples, configs = sample_kernels(nets, args, setup)
    times = interleaved([*nets, *unseen], setup, args.rounds, args.warmup,
                        progress=every(1, "round"))
    version = runner(nets[0], setup)[1]
    return {"machine": {"cpu": cpu_name(), "device": "cpu", "threads": args.threads,
                        "batch": args.batch, "dtype": args.dtype, "backend": args.backend,
                        "backend_version": version},
            "samples": [[s.kernel_class, dict(s.features), s.seconds] for s in samples],
            "configs": [dataclasses.asdict(c) for c in configs],
            "shipped": [[a.model, t] for a, t in zip(nets, times, strict=False)],
            "held_out": [[n, t] for n, t in zip(args.held_out, times[len(nets):], strict=True)]}


def nets_of(data: dict[str, Any], key: str, analyses: dict[str, Analysis]) -> list[NetTiming]:
    backend = data["machine"]["backend"]
    return [NetTiming(name, tuple(detect(analyses[name].root, backend)), statistics.median(t),
                      analyses[name].totals.macs) for name, t in data[key]]


def noise(times: Sequence[float]) -> float:
    """|median of the first half − median of the second half| / median of all."""
    half = len(times) // 2
    return abs(statistics.median(times[:half]) - statistics.median(times[half:])) / statistics.median(times)


def iqr(times: Sequence[float]) -> float:
    q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive")
    return (q3 - q1) / statistics.median(times)


def table(title: str, rows: Sequence[HeldOut], raw: dict[str, list[float]]) -> None:
    print(f"\n{title}\n")
    print("| net | min (ms) | median (ms) | noise floor | IQR/median | kernel model (ms) | error "
          "| MACs-proportional (ms) | error |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        t = raw[r.name]
        print(f"| `{r.name}` | {min(t) * 1e3:.2f} | {r.measured_s * 1e3:.2f} | {noise(t) * 100:.1f} % "
              f"| {iqr(t) * 100:.1f} % | {r.model_s * 1e3:.2f} | {r.model_error * 100:.1f} % "
              f"| {r.macs_s * 1e3:.2f} | {r.macs_error * 100:.1f} % |")


def p90(values: Sequence[float]) -> float:
    return sorted(values)[max(0, round(0.9 * len(values)) - 1)] if values else 0.0


def summary(label: str, rows: Sequence[HeldOut], raw: dict[str, list[float]]) -> str:
    floors = [noise(raw[r.name]) for r in rows]
    model, macs = [r.model_error for r in rows], [r.macs_error for r in rows]
    within = sum(e <= 0.10 or e <= 1.5 * f for e, f in zip(model, floors, strict=True))
    return (f"| {label} ({len(rows)}) | {statistics.median(model) * 100:.1f} % | {p90(model) * 100:.1f} % "
            f"| {statistics.median(macs) * 100:.1f} % | {p90(macs) * 100:.1f} % "
            f"| {statistics.median(floors) * 100:.1f} % | {p90(floors) * 100:.1f} % "
            f"| {within} of {len(rows)} |")


def load_samples(data: dict[str, Any]) -> list[KernelSample]:
    """The kernel samples; with the configurations saved, their features recomputed by the
    current detection (so a new feature can be tried on old timings)."""
    if "configs" not in data:
        return [KernelSample(c, f, s) for c, f, s in data["samples"]]
    from convcost.spec.loader import parse_spec

    out = []
    for config, (_, _, seconds) in zip(data["configs"], data["samples"], strict=True):
        root = analyze(parse_spec(KernelConfig(**config).spec_data())).root
        kernel = detect(root, data["machine"]["backend"])[0]
        out.append(KernelSample(kernel.kernel_class, kernel.features, seconds))
    return out


def report(data: dict[str, Any], args: argparse.Namespace) -> None:
    from convcost.net.kernels import FEATURES

    machine = data["machine"]
    samples = load_samples(data)
    fits = fit_kernels(samples)
    analyses = {a.model: a for a in shipped(args.skip, machine["batch"])}
    data["shipped"] = [[n, t] for n, t in data["shipped"] if n in analyses]
    names = [n for n, _ in data["held_out"]]
    analyses.update(zip(names, imported(names, machine["batch"]), strict=True))
    nets, unseen = nets_of(data, "shipped", analyses), nets_of(data, "held_out", analyses)
    raw = {n: t for n, t in [*data["shipped"], *data["held_out"]]}
    model = compose(fits, nets, machine)
    loso = leave_one_out(fits, nets, machine)
    held = held_out(model, nets, unseen)
    print(f"kernel model on {machine['cpu']}, {data['pinned']}, batch {machine['batch']}, "
          f"{machine['backend']} {machine['backend_version']} {machine['dtype']}; "
          f"{len(samples)} kernel samples ({', '.join(f'{c}: {fits[c].samples}' for c in FEATURES)}); "
          f"pass factor {model.pass_factor:.3f}, {model.overhead_per_kernel_s * 1e6:.1f} µs per kernel")
    table("Leave-one-spec-out over the shipped specs", loso, raw)
    table("Held-out nets (imported by name, never used in any fit)", held, raw)
    print("\n| set | kernel model median | p90 | MACs-proportional median | p90 | noise floor median "
          "| p90 | within 10 % or 1.5× noise |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    print(summary("leave-one-spec-out", loso, raw))
    print(summary("held-out nets", held, raw))
    if args.model:
        from convcost.net.kernel_file import dump_kernels

        args.model.write_text(dump_kernels(model), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--threads", type=int, default=1)
    add("--batch", type=int, default=1)
    add("--dtype", default="float32", choices=("float32", "bfloat16"))
    add("--backend", default="torch", choices=("torch", "onnxruntime"))
    add("--samples", type=int, default=30, help="random kernel configurations per class")
    add("--adaptive", type=int, default=10, help="adaptive configurations per class")
    add("--rounds", type=int, default=12, help="interleaved end-to-end rounds")
    add("--warmup", type=int, default=2, help="untimed rounds first")
    add("--seed", type=int, default=0)
    add("--skip", nargs="*", default=["unet", "r3d_18"],
        help="shipped specs left out (unet: time; r3d_18: 3-D, its kernels are not sampled)")
    add("--held-out", nargs="*", default=list(HELD_OUT), help="nets to import and hold out")
    add("--save", type=Path, help="write the measurements to this JSON file")
    add("--load", type=Path, help="reuse measurements saved with --save (no timing)")
    add("--model", type=Path, help="write the fitted kernel model (device.yaml) here")
    args = parser.parse_args()
    data = json.loads(args.load.read_text(encoding="utf-8")) if args.load else measure(args)
    if args.save and not args.load:
        args.save.write_text(json.dumps(data), encoding="utf-8")
    report(data, args)


if __name__ == "__main__":
    main()
