"""Measured latency of built models on the local device. Torch is imported lazily, here only.

Each model is built by :func:`convcost.runtime.build.build`, put in ``eval()`` mode and run under
``torch.inference_mode()`` on a fixed random input: ``warmup`` untimed runs, then
``repeats`` timed ones, one model after the other (``time.perf_counter``; on CUDA between
``torch.cuda.synchronize()`` calls). The same input every run: caches are warm, as in a
micro-benchmark; the median and IQR resist load spikes of a busy machine.
Achieved rates divide the paper-convention FLOPs (2 × conv/linear MACs) and the float32
memory access cost of :mod:`convcost.cost.memory` by the median time.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcost.cost.memory import model_memory
from convcost.cost.value import Cost
from convcost.errors import ConvcostError, MissingDependencyError
from convcost.limits import quote
from convcost.net.analysis import Analysis
from convcost.runtime.guard import Notify, guard

Progress = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class Timing(Cost):
    """Wall-clock seconds of one model's timed runs, with its analytic cost."""

    name: str
    times_s: tuple[float, ...]
    mem_access_bytes: int

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def quartiles_s(self) -> tuple[float, float]:
        """First and third quartiles (inclusive method; the median itself for one run)."""
        if len(self.times_s) < 2:
            return (self.times_s[0], self.times_s[0])
        q1, _, q3 = statistics.quantiles(self.times_s, n=4, method="inclusive")
        return (q1, q3)

    @property
    def iqr_s(self) -> float:
        q1, q3 = self.quartiles_s
        return q3 - q1

    @property
    def gflops(self) -> float:
        return self.flops / self.median_s / 1e9

    @property
    def gbs(self) -> float:
        return self.mem_access_bytes / self.median_s / 1e9


@dataclass(frozen=True)
class Bench:
    """Timings of one or more models on one device."""

    title: str
    device: str
    threads: int
    torch_version: str
    warmup: int
    repeats: int
    timings: tuple[Timing, ...]

    def timing(self, name: str) -> Timing:
        return next(t for t in self.timings if t.name == name)

    def speedup(self, name: str, base: str) -> float:
        """Measured: base median / this median."""
        return self.timing(base).median_s / self.timing(name).median_s

    def macs_ratio(self, name: str, base: str) -> Fraction:
        """Analytic: base MACs / these MACs (the speed-up MACs alone would predict)."""
        return Fraction(self.timing(base).macs, self.timing(name).macs)


def import_torch(what: str = "convcost bench needs") -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(
            f"{what} torch: pip install 'convcost[torch]'") from None
    return torch


def resolve_device(choice: str, flag: str = "--device") -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; errors name ``flag``, the option the
    user gave (``--device`` of bench, profile and calibrate)."""
    torch = import_torch()
    if choice not in ("auto", "cpu", "cuda"):
        raise ConvcostError(f"{flag}: must be auto, cpu or cuda, got {quote(choice)}")
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConvcostError(f"{flag}: cuda requested but torch.cuda.is_available() is False "
                            "(no GPU, or a CPU build of torch)")
    return choice


def thread_count(threads: int | None, current: int) -> int:
    """The torch threads to use: ``threads`` (default ``current``), never more than the cores
    (``--threads 100000`` made torch's thread pool crash)."""
    if threads is not None and threads < 1:
        raise ConvcostError(f"--threads: must be a positive integer, got {threads}")
    return min(threads or current, os.cpu_count() or 1)


def _run(model: Any, x: Any, sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    model(*x)
    sync()
    return time.perf_counter() - start


def bench(title: str, analyses: Mapping[str, Analysis], device: str = "auto", warmup: int = 10,
          repeats: int = 50, threads: int | None = None, progress: Progress | None = None,
          notify: Notify | None = None) -> Bench:
    """Time every analysed model (built by :mod:`convcost.runtime.build`) on ``device``."""
    if warmup < 0 or repeats < 1:
        raise ConvcostError(f"--repeats: need ≥ 1 timed run and ≥ 0 warm-up runs, "
                            f"got {repeats} and {warmup}")
    thread_count(threads, 1)  # a bad value fails before the work
    guard(list(analyses.values()), "the benchmark", "bench a smaller input (--resolution, --hw)",
          notify)
    torch = import_torch()
    target = resolve_device(device)
    previous = torch.get_num_threads()
    torch.set_num_threads(thread_count(threads, previous))
    try:
        times = _measure(torch, list(analyses.values()), target, warmup, repeats, progress)
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
    timings = tuple(Timing(params=a.totals.params, macs=a.totals.macs, name=name, times_s=tuple(t),
                           mem_access_bytes=model_memory(a.root).mem_access_bytes)
                    for (name, a), t in zip(analyses.items(), times, strict=True))
    name = torch.cuda.get_device_name() if target == "cuda" else "cpu"
    return Bench(title, name, used, torch.__version__, warmup, repeats, timings)


def _measure(torch: Any, analyses: list[Analysis], target: str, warmup: int, repeats: int,
             progress: Progress | None) -> list[list[float]]:
    """Seconds of each timed run of each model, after its warm-up runs."""
    from convcost.runtime.build import build

    total, done = len(analyses) * (warmup + repeats), 0
    torch.manual_seed(0)
    sync = torch.cuda.synchronize if target == "cuda" else (lambda: None)
    times: list[list[float]] = [[] for _ in analyses]
    with torch.inference_mode():
        for analysis, timed in zip(analyses, times, strict=True):
            model = build(analysis).eval().to(target)
            x = [torch.randn(*shape, device=target) for shape in analysis.input_shapes]
            for i in range(warmup + repeats):
                elapsed = _run(model, x, sync)
                if i >= warmup:
                    timed.append(elapsed)
                done += 1
                if progress is not None:
                    progress(done, total)
    return times
