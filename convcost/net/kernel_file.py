"""The kernel model's file (``format: convcost-latency/2``): what ``calibrate`` writes and
``--latency-model`` reads. User input, checked as :mod:`convcost.net.latency_file` checks
format 1: unknown keys refused, every number bounded, one located error line.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from convcost.errors import SpecError
from convcost.net.kernel_model import KernelFit, KernelModel
from convcost.net.kernels import FEATURES, KERNEL_CLASSES
from convcost.net.latency_file import (
    KERNEL_FORMAT,
    MAX_FACTOR,
    MAX_SPECS,
    machine_field,
    seconds_field,
    text_field,
    with_header,
)
from convcost.spec.fields import as_int, as_list, as_mapping, check_keys, join

TOP_KEYS = ("format", "machine", "calibrated_on", "pass_factor", "overhead_per_kernel_s", "kernels")
MACHINE_KEYS = ("cpu", "device", "threads", "batch", "dtype", "backend", "backend_version")
MAX_SAMPLES = 10**7
# features added after format 2 was first written: absent from an older file, coefficient 0
LATER_FEATURES = frozenset({"max_window", "bn_elems", "relu_elems", "in_elems"})


def kernel_data(model: KernelModel) -> dict[str, Any]:
    return {"format": KERNEL_FORMAT, "machine": dict(model.machine),
            "calibrated_on": list(model.calibrated_on), "pass_factor": model.pass_factor,
            "overhead_per_kernel_s": model.overhead_per_kernel_s,
            "kernels": {cls: {"samples": fit.samples, **fit.coefficients}
                        for cls, fit in model.kernels.items()}}


def dump_kernels(model: KernelModel) -> str:
    return with_header("kernel latency model", "a kernel of a class takes t = Σ coefficient·feature "
                       "seconds (docs/memory-and-latency.md §8); end to end, T = pass_factor·Σt + "
                       "overhead_per_kernel_s·kernels", kernel_data(model))


def _fit(cls: str, raw: Any) -> KernelFit:
    path = f"kernels.{cls}"
    data = as_mapping(raw, path)
    names = FEATURES[cls]
    check_keys(data, ("samples", *names), path)
    for key in ("samples", *names):
        if key not in data and key not in LATER_FEATURES:
            raise SpecError("missing required field", path=join(path, key))
    samples = as_int(data["samples"], join(path, "samples"), minimum=0)
    if samples > MAX_SAMPLES:
        raise SpecError(f"must be at most {MAX_SAMPLES}, got {samples}", path=join(path, "samples"))
    coef = {name: seconds_field(data.get(name, 0.0), join(path, name)) for name in names}
    return KernelFit(MappingProxyType(coef), samples)


def _kernels(raw: Any) -> Mapping[str, KernelFit]:
    data = as_mapping(raw, "kernels")
    check_keys(data, KERNEL_CLASSES, "kernels")
    return MappingProxyType({cls: _fit(cls, value) for cls, value in data.items()})


def parse_kernel_model(top: Mapping[str, Any]) -> KernelModel:
    check_keys(top, TOP_KEYS, "")
    for key in TOP_KEYS:
        if key not in top:
            raise SpecError("missing required field", path=key)
    specs = as_list(top["calibrated_on"], "calibrated_on")
    if len(specs) > MAX_SPECS:
        raise SpecError(f"at most {MAX_SPECS} names, got {len(specs)}", path="calibrated_on")
    return KernelModel(MappingProxyType(machine_field(top["machine"], MACHINE_KEYS)),
                       _kernels(top["kernels"]),
                       seconds_field(top["pass_factor"], "pass_factor", MAX_FACTOR, ""),
                       seconds_field(top["overhead_per_kernel_s"], "overhead_per_kernel_s"),
                       tuple(text_field(s, f"calibrated_on[{i}]") for i, s in enumerate(specs)))
