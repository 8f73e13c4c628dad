"""The ``model`` command's work, free of typer: the typer command and the fast path of
:mod:`convcost.cli.entry` both run :func:`run_model`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from convcost.errors import ConvcostError

if TYPE_CHECKING:
    from convcost.cli.extras import CostOptions


def run_model(spec: Path, *, alpha: float | None = None, resolution: int | None = None,
              rho: float | None = None, batch: int | None = None, input_shape: list[str] | str | None = None,
              height: int | None = None, width: int | None = None, verify: bool = True,
              convention: str = "paper", flops: bool = False, rf: bool = False,
              latency_model: Path | None = None, costs: CostOptions | None = None,
              depth: int | None = None, summary: bool = False, fmt: str = "table",
              output: Path | None = None) -> None:
    """Analyse ``spec`` and print the model view; exit 1 (after it) on a cross-check mismatch."""
    from convcost.cli import parsing as parse
    from convcost.cli.emit import emit
    from convcost.cli.extras import CostOptions, latency_prediction, model_extras
    from convcost.cli.specs import checked, cross_check, fail_on_mismatch
    from convcost.frontend.registry import open_network
    from convcost.net.analysis import analyze
    from convcost.report.model_view import model_output

    counting = parse.counting_option(convention, flops)
    if depth is not None and depth < 1:
        raise ConvcostError(f"--depth: must be a positive integer, got {depth}")
    traced = parse.traced_input(input_shape)  # a model source's input
    opened = open_network(spec, traced)
    loaded = parse.with_input(checked(opened), input_shape, height, width, resolution, batch)
    result = analyze(loaded, alpha=alpha, resolution=resolution, rho=rho, batch=batch)
    verified = cross_check(result, opened) if verify else None
    extra = model_extras(result, costs or CostOptions(), depth, fmt != "table")
    emit(model_output(result, depth, verified, counting, extra, fmt, summary, rf,
                      latency_prediction(latency_model, result)), output)
    fail_on_mismatch(verified)
