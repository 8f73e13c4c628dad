"""Presentation of ``convcost calibrate``: the fitted coefficients and the in-sample fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcost.net.kernel_model import KernelModel, NetTiming
from convcost.net.latency import LatencyModel, SpecTiming, predict_total
from convcost.net.latency_file import latency_data
from convcost.report.render import Column, Report, View


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
    return [coefficients, in_sample([(s.name, s.end_to_end_s, predict_total(model, s)) for s in specs])]


def in_sample(rows: Sequence[tuple[str, float, float]]) -> Report:
    """The calibration networks themselves: (name, measured, predicted seconds) each."""
    return Report(
        "in-sample fit (the calibration specs themselves; see benchmarks/bench_latency_model.py "
        "for held-out errors)",
        [Column("spec", lambda r: r[0], justify="left"),
         Column("measured (ms)", lambda r: f"{r[1] * 1e3:.3f}"),
         Column("predicted (ms)", lambda r: f"{r[2] * 1e3:.3f}"),
         Column("error", lambda r: f"{(r[2] - r[1]) / r[1] * 100:+.1f} %")],
        list(rows))


def calibration_json(model: LatencyModel, specs: Sequence[SpecTiming], path: str) -> dict[str, Any]:
    return {"output": path, "latency_model": latency_data(model),
            "fit": [{"spec": s.name, "measured_s": s.end_to_end_s,
                     "predicted_s": predict_total(model, s)} for s in specs]}


def kernel_calibration_reports(model: KernelModel, nets: Sequence[NetTiming], path: str) -> list[Report]:
    """The kernel model's coefficients (one row per class and feature) and its in-sample fit."""
    rows = [(cls, name, value, fitted.samples) for cls, fitted in model.kernels.items()
            for name, value in fitted.coefficients.items()]
    coefficients = Report(
        f"latency model: {model.label()}",
        [Column("kernel", lambda r: r[0], justify="left"),
         Column("feature", lambda r: r[1], justify="left"),
         Column("seconds per unit", lambda r: f"{r[2]:.4g}"),
         Column("samples", lambda r: r[3])],
        rows,
        [f"t = Σ seconds per unit · feature, per kernel of a class (timed alone); end to end "
         f"T = {model.pass_factor:.3f} · Σt + {model.overhead_per_kernel_s * 1e6:.2f} µs per kernel",
         f"written to {path}"])
    return [coefficients, in_sample([(n.name, n.end_to_end_s, model.net_s(n.kernels)) for n in nets])]


def kernel_calibration_json(model: KernelModel, nets: Sequence[NetTiming], path: str) -> dict[str, Any]:
    from convcost.net.kernel_file import kernel_data

    return {"output": path, "latency_model": kernel_data(model),
            "fit": [{"spec": n.name, "measured_s": n.end_to_end_s, "predicted_s": model.net_s(n.kernels)}
                    for n in nets]}


def lut_report(data: dict[str, Any], path: str) -> Report:
    """One row per lookup-table entry: layer, input, choice, output, MACs, measured time."""
    def choice(entry: dict[str, Any]) -> str:
        return ", ".join(f"{k}={v}" for k, v in entry["choice"].items()) or "—"

    return Report(
        f"lookup table of {data['space']}: every op timed alone",
        [Column("layer", lambda e: e["layer"], justify="left"),
         Column("input", lambda e: "×".join(map(str, e["input"]))),
         Column("choice", choice, justify="left"),
         Column("output", lambda e: "×".join(map(str, e["output"]))),
         Column("MACs", lambda e: e["macs"]),
         Column("measured (µs)", lambda e: f"{e['seconds'] * 1e6:.1f}")],
        data["entries"],
        [f"{len(data['entries'])} entries; a network of the space costs the sum of its entries",
         f"written to {path}"])


def calibration_output(model: LatencyModel, specs: Sequence[SpecTiming], path: str) -> View:
    """What ``convcost calibrate --per-class`` prints."""
    return View("calibrate", lambda: calibration_reports(model, specs, path),
                lambda: calibration_json(model, specs, path))


def kernel_calibration_output(model: KernelModel, nets: Sequence[NetTiming], path: str) -> View:
    """What ``convcost calibrate`` prints."""
    return View("calibrate", lambda: kernel_calibration_reports(model, nets, path),
                lambda: kernel_calibration_json(model, nets, path))


def lut_output(data: dict[str, Any], path: str) -> View:
    """What ``convcost calibrate --lut`` prints."""
    return View("calibrate", lambda: [lut_report(data, path)],
                lambda: {"output": path, "latency_model": data, "fit": []})
