"""Presentation of ``convcost sweep``: the MobileNet paper's width / resolution tables, and a plot."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from convcost.errors import ConvcostError, MissingDependencyError
from convcost.limits import quote
from convcost.net.sweep import Point, Sweep
from convcost.report.render import Column, Report, View, totals_only


def _millions(digits: int) -> Any:
    return lambda value: f"{value / 1e6:.{digits}f}"


def _alpha(value: float) -> str:
    """The paper's spelling: ``1.0``, ``0.75``."""
    text = f"{value:g}"
    return text if "." in text or "e" in text else text + ".0"


def points_report(result: Sweep, machine: bool) -> Report:
    """One row per point, as in MobileNet Tables 6 and 7 (``0.75 MobileNet-224``)."""
    base = result.base_resolution
    columns = [
        Column("model", lambda p: f"{_alpha(p.alpha)} {result.model}-{p.resolution}",
               justify="left"),
        Column("α", lambda p: p.alpha, _alpha),
        Column("resolution", lambda p: p.resolution),
        Column("ρ", lambda p: Fraction(p.resolution, base), lambda v: f"{float(v):.3f}"),
        Column("macs" if machine else "million mult-adds", lambda p: p.macs, _millions(1)),
        Column("params" if machine else "million params", lambda p: p.params, _millions(2)),
    ]
    if result.roofline is not None:
        columns.append(Column("time_s", lambda p: float(p.seconds)) if machine else
                       Column("est. (µs)", lambda p: p.seconds, lambda v: f"{float(v) * 1e6:.2f}"))
    if result.latency_model is not None:
        columns.append(Column("latency_s", lambda p: p.latency_s) if machine else
                       Column("pred. latency (ms)", lambda p: f"{p.latency_s * 1e3:.3f}"))
    notes = [f"roofline: {result.roofline}"] if result.roofline else []
    if result.latency_model:
        notes.append(f"latency model: {result.latency_model}")
    return Report(f"{result.model}: width × resolution sweep (paper convention MACs)", columns,
                  result.points, notes)


def grid_report(result: Sweep) -> Report:
    """Million MACs as an α × resolution matrix."""
    rows = list(range(len(result.alphas)))
    columns = [Column("α \\ resolution", lambda i: _alpha(result.alphas[i]), justify="left")]
    for j, res in enumerate(result.resolutions):
        columns.append(Column(str(res), _cell(result, j), _millions(1)))
    return Report(f"{result.model}: million mult-adds by α and resolution", columns, rows)


def _cell(result: Sweep, j: int) -> Any:
    return lambda i: result.at(i, j).macs


def sweep_reports(result: Sweep, machine: bool, summary: bool = False) -> list[Report]:
    """The grid-point table, then the α × resolution tables; ``summary``: the first, no notes."""
    table = points_report(result, machine=machine)
    return totals_only([table]) if summary else [table, grid_report(result)]


def sweep_output(result: Sweep, summary: bool = False) -> View:
    """What ``convcost sweep`` prints."""
    return View("sweep", lambda: sweep_reports(result, False, summary), lambda: sweep_json(result),
                lambda: sweep_reports(result, True, summary), csv=lambda: sweep_csv(result))


def _point_json(point: Point) -> dict[str, Any]:
    return {"alpha": point.alpha, "resolution": point.resolution, "params": point.params,
            "macs": point.macs, "flops": point.flops,
            "time_s": None if point.seconds is None else float(point.seconds),
            "latency_s": point.latency_s}


def sweep_json(result: Sweep) -> dict[str, Any]:
    return {"model": result.model, "base_resolution": result.base_resolution,
            "alphas": list(result.alphas), "resolutions": list(result.resolutions),
            "roofline": result.roofline, "latency_model": result.latency_model,
            "points": [_point_json(p) for p in result.points]}


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or a one-line error naming the extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError(
            "--plot needs matplotlib: pip install 'convcost[plot]'") from None
    return plt


PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_target(path: Path) -> None:
    """Refuse a ``--plot`` format before any work (the place is checked for every output file
    by :mod:`convcost.cli.targets`)."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise ConvcostError(f"--plot: must end in {', '.join(PLOT_SUFFIXES)}, got {quote(str(path))}")


def plot(result: Sweep, path: Path) -> None:
    """MACs vs params, MACs vs α (a line per resolution), MACs vs ρ (a line per α)."""
    plt = pyplot()
    fig, (ax_params, ax_alpha, ax_rho) = plt.subplots(1, 3, figsize=(15, 4.5))
    n_res = len(result.resolutions)
    for j, res in enumerate(result.resolutions):
        column = [result.at(i, j) for i in range(len(result.alphas))]
        ax_params.plot([p.params / 1e6 for p in column], [p.macs / 1e6 for p in column], "o-",
                       label=f"res {res}")
        ax_alpha.plot(result.alphas, [p.macs / 1e6 for p in column], "o-", label=f"res {res}")
    for i, alpha in enumerate(result.alphas):
        row = [result.at(i, j) for j in range(n_res)]
        ax_rho.plot([r / result.base_resolution for r in result.resolutions],
                    [p.macs / 1e6 for p in row], "o-", label=f"α={alpha:g}")
    for ax, xlabel, title in ((ax_params, "million params", "MACs vs params"),
                              (ax_alpha, "width multiplier α", "MACs vs α"),
                              (ax_rho, f"ρ (resolution / {result.base_resolution})",
                               "MACs vs ρ")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel("million mult-adds")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        if len(ax.lines) <= 12:
            ax.legend(fontsize="small")
    save(plt, fig, f"{result.model}: width × resolution sweep", path)


def save(plt: Any, fig: Any, title: str, path: Path) -> None:
    """Title, lay out and write ``fig`` as a PNG; an unwritable path is a one-line error."""
    fig.suptitle(title.replace("$", r"\$"))  # plain text, not matplotlib's mathtext
    fig.tight_layout()
    from convcost.outfile import replacing_bytes

    try:
        with replacing_bytes(path, "--plot") as fh:  # a temporary file, renamed
            fig.savefig(fh, dpi=120, format=path.suffix.lower()[1:] or "png")
    finally:
        plt.close(fig)


def sweep_csv(result: Sweep) -> str:
    """One row per (α, resolution) point; ``time_s`` with a roofline."""
    from convcost.report.rows import tidy_csv

    columns = ["alpha", "resolution", "params", "macs", "flops"]
    columns += ["time_s"] if result.roofline is not None else []
    return tidy_csv([_point_json(p) for p in result.points], columns)
