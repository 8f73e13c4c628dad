"""Presentation of ``convcost calibrate``: the fitted coefficients and the in-sample fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcost.net.latency import LatencyModel, SpecTiming, predict_total
from convcost.net.latency_file import latency_data
from convcost.report.render import Column, Report


def calibration_reports(model: LatencyModel, specs: Sequence[SpecTiming], path: str) -> list[Report]:
    coefficients = Report(
        f"latency model: {model.label()}",
        [Column("layer class", lambda r: r[0], justify="left"),
         Column("groups", lambda r: r[1].samples),
         Column("ns / MAC", lambda r: f"{r[1].per_mac_s * 1e9:.4f}"),
         Column("ns / byte", lambda r: f"{r[1].per_byte_s * 1e9:.4f}"),
         Column("µs / group", lambda r: f"{r[1].per_layer_s * 1e6:.2f}")],
        list(model.classes.items()),
        [f"t = ns/MAC · MACs + ns/byte · bytes + µs/group, per fused group of a class ('all': "
         f"classes with fewer groups); end to end T = {model.pass_factor:.3f} · Σt + "
         f"{model.overhead_per_group_s * 1e6:.2f} µs per group",
         f"written to {path}"])
    fit = Report(
        "in-sample fit (the calibration specs themselves; see benchmarks/bench_latency_model.py "
        "for held-out errors)",
        [Column("spec", lambda s: s.name, justify="left"),
         Column("measured (ms)", lambda s: f"{s.end_to_end_s * 1e3:.3f}"),
         Column("predicted (ms)", lambda s: f"{predict_total(model, s) * 1e3:.3f}"),
         Column("error", lambda s: f"{_error(model, s) * 100:+.1f} %")],
        list(specs))
    return [coefficients, fit]


def _error(model: LatencyModel, spec: SpecTiming) -> float:
    return (predict_total(model, spec) - spec.end_to_end_s) / spec.end_to_end_s


def calibration_json(model: LatencyModel, specs: Sequence[SpecTiming], path: str) -> dict[str, Any]:
    return {"output": path, "latency_model": latency_data(model),
            "fit": [{"spec": s.name, "measured_s": s.end_to_end_s,
                     "predicted_s": predict_total(model, s)} for s in specs]}
