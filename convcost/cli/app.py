"""The command line: thin typer commands. Errors become one stderr line and an exit code here."""

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperCommand, TyperGroup

from convcost.cli import options as opts
from convcost.cli import parsing as parse
from convcost.cli import report_command
from convcost.cli.calibrate_command import calibrate_command
from convcost.cli.check_command import check
from convcost.cli.diff_command import diff as diff_command
from convcost.cli.fit_command import fit_command
from convcost.cli.options import (
    Alpha,
    Backend,
    BandwidthGbs,
    Batch,
    Convention,
    Device,
    Flops,
    Format,
    LatencyModelOption,
    Output,
    PeakGflops,
    Repeats,
    Rho,
    RunDevice,
    RunDtype,
    Summary,
    Threads,
    TrainingFlag,
    Warmup,
)
from convcost.cli.specs import load, sweepable
from convcost.cli.terminal import say
from convcost.errors import CheckFailed, ConvcostError

SPEC_ARG = typer.Argument(help="network spec (YAML file, or a built-in name: convcost list)")


class _Group(TyperGroup):
    """Turns every error into one line on stderr and a named exit code (convcost.exit_codes)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        from convcost.cli.numbers import bound_numbers
        from convcost.cli.targets import guard_outputs
        from convcost.cli.terminal import ascii_fallback, run_main

        bound_numbers(self)
        guard_outputs(self)  # -o FILE checked before the work: writable, none of the inputs
        ascii_fallback(sys.stdout)
        ascii_fallback(sys.stderr)
        sys.exit(run_main(lambda: super(_Group, self).main(
            args, prog_name or "convcost", complete_var, standalone_mode=False, **extra)))


app = typer.Typer(
    cls=_Group,
    help="Exact FLOPs, MACs and parameters of conv nets, from a YAML spec, verified against torch.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
app.command("report")(opts.strict_option(report_command.report))


def _version(value: bool) -> None:
    if value:
        from convcost import __version__

        typer.echo(f"convcost {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """convcost: FLOPs, MACs and parameters of conv nets."""


def _emit(items: Sequence[Any], output: Path | None = None) -> None:
    from convcost.cli.emit import emit

    emit(items, output)


@app.command()
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
    fmt: Format = "table",
    output: Output = None,
    **options: Any,
) -> None:
    """Cost one convolution as standard, depthwise, pointwise and separable (dw + pw)."""
    from convcost.cli.extras import CostOptions, layer_extras
    from convcost.net.compare import compare
    from convcost.report.layer_view import layer_csv, layer_json, layer_report
    from convcost.report.render import envelope, render, totals_only

    # paper MACs need no convention table; anything else is counted per variant
    counting = None if (convention, flops) == ("paper", False) else parse.counting_option(convention, flops)
    config = parse.layer_config(cin, cout, batch=batch, alpha=alpha, rho=rho,
                                **opts.take(options, opts.CONV_SHAPE))
    cmp = compare(config)
    counts = None
    if counting is not None and not counting.default:
        from convcost.net.layer_nodes import variant_counts

        counts = variant_counts(config, counting.count)
    extra = layer_extras(config, CostOptions(**opts.take(options, opts.COSTS), training=training))
    reports = [layer_report(cmp, counting, counts), *extra.reports]
    _emit(render(totals_only(reports) if summary else reports, fmt,
                 lambda: envelope("layer", {**layer_json(cmp, counting, counts, extra.variants),
                                            **extra.json()}),
                 lambda: layer_csv(cmp, counting, counts, extra.variants)), output)


@app.command()
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


@app.command("verify")
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
    from convcost.report.verify_view import verify_output
    from convcost.runtime.verify import verify

    analyses = [analyze(load(p), alpha=alpha, resolution=resolution, batch=batch) for p in specs]
    checked = [(str(path), verify(analysis, notify=say))
               for path, analysis in zip(specs, analyses, strict=True)]
    _emit(verify_output(checked, fmt), output)
    failed = [path for path, result in checked if not result.ok]
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(specs)} specs disagree with torch/fvcore: "
                          f"{', '.join(failed)}")


@app.command("conventions")
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
    from convcost.report.explain_view import conventions_csv, conventions_json, conventions_reports
    from convcost.report.render import envelope, render

    result = explain(analyze(load(spec), alpha=alpha, resolution=resolution, batch=batch))
    reports = conventions_reports(result)
    _emit(render(reports[:1] if summary else reports, fmt,
                 lambda: envelope("conventions", conventions_json(result)),
                 lambda: conventions_csv(result)), output)


class _SchemaCommand(TyperCommand):
    """``schema --output`` (no FILE) is ``schema output``: the issue's spelling, unambiguous."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, parse.bare_output(args))


@app.command(cls=_SchemaCommand)
def schema(
    which: Annotated[str, typer.Argument(
        click_type=opts.choice("spec", "output"),
        help="spec: the spec format (for editors); output: the JSON that --format json prints")
    ] = "spec",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", dir_okay=False, rich_help_panel=opts.OUTPUT,
        help="write to FILE instead of stdout; --output alone (no FILE) is `schema output`")] = None,
) -> None:
    """Print a JSON Schema: of the spec format, or (output, or --output) of every command's JSON."""
    import json

    if which == "output":
        from convcost.report.output_schema import output_schema

        data = output_schema()
    else:
        from convcost.spec.jsonschema import spec_schema

        data = spec_schema()
    _emit([json.dumps(data, indent=2, ensure_ascii=False)], output)


@app.command("list")
def list_command(fmt: Format = "table", output: Output = None) -> None:
    """The built-in specs (usable by name wherever a spec goes), with params and MACs."""
    from convcost.report.render import envelope, render
    from convcost.report.zoo_view import zoo_csv, zoo_json, zoo_report
    from convcost.spec.zoo import entries

    found = entries()
    _emit(render([zoo_report(found)], fmt, lambda: envelope("list", zoo_json(found)),
                 lambda: zoo_csv(found)), output)


app.command()(opts.strict_option(check))
app.command("diff")(opts.strict_option(diff_command))


@app.command()
@opts.strict_option
def sweep(
    spec: Annotated[Path, SPEC_ARG],
    alpha: Annotated[str, typer.Option(help="width multipliers α, comma-separated")] = "1,0.75,0.5,0.25",
    resolution: Annotated[str | None, typer.Option(
        help="input resolutions, comma-separated [default: the spec's]")] = None,
    batch: Annotated[int | None, typer.Option(help="batch size")] = None,
    device: Device = None,
    peak_gflops: PeakGflops = None,
    bandwidth_gbs: BandwidthGbs = None,
    dtype: Annotated[str | None, typer.Option(
        click_type=opts.choice(*opts.DTYPES), rich_help_panel=opts.MEMORY,
        help="element type of the roofline estimate's bytes [default: float32]; needs "
             "--device or --peak-gflops/--bandwidth-gbs")] = None,
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
    from convcost.net.sweep import sweep as run_sweep
    from convcost.report.render import envelope, render
    from convcost.report.sweep_view import plot as draw
    from convcost.report.sweep_view import sweep_csv, sweep_json, sweep_reports

    if plot is not None:
        from convcost.report.sweep_view import check_plot_target, pyplot

        check_plot_target(plot)  # fail before the work: a bad target or no matplotlib
        pyplot()
    roof = CostOptions(dtype=dtype or "float32", device=device, peak_gflops=peak_gflops,
                       bandwidth_gbs=bandwidth_gbs).roofline()
    if dtype is not None and roof is None:
        raise ConvcostError("--dtype: sets the bytes of the roofline estimate; give --device or "
                            "--peak-gflops and --bandwidth-gbs with it")
    sweepable(spec)
    loaded = load(spec)
    alphas = parse.parse_numbers("--alpha", alpha, float)
    sizes = parse.parse_numbers("--resolution", resolution, int) if resolution else [loaded.input.height]
    with progress_bar("sweep", len(alphas) * len(sizes), threshold=200) as update:
        result = run_sweep(loaded, alphas, sizes, batch, roof, dtype or "float32", update,
                           parse.latency_option(latency_model))
    _emit(render(sweep_reports(result, fmt, summary), fmt, lambda: envelope("sweep", sweep_json(result)),
                 lambda: sweep_csv(result)), output)
    if plot is not None:
        draw(result, plot)


@app.command()
@opts.strict_option
@opts.with_options("cout", opts.CONV_SHAPE)
def bench(
    spec: Annotated[Path | None, typer.Argument(
        help="network spec (YAML file or built-in name); without it, time one layer's four "
             "variants")] = None,
    cin: Annotated[int | None, typer.Option(help="input channels M (layer mode)")] = None,
    cout: Annotated[int | None, typer.Option(help="output channels N (layer mode)")] = None,
    batch: Annotated[int | None, typer.Option(help="batch size")] = None,
    alpha: Annotated[float | None, typer.Option(help="width multiplier α")] = None,
    rho: Annotated[float | None, typer.Option(help="resolution multiplier ρ")] = None,
    resolution: Annotated[int | None, typer.Option(help="input resolution (spec mode)")] = None,
    warmup: Annotated[int, typer.Option(help="untimed runs first")] = 10,
    repeats: Annotated[int, typer.Option(help="timed runs")] = 50,
    threads: Annotated[int | None, typer.Option(help="torch threads [default: torch's]")] = None,
    torch_device: Annotated[str, typer.Option(
        click_type=opts.choice("auto", "cpu", "cuda"),
        help="auto (cuda if available), cpu or cuda")] = "auto",
    summary: Summary = False,
    fmt: Format = "table",
    output: Output = None,
    **options: Any,
) -> None:
    """Measure latency with torch: a layer's standard/depthwise/pointwise/separable, or a spec."""
    from convcost.cli.progress import progress_bar
    from convcost.report.bench_view import bench_csv, bench_json, bench_report
    from convcost.report.render import envelope, render, totals_only
    from convcost.runtime.bench import bench as run_bench

    if spec is not None:
        if cin is not None or cout is not None:
            raise ConvcostError("--cin: give a spec or --cin/--cout, not both")
        models, base, title, extra = _bench_spec(spec, alpha, resolution, rho, batch)
    else:
        if cin is None or cout is None:
            raise ConvcostError("--cin: give a spec, or --cin and --cout for one layer")
        config = parse.layer_config(cin, cout, batch=batch or 1, alpha=alpha or 1.0,
                                    rho=rho or 1.0, **opts.take(options, opts.CONV_SHAPE))
        models, base, title, extra = _bench_layer(config)
    with progress_bar("bench", len(models) * (warmup + repeats)) as update:
        result = run_bench(title, models, torch_device, warmup, repeats, threads, update, say)
    reports = [bench_report(result, base)]
    _emit(render(totals_only(reports) if summary else reports, fmt,
                 lambda: envelope("bench", bench_json(result, base, extra, summary)),
                 lambda: bench_csv(result, base)), output)


def _bench_spec(spec: Path, alpha: float | None, resolution: int | None, rho: float | None,
                batch: int | None) -> tuple[dict[str, Any], None, str, dict[str, Any]]:
    from convcost.net.analysis import analyze

    analysis = analyze(load(spec), alpha=alpha, resolution=resolution, rho=rho, batch=batch)
    return ({analysis.model: analysis}, None, f"{analysis.model}: measured latency",
            {"model": analysis.model, "input": list(analysis.input_shape), "config": None})


def _bench_layer(config: Any) -> tuple[dict[str, Any], str, str, dict[str, Any]]:
    from convcost.net.compare import compare
    from convcost.net.layer_nodes import as_analysis, variant_nodes
    from convcost.report.layer_view import config_json

    models = {name: as_analysis(name, node) for name, node in variant_nodes(config).items()}
    title = (f"conv {config.in_channels}→{config.out_channels}, k {config.kernel[0]}×"
             f"{config.kernel[1]}, input {'×'.join(map(str, config.input_shape))}")
    return (models, "standard", title,
            {"model": None, "input": list(config.input_shape), "config": config_json(compare(config))})


@app.command()
@opts.strict_option
def profile(
    spec: Annotated[Path, SPEC_ARG],
    alpha: Annotated[float | None, typer.Option(help="width multiplier α (overrides the spec)")] = None,
    resolution: Annotated[int | None, typer.Option(help="input resolution (square)")] = None,
    batch: Annotated[int | None, typer.Option(help="batch size")] = None,
    device: RunDevice = "cpu",
    dtype: RunDtype = "float32",
    threads: Threads = None,
    warmup: Warmup = 5,
    repeats: Repeats = 20,
    backend: Backend = "torch",
    peak_gflops: PeakGflops = None,
    bandwidth_gbs: BandwidthGbs = None,
    plot: Annotated[Path | None, typer.Option(
        help="draw MACs share vs time share and the roofline into this PNG (needs matplotlib)")] = None,
    fmt: Format = "table",
    output: Output = None,
) -> None:
    """Measure every layer (conv+BN+act fused groups) and the whole model: time vs MACs."""
    from convcost.cli.progress import progress_bar
    from convcost.net.analysis import analyze
    from convcost.report.profile_view import empirical_roofline, profile_json, profile_reports
    from convcost.report.render import envelope, render
    from convcost.runtime.profile import profile as run_profile

    if plot is not None:
        from convcost.report.sweep_view import pyplot

        pyplot()  # fail before the work when matplotlib is missing
    given = parse.roofline_option(peak_gflops, bandwidth_gbs, dtype)
    analysis = analyze(load(spec), alpha=alpha, resolution=resolution, batch=batch)
    with progress_bar("profile", 1) as update:
        result = run_profile(analysis, device, dtype, threads, warmup, repeats, backend, update)
    roof = given or empirical_roofline(result)
    _emit(render(profile_reports(result, roof, fmt != "table"), fmt,
                 lambda: envelope("profile", profile_json(result, roof))), output)
    if plot is not None:
        from convcost.report.profile_view import plot as draw

        draw(result, roof, plot)


@app.command("import")
def import_command(
    source: Annotated[str, typer.Argument(help="FILE.py:NAME, package.module:NAME, torchvision:NAME, "
                                          "timm:NAME (each optionally NAME(key=value, ...)) or FILE.onnx")],
    input_shape: Annotated[str | None, typer.Option(
        "--input", help="input shape [default: 1x3x224x224; ONNX: the file's]")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the spec here [default: stdout]"
                                                )] = None,
    strict: Annotated[bool, typer.Option("--strict", help="exit 2 on an op the spec cannot express")] = False,
    tracer: Annotated[str, typer.Option(click_type=opts.choice(*opts.TRACERS),
                                        help="auto (torch.fx, else torch.export), fx or export")] = "auto",
    force: Annotated[bool, typer.Option("--force", help="let -o replace an existing file")] = False,
) -> None:
    """Import a model as a readable spec: layers named by module paths, composites recognised."""
    from convcost.outfile import refuse_existing, write_text
    from convcost.runtime.importer.api import parse_input
    from convcost.runtime.importer.load import open_source
    refuse_existing(output, force)
    session = open_source(source, parse_input(input_shape), strict, tracer)
    emitted, graph = session.imported.emitted, session.imported.graph
    if output is None:
        sys.stdout.write(session.yaml)
    else:
        write_text(output, session.yaml)
    where = f" -> {output}" if output else ""
    say(f"imported {source} with {graph.tracer}: {len(session.imported.spec['layers'])} "
        f"layers, {len(emitted.opaque)} opaque{where}")  # say(): names escaped, as on stdout
    for note in graph.notes:
        say(f"note: {note}")
    if emitted.opaque:
        from convcost.net.analysis import Uncounted

        say(Uncounted.of(o.ops for o in emitted.opaque).message(str(session.imported.spec["name"])))


app.command("fit")(opts.strict_option(fit_command))
app.command("calibrate")(opts.strict_option(calibrate_command))


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
