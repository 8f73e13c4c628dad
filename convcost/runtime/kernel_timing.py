"""Timing for the kernel latency model: single kernels alone, whole networks interleaved.
Torch (and onnxruntime) are imported lazily, here only.

- A kernel configuration (:class:`~convcost.net.kernel_sampling.KernelConfig`) is built as its
  one-layer spec and timed alone: ``warmup`` untimed calls, then the median of ``repeats``.
- Networks are timed *interleaved*: each round runs every network once, so a load spike on
  the shared machine hits them all alike; ``warmup`` untimed rounds first. The minimum and
  the median of the rounds are both kept.
- :func:`pinned` fixes the thread count and, where the OS allows (``os.sched_setaffinity``),
  pins the process to that many CPUs.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from convcost.errors import ConvcostError
from convcost.net.analysis import Analysis, analyze
from convcost.net.kernel_model import KernelSample
from convcost.net.kernel_sampling import KernelConfig
from convcost.net.kernels import Kernel, detect
from convcost.net.latency import BACKENDS, PROFILE_DTYPES
from convcost.runtime.bench import Progress, import_torch
from convcost.spec.loader import parse_spec

MAX_THREADS = 256
MAX_BATCH = 64


@dataclass(frozen=True)
class Setup:
    """How to run: backend, dtype and thread count (batch lives in the input shape)."""

    backend: str = "torch"
    dtype: str = "float32"
    threads: int = 1

    def check(self) -> None:
        if self.backend not in BACKENDS:
            raise ConvcostError(f"--backend: must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.dtype not in PROFILE_DTYPES:
            raise ConvcostError(f"--dtype: must be one of {', '.join(PROFILE_DTYPES)}, got {self.dtype!r}")
        if not 1 <= self.threads <= MAX_THREADS:
            raise ConvcostError(f"--threads: must be in 1..{MAX_THREADS}, got {self.threads}")
        if self.backend == "onnxruntime" and self.dtype != "float32":
            raise ConvcostError("--backend onnxruntime: times float32 only")


@contextmanager
def pinned(threads: int) -> Iterator[str]:
    """Within: torch's thread count set, the process pinned to as many CPUs (the last ones
    allowed) where the OS allows; both restored after. Yields what was done."""
    torch = import_torch("convcost calibrate needs")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_setaffinity") else None
    try:
        if allowed is None:
            yield f"{threads} thread(s), not pinned (no sched_setaffinity)"
            return
        cpus = set(sorted(allowed)[-threads:])
        os.sched_setaffinity(0, cpus)
        yield f"{threads} thread(s), pinned to CPU {','.join(map(str, sorted(cpus)))}"
    finally:
        torch.set_num_threads(previous)
        if allowed is not None:
            os.sched_setaffinity(0, allowed)


def runner(analysis: Analysis, setup: Setup) -> tuple[Callable[[], Any], str]:
    """One forward pass of the built network, and the backend's version."""
    from convcost.runtime.build import build

    torch = import_torch("convcost calibrate needs")
    torch.manual_seed(0)
    dtype = getattr(torch, setup.dtype)
    model = build(analysis).eval().to(dtype=dtype)
    x = torch.randn(*analysis.input_shape, dtype=dtype)
    if setup.backend == "onnxruntime":
        from convcost.runtime.onnx_backend import ort_call

        with torch.no_grad():
            return ort_call(torch, model, (x,), setup.threads)

    def call() -> Any:
        with torch.inference_mode():
            return model(x)

    return call, str(torch.__version__)


def _median_after(call: Callable[[], Any], warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_kernel(config: KernelConfig, setup: Setup, warmup: int = 3,
                repeats: int = 10) -> tuple[Kernel, KernelSample, str]:
    """One configuration timed alone: its kernel, the sample, and the backend's version."""
    analysis = analyze(parse_spec(config.spec_data()))
    kernels = detect(analysis.root, setup.backend)
    if len(kernels) != 1:
        raise ConvcostError(f"internal: {config.name()} is {len(kernels)} kernels, not one")
    call, version = runner(analysis, setup)
    seconds = _median_after(call, warmup, repeats)
    return kernels[0], KernelSample(kernels[0].kernel_class, kernels[0].features, seconds), version


def time_kernels(configs: Sequence[KernelConfig], setup: Setup, warmup: int = 3, repeats: int = 10,
                 progress: Progress | None = None) -> tuple[list[KernelSample], str]:
    samples, version = [], ""
    for i, config in enumerate(configs):
        _, sample, version = time_kernel(config, setup, warmup, repeats)
        samples.append(sample)
        if progress is not None:
            progress(i + 1, len(configs))
    return samples, version


def interleaved(analyses: Sequence[Analysis], setup: Setup, rounds: int, warmup: int = 2,
                progress: Progress | None = None) -> list[list[float]]:
    """Per network, its end-to-end seconds of every timed round (rounds interleave networks)."""
    calls = [runner(a, setup)[0] for a in analyses]
    times: list[list[float]] = [[] for _ in calls]
    for done in range(warmup + rounds):
        for call, timed in zip(calls, times, strict=True):
            start = time.perf_counter()
            call()
            if done >= warmup:
                timed.append(time.perf_counter() - start)
        if progress is not None:
            progress(done + 1, warmup + rounds)
    return times


def time_entries(analyses: Sequence[Analysis], setup: Setup, warmup: int = 3, repeats: int = 10,
                 progress: Progress | None = None) -> list[float]:
    """Each one-layer network (a lookup-table entry) timed alone: the median seconds."""
    out = []
    for i, analysis in enumerate(analyses):
        out.append(_median_after(runner(analysis, setup)[0], warmup, repeats))
        if progress is not None:
            progress(i + 1, len(analyses))
    return out
