"""Command-line options: typer option types and the parsers that validate them.

Shared by the commands in :mod:`convcost.cli.app`; every bad value is a ConvcostError naming
its flag (exit 2). Nothing here computes costs.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from convcost.errors import ConvcostError
from convcost.limits import MAX_INT, finite_below, quote
from convcost.report.render import FORMATS

Format = Annotated[str, typer.Option("--format", "-f", help="table, json, csv or markdown")]


def parse_format(value: str) -> str:
    if value not in FORMATS:
        raise ConvcostError(f"--format: must be one of {', '.join(FORMATS)}, got {quote(value)}")
    return value


# `--convention` / `--flops` of `model`, `layer` and `check` (docs/conventions.md).
Convention = Annotated[str, typer.Option(
    help="count as paper (conv + linear MACs), fvcore, thop, ptflops, torchinfo or torch does")]
Flops = Annotated[bool, typer.Option("--flops", help="show FLOPs (2 × MACs) instead of MACs")]


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
Kernel = Annotated[str, typer.Option("--k", help="kernel size K, or KHxKW")]
Hw = Annotated[int | None, typer.Option(help="input height = width")]
H = Annotated[int | None, typer.Option("--h", help="input height (with --w)")]
W = Annotated[int | None, typer.Option("--w", help="input width (with --h)")]
Stride = Annotated[str, typer.Option(help="stride, or SHxSW")]
Pad = Annotated[str, typer.Option(help="auto (d·(k-1)//2), same, P or PHxPW")]
Dilation = Annotated[str, typer.Option(help="dilation, or DHxDW")]
Bias = Annotated[bool, typer.Option("--bias/--no-bias", help="conv bias")]
Bn = Annotated[bool, typer.Option("--bn", help="add the BatchNorm params of each conv")]
Batch = Annotated[int, typer.Option(help="batch size")]
Alpha = Annotated[float, typer.Option(help="width multiplier α: int(c·α)")]
Rho = Annotated[float, typer.Option(help="resolution multiplier ρ on H and W")]


Memory = Annotated[bool, typer.Option(
    "--memory", help="memory view: bytes, memory access cost, FLOPs/byte, peak activations")]
Dtype = Annotated[str, typer.Option(help="element type of weights and activations: float32, "
                                         "float16, bfloat16 or int8 (implies --memory)")]
FuseBn = Annotated[bool, typer.Option(
    "--fuse-bn", help="fold BatchNorm into the preceding conv (implies --memory)")]
Device = Annotated[str | None, typer.Option(
    help="roofline preset: jetson-nano, t4 or a100 (nominal peaks; implies --memory)")]
PeakGflops = Annotated[float | None, typer.Option(
    help="roofline peak compute in GFLOP/s (with --bandwidth-gbs)")]
BandwidthGbs = Annotated[float | None, typer.Option(
    help="roofline memory bandwidth in GB/s (with --peak-gflops)")]
TrainingFlag = Annotated[bool, typer.Option(
    "--training", help="add backward MACs: grad-input and grad-weight per layer")]


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
