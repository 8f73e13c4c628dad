"""``convcost report SOURCE -o report.html``: the network at a glance, in one self-contained HTML
file (or, ``--format svg``, the graph and the charts as SVG files in a directory)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from convcost.cli import options as opts
from convcost.cli.options import BandwidthGbs, LatencyModelOption, PeakGflops

if TYPE_CHECKING:
    from convcost.report.html_data import ReportData
    from convcost.report.html_diff import DiffMarks

SOURCE_HELP = ("spec file, built-in name, git:REV:path, torchvision:NAME, timm:NAME, "
               "FILE.py:Class(...) or FILE.onnx")
REPORT_FORMATS = ("html", "svg")


def report(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help=f"the model: {SOURCE_HELP}")],
    output: Annotated[Path, typer.Option(
        "--output", "-o",
        help="the HTML file to write (--format svg: the SVG files' prefix: PREFIX.graph.svg, ...)",
        rich_help_panel=opts.OUTPUT)],
    against: Annotated[str | None, typer.Option(
        metavar="SOURCE", help="the baseline (any source): draw what changed on the graph")] = None,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", click_type=opts.choice(*REPORT_FORMATS), rich_help_panel=opts.OUTPUT,
        help="html (one self-contained page) or svg (PREFIX.graph.svg, one file per chart)")] = "html",
    alpha: Annotated[float | None, typer.Option(help="width multiplier α (overrides the spec)",
                                                rich_help_panel=opts.SHAPE)] = None,
    resolution: Annotated[int | None, typer.Option(help="input resolution (square)",
                                                   rich_help_panel=opts.SHAPE)] = None,
    batch: Annotated[int | None, typer.Option(help="batch size", rich_help_panel=opts.SHAPE)] = None,
    input_shape: opts.InputShape = None,
    latency_model: LatencyModelOption = None,
    roofline: Annotated[str | None, typer.Option(
        "--roofline", click_type=opts.choice(*opts.ROOFLINES), rich_help_panel=opts.MEMORY,
        help="the roofline's preset (nominal peaks) [default: t4, unless --peak-gflops and "
             "--bandwidth-gbs are given]")] = None,
    device: opts.OldDevice = None,
    peak_gflops: PeakGflops = None,
    bandwidth_gbs: BandwidthGbs = None,
    dtype: Annotated[str, typer.Option(click_type=opts.choice(*opts.DTYPES), rich_help_panel=opts.MEMORY,
                                       help="element type of the bytes moved")] = "float32",
) -> None:
    """Draw a network as one self-contained HTML page: graph, table, roofline, receptive field."""
    from convcost.cli.model_command import predicted_latency

    shape = _Shape(alpha, resolution, batch, input_shape)
    analysis = shape.analyze(source)
    roof = _roofline(roofline, device, peak_gflops, bandwidth_gbs, dtype)
    from convcost.report.html_data import report_data

    data = report_data(analysis, roof, dtype, predicted_latency(latency_model, analysis.root))
    # load() said on stderr what the figures leave uncounted (--strict: refused)
    marks = None if against is None else _marks(analysis, shape.analyze(against), source, against, dtype)
    write_report(data, marks, fmt, output, _input_files(source, against))


class _Shape:
    """The shape options, applied alike to SOURCE and to --against."""

    def __init__(self, alpha: float | None, resolution: int | None, batch: int | None,
                 input_shape: list[str] | str | None) -> None:
        self.alpha, self.resolution, self.batch, self.input_shape = alpha, resolution, batch, input_shape

    def analyze(self, source: str) -> Any:
        from convcost.cli import parsing as parse
        from convcost.cli.specs import load
        from convcost.net.analysis import analyze

        traced = parse.traced_input(self.input_shape)
        named = parse.recorded_inputs(self.input_shape)
        loaded = parse.with_input(load(source, traced, named), self.input_shape, None, None,
                                  self.resolution, self.batch)
        return analyze(loaded, alpha=self.alpha, resolution=self.resolution, batch=self.batch)


def _input_files(*sources: str | None) -> tuple[str, ...]:
    """The files the sources read (``FILE.py:Model`` reads FILE.py): never an output."""
    from convcost.frontend.registry import input_files

    return tuple(part for s in sources if s for part in input_files(s))


def _roofline(roofline: str | None, device: str | None, peak_gflops: float | None,
              bandwidth_gbs: float | None, dtype: str) -> Any:
    """The given roofline; the t4 preset when neither a preset nor a peak/bandwidth is given."""
    from convcost.cli.extras import CostOptions

    if roofline is None and device is None and peak_gflops is None and bandwidth_gbs is None:
        roofline = "t4"
    return CostOptions(dtype=dtype, roofline=roofline, device=device, peak_gflops=peak_gflops,
                       bandwidth_gbs=bandwidth_gbs).estimate()


def _marks(analysis: Any, baseline: Any, source: str, against: str, dtype: str) -> DiffMarks:
    """The diff of ``baseline`` (before) and ``analysis`` (after), laid onto the graph."""
    from convcost.net.diff import diff, profile
    from convcost.report.html_diff import diff_marks

    before = profile(baseline.root, model=baseline.model, source=str(against),
                     input_shape=baseline.input_shape, dtype=dtype)
    after = profile(analysis.root, model=analysis.model, source=str(source),
                    input_shape=analysis.input_shape, dtype=dtype)
    return diff_marks(diff(before, after), analysis.root, str(against))


def svg_targets(output: Path, stems: list[str]) -> dict[str, Path]:
    """``--format svg -o out/net`` (or ``out/net.svg``): ``out/net.graph.svg``, ... per stem."""
    prefix = output.with_suffix("") if output.suffix.lower() == ".svg" else output
    return {stem: prefix.with_name(f"{prefix.name}.{stem}.svg") for stem in stems}


def write_report(data: ReportData, marks: DiffMarks | None, fmt: str, output: Path,
                 inputs: tuple[str, ...] = ()) -> None:
    """Write the page to ``output``, or the SVG files next to it (``output`` their prefix)."""
    from convcost.cli.emit import emit
    from convcost.cli.terminal import say
    from convcost.outfile import check_target
    from convcost.report.html_page import html_page, svg_files

    if fmt == "html":
        emit([html_page(data, marks)], output)
        say(f"wrote {output}: {len(data.layers)} layers")
        return
    files = svg_files(data, marks.status if marks else ())
    targets = svg_targets(output, list(files))
    for target in targets.values():
        check_target(target, "--output", inputs)
    for stem, body in files.items():
        emit([body], targets[stem])
    say(f"wrote {len(files)} SVG files: {', '.join(str(t) for t in targets.values())}")
