"""The analytic commands: layer, model, verify, conventions, sweep."""

from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli import options as opts
from convcost.cli import parsing as parse
from convcost.cli.attention_layer import Attention, Heads, KvStride
from convcost.cli.emit import emit
from convcost.cli.options import (
    Alpha,
    BandwidthGbs,
    Batch,
    Convention,
    Flops,
    Format,
    LatencyModelOption,
    OldDevice,
    Output,
    PeakGflops,
    Rho,
    RooflinePreset,
    Summary,
    TrainingFlag,
)
from convcost.cli.specs import checked, load, sweepable
from convcost.cli.terminal import say
from convcost.errors import CheckFailed, ConvcostError
from convcost.frontend.registry import open_network

SPEC_ARG = typer.Argument(help="network spec (YAML file, or a built-in name: convcost list)")


@opts.with_options("training", opts.COSTS)
@opts.with_options("cout", opts.CONV_SHAPE)
def layer(
    cin: Annotated[int, typer.Option(help="input channels M", rich_help_panel=opts.SHAPE)],
    cout: Annotated[int, typer.Option(help="output channels N", rich_help_panel=opts.SHAPE)],
    batch: Batch = 1,
    alpha: Alpha = 1.0,
    rho: Rho = 1.0,
    convention: Convention = "paper",
    flops: Flops = False,
    training: TrainingFlag = False,
    summary: Summary = False,
    attention: Attention = False,
    heads: Heads = 1,
    kv_stride: KvStride = 1,
    fmt: Format = "table",
    output: Output = None,
    **options: Any,
) -> None:
    """Cost one convolution as standard, depthwise, pointwise and separable (dw + pw), or
    (--attention) against a self-attention block at the same input."""
    from convcost.cli.extras import CostOptions
    from convcost.net.compare import compare
    from convcost.net.figures import layer_figures
    from convcost.report.extras_view import layer_extras
    from convcost.report.layer_view import layer_output
    from convcost.report.render import render

    # paper MACs need no convention table; anything else is counted per variant
    counting = None if (convention, flops) == ("paper", False) else parse.counting_option(convention, flops)
    config = parse.layer_config(cin, cout, batch=batch, alpha=alpha, rho=rho,
                                **opts.take(options, opts.CONV_SHAPE))
    if attention:
        from convcost.cli.attention_layer import attention_layer

        return attention_layer(config, heads, kv_stride, fmt, output)
    cmp = compare(config)
    counts = None
    if counting is not None and not counting.default:
        from convcost.net.layer_nodes import variant_counts

        counts = variant_counts(config, counting.count)
    figures = layer_figures(config, CostOptions(**opts.take(options, opts.COSTS),
                                                training=training).request())
    emit(render(layer_output(cmp, counting, counts, layer_extras(figures), summary), fmt), output)


@opts.strict_option
@opts.with_options("latency_model", opts.COSTS)
def model(
    spec: Annotated[Path, SPEC_ARG],
    alpha: Annotated[float | None, typer.Option(help="width multiplier α (overrides the spec)",
                                                rich_help_panel=opts.SHAPE)] = None,
    resolution: Annotated[int | None, typer.Option(help="input resolution (square)",
                                                   rich_help_panel=opts.SHAPE)] = None,
    rho: Annotated[float | None, typer.Option(help="resolution multiplier ρ",
                                              rich_help_panel=opts.SHAPE)] = None,
    batch: Annotated[int | None, typer.Option(help="batch size", rich_help_panel=opts.SHAPE)] = None,
    input_shape: opts.InputShape = None,
    height: opts.Height = None,
    width: opts.Width = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", rich_help_panel=opts.COUNTING, help=(
        "cross-check with torch and fvcore when installed (seconds); --no-verify is instant"))] = True,
    convention: Convention = "paper",
    flops: Flops = False,
    training: TrainingFlag = False,
    rf: Annotated[bool, typer.Option("--rf", rich_help_panel=opts.COUNTING,
                                     help="receptive field columns: size, jump (effective "
                                          "stride), effective padding")] = False,
    latency_model: LatencyModelOption = None,
    depth: Annotated[int | None, typer.Option(help="collapse blocks below this depth (table; "
                                              "JSON blocks)", rich_help_panel=opts.OUTPUT)] = None,
    summary: Summary = False,
    fmt: Format = "table",
    output: Output = None,
    **options: Any,
) -> None:
    """Per-layer params, MACs and FLOPs of a network spec, with summaries."""
    from convcost.cli.extras import CostOptions
    from convcost.cli.model_command import run_model

    run_model(spec, alpha=alpha, resolution=resolution, rho=rho, batch=batch, input_shape=input_shape,
              height=height, width=width, verify=verify, convention=convention, flops=flops, rf=rf,
              latency_model=latency_model, depth=depth, summary=summary, fmt=fmt, output=output,
              costs=CostOptions(**opts.take(options, opts.COSTS), training=training))


@opts.strict_option
def verify_command(
    specs: Annotated[list[Path], typer.Argument(
        metavar="SPEC...", help="network specs (YAML files or built-in names)")],
    alpha: Annotated[float | None, typer.Option(help="width multiplier α (overrides the specs)")] = None,
    resolution: Annotated[int | None, typer.Option(help="input resolution (square)")] = None,
    batch: Annotated[int | None, typer.Option(help="batch size")] = None,
    fmt: Format = "table",
    output: Output = None,
) -> None:
    """Cross-check specs with torch and fvcore: exit 0 all agree, 1 a mismatch, 2 bad input."""
    from convcost.net.analysis import analyze
    from convcost.report.render import render
    from convcost.report.verify_view import verify_output
    from convcost.runtime.verify import verify

    analyses = [analyze(load(p), alpha=alpha, resolution=resolution, batch=batch) for p in specs]
    checked = [(str(path), verify(analysis, notify=say))
               for path, analysis in zip(specs, analyses, strict=True)]
    emit(render(verify_output(checked), fmt), output)
    failed = [path for path, result in checked if not result.ok]
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(specs)} specs disagree with torch/fvcore: "
                          f"{', '.join(failed)}")


@opts.strict_option
def conventions_command(
    spec: Annotated[Path, SPEC_ARG],
    alpha: Annotated[float | None, typer.Option(help="width multiplier α (overrides the spec)")] = None,
    resolution: Annotated[int | None, typer.Option(help="input resolution (square)")] = None,
    batch: Annotated[int | None, typer.Option(help="batch size")] = None,
    summary: Summary = False,
    fmt: Format = "table",
    output: Output = None,
) -> None:
    """Every tool's count side by side (paper, fvcore, thop, ptflops, torchinfo, torch), explained."""
    from convcost.conventions.explain import explain
    from convcost.net.analysis import analyze
    from convcost.report.explain_view import conventions_output
    from convcost.report.render import render

    result = explain(analyze(load(spec), alpha=alpha, resolution=resolution, batch=batch))
    emit(render(conventions_output(result, summary), fmt), output)


@opts.strict_option
def sweep(
    spec: Annotated[Path, SPEC_ARG],
    alpha: Annotated[str, typer.Option(help="width multipliers α, comma-separated")] = "1,0.75,0.5,0.25",
    resolution: Annotated[str | None, typer.Option(
        help="input resolutions, comma-separated [default: the spec's]")] = None,
    batch: Annotated[int | None, typer.Option(help="batch size")] = None,
    roofline: RooflinePreset = None,
    device: OldDevice = None,
    peak_gflops: PeakGflops = None,
    bandwidth_gbs: BandwidthGbs = None,
    dtype: Annotated[str | None, typer.Option(
        click_type=opts.choice(*opts.DTYPES), rich_help_panel=opts.MEMORY,
        help="element type of the roofline estimate's bytes [default: float32]; needs "
             "--roofline or --peak-gflops/--bandwidth-gbs")] = None,
    plot: Annotated[Path | None, typer.Option(
        help="also draw MACs vs params and vs α/ρ into this PNG (needs matplotlib)")] = None,
    latency_model: LatencyModelOption = None,
    summary: Summary = False,
    fmt: Format = "table",
    output: Output = None,
) -> None:
    """Params and MACs over an α × resolution grid (MobileNet Tables 6 and 7), optionally timed."""
    from convcost.cli.extras import CostOptions
    from convcost.cli.progress import progress_bar
    from convcost.net.latency_file import given_model
    from convcost.net.sweep import sweep as run_sweep
    from convcost.report.render import render
    from convcost.report.sweep_view import plot as draw
    from convcost.report.sweep_view import sweep_output

    if plot is not None:
        from convcost.report.sweep_view import check_plot_target, pyplot

        check_plot_target(plot)  # fail before the work: a bad target or no matplotlib
        pyplot()
    roof = CostOptions(dtype=dtype or "float32", roofline=roofline, device=device,
                       peak_gflops=peak_gflops, bandwidth_gbs=bandwidth_gbs).estimate()
    if dtype is not None and roof is None:
        raise ConvcostError("--dtype: sets the bytes of the roofline estimate; give --roofline or "
                            "--peak-gflops and --bandwidth-gbs with it")
    loaded = checked(sweepable(open_network(spec)))
    alphas = parse.parse_numbers("--alpha", alpha, float)
    sizes = parse.parse_numbers("--resolution", resolution, int) if resolution else [loaded.input.height]
    with progress_bar("sweep", len(alphas) * len(sizes), threshold=200) as update:
        result = run_sweep(loaded, alphas, sizes, batch, roof, dtype or "float32", update,
                           given_model(latency_model))
    emit(render(sweep_output(result, summary), fmt), output)
    if plot is not None:
        draw(result, plot)
