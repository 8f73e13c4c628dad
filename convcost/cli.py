"""The command line: thin typer commands. Errors become one stderr line and an exit code here."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .errors import ConvcostError
from .report import FORMATS


class _Group(TyperGroup):
    """Turns every error into one line on stderr: usage and input errors exit 2."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        from typer._click.exceptions import ClickException

        try:
            code = super().main(args, prog_name or "convcost", complete_var,
                                standalone_mode=False, **extra)
        except ConvcostError as err:
            typer.echo(f"convcost: error: {err}", err=True)
            code = err.exit_code
        except ClickException as err:
            ctx = getattr(err, "ctx", None)
            where = f"{ctx.command_path}: " if ctx is not None else ""
            message = err.format_message()
            if message:  # an empty one follows the help printed for a bare `convcost`
                typer.echo(f"convcost: error: {where}{message}", err=True)
            code = err.exit_code
        except (typer.Abort, KeyboardInterrupt):
            typer.echo("convcost: aborted", err=True)
            code = 130
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_Group,
    help="Exact FLOPs, MACs and parameters of conv nets, from a YAML spec, verified against torch.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"convcost {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """convcost: FLOPs, MACs and parameters of conv nets."""


Format = Annotated[str, typer.Option("--format", "-f", help="table, json, csv or markdown")]


def _format(value: str) -> str:
    if value not in FORMATS:
        raise ConvcostError(f"--format: must be one of {', '.join(FORMATS)}, got {value!r}")
    return value


def _pair(flag: str, text: str, minimum: int = 1) -> tuple[int, int]:
    """``3`` -> (3, 3); ``3x5`` or ``3,5`` -> (3, 5)."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ConvcostError(f"{flag}: must be an integer or HxW, got {text!r}") from None
    if len(values) not in (1, 2) or min(values) < minimum:
        what = "positive" if minimum == 1 else f"≥ {minimum}"
        raise ConvcostError(f"{flag}: must be {what} (an integer or HxW), got {text!r}")
    return (values[0], values[-1])


def _emit(items: Sequence[Any]) -> None:
    from rich.console import Console

    # Piped output keeps whole rows (rich would cut tables at 80 columns).
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    for item in items:
        if isinstance(item, str):
            sys.stdout.write(item if item.endswith("\n") else item + "\n")
        else:
            console.print(item)


@app.command()
def layer(
    cin: Annotated[int, typer.Option(help="input channels M")],
    cout: Annotated[int, typer.Option(help="output channels N")],
    k: Annotated[str, typer.Option(help="kernel size K, or KHxKW")] = "3",
    hw: Annotated[int | None, typer.Option(help="input height = width")] = None,
    h: Annotated[int | None, typer.Option(help="input height (with --w)")] = None,
    w: Annotated[int | None, typer.Option(help="input width (with --h)")] = None,
    stride: Annotated[str, typer.Option(help="stride, or SHxSW")] = "1",
    padding: Annotated[str, typer.Option(help="auto (d·(k-1)//2), same, P or PHxPW")] = "auto",
    dilation: Annotated[str, typer.Option(help="dilation, or DHxDW")] = "1",
    bias: Annotated[bool, typer.Option("--bias/--no-bias", help="conv bias")] = False,
    bn: Annotated[bool, typer.Option("--bn", help="add the BatchNorm params of each conv")] = False,
    batch: Annotated[int, typer.Option(help="batch size")] = 1,
    alpha: Annotated[float, typer.Option(help="width multiplier α: int(c·α)")] = 1.0,
    rho: Annotated[float, typer.Option(help="resolution multiplier ρ on H and W")] = 1.0,
    fmt: Format = "table",
) -> None:
    """Cost one convolution as standard, depthwise, pointwise and separable (dw + pw)."""
    from .compare import compare, scaled_config
    from .layer_view import layer_json, layer_report
    from .report import render

    fmt = _format(fmt)
    for flag, value in (("--cin", cin), ("--cout", cout), ("--batch", batch)):
        if value < 1:
            raise ConvcostError(f"{flag}: must be a positive integer, got {value}")
    if hw is not None and (h is not None or w is not None):
        raise ConvcostError("--hw: give --hw or --h and --w, not both")
    height, width = (hw, hw) if hw is not None else (h, w)
    if height is None or width is None:
        raise ConvcostError("--hw: missing input size (give --hw, or --h and --w)")
    if min(height, width) < 1:
        raise ConvcostError(f"--hw: must be a positive integer, got {min(height, width)}")
    pad: Any = padding if padding in ("auto", "same") else _pair("--padding", padding, 0)
    config = scaled_config(
        cin, cout, _pair("--k", k), height, width, alpha=alpha, rho=rho,
        stride=_pair("--stride", stride), padding=pad, dilation=_pair("--dilation", dilation),
        bias=bias, bn=bn, batch=batch,
    )
    cmp = compare(config)
    _emit(render([layer_report(cmp)], fmt, lambda: layer_json(cmp)))


@app.command()
def model(
    spec: Annotated[Path, typer.Argument(help="network spec (YAML)")],
    alpha: Annotated[float | None, typer.Option(help="width multiplier α (overrides the spec)")] = None,
    resolution: Annotated[int | None, typer.Option(help="input resolution (square)")] = None,
    rho: Annotated[float | None, typer.Option(help="resolution multiplier ρ")] = None,
    batch: Annotated[int | None, typer.Option(help="batch size")] = None,
    depth: Annotated[int | None, typer.Option(help="collapse blocks below this depth")] = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="cross-check with torch")] = True,
    fmt: Format = "table",
) -> None:
    """Per-layer params, MACs and FLOPs of a network spec, with summaries."""
    from .analysis import analyze
    from .model_view import model_json, model_reports
    from .report import render
    from .spec import load_spec

    fmt = _format(fmt)
    if depth is not None and depth < 1:
        raise ConvcostError(f"--depth: must be a positive integer, got {depth}")
    result = analyze(load_spec(spec), alpha=alpha, resolution=resolution, rho=rho, batch=batch)
    reports = model_reports(result, depth, machine=fmt != "table")
    _emit(render(reports, fmt, lambda: model_json(result, depth)))


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
