"""``convcost fit``: the α, resolution and stage depths that fit a budget (:mod:`convcost.net.fit`)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli import parsing as parse
from convcost.cli.options import Format, LatencyModelOption, Output
from convcost.errors import ConvcostError, SpecError
from convcost.limits import quote

MAX_GRID_VALUES = 1000


def grid_values(flag: str, text: str, kind: type[int] | type[float]) -> list[Any]:
    """``0.25:1:0.05`` (start:stop:step, stop included) or a comma list, as ``kind``."""
    parts = text.split(":")
    if len(parts) == 1:
        return parse.parse_numbers(flag, text, kind)
    try:
        start, stop, step = (Decimal(p) for p in parts)
    except (ValueError, InvalidOperation):
        raise ConvcostError(f"{flag}: must be START:STOP:STEP or comma-separated numbers, "
                            f"got {quote(text)}") from None
    if not (start.is_finite() and stop.is_finite() and step.is_finite()) or step <= 0 \
            or start <= 0 or stop < start or (stop - start) / step >= MAX_GRID_VALUES:
        raise ConvcostError(f"{flag}: START:STOP:STEP needs 0 < START ≤ STOP, STEP > 0 and at "
                            f"most {MAX_GRID_VALUES} values, got {quote(text)}")
    count = int((stop - start) / step) + 1
    values = [start + i * step for i in range(count)]
    if kind is int and any(v != v.to_integral_value() for v in values):
        raise ConvcostError(f"{flag}: must be whole numbers, got {quote(text)}")
    return [kind(v) for v in values]


def default_resolutions(base: int) -> list[int]:
    """Multiples of 16 from about 0.4 × the spec's resolution up to it (and the spec's own)."""
    low = max(16, round(base * 0.4 / 16) * 16)
    return sorted({*range(low, base + 1, 16), base})


def limit(flag: str, value: str | None) -> int | None:
    from convcost.spec.budget import parse_count

    if value is None:
        return None
    try:
        return parse_count(value, flag)
    except SpecError as err:
        raise ConvcostError(f"{flag}: {err.message}") from None


def seconds(flag: str, value: str | None) -> float | None:
    """``15ms``, ``0.015s``, ``800us``: a positive time in seconds."""
    if value is None:
        return None
    text = value.strip().lower()
    for unit, scale in (("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("s", 1.0)):
        if text.endswith(unit):
            try:
                number = float(text[: -len(unit)])
            except ValueError:
                break
            if 0 < number * scale <= 3600:
                return number * scale
            break
    raise ConvcostError(f"{flag}: must be a time such as 15ms, 800us or 0.02s (at most an hour), "
                        f"got {quote(value)}")


def fit_budget(macs: str | None, params: str | None, latency: str | None) -> Any:
    """The budget flags as a :class:`~convcost.net.fit.FitBudget`; at least one is needed."""
    from convcost.net.fit import FitBudget

    budget = FitBudget(limit("--max-macs", macs), limit("--max-params", params),
                       seconds("--max-latency", latency))
    if budget == FitBudget():
        raise ConvcostError("fit: give a budget: --max-macs, --max-params or --max-latency")
    return budget


def _show(result: Any, fmt: str, top: int, output: Path | None) -> None:
    from convcost.cli.emit import emit
    from convcost.report.fit_view import fit_output
    from convcost.report.render import render

    emit(render(fit_output(result, top), fmt), output)


def fit_command(
    source: Annotated[Path, typer.Argument(
        help="network spec (YAML file, built-in name, or a model to import)")],
    max_macs: Annotated[str | None, typer.Option(help="MACs budget: 300M, 1.2G, 450000000")] = None,
    max_params: Annotated[str | None, typer.Option(help="params budget: 4M, 3500K")] = None,
    max_latency: Annotated[str | None, typer.Option(
        help="predicted-latency budget: 15ms (needs --latency-model)")] = None,
    latency_model: LatencyModelOption = None,
    alpha: Annotated[str, typer.Option(
        help="width multipliers: START:STOP:STEP or a comma list")] = "0.25:1:0.05",
    resolution: Annotated[str | None, typer.Option(
        help="resolutions: START:STOP:STEP or a comma list [default: multiples of 16 from "
             "0.4× the spec's up to it]")] = None,
    depth: Annotated[bool, typer.Option(
        "--depth/--no-depth", help="search the depth of every repeated stage (1 … repeat)")] = True,
    batch: Annotated[int | None, typer.Option(help="batch size")] = None,
    top: Annotated[int, typer.Option(help="show the N largest front designs (0: all)")] = 20,
    plot: Annotated[Path | None, typer.Option(
        help="also draw the front into this PNG (needs matplotlib)")] = None,
    fmt: Format = "table",
    output: Output = None,
) -> None:
    """The widths α, resolutions and stage depths that fit a MACs/params/latency budget."""
    from convcost.cli.progress import progress_bar
    from convcost.cli.specs import checked, sweepable
    from convcost.frontend.registry import open_network
    from convcost.net.fit import fit
    from convcost.net.latency_file import given_model

    if plot is not None:
        from convcost.report.sweep_view import check_plot_target, pyplot

        check_plot_target(plot)
        pyplot()
    if top < 0:
        raise ConvcostError(f"--top: must be ≥ 0, got {top}")
    budget = fit_budget(max_macs, max_params, max_latency)
    alphas = grid_values("--alpha", alpha, float)
    model = given_model(latency_model)
    loaded = checked(sweepable(open_network(source), "fit"))
    sizes = (grid_values("--resolution", resolution, int) if resolution
             else default_resolutions(loaded.input.height))
    with progress_bar("fit", len(alphas) * len(sizes), threshold=200) as update:
        result = fit(loaded, alphas, sizes, budget, depth=depth, batch=batch, latency=model,
                     progress=update)
    _show(result, fmt, top, output)
    if plot is not None:
        from convcost.report.fit_view import plot as draw

        draw(result, plot)
