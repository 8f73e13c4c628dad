"""``convcost check``: models against their budgets and a baseline, for CI."""

import os
from typing import Annotated

import typer

from convcost.cli import options as opts
from convcost.cli.options import Format, Output, Summary


def check(
    paths: Annotated[list[str], typer.Argument(
        metavar="SPEC|DIR|BUDGETS...",
        help="spec files or built-in names, models to import (torchvision:NAME, FILE.py:Class, "
             "FILE.onnx, ...), git:REV:path, directories of specs, budgets files")],
    baseline: Annotated[str | None, typer.Option(help="baseline JSON: fail when params or MACs grew"
                                                 )] = None,
    tolerance: Annotated[float, typer.Option(help="allowed growth over the baseline, in %")] = 0.0,
    update_baseline: Annotated[bool, typer.Option("--update-baseline",
                                                  help="write the current figures to --baseline")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="also cross-check with torch/fvcore")] = False,
    alpha: Annotated[float | None, typer.Option(help="width multiplier α (overrides the specs)")] = None,
    resolution: Annotated[int | None, typer.Option(help="input resolution (square)")] = None,
    convention: Annotated[str, typer.Option(
        click_type=opts.choice(*opts.CONVENTIONS),
        help="whose count the MACs/FLOPs budgets and the baseline apply to (torch: its FLOPs / 2)"
    )] = "paper",
    summary: Summary = False,
    fmt: Format = "table",
    output: Output = None,
) -> None:
    """Check models against their budgets and a baseline: exit 1 when any is over or grew."""
    from convcost.check.run import run_check
    from convcost.cli import parsing as parse
    from convcost.cli.emit import emit
    from convcost.cli.specs import is_strict
    from convcost.cli.terminal import say
    from convcost.report.check_view import check_view, publish_github
    from convcost.report.render import render

    counted = parse.counting_option(convention).convention
    result = run_check(paths, alpha=alpha, resolution=resolution, baseline=baseline,
                       tolerance=tolerance, update_baseline=update_baseline, verify=verify,
                       convention=counted, notify=say, strict=is_strict())
    emit(render(check_view(result, summary), fmt), output)
    publish_github(result, os.environ)
    result.raise_for_status()
