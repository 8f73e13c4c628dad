"""Command-line options: typer option types and the parsers that validate them.

Shared by the commands in :mod:`convcost.cli.app`; every bad value is a ConvcostError naming
its flag (exit 2). Nothing here computes costs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import typer

from convcost.errors import ConvcostError
from convcost.limits import MAX_INT, finite_below, quote
from convcost.report.render import FORMATS

# Help panels of `layer` and `model` (typer's rich_help_panel).
SHAPE = "Shape"
COUNTING = "Counting"
MEMORY = "Memory and roofline"
OUTPUT = "Output"


def choice(*values: str) -> click.Choice[str]:
    """A fixed set of values: checked at parse time (the error lists them) and completed."""
    return click.Choice(values)


Format = Annotated[str, typer.Option("--format", "-f", click_type=choice(*FORMATS),
                                     help="table, json, csv or markdown", rich_help_panel=OUTPUT)]
Output = Annotated[Path | None, typer.Option(
    "--output", "-o", dir_okay=False, help="write to FILE instead of stdout",
    rich_help_panel=OUTPUT)]
Summary = Annotated[bool, typer.Option("--summary", help="print the totals only",
                                       rich_help_panel=OUTPUT)]


# `--convention` / `--flops` of `model`, `layer` and `check` (docs/conventions.md).
CONVENTIONS = ("paper", "fvcore", "thop", "ptflops", "torchinfo", "torch")
Convention = Annotated[str, typer.Option(
    click_type=choice(*CONVENTIONS), rich_help_panel=COUNTING,
    help="count as paper (conv + linear MACs), fvcore, thop, ptflops, torchinfo or torch does")]
Flops = Annotated[bool, typer.Option("--flops", help="show FLOPs (2 × MACs) instead of MACs",
                                     rich_help_panel=COUNTING)]


def counting_option(name: str, flops: bool = False) -> Any:
    """The ``Counting`` of ``--convention NAME [--flops]``; an unknown name exits 2."""
    from convcost.conventions.rules import counting

    try:
        return counting(name, flops)
    except ConvcostError as err:
        raise ConvcostError(f"--convention: {err}") from None


def parse_pair(flag: str, text: str, minimum: int = 1) -> tuple[int, int]:
    """``3`` -> (3, 3); ``3x5`` or ``3,5`` -> (3, 5); each at most MAX_INT."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        values = [int(p) for p in parts if len(p) <= 20]
    except ValueError:
        values = []
    if len(values) != len(parts):
        raise ConvcostError(f"{flag}: must be an integer or HxW, got {quote(text)}") from None
    if len(values) not in (1, 2) or min(values) < minimum or max(values) > MAX_INT:
        what = "positive" if minimum == 1 else f"≥ {minimum}"
        raise ConvcostError(f"{flag}: must be {what} and at most {MAX_INT:,} (an integer or HxW), "
                            f"got {quote(text)}")
    return (values[0], values[-1])


# Options shared by `layer` and `bench` (one convolution).
Kernel = Annotated[str, typer.Option("--k", help="kernel size K, or KHxKW", rich_help_panel=SHAPE)]
Hw = Annotated[int | None, typer.Option(help="input height = width", rich_help_panel=SHAPE)]
H = Annotated[int | None, typer.Option("--h", help="input height (with --w)", rich_help_panel=SHAPE)]
W = Annotated[int | None, typer.Option("--w", help="input width (with --h)", rich_help_panel=SHAPE)]
Stride = Annotated[str, typer.Option(help="stride, or SHxSW", rich_help_panel=SHAPE)]
class PaddingType(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2
    """``auto``, ``same``, ``P`` or ``PHxPW``: checked at parse time, modes completed."""

    name = "auto|same|P|PHxPW"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if text in PADDING_MODES:
            return text
        try:
            parse_pair("--padding", text, 0)
        except ConvcostError:
            self.fail(f"{text!r} is not one of auto, same, an integer P ≥ 0 or PHxPW", param, ctx)
        return text

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str
                       ) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(m) for m in PADDING_MODES if m.startswith(incomplete)]


Pad = Annotated[str, typer.Option(click_type=PaddingType(), rich_help_panel=SHAPE,
                                  help="auto (d·(k-1)//2), same, or an explicit P or PHxPW")]
Dilation = Annotated[str, typer.Option(help="dilation, or DHxDW", rich_help_panel=SHAPE)]
Bias = Annotated[bool, typer.Option("--bias/--no-bias", help="conv bias", rich_help_panel=SHAPE)]
Bn = Annotated[bool, typer.Option("--bn", help="add the BatchNorm params of each conv",
                                  rich_help_panel=SHAPE)]
Batch = Annotated[int, typer.Option(help="batch size", rich_help_panel=SHAPE)]
Alpha = Annotated[float, typer.Option(help="width multiplier α: int(c·α)", rich_help_panel=SHAPE)]
Rho = Annotated[float, typer.Option(help="resolution multiplier ρ on H and W", rich_help_panel=SHAPE)]

PADDING_MODES = ("auto", "same")
DTYPES = ("float32", "float16", "bfloat16", "int8")
DEVICES = ("jetson-nano", "t4", "a100")
Memory = Annotated[bool, typer.Option(
    "--memory", help="memory view: bytes, memory access cost, FLOPs/byte, peak activations",
    rich_help_panel=MEMORY)]
Dtype = Annotated[str, typer.Option(click_type=choice(*DTYPES), rich_help_panel=MEMORY,
                                    help="element type of weights and activations "
                                         "(implies --memory)")]
FuseBn = Annotated[bool, typer.Option(
    "--fuse-bn", help="fold BatchNorm into the preceding conv (implies --memory)",
    rich_help_panel=MEMORY)]
Device = Annotated[str | None, typer.Option(
    click_type=choice(*DEVICES), rich_help_panel=MEMORY,
    help="roofline preset (nominal peaks; implies --memory)")]
PeakGflops = Annotated[float | None, typer.Option(
    help="roofline peak compute in GFLOP/s (with --bandwidth-gbs)", rich_help_panel=MEMORY)]
BandwidthGbs = Annotated[float | None, typer.Option(
    help="roofline memory bandwidth in GB/s (with --peak-gflops)", rich_help_panel=MEMORY)]
TrainingFlag = Annotated[bool, typer.Option(
    "--training", help="add backward MACs: grad-input and grad-weight per layer",
    rich_help_panel=COUNTING)]


def layer_config(cin: int, cout: int, k: str, hw: int | None, h: int | None, w: int | None,
                  stride: str, padding: str, dilation: str, bias: bool, bn: bool, batch: int,
                  alpha: float, rho: float) -> Any:
    """The layer config of the `layer` / `bench` options, validated."""
    from convcost.net.compare import scaled_config

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
    pad: Any = padding if padding in ("auto", "same") else parse_pair("--padding", padding, 0)
    return scaled_config(
        cin, cout, parse_pair("--k", k), height, width, alpha=alpha, rho=rho,
        stride=parse_pair("--stride", stride), padding=pad, dilation=parse_pair("--dilation", dilation),
        bias=bias, bn=bn, batch=batch,
    )


def parse_numbers(flag: str, text: str, kind: type[int] | type[float]) -> list[Any]:
    """``1,0.75,0.5`` -> [1.0, 0.75, 0.5]: finite, positive, bounded, comma-separated."""
    parts = [part for part in text.split(",") if part.strip()]
    try:
        values = [kind(part) for part in parts if len(part) <= 40]
    except ValueError:
        values = []
    if len(values) != len(parts) or len(values) > 1000:
        raise ConvcostError(f"{flag}: must be comma-separated numbers (at most 1000), "
                            f"got {quote(text)}") from None
    if not values or not all(finite_below(v, MAX_INT) and v > 0 for v in values):
        raise ConvcostError(f"{flag}: must be comma-separated numbers > 0 and at most "
                            f"{MAX_INT:,}, got {quote(text)}")
    return values


# `model`: the input shape, overriding the spec's `input`.
InputShape = Annotated[str | None, typer.Option(
    "--input", metavar="NxCxHxW", rich_help_panel=SHAPE,
    help="input shape, e.g. 1x3x320x240 (overrides the spec's input)")]
Height = Annotated[int | None, typer.Option(help="input height (non-square inputs)",
                                            rich_help_panel=SHAPE)]
Width = Annotated[int | None, typer.Option(help="input width (non-square inputs)",
                                           rich_help_panel=SHAPE)]


def parse_shape(text: str) -> tuple[int, int, int, int]:
    """``1x3x320x240`` -> (1, 3, 320, 240): four positive integers."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or min(values) < 1:
        raise ConvcostError(f"--input: must be four positive integers NxCxHxW, got {text!r}")
    return (values[0], values[1], values[2], values[3])


def with_input(spec: Any, shape: str | None, height: int | None, width: int | None,
               resolution: int | None, batch: int | None) -> Any:
    """``spec`` with ``--input`` or ``--height``/``--width`` applied to its ``input``."""
    from dataclasses import replace

    if shape is None and height is None and width is None:
        return spec
    if resolution is not None:
        raise ConvcostError("--resolution: give --resolution, or --input / --height / --width")
    if shape is not None:
        if height is not None or width is not None or batch is not None:
            raise ConvcostError("--input: give --input, or --height / --width / --batch")
        n, c, h, w = parse_shape(shape)
        return replace(spec, input=replace(spec.input, batch=n, channels=c, height=h, width=w))
    for flag, value in (("--height", height), ("--width", width)):
        if value is not None and value < 1:
            raise ConvcostError(f"{flag}: must be a positive integer, got {value}")
    return replace(spec, input=replace(spec.input, height=height or spec.input.height,
                                       width=width or spec.input.width))
