"""The commands that run torch: bench, profile, import."""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli import options as opts
from convcost.cli import parsing as parse
from convcost.cli.analysis_commands import SPEC_ARG
from convcost.cli.emit import emit
from convcost.cli.options import (
    Backend,
    BandwidthGbs,
    Format,
    Output,
    PeakGflops,
    Repeats,
    RunDevice,
    RunDtype,
    Summary,
    Threads,
    Warmup,
)
from convcost.cli.specs import load
from convcost.cli.terminal import say
from convcost.errors import ConvcostError


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
    device: Annotated[str, typer.Option(
        "--device", click_type=opts.choice("auto", "cpu", "cuda"),
        help="torch device: auto (cuda if available), cpu or cuda")] = "auto",
    torch_device: Annotated[str | None, typer.Option(
        click_type=opts.choice("auto", "cpu", "cuda"), hidden=True,
        help="deprecated spelling of --device")] = None,
    summary: Summary = False,
    fmt: Format = "table",
    output: Output = None,
    **options: Any,
) -> None:
    """Measure latency with torch: a layer's standard/depthwise/pointwise/separable, or a spec."""
    from convcost.cli.progress import progress_bar
    from convcost.report.bench_view import bench_output
    from convcost.report.render import render
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
        result = run_bench(title, models, _torch_device(device, torch_device), warmup, repeats,
                           threads, update, say)
    emit(render(bench_output(result, base, extra, summary), fmt), output)


def _torch_device(device: str, old: str | None) -> str:
    """``--device``, or its deprecated spelling ``--torch-device`` (with a warning)."""
    if old is None:
        return device
    say(f"warning: --torch-device is deprecated: write --device {old}")
    return old


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
    from convcost.cost.roofline import resolve
    from convcost.net.analysis import analyze
    from convcost.report.profile_view import empirical_roofline, profile_output
    from convcost.report.render import render
    from convcost.runtime.profile import profile as run_profile

    if plot is not None:
        from convcost.report.sweep_view import pyplot

        pyplot()  # fail before the work when matplotlib is missing
    given = resolve(None, peak_gflops, bandwidth_gbs, dtype)  # --peak-gflops/--bandwidth-gbs
    analysis = analyze(load(spec), alpha=alpha, resolution=resolution, batch=batch)
    with progress_bar("profile", 1) as update:
        result = run_profile(analysis, device, dtype, threads, warmup, repeats, backend, update)
    roof = given or empirical_roofline(result)
    emit(render(profile_output(result, roof), fmt), output)
    if plot is not None:
        from convcost.report.profile_view import plot as draw

        draw(result, roof, plot)


def import_command(
    source: Annotated[str, typer.Argument(help="FILE.py:NAME, package.module:NAME, torchvision:NAME, "
                                          "timm:NAME (each optionally NAME(key=value, ...)) or FILE.onnx")],
    input_shape: Annotated[list[str] | None, typer.Option(
        "--input", metavar="[NAME=]NxC...", help="input shape [default: 1x3x224x224; ONNX: the "
        "file's]; several inputs (a forward's, an ONNX graph's): --input image1=1x3x128x128 --input "
        "image2=...")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the spec here [default: stdout]"
                                                )] = None,
    strict: Annotated[bool, typer.Option("--strict", help="exit 2 on an op the spec cannot express")] = False,
    tracer: Annotated[str, typer.Option(click_type=opts.choice(*opts.TRACERS),
                                        help="auto (fx, else export, else record: the ops as "
                                             "it ran), fx, export or record")] = "auto",
    force: Annotated[bool, typer.Option("--force", help="let -o replace an existing file")] = False,
) -> None:
    """Import a model as a readable spec: layers named by module paths, composites recognised."""
    from convcost.cli.parsing import recorded_inputs, traced_input
    from convcost.frontend.registry import open_network, reader_for
    from convcost.frontend.source import parse_source
    from convcost.outfile import refuse_existing, write_text

    refuse_existing(output, force)
    if not reader_for(source).imports:
        parse_source(source)  # says what a model source looks like
        raise ConvcostError(f"{source}: a file of this name exists: not a model to import")
    session = open_network(source, traced_input(input_shape), strict=strict, tracer=tracer,
                           inputs=recorded_inputs(input_shape)).session
    assert session is not None  # an import
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
