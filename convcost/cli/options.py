"""Command-line options: the typer option types of the commands in :mod:`convcost.cli.app`.

The parsers that validate their values are in :mod:`convcost.cli.parsing` (free of typer);
every bad value is a ConvcostError naming its flag (exit 2). Nothing here computes costs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import typer

from convcost.cli.parsing import parse_pair
from convcost.errors import ConvcostError
from convcost.report.render import FORMATS

F = TypeVar("F", bound=Callable[..., Any])

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


# Option groups declared once, given to several commands by :func:`with_options`:
# one convolution's shape (`layer`, and `bench` in layer mode) ...
CONV_SHAPE: tuple[tuple[str, Any, Any], ...] = (
    ("k", Kernel, "3"), ("hw", Hw, None), ("h", H, None), ("w", W, None), ("stride", Stride, "1"),
    ("padding", Pad, "auto"), ("dilation", Dilation, "1"), ("bias", Bias, False), ("bn", Bn, False))


def with_options(after: str, group: tuple[tuple[str, Any, Any], ...]) -> Callable[[F], F]:
    """Give a command the options of ``group`` after its parameter ``after``; the command
    receives them in its ``**options`` (typer reads the signature this sets; see :func:`take`)."""

    def add(command: F) -> F:
        signature = inspect.signature(command)
        params = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        at = [p.name for p in params].index(after) + 1
        added = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                                   annotation=kind) for name, kind, default in group]
        command.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*params[:at], *added, *params[at:]])
        return command

    return add


Strict = Annotated[bool, typer.Option(
    "--strict", rich_help_panel=COUNTING,
    help="exit 2 when a figure would be a lower bound (an opaque layer: MACs not counted)")]


def strict_option(command: F) -> F:
    """Give a command ``--strict``: while it runs, :func:`convcost.cli.specs.load` refuses a
    spec with an opaque layer (exit 2) instead of warning that its totals are lower bounds."""
    signature = inspect.signature(command, eval_str=True)  # its module's names, not ours
    params = list(signature.parameters.values())
    at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
    flag = inspect.Parameter("strict", inspect.Parameter.KEYWORD_ONLY, default=False,
                             annotation=Strict)

    @functools.wraps(command)
    def run(*args: Any, strict: bool = False, **kwargs: Any) -> Any:
        from convcost.cli.specs import strictly

        with strictly(strict):
            return command(*args, **kwargs)

    run.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*params[:at], flag, *params[at:]])
    return run  # type: ignore[return-value]


def take(options: dict[str, Any], group: tuple[tuple[str, Any, Any], ...]) -> dict[str, Any]:
    """The values of ``group``'s options among a command's ``**options``."""
    return {name: options[name] for name, _, _ in group}
DTYPES = ("float32", "float16", "bfloat16", "int8")
ROOFLINES = ("jetson-nano", "t4", "a100")  # convcost.cost.roofline.PRESETS
Memory = Annotated[bool, typer.Option(
    "--memory", help="memory view: bytes, memory access cost, FLOPs/byte, peak activations",
    rich_help_panel=MEMORY)]
Dtype = Annotated[str, typer.Option(click_type=choice(*DTYPES), rich_help_panel=MEMORY,
                                    help="element type of weights and activations "
                                         "(implies --memory)")]
FuseBn = Annotated[bool, typer.Option(
    "--fuse-bn", help="fold BatchNorm into the preceding conv (implies --memory)",
    rich_help_panel=MEMORY)]
RooflinePreset = Annotated[str | None, typer.Option(
    "--roofline", click_type=choice(*ROOFLINES), rich_help_panel=MEMORY,
    help="roofline preset (nominal peaks; implies --memory)")]
OldDevice = Annotated[str | None, typer.Option(
    "--device", click_type=choice(*ROOFLINES), hidden=True,
    help="deprecated spelling of --roofline (--device is the torch device: bench, profile)")]
PeakGflops = Annotated[float | None, typer.Option(
    help="roofline peak compute in GFLOP/s (with --bandwidth-gbs)", rich_help_panel=MEMORY)]
BandwidthGbs = Annotated[float | None, typer.Option(
    help="roofline memory bandwidth in GB/s (with --peak-gflops)", rich_help_panel=MEMORY)]
TrainingFlag = Annotated[bool, typer.Option(
    "--training", help="add backward MACs: grad-input and grad-weight per layer",
    rich_help_panel=COUNTING)]

# ... and the memory and roofline options (`layer`, `model`): the fields of CostOptions.
COSTS: tuple[tuple[str, Any, Any], ...] = (
    ("memory", Memory, False), ("dtype", Dtype, "float32"), ("fuse_bn", FuseBn, False),
    ("roofline", RooflinePreset, None), ("device", OldDevice, None), ("peak_gflops", PeakGflops, None),
    ("bandwidth_gbs", BandwidthGbs, None))


# `profile` and `calibrate`: what runs, where, and how often.
RUN_DEVICES = ("cpu", "cuda")
RUN_DTYPES = ("float32", "bfloat16")  # convcost.net.latency.PROFILE_DTYPES
BACKENDS = ("torch", "onnxruntime")  # convcost.net.latency.BACKENDS
TRACERS = ("auto", "fx", "export", "record")  # convcost.runtime.importer.trace.TRACERS
RunDevice = Annotated[str, typer.Option("--device", click_type=choice(*RUN_DEVICES),
                                        help="torch device: cpu or cuda")]
RunDtype = Annotated[str, typer.Option("--dtype", click_type=choice(*RUN_DTYPES),
                                       help="float32 or bfloat16")]
Threads = Annotated[int | None, typer.Option(help="torch threads [default: torch's]")]
Warmup = Annotated[int, typer.Option(help="untimed rounds first")]
Repeats = Annotated[int, typer.Option(
    help="timed rounds (each: one end-to-end pass, then one pass timing every layer)")]
Backend = Annotated[str, typer.Option(click_type=choice(*BACKENDS),
                                      help="torch, or onnxruntime (the onnx extra)")]

LatencyModelOption = Annotated[Path | None, typer.Option(
    "--latency-model", help="latency model file (convcost calibrate): add predicted latency")]


# `model`: the input shape, overriding the spec's `input`.
InputShape = Annotated[list[str] | None, typer.Option(
    "--input", metavar="[NAME=]NxC...", rich_help_panel=SHAPE,
    help="input shape, 2 to 5 sizes batch first, e.g. 1x3x320x240 or 1x3x16x112x112 (overrides "
         "the spec's input); several named inputs: --input image=1x3x224x224 --input "
         "image2=1x3x224x224")]
Height = Annotated[int | None, typer.Option(help="input height (non-square inputs)",
                                            rich_help_panel=SHAPE)]
Width = Annotated[int | None, typer.Option(help="input width (non-square inputs)",
                                           rich_help_panel=SHAPE)]


