"""How well does a calibrated latency model predict a network it has not seen?

Profiles every shipped spec (``convcost profile``'s measurement: each fused group alone, and
the whole model end to end), then runs leave-one-spec-out cross-validation: fit the
per-layer-class model (``t = a·MACs + b·bytes + c`` per class, non-negative least squares)
on ten specs, predict the eleventh's end-to-end forward time. The baseline predicts the
total from MACs alone (``t = k·MACs``, ``k`` from the same ten specs). Prints the absolute
percentage error of each, per spec, with the median and the worst.

    python benchmarks/bench_latency_model.py --threads 1 [--save FILE.json | --load FILE.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcost import analyze, load_spec  # noqa: E402
from convcost.net.latency import Sample, SpecTiming, cross_validate, error_summary  # noqa: E402


def measure(threads: int, warmup: int, repeats: int) -> tuple[list[SpecTiming], dict[str, object]]:
    from convcost.runtime.profile import machine_data, profile, spec_timing

    timings: list[SpecTiming] = []
    machine: dict[str, object] = {}
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        prof = profile(analyze(load_spec(path)), threads=threads, warmup=warmup, repeats=repeats)
        timings.append(spec_timing(prof))
        machine = dict(machine_data(prof))
        print(f"  profiled {prof.model}: {prof.end_to_end.median_s * 1e3:.2f} ms", file=sys.stderr)
    return timings, machine


def save(path: Path, timings: list[SpecTiming], machine: dict[str, object]) -> None:
    data = {"machine": machine, "specs": [
        {"name": t.name, "end_to_end_s": t.end_to_end_s, "macs": t.macs,
         "samples": [[s.layer_class, s.macs, s.bytes, s.seconds] for s in t.samples]}
        for t in timings]}
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def load(path: Path) -> tuple[list[SpecTiming], dict[str, object]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    timings = [SpecTiming(s["name"], tuple(Sample(*row) for row in s["samples"]), s["end_to_end_s"],
                          s["macs"]) for s in data["specs"]]
    return timings, data["machine"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--save", type=Path, help="write the measured profiles to this JSON file")
    parser.add_argument("--load", type=Path, help="reuse profiles saved with --save (no timing)")
    args = parser.parse_args()
    if args.load:
        timings, machine = load(args.load)
    else:
        timings, machine = measure(args.threads, args.warmup, args.repeats)
        if args.save:
            save(args.save, timings, machine)
    folds = cross_validate(timings, machine)  # type: ignore[arg-type]
    print(f"leave-one-spec-out on {machine['cpu']}, {machine['threads']} thread(s), "
          f"torch {machine['torch']} {machine['dtype']}")
    print("| held-out spec | measured (ms) | per-class model (ms) | error | MACs-proportional (ms) | error |")
    print("|---|---:|---:|---:|---:|---:|")
    for f in folds:
        print(f"| `{f.name}` | {f.measured_s * 1e3:.2f} | {f.model_s * 1e3:.2f} | "
              f"{f.model_error * 100:.1f} % | {f.macs_s * 1e3:.2f} | {f.macs_error * 100:.1f} % |")
    for label, errors in (("per-class model", [f.model_error for f in folds]),
                          ("MACs-proportional", [f.macs_error for f in folds])):
        median, worst = error_summary(errors)
        print(f"{label}: median {median * 100:.1f} %, worst {worst * 100:.1f} %")


if __name__ == "__main__":
    main()
