"""Presentation of ``convcost profile``: per-group times against MACs, by class, totals, plot."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from convcost.cost.roofline import Estimate, Roofline, estimate
from convcost.report.render import Column, Report, View, human, percent
from convcost.runtime.bench import Timing
from convcost.runtime.profile import LayerTime, Profile


def empirical_roofline(prof: Profile) -> Roofline:
    """Peak = the best GFLOP/s and bandwidth = the best GB/s any group reached."""
    peak = max((t.timing.gflops for t in prof.layers), default=0.0)
    bandwidth = max((t.timing.gbs for t in prof.layers), default=0.0)
    return Roofline(f"empirical: best group {peak:.1f} GFLOP/s, {bandwidth:.1f} GB/s",
                    Fraction(peak or 1), Fraction(bandwidth or 1))


@dataclass(frozen=True)
class ClassShare:
    """A layer class: its MACs and its summed median time, with their shares."""

    layer_class: str
    groups: int
    macs: int
    seconds: float
    macs_share: Fraction
    time_share: float


def class_shares(prof: Profile) -> list[ClassShare]:
    """Standard / depthwise / pointwise / ... : share of MACs against share of time."""
    total_macs = sum(t.timing.macs for t in prof.layers) or 1
    total_s = prof.layers_s or 1.0
    order: dict[str, list[LayerTime]] = {}
    for layer in prof.layers:
        order.setdefault(layer.layer_class, []).append(layer)
    rows = []
    for cls, members in order.items():
        macs = sum(m.timing.macs for m in members)
        seconds = sum(m.timing.median_s for m in members)
        rows.append(ClassShare(cls, len(members), macs, seconds, Fraction(macs, total_macs),
                               seconds / total_s))
    return sorted(rows, key=lambda r: -r.seconds)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}"


def _est(prof: Profile, roof: Roofline) -> dict[str, Estimate]:
    return {t.name: estimate(t.timing.flops, t.timing.mem_access_bytes, roof) for t in prof.layers}


def layers_report(prof: Profile, roof: Roofline, machine: bool) -> Report:
    est = _est(prof, roof)
    total_macs, total_s = sum(t.timing.macs for t in prof.layers) or 1, prof.layers_s or 1.0
    size: Any = str if machine else human
    columns = [
        Column("layer", lambda t: t.name, justify="left"),
        Column("kind", lambda t: t.kind, justify="left"),
        Column("class", lambda t: t.layer_class, justify="left"),
        Column("macs" if machine else "MACs", lambda t: t.timing.macs, size),
        Column("mem_access_bytes" if machine else "bytes", lambda t: t.timing.mem_access_bytes, size),
        Column("intensity" if machine else "FLOPs/B",
               lambda t: Fraction(t.timing.flops, t.timing.mem_access_bytes or 1),
               lambda v: f"{float(v):.2f}"),
        Column("median_s" if machine else "median (µs)", lambda t: t.timing.median_s,
               str if machine else _us),
        Column("iqr_s" if machine else "IQR (µs)", lambda t: t.timing.iqr_s, str if machine else _us),
        Column("roofline_s" if machine else "roofline (µs)", lambda t: float(est[t.name].seconds),
               str if machine else _us),
        Column("bound", lambda t: est[t.name].bound, justify="left"),
        Column("macs_share" if machine else "% MACs", lambda t: Fraction(t.timing.macs, total_macs),
               percent),
        Column("time_share" if machine else "% time", lambda t: t.timing.median_s / total_s,
               lambda v: f"{v * 100:.2f} %"),
    ]
    m = prof.machine
    title = (f"{prof.model}: measured per layer ({m.backend}, {m.device}, {m.dtype}, "
             f"{m.threads} thread{'s' if m.threads > 1 else ''}; {prof.warmup} warm-up + "
             f"{prof.repeats} timed runs each)")
    return Report(title, columns, list(prof.layers), [f"roofline: {roof.label}"])


def classes_report(prof: Profile) -> Report:
    columns = [
        Column("layer class", lambda r: r.layer_class, justify="left"),
        Column("groups", lambda r: r.groups),
        Column("MACs", lambda r: r.macs, human),
        Column("% MACs", lambda r: r.macs_share, percent),
        Column("time (µs)", lambda r: r.seconds * 1e6, lambda v: f"{v:,.1f}"),
        Column("% time", lambda r: r.time_share, lambda v: f"{v * 100:.2f} %"),
        Column("time / MACs share", lambda r: (r.time_share / float(r.macs_share)
                                               if r.macs_share else None),
               lambda v: "—" if v is None else f"{v:.2f}×"),
    ]
    notes = [f"{r.layer_class} is {float(r.macs_share) * 100:.2f} % of MACs but "
             f"{r.time_share * 100:.2f} % of time" for r in class_shares(prof) if r.macs]
    return Report("by layer class: share of MACs vs share of time", columns, class_shares(prof),
                  notes)


def totals_report(prof: Profile) -> Report:
    e2e = prof.end_to_end
    rows: list[tuple[str, float, float | None]] = [
        ("end-to-end forward (median)", e2e.median_s, e2e.iqr_s)]
    if prof.pass_sums_s:
        sums = Timing(params=0, macs=0, name="passes", times_s=prof.pass_sums_s, mem_access_bytes=0)
        rows.append(("per-layer times summed per pass (median)", sums.median_s, sums.iqr_s))
    rows += [("sum of per-layer medians", prof.layers_s, None),
             ("overhead = end-to-end − sum", prof.overhead_s, None)]
    columns = [Column("total", lambda r: r[0], justify="left"),
               Column("ms", lambda r: r[1] * 1e3, lambda v: f"{v:.3f}"),
               Column("IQR (ms)", lambda r: None if r[2] is None else r[2] * 1e3,
                      lambda v: "" if v is None else f"{v:.3f}"),
               Column("% of end-to-end", lambda r: r[1] / e2e.median_s,
                      lambda v: f"{v * 100:.1f} %")]
    m = prof.machine
    notes = [f"{m.cpu}, torch {m.torch}. The overhead is the dispatch between the groups (end-to-end "
             "against the per-pass sums) plus the spread of the times: a median per layer "
             "drops each layer's slow runs, so the medians sum to less than a typical pass"]
    if not prof.pass_sums_s:
        notes = [f"{m.cpu}, {m.backend}: each group ran alone, in its own session; the overhead is "
                 "what running them as one model adds or saves"]
    return Report(f"{prof.model}: totals", columns, rows, notes)


def profile_reports(prof: Profile, roof: Roofline, machine: bool) -> list[Report]:
    return [layers_report(prof, roof, machine), classes_report(prof), totals_report(prof)]


def _timing_json(timing: Timing) -> dict[str, Any]:
    q1, q3 = timing.quartiles_s
    return {"median_s": timing.median_s, "q1_s": q1, "q3_s": q3, "iqr_s": timing.iqr_s,
            "times_s": list(timing.times_s)}


def profile_json(prof: Profile, roof: Roofline) -> dict[str, Any]:
    est = _est(prof, roof)
    total_macs, total_s = sum(t.timing.macs for t in prof.layers) or 1, prof.layers_s or 1.0
    m = prof.machine
    return {
        "model": prof.model, "input": list(prof.input_shape),
        "machine": {"cpu": m.cpu, "device": m.device, "threads": m.threads, "torch": m.torch,
                    "dtype": m.dtype, "backend": m.backend},
        "warmup": prof.warmup, "repeats": prof.repeats,
        "roofline": {"label": roof.label, "peak_gflops": float(roof.peak_gflops),
                     "bandwidth_gbs": float(roof.bandwidth_gbs)},
        "layers": [{"name": t.name, "kind": t.kind, "class": t.layer_class, "macs": t.timing.macs,
                    "mem_access_bytes": t.timing.mem_access_bytes, **_timing_json(t.timing),
                    "roofline_s": float(est[t.name].seconds), "bound": est[t.name].bound,
                    "macs_share": t.timing.macs / total_macs,
                    "time_share": t.timing.median_s / total_s} for t in prof.layers],
        "by_class": [{"class": r.layer_class, "groups": r.groups, "macs": r.macs,
                      "seconds": r.seconds, "macs_share": float(r.macs_share),
                      "time_share": r.time_share} for r in class_shares(prof)],
        "totals": {"end_to_end": _timing_json(prof.end_to_end), "layers_s": prof.layers_s,
                   "overhead_s": prof.overhead_s, "pass_sums_s": list(prof.pass_sums_s) or None},
    }


def plot(prof: Profile, roof: Roofline, path: Path) -> None:
    """MACs share against time share per group, and the roofline with every group a point."""
    from convcost.report.sweep_view import pyplot, save

    plt = pyplot()
    fig, (ax_share, ax_roof) = plt.subplots(1, 2, figsize=(13, 5))
    classes = sorted({t.layer_class for t in prof.layers})
    total_macs, total_s = sum(t.timing.macs for t in prof.layers) or 1, prof.layers_s or 1.0
    for cls in classes:
        members = [t for t in prof.layers if t.layer_class == cls]
        ax_share.scatter([100 * t.timing.macs / total_macs for t in members],
                         [100 * t.timing.median_s / total_s for t in members], label=cls, s=18)
        ax_roof.scatter([t.timing.flops / (t.timing.mem_access_bytes or 1) for t in members],
                        [t.timing.gflops for t in members], label=cls, s=18)
    top = max([100 * t.timing.macs / total_macs for t in prof.layers] + [1.0])
    ax_share.plot([0, top], [0, top], "k--", lw=0.8, label="time share = MACs share")
    ax_share.set(xlabel="% of MACs", ylabel="% of time", title="share of time vs share of MACs")
    _roof_lines(ax_roof, roof, prof)
    for ax in (ax_share, ax_roof):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    save(plt, fig, f"{prof.model}: measured per layer ({prof.machine.device}, "
             f"{prof.machine.dtype})", path)


def _roof_lines(ax: Any, roof: Roofline, prof: Profile) -> None:
    points = [t.timing.flops / (t.timing.mem_access_bytes or 1) for t in prof.layers]
    lo, hi = min([p for p in points if p > 0] + [0.1]) / 2, max([*points, 1.0]) * 2
    peak, bandwidth = float(roof.peak_gflops), float(roof.bandwidth_gbs)
    xs = [lo, float(roof.ridge), hi]
    ax.plot(xs, [min(peak, bandwidth * x) for x in xs], "k-", lw=1, label="roofline")
    ax.set(xscale="log", yscale="log", xlabel="FLOPs / byte moved", ylabel="achieved GFLOP/s",
           title=f"roofline ({roof.label})")


def profile_output(prof: Profile, roof: Roofline) -> View:
    """What ``convcost profile`` prints (CSV: the first table's exact rows)."""
    return View("profile", lambda: profile_reports(prof, roof, False), lambda: profile_json(prof, roof),
                lambda: profile_reports(prof, roof, True))
