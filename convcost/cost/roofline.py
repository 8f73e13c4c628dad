"""Roofline latency estimate: time = max(FLOPs / peak, bytes / bandwidth). Pure.

A layer whose bytes / bandwidth term dominates is memory-bound; otherwise compute-bound.
Bytes are the memory access cost of :mod:`convcost.cost.memory` (input + weights + output), so
caches are ignored: the estimate is a nominal lower bound, useful to rank layers, not to
predict wall-clock time. The presets are nominal datasheet peaks (see
docs/memory-and-latency.md); they are never reached by real kernels, least of all by
depthwise convolutions, which cannot use tensor cores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType

from convcost.cost.graph import Node
from convcost.cost.memory import ModelMemory
from convcost.errors import ConvcostError
from convcost.limits import quote


@dataclass(frozen=True)
class Device:
    """Peak compute (GFLOP/s, per dtype) and memory bandwidth (GB/s, 10⁹ bytes/s)."""

    name: str
    peak_gflops: Mapping[str, Fraction]
    bandwidth_gbs: Fraction
    note: str = ""

    def peak(self, dtype: str) -> Fraction:
        if dtype not in self.peak_gflops:
            raise ConvcostError(
                f"--roofline {self.name}: no nominal {dtype} peak (it has "
                f"{', '.join(self.peak_gflops)}); give --peak-gflops and --bandwidth-gbs")
        return self.peak_gflops[dtype]


def _preset(name: str, bandwidth: str, note: str, **peaks: str) -> Device:
    return Device(name, MappingProxyType({k: Fraction(v) for k, v in peaks.items()}),
                  Fraction(bandwidth), note)


DEVICES: Mapping[str, Device] = MappingProxyType({
    d.name: d for d in (
        _preset("jetson-nano", "25.6",
                "NVIDIA Jetson Nano module data sheet: 128-core Maxwell GPU, 472 GFLOPS FP16; "
                "FP32 = 128 cores × 921.6 MHz × 2; 4 GB 64-bit LPDDR4 25.6 GB/s",
                float32="235.9296", float16="472"),
        _preset("t4", "320",
                "NVIDIA T4 data sheet: 8.1 TFLOPS FP32, 65 TFLOPS FP16 (mixed), "
                "130 TOPS INT8, 320 GB/s GDDR6",
                float32="8100", float16="65000", int8="130000"),
        _preset("a100", "1555",
                "NVIDIA A100 40GB (SXM) data sheet: 19.5 TFLOPS FP32, 312 TFLOPS FP16/BF16 "
                "tensor (dense), 624 TOPS INT8, 1,555 GB/s HBM2",
                float32="19500", float16="312000", bfloat16="312000", int8="624000"),
    )
})


@dataclass(frozen=True)
class Roofline:
    """A peak and a bandwidth: what :func:`estimate` needs (for one dtype)."""

    label: str
    peak_gflops: Fraction
    bandwidth_gbs: Fraction

    @property
    def ridge(self) -> Fraction:
        """FLOPs/byte at which a layer turns from memory- to compute-bound."""
        return self.peak_gflops / self.bandwidth_gbs


def _positive(flag: str, value: float | None) -> Fraction | None:
    if value is None:
        return None
    if value <= 0:
        raise ConvcostError(f"{flag}: must be > 0, got {value:g}")
    return Fraction(str(value))


def resolve(device: str | None, peak_gflops: float | None, bandwidth_gbs: float | None,
            dtype: str) -> Roofline | None:
    """The roofline of the command-line options; None when none is given."""
    peak = _positive("--peak-gflops", peak_gflops)
    bandwidth = _positive("--bandwidth-gbs", bandwidth_gbs)
    if device is None:
        if peak is None and bandwidth is None:
            return None
        if peak is None or bandwidth is None:
            missing = "--peak-gflops" if peak is None else "--bandwidth-gbs"
            raise ConvcostError(f"{missing}: give both --peak-gflops and --bandwidth-gbs "
                                "(or --roofline NAME)")
        return Roofline(f"{float(peak):g} GFLOP/s, {float(bandwidth):g} GB/s", peak, bandwidth)
    if device not in DEVICES:
        raise ConvcostError(f"--roofline: unknown preset {quote(device)}; presets: {', '.join(DEVICES)}")
    preset = DEVICES[device]
    peak = peak if peak is not None else preset.peak(dtype)
    bandwidth = bandwidth if bandwidth is not None else preset.bandwidth_gbs
    return Roofline(f"{device} ({dtype}: {float(peak):g} GFLOP/s, {float(bandwidth):g} GB/s, "
                    "nominal)", peak, bandwidth)


@dataclass(frozen=True)
class Estimate:
    """Seconds for the compute and the memory traffic of one layer; the larger one wins."""

    compute_s: Fraction
    memory_s: Fraction

    @property
    def seconds(self) -> Fraction:
        return max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> str:
        """``memory``, ``compute``, or empty when the layer neither computes nor moves data."""
        if not self.seconds:
            return ""
        return "memory" if self.memory_s >= self.compute_s else "compute"


def estimate(flops: int, moved_bytes: int, roof: Roofline) -> Estimate:
    return Estimate(Fraction(flops) / (roof.peak_gflops * 10**9),
                    Fraction(moved_bytes) / (roof.bandwidth_gbs * 10**9))


@dataclass(frozen=True)
class ModelEstimate:
    """Every leaf of a :class:`~convcost.cost.memory.ModelMemory` on one roofline."""

    roof: Roofline
    memory: ModelMemory
    estimates: tuple[Estimate, ...]  # aligned with memory.leaves

    def of(self, node: Node) -> Estimate:
        """A leaf's estimate."""
        return self._by_leaf[id(node)]

    def seconds_of(self, node: Node) -> Fraction:
        """A node's estimate: its leaves run one after the other."""
        return sum((self._by_leaf[id(leaf)].seconds for leaf in node.leaves()), Fraction(0))

    @cached_property
    def _by_leaf(self) -> dict[int, Estimate]:
        return {id(m.node): e for m, e in zip(self.memory.leaves, self.estimates, strict=True)}

    @property
    def seconds(self) -> Fraction:
        """The model's estimate: the sum of its leaves' max(compute, memory) times."""
        return sum((e.seconds for e in self.estimates), Fraction(0))

    def bound_seconds(self, bound: str) -> Fraction:
        """Time spent in ``memory``- or ``compute``-bound leaves."""
        return sum((e.seconds for e in self.estimates if e.bound == bound), Fraction(0))


def model_estimate(memory: ModelMemory, roof: Roofline) -> ModelEstimate:
    return ModelEstimate(roof, memory, tuple(estimate(m.flops, m.mem_access_bytes, roof)
                                             for m in memory.leaves))
