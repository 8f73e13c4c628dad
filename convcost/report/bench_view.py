"""Presentation of ``convcost bench``: measured time next to what MACs alone predict."""

from __future__ import annotations

from typing import Any

from convcost.report.render import Column, Report, View, totals_only
from convcost.runtime.bench import Bench, Timing


def _time(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def bench_report(result: Bench, base: str | None) -> Report:
    """One row per model; with ``base``, measured speed-up next to the MACs ratio."""
    columns = [
        Column("variant" if base else "model", lambda t: t.name, justify="left"),
        Column("median (ms)", lambda t: t.median_s, _time),
        Column("IQR (ms)", lambda t: t.iqr_s, _time),
        Column("min (ms)", lambda t: min(t.times_s), _time),
        Column("max (ms)", lambda t: max(t.times_s), _time),
        Column("GFLOP/s", lambda t: t.gflops, lambda v: f"{v:.1f}"),
        Column("GB/s", lambda t: t.gbs, lambda v: f"{v:.1f}"),
    ]
    notes = [f"{result.device}, {result.threads} threads, torch {result.torch_version}; "
             f"{result.warmup} warm-up + {result.repeats} timed runs each, float32, eval, "
             "inference_mode",
             "GFLOP/s = 2 × conv/linear MACs / median; GB/s = memory access cost (input + "
             "weights + output, every layer) / median"]
    if base is not None:
        columns[1:1] = [
            Column(f"measured speed-up vs {base}", lambda t: result.speedup(t.name, base),
                   lambda v: f"{v:.2f}×"),
            Column(f"MACs ratio {base}/variant", lambda t: result.macs_ratio(t.name, base),
                   lambda v: f"{float(v):.2f}×"),
        ]
        notes.append("MACs promise the right-hand speed-up; the measured one is lower where "
                     "a variant is memory-bound (depthwise).")
    return Report(result.title, columns, result.timings, notes)


def _timing_json(result: Bench, t: Timing, base: str | None) -> dict[str, Any]:
    q1, q3 = t.quartiles_s
    return {
        "name": t.name, "median_s": t.median_s, "q1_s": q1, "q3_s": q3, "iqr_s": t.iqr_s,
        "min_s": min(t.times_s), "max_s": max(t.times_s), "times_s": list(t.times_s),
        "macs": t.macs, "flops": t.flops, "mem_access_bytes": t.mem_access_bytes,
        "gflops_per_s": t.gflops, "gb_per_s": t.gbs,
        "speedup": None if base is None else result.speedup(t.name, base),
        "macs_ratio": None if base is None else float(result.macs_ratio(t.name, base)),
    }


def bench_json(result: Bench, base: str | None, extra: dict[str, Any],
               summary: bool = False) -> dict[str, Any]:
    """The ``bench`` JSON; under ``summary`` each timing's ``times_s`` (every run) is None."""
    timings = [_timing_json(result, t, base) for t in result.timings]
    return {
        "title": result.title, "device": result.device, "threads": result.threads,
        "torch": result.torch_version, "warmup": result.warmup, "repeats": result.repeats,
        "base": base, **extra,
        "timings": [{**t, "times_s": None} for t in timings] if summary else timings,
    }


CSV_COLUMNS = ("name", "median_s", "q1_s", "q3_s", "iqr_s", "min_s", "max_s", "macs", "flops",
               "mem_access_bytes", "gflops_per_s", "gb_per_s", "speedup", "macs_ratio")


def bench_csv(result: Bench, base: str | None) -> str:
    """One row per timed model or variant (speed-ups against ``base`` in layer mode)."""
    from convcost.report.rows import tidy_csv

    return tidy_csv([_timing_json(result, t, base) for t in result.timings], CSV_COLUMNS)


def bench_output(result: Bench, base: str | None, extra: dict[str, Any], summary: bool = False) -> View:
    """What ``convcost bench`` prints; ``summary``: the table without its notes."""
    reports = [bench_report(result, base)]
    return View("bench", lambda: totals_only(reports) if summary else reports,
                lambda: bench_json(result, base, extra, summary), csv=lambda: bench_csv(result, base))
