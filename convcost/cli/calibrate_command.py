"""``convcost calibrate``: time kernels and networks on this machine, fit a latency model, write
it (:mod:`convcost.net.kernel_model`; ``--per-class``: :mod:`convcost.net.latency`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from convcost.cli.options import Backend, Format, Repeats, RunDevice, RunDtype, Threads, Warmup
from convcost.errors import ConvcostError, SpecError

MAX_SAMPLES = 1000
MAX_ROUNDS = 1000


def _bounded(flag: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ConvcostError(f"{flag}: must be in {low}..{high}, got {value}")
    return value


def calibrate_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="latency model file to write")],
    specs: Annotated[list[Path] | None, typer.Argument(
        metavar="SPEC...", help="networks to time end to end (YAML files or built-in names); "
                                "their kernels set the sampled range")] = None,
    resolution: Annotated[int | None, typer.Option(help="input resolution (square)")] = None,
    batch: Annotated[int, typer.Option(help="batch size (1 … 64)")] = 1,
    device: RunDevice = "cpu",
    dtype: RunDtype = "float32",
    threads: Threads = None,
    warmup: Warmup = 3,
    repeats: Repeats = 10,
    backend: Backend = "torch",
    samples: Annotated[int, typer.Option(help="random single-kernel configurations per class")] = 24,
    adaptive: Annotated[int, typer.Option(help="more per class, near the worst-predicted")] = 8,
    rounds: Annotated[int, typer.Option(help="interleaved end-to-end rounds of the networks")] = 10,
    seed: Annotated[int, typer.Option(help="seed of the sampling")] = 0,
    per_class: Annotated[bool, typer.Option(
        "--per-class", help="the format-1 model instead: t = a·MACs + b·bytes + c per layer "
                            "class, from in-place profiles")] = False,
    lut: Annotated[Path | None, typer.Option(
        help="instead: time every op of this search space (a spec with {choices: [...]} fields) "
             "alone and write the lookup table")] = None,
    fmt: Format = "table",
) -> None:
    """Time kernels alone and networks end to end; fit and write a kernel latency model."""
    from convcost.cli.specs import load
    from convcost.net.analysis import analyze
    from convcost.runtime.bench import thread_count
    from convcost.runtime.kernel_timing import MAX_BATCH, Setup, pinned

    _bounded("--batch", batch, 1, MAX_BATCH)
    threads = threads and thread_count(threads, 1)  # capped at the cores, as bench and profile do
    if (lut is None) == (not specs):
        raise ConvcostError("calibrate: give SPEC... (a latency model) or --lut SPACE (a table), one of them")
    if lut is not None:
        return _lut(lut, output, Setup(backend, dtype, threads or 1), (warmup, repeats), fmt)
    specs = specs or []
    analyses = [analyze(load(p), resolution=resolution, batch=batch) for p in specs]
    if per_class:
        return _per_class(analyses, output, device, dtype, threads, (warmup, repeats), backend, fmt)
    if device != "cpu":
        raise ConvcostError("--device: the kernel model times the cpu; use --per-class for cuda")
    setup = Setup(backend, dtype, threads or 1)
    setup.check()
    counts = (_bounded("--samples", samples, 1, MAX_SAMPLES),
              _bounded("--adaptive", adaptive, 0, MAX_SAMPLES), _bounded("--rounds", rounds, 1, MAX_ROUNDS))
    with pinned(setup.threads):
        model, nets = _kernel_model(analyses, setup, counts, (warmup, repeats), seed)
    _write(model, nets, output, fmt)


def _kernel_model(analyses: list[Any], setup: Any, counts: tuple[int, int, int],
                  runs: tuple[int, int], seed: int) -> tuple[Any, list[Any]]:
    import statistics

    from convcost.cli.progress import progress_bar
    from convcost.net.kernel_model import NetTiming, compose, fit_kernels
    from convcost.net.kernel_sampling import adaptive_configs, random_configs, zoo_ranges
    from convcost.net.kernels import detect
    from convcost.runtime.kernel_timing import interleaved, time_kernels
    from convcost.runtime.profile import cpu_name

    ranges = zoo_ranges([k for a in analyses for k in detect(a.root, setup.backend)])
    configs = random_configs(ranges, counts[0], seed, analyses[0].input_shape[0])
    with progress_bar("kernels", len(configs)) as update:
        samples, version = time_kernels(configs, setup, *runs, update)
    fits = fit_kernels(samples)
    errors = [abs(fits[s.kernel_class].seconds(s.features) - s.seconds) / s.seconds for s in samples]
    more = [c for cls in ranges for c in adaptive_configs(
        [c for c in configs if c.kernel_class == cls],
        [e for c, e in zip(configs, errors, strict=True) if c.kernel_class == cls], counts[1], seed + 1)]
    with progress_bar("adaptive", len(more)) as update:
        samples += time_kernels(more, setup, *runs, update)[0]
    with progress_bar("networks", runs[0] + counts[2]) as update:
        times = interleaved(analyses, setup, counts[2], runs[0], update)
    nets = [NetTiming(a.model, tuple(detect(a.root, setup.backend)), statistics.median(t), a.totals.macs)
            for a, t in zip(analyses, times, strict=True)]
    machine = {"cpu": cpu_name(), "device": "cpu", "threads": setup.threads,
               "batch": analyses[0].input_shape[0], "dtype": setup.dtype, "backend": setup.backend,
               "backend_version": version}
    return compose(fit_kernels(samples), nets, machine), nets


def _write(model: Any, nets: list[Any], output: Path, fmt: str) -> None:
    from convcost.cli.emit import emit
    from convcost.net.kernel_file import dump_kernels
    from convcost.outfile import write_text
    from convcost.report.latency_view import kernel_calibration_output
    from convcost.report.render import render

    write_text(output, dump_kernels(model))
    emit(render(kernel_calibration_output(model, nets, str(output)), fmt))


def _per_class(analyses: list[Any], output: Path, device: str, dtype: str, threads: int | None,
               runs: tuple[int, int], backend: str, fmt: str) -> None:
    from convcost.cli.emit import emit
    from convcost.net.latency import fit
    from convcost.net.latency_file import dump
    from convcost.outfile import write_text
    from convcost.report.latency_view import calibration_output
    from convcost.report.render import render
    from convcost.runtime.profile import machine_data, spec_timing
    from convcost.runtime.profile import profile as run_profile

    profiles = [run_profile(a, device, dtype, threads, *runs, backend) for a in analyses]
    timings = [spec_timing(p) for p in profiles]
    model = fit(timings, machine_data(profiles[0]))
    write_text(output, dump(model))
    emit(render(calibration_output(model, timings, str(output)), fmt))


def _lut(space: Path, output: Path, setup: Any, runs: tuple[int, int], fmt: str) -> None:
    import yaml

    from convcost.cli.emit import emit
    from convcost.cli.progress import progress_bar
    from convcost.net.lut import entries, lut_data
    from convcost.outfile import write_text
    from convcost.report.latency_view import lut_output
    from convcost.report.render import render
    from convcost.runtime.kernel_timing import pinned, runner, time_entries
    from convcost.runtime.profile import cpu_name
    from convcost.spec.loader import locate, read_yaml

    setup.check()
    data, text = read_yaml(space, "search space")
    try:
        table = entries(data)
    except SpecError as err:
        raise locate(err.at(str(space), None), text) from None
    with pinned(setup.threads), progress_bar("lut", len(table)) as update:
        seconds = time_entries([e.analysis for e in table], setup, *runs, update)
        version = runner(table[0].analysis, setup)[1]
    machine = {"cpu": cpu_name(), "device": "cpu", "threads": setup.threads, "dtype": setup.dtype,
               "backend": setup.backend, "backend_version": version}
    result = lut_data(table, seconds, machine, str(data.get("name", space.stem)))
    write_text(output, "# convcost lookup table (calibrate --lut): each op of the space timed alone\n"
               + yaml.safe_dump(result, sort_keys=False, allow_unicode=True, default_flow_style=None))
    emit(render(lut_output(result, str(output)), fmt))
