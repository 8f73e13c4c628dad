"""``convcost diff A B``: two models layer by layer, and a CI gate on their growth."""

from typing import Annotated, Any

import typer

from convcost.cli import options as opts
from convcost.errors import CheckFailed, ConvcostError

SOURCE_HELP = ("spec file, built-in name, git:REV:path, torchvision:NAME, timm:NAME, "
               "FILE.py:Class(...) or FILE.onnx")
_GROWTH = "Growth limits (exit 1)"


_PCT = {"metavar": "PCT", "rich_help_panel": _GROWTH}
_OVERRIDES = "; overrides --fail-on-growth"
ParamsGrowth = Annotated[str | None, typer.Option(
    "--fail-on-params-growth", **_PCT, help=f"exit 1 when params grew by more than PCT{_OVERRIDES}")]
MacsGrowth = Annotated[str | None, typer.Option(
    "--fail-on-macs-growth", **_PCT, help=f"exit 1 when MACs grew by more than PCT{_OVERRIDES}")]
MemoryGrowth = Annotated[str | None, typer.Option(
    "--fail-on-memory-growth", **_PCT,
    help=f"exit 1 when the peak activation memory grew by more than PCT{_OVERRIDES}")]
LatencyGrowth = Annotated[str | None, typer.Option(
    "--fail-on-latency-growth", **_PCT,
    help=f"exit 1 when the predicted latency grew by more than PCT (needs --latency-model)"
         f"{_OVERRIDES}")]


def open_profile(arg: str, input_shape: list[str] | str | None = None, dtype: str = "float32",
                 latency: Any = None) -> Any:
    """The :class:`~convcost.net.diff.Profile` of one model argument (any source), analysed at
    ``input_shape`` (``NxCxHxW``: an imported model's traced input, else the spec's own),
    with predicted latency when ``latency`` (a :class:`~convcost.net.latency.LatencyModel`)."""
    from convcost.cli import parsing as parse
    from convcost.cli.specs import load
    from convcost.net.analysis import analyze
    from convcost.net.diff import profile

    traced = parse.traced_input(input_shape)
    loaded = load(arg, traced, parse.recorded_inputs(input_shape))
    analysis = analyze(parse.with_input(loaded, input_shape, None, None, None, None))
    prediction = None
    if latency is not None:
        from convcost.net.latency import predict

        prediction = predict(latency, analysis.root)
    result = profile(analysis.root, model=analysis.model, source=arg,
                     input_shape=analysis.input_shape, dtype=dtype, latency=prediction,
                     latency_label=prediction.label if prediction is not None else "")
    return result  # load() said what it leaves uncounted (--strict: refused)


def diff(
    a: Annotated[str, typer.Argument(metavar="A", help=f"the model before: {SOURCE_HELP}")],
    b: Annotated[str, typer.Argument(metavar="B", help="the model after (any source, as A)")],
    input_shape: opts.InputShape = None,
    dtype: Annotated[str, typer.Option(click_type=opts.choice(*opts.DTYPES),
                                       help="element type of the activation memory")] = "float32",
    latency_model: opts.LatencyModelOption = None,
    all_layers: Annotated[bool, typer.Option("--all", help="list every layer, not only the "
                                             "changed ones", rich_help_panel=opts.OUTPUT)] = False,
    fail_on_growth: Annotated[str | None, typer.Option(
        metavar="PCT", rich_help_panel=_GROWTH,
        help="exit 1 when params, MACs, activation memory or latency grew by more than PCT "
             "(e.g. 2%)")] = None,
    fail_on_params_growth: ParamsGrowth = None,
    fail_on_macs_growth: MacsGrowth = None,
    fail_on_memory_growth: MemoryGrowth = None,
    fail_on_latency_growth: LatencyGrowth = None,
    summary: opts.Summary = False,
    fmt: opts.Format = "table",
    output: opts.Output = None,
) -> None:
    """Compare two models layer by layer: added, removed and changed layers, then the totals."""
    from convcost.cli.emit import emit
    from convcost.net.diff import diff as compare
    from convcost.net.diff import growth_limits, parse_growth
    from convcost.net.latency_file import given_model
    from convcost.report.diff_view import DiffView, diff_output, grew_text
    from convcost.report.render import render

    given = {"params": fail_on_params_growth, "macs": fail_on_macs_growth,
             "memory": fail_on_memory_growth, "latency": fail_on_latency_growth}
    per_metric = {m: None if t is None else parse_growth(f"--fail-on-{m}-growth", t)
                  for m, t in given.items()}
    overall = None if fail_on_growth is None else parse_growth("--fail-on-growth", fail_on_growth)
    if per_metric["latency"] is not None and latency_model is None:
        raise ConvcostError("--fail-on-latency-growth: needs --latency-model")
    latency = given_model(latency_model)
    result = compare(open_profile(a, input_shape, dtype, latency),
                     open_profile(b, input_shape, dtype, latency))
    view = DiffView(result, growth_limits(overall, per_metric, result.metrics), all_layers)
    emit(render(diff_output(view, summary), fmt), output)
    if view.grew:
        raise CheckFailed(f"diff: grew beyond the limit: {grew_text(view)}")

