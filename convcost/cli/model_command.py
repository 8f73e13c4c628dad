"""The ``model`` command's work, free of typer: the typer command and the fast path of
:mod:`convcost.cli.entry` both run :func:`run_model`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    from convcost.cli.extras import CostOptions
    from convcost.cli.specs import checked, cross_check, fail_on_mismatch
    from convcost.frontend.registry import open_network
    from convcost.net.analysis import analyze
    from convcost.net.figures import model_figures
    from convcost.report.model_view import model_output
    from convcost.report.render import render

    counting = parse.counting_option(convention, flops)
    if depth is not None and depth < 1:
        raise ConvcostError(f"--depth: must be a positive integer, got {depth}")
    traced = parse.traced_input(input_shape)  # a model source's input
    opened = open_network(spec, traced, inputs=parse.recorded_inputs(input_shape))
    loaded = parse.with_input(checked(opened), input_shape, height, width, resolution, batch)
    result = analyze(loaded, alpha=alpha, resolution=resolution, rho=rho, batch=batch)
    verified = cross_check(result, opened) if verify else None
    figures = model_figures(result.root, (costs or CostOptions()).request())
    training_lower_bound(figures.training)
    prediction = predicted_latency(latency_model, result.root)
    emit(render(model_output(result, depth, verified, counting, figures, summary, rf, prediction),
                fmt), output)
    fail_on_mismatch(verified)


def training_lower_bound(result: Any) -> None:
    """``--training`` whose backward leaves some leaf out says so on stderr (and in its JSON);
    under ``--strict`` that is an error (exit 2)."""
    if result is None or result.complete:
        return
    from convcost.cli.specs import is_strict
    from convcost.cli.terminal import say
    from convcost.report.training_view import lower_bound_note

    if is_strict():
        raise ConvcostError(f"--strict: {lower_bound_note(result)}")
    say(f"warning: {lower_bound_note(result)}")


def predicted_latency(path: Path | None, root: Any) -> Any:
    """``--latency-model``'s prediction (the latency modules load only when it is given); a
    prediction that leaves kernels out says so on stderr."""
    if path is None:
        return None
    from convcost.cli.terminal import say
    from convcost.net.latency_file import predicted

    prediction = predicted(path, root)
    if prediction is not None and prediction.short_note:
        say(prediction.short_note)
    return prediction
