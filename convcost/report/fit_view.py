"""Presentation of ``convcost fit``: the front of designs within a budget, and a plot."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from convcost.net.fit import Design, FitResult
from convcost.report.render import Column, Report, View, human
from convcost.report.sweep_view import pyplot, save


def _budget_text(result: FitResult) -> str:
    b = result.budget
    parts = [f"MACs ≤ {human(b.macs)}" if b.macs is not None else "",
             f"params ≤ {human(b.params)}" if b.params is not None else "",
             f"predicted latency ≤ {b.latency_s * 1e3:g} ms" if b.latency_s is not None else ""]
    return ", ".join(p for p in parts if p) or "no budget"


def _depth(i: int) -> Any:
    return lambda d: d.depths[i]


def fit_report(result: FitResult, machine: bool, top: int = 0) -> Report:
    """One row per front design, largest MACs first (``top`` > 0: the first ``top``)."""
    base = result.base_resolution
    columns = [
        Column("α", lambda d: d.alpha, lambda v: f"{v:g}"),
        Column("resolution", lambda d: d.resolution),
        Column("ρ", lambda d: Fraction(d.resolution, base), lambda v: f"{float(v):.3f}"),
        *(Column(f"{s.name} depth" if not machine else f"depth_{s.name}", _depth(i))
          for i, s in enumerate(result.stages)),
        Column("params" if machine else "million params", lambda d: d.params,
               lambda v: f"{v / 1e6:.3f}"),
        Column("macs" if machine else "million MACs", lambda d: d.macs, lambda v: f"{v / 1e6:.2f}"),
    ]
    if result.latency_model is not None:
        columns.append(Column("latency_s", lambda d: d.latency_s) if machine else
                       Column("pred. latency (ms)", lambda d: f"{d.latency_s * 1e3:.3f}"))
    rows = result.front[:top] if top > 0 else result.front
    notes = [f"searched {result.searched:,} designs; {result.fitting:,} fit; "
             f"{len(result.front):,} on the front (none of them can grow α, resolution or a "
             "stage's depth and still fit)",
             "MACs and params are exact (paper convention)"]
    if len(rows) < len(result.front):
        notes.append(f"showing the {len(rows)} largest by MACs; --top 0 shows all")
    if result.latency_model:
        notes.append(f"latency is predicted, not measured: {result.latency_model}")
    if result.fixed:
        notes.append("kept at their written depth (copies differ or are read by name): "
                     + ", ".join(result.fixed))
    return Report(f"{result.model}: designs within {_budget_text(result)}", columns, rows, notes)


def _design_json(result: FitResult, d: Design) -> dict[str, Any]:
    return {"alpha": d.alpha, "resolution": d.resolution,
            "rho": d.resolution / result.base_resolution,
            "depths": {s.name: n for s, n in zip(result.stages, d.depths, strict=True)},
            "params": d.params, "macs": d.macs, "flops": d.flops, "latency_s": d.latency_s}


def fit_json(result: FitResult, top: int = 0) -> dict[str, Any]:
    b = result.budget
    front = result.front[:top] if top > 0 else result.front
    return {"model": result.model, "base_resolution": result.base_resolution,
            "budget": {"macs": b.macs, "params": b.params, "latency_s": b.latency_s},
            "alphas": list(result.alphas), "resolutions": list(result.resolutions),
            "stages": [{"name": s.name, "max_depth": s.repeat} for s in result.stages],
            "fixed_stages": list(result.fixed), "searched": result.searched,
            "fitting": result.fitting, "front_size": len(result.front),
            "latency_model": result.latency_model,
            "latency": None if result.latency_model is None else "predicted",
            "front": [_design_json(result, d) for d in front]}


def fit_csv(result: FitResult, top: int = 0) -> str:
    from convcost.report.rows import tidy_csv

    rows = []
    for item in fit_json(result, top)["front"]:
        depths = item.pop("depths")
        rows.append({**item, **{f"depth_{k}": v for k, v in depths.items()}})
    columns = ["alpha", "resolution", "rho", *(f"depth_{s.name}" for s in result.stages),
               "params", "macs", "flops", "latency_s"]
    return tidy_csv(rows, columns)


def plot(result: FitResult, path: Path) -> None:
    """The front: MACs vs params (budget lines), α vs resolution, predicted latency vs MACs."""
    plt = pyplot()
    panels = 3 if result.latency_model else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.5))
    front = result.front
    macs = [d.macs / 1e6 for d in front]
    axes[0].scatter([d.params / 1e6 for d in front], macs, c=[d.resolution for d in front], s=18)
    if result.budget.macs is not None:
        axes[0].axhline(result.budget.macs / 1e6, color="red", linestyle="--", label="MACs budget")
    if result.budget.params is not None:
        axes[0].axvline(result.budget.params / 1e6, color="red", linestyle=":",
                        label="params budget")
    axes[0].set(xlabel="million params", ylabel="million MACs", title="front: MACs vs params")
    axes[1].scatter([d.alpha for d in front], [d.resolution for d in front], s=18)
    axes[1].set(xlabel="width multiplier α", ylabel="resolution", title="front: α and resolution")
    if result.latency_model:
        axes[2].scatter(macs, [(d.latency_s or 0.0) * 1e3 for d in front], s=18)
        axes[2].set(xlabel="million MACs", ylabel="predicted latency (ms)",
                    title="front: predicted latency")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize="small")
    save(plt, fig, f"{result.model}: designs within {_budget_text(result)}", path)


def fit_output(result: FitResult, top: int) -> View:
    """What ``convcost fit`` prints: the ``top`` largest front designs (0: all)."""
    return View("fit", lambda: [fit_report(result, False, top)], lambda: fit_json(result, top),
                lambda: [fit_report(result, True, top)], csv=lambda: fit_csv(result, top))
