"""Measured per-layer latency of a built spec. Torch is imported lazily, here only.

The model is built by :func:`convcost.runtime.build.build` and run in ``eval()`` mode under
``torch.inference_mode()`` on a fixed random input: ``warmup`` untimed rounds, then
``repeats`` timed ones. A round is one forward pass timed end to end, then one pass with a
forward pre-hook and hook on every fused group (:func:`convcost.cost.groups.fused_groups`: a conv or
linear with its BN and activation, or any other leaf), which time each group where it runs,
inside the whole pass: with the caches as the previous layers leave them, not warmed by
repeating one layer. Both passes of a round see the same load on a shared machine.
The end-to-end median minus the sum of the group medians is the
overhead: the Python dispatch of the blocks between the groups, and the hooks themselves.
(``--backend onnxruntime`` exports each group alone and times it alone.)
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcost.cost.groups import fused_groups, group_class
from convcost.cost.memory import model_memory
from convcost.errors import ConvcostError
from convcost.net.analysis import Analysis
from convcost.net.latency import BACKENDS, PROFILE_DTYPES, Sample, SpecTiming
from convcost.runtime.bench import Progress, Timing, import_torch, resolve_device, thread_count


@dataclass(frozen=True)
class LayerTime:
    """One fused group: its timing (with MACs and bytes moved), kind and layer class."""

    timing: Timing
    kind: str
    layer_class: str

    @property
    def name(self) -> str:
        return self.timing.name


@dataclass(frozen=True)
class Machine:
    """Where a profile ran: what ``calibrate`` writes into a latency model."""

    cpu: str
    device: str
    threads: int
    torch: str
    dtype: str
    backend: str


@dataclass(frozen=True)
class Profile:
    model: str
    input_shape: tuple[int, ...]
    machine: Machine
    warmup: int
    repeats: int
    layers: tuple[LayerTime, ...]
    end_to_end: Timing

    @property
    def pass_sums_s(self) -> tuple[float, ...]:
        """Per timed pass, the sum of the group times (groups timed in place; empty: alone)."""
        if self.machine.backend != "torch":
            return ()
        return tuple(sum(run) for run in zip(*(t.timing.times_s for t in self.layers), strict=True))

    @property
    def layers_s(self) -> float:
        """The sum of the per-group medians."""
        return sum(layer.timing.median_s for layer in self.layers)

    @property
    def overhead_s(self) -> float:
        """End-to-end median minus the sum of the group medians (negative: isolation costs more)."""
        return self.end_to_end.median_s - self.layers_s


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _check(backend: str, dtype: str, warmup: int, repeats: int, threads: int | None) -> None:
    if backend not in BACKENDS:
        raise ConvcostError(f"--backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if dtype not in PROFILE_DTYPES:
        raise ConvcostError(f"--dtype: must be one of {', '.join(PROFILE_DTYPES)}, got {dtype!r}")
    if warmup < 0 or repeats < 1:
        raise ConvcostError(f"--repeats: need ≥ 1 timed run and ≥ 0 warm-up runs, "
                            f"got {repeats} and {warmup}")
    if threads is not None and threads < 1:
        raise ConvcostError(f"--threads: must be a positive integer, got {threads}")


def profile(analysis: Analysis, device: str = "cpu", dtype: str = "float32",
            threads: int | None = None, warmup: int = 5, repeats: int = 20,
            backend: str = "torch", progress: Progress | None = None) -> Profile:
    """Time every fused group of ``analysis`` alone, and the whole model, on ``device``."""
    _check(backend, dtype, warmup, repeats, threads)
    torch = import_torch("convcost profile and calibrate need")
    if device not in ("cpu", "cuda"):
        raise ConvcostError(f"--device: must be cpu or cuda, got {device!r}")
    target = resolve_device(device, "--device")
    if backend == "onnxruntime" and (target != "cpu" or dtype != "float32"):
        raise ConvcostError("--backend onnxruntime: profiles float32 on the cpu only")
    previous = torch.get_num_threads()
    torch.set_num_threads(thread_count(threads, previous))  # at most the cores, as bench
    try:
        groups = list(fused_groups(analysis.root))
        runner = _ort_runner if backend == "onnxruntime" else _torch_runner
        times, total = runner(torch, analysis, groups, target, dtype, (warmup, repeats), progress)
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
    memory = model_memory(analysis.root, dtype)
    layers = tuple(
        LayerTime(Timing(params=g.params, macs=g.macs, name=g.name, times_s=tuple(t),
                         mem_access_bytes=memory.of(g).mem_access_bytes), g.label, group_class(g))
        for g, t in zip(groups, times, strict=True))
    name = torch.cuda.get_device_name() if target == "cuda" else "cpu"
    machine = Machine(cpu_name(), str(name), used, str(torch.__version__), dtype, backend)
    e2e = Timing(params=analysis.totals.params, macs=analysis.totals.macs, name=analysis.model,
                 times_s=tuple(total), mem_access_bytes=memory.mem_access_bytes)
    return Profile(analysis.model, analysis.input_shape, machine, warmup, repeats, layers, e2e)


Runs = tuple[int, int]  # (warmup, repeats)


def _timed(call: Callable[[], Any], runs: Runs, sync: Callable[[], None],
           tick: Callable[[], None]) -> list[float]:
    """Seconds of each timed call after the warm-up calls."""
    warmup, repeats = runs
    times: list[float] = []
    for i in range(warmup + repeats):
        sync()
        start = time.perf_counter()
        call()
        sync()
        if i >= warmup:
            times.append(time.perf_counter() - start)
        tick()
    return times


def _ticker(total: int, progress: Progress | None) -> Callable[[], None]:
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    return tick


def _torch_runner(torch: Any, analysis: Analysis, groups: Sequence[Any], target: str,
                  dtype: str, runs: Runs, progress: Progress | None
                  ) -> tuple[list[list[float]], list[float]]:
    """Per pass: one end-to-end time (hooks off), then every group's time (hooks on)."""
    from convcost.runtime.build import build

    torch.manual_seed(0)
    model = build(analysis).eval().to(target, getattr(torch, dtype))
    x = [torch.randn(*shape, device=target, dtype=getattr(torch, dtype))
         for shape in analysis.input_shapes]  # every named input
    modules = dict(model.named_modules(remove_duplicate=False))  # a layer that shares: its name
    sync = torch.cuda.synchronize if target == "cuda" else (lambda: None)
    tick = _ticker(sum(runs), progress)
    clock = _GroupClock([modules[g.name] for g in groups], sync)
    total: list[float] = []
    times: list[list[float]] = [[] for _ in groups]
    with torch.inference_mode(), clock:
        for run in range(sum(runs)):
            clock.active = False
            (seconds,) = _timed(lambda: model(*x), (0, 1), sync, lambda: None)
            clock.active = True
            model(*x)
            if run >= runs[0]:
                total.append(seconds)
                for timed, latest in zip(times, clock.latest, strict=True):
                    timed.append(latest)
            tick()
    return times, total


class _GroupClock:
    """Forward pre-hooks and hooks that time each module where it runs, when ``active``."""

    def __init__(self, modules: Sequence[Any], sync: Callable[[], None]) -> None:
        self.modules, self.sync, self.active = modules, sync, False
        self.started = [0.0] * len(modules)
        self.latest = [0.0] * len(modules)
        self.handles: list[Any] = []

    def _hooks(self, i: int) -> tuple[Callable[..., None], Callable[..., None]]:
        def start(*_: Any) -> None:
            if self.active:
                self.sync()
                self.started[i] = time.perf_counter()

        def stop(*_: Any) -> None:
            if self.active:
                self.sync()
                self.latest[i] = time.perf_counter() - self.started[i]

        return start, stop

    def __enter__(self) -> _GroupClock:
        for i, module in enumerate(self.modules):
            start, stop = self._hooks(i)
            self.handles += [module.register_forward_pre_hook(start),
                             module.register_forward_hook(stop)]
        return self

    def __exit__(self, *_: object) -> None:
        for handle in self.handles:
            handle.remove()


def _record_inputs(model: Any, modules: dict[str, Any], groups: Sequence[Any],
                   x: Any) -> dict[str, tuple[Any, ...]]:
    """The positional inputs of every group module during one forward pass."""
    inputs: dict[str, tuple[Any, ...]] = {}

    def keeper(name: str) -> Callable[[Any, tuple[Any, ...]], None]:
        return lambda _module, args: inputs.__setitem__(name, tuple(a.clone() for a in args))

    handles = [modules[g.name].register_forward_pre_hook(keeper(g.name)) for g in groups]
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return inputs


def _ort_runner(torch: Any, analysis: Analysis, groups: Sequence[Any], target: str,
                dtype: str, runs: Runs, progress: Progress | None
                ) -> tuple[list[list[float]], list[float]]:
    """Per-group and end-to-end seconds with onnxruntime (each exported to ONNX alone)."""
    from convcost.runtime.onnx_backend import ort_runner

    return ort_runner(torch, analysis, groups, runs, _timed, _ticker, _record_inputs, progress)


def spec_timing(prof: Profile) -> SpecTiming:
    """The samples a latency model is fitted to."""
    return SpecTiming(prof.model, tuple(
        Sample(t.layer_class, t.timing.macs, t.timing.mem_access_bytes, t.timing.median_s)
        for t in prof.layers), prof.end_to_end.median_s, prof.end_to_end.macs)


def machine_data(prof: Profile) -> dict[str, str | int]:
    m = prof.machine
    return {"cpu": m.cpu, "device": m.device, "threads": m.threads, "torch": m.torch,
            "dtype": m.dtype, "backend": m.backend}
