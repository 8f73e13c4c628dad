"""The kernel-level latency model: each kernel class fitted on its shape features. Pure.

A kernel of class k (:mod:`convcost.net.kernels`) with features x₁ … xₙ (the class's basis,
:data:`~convcost.net.kernels.FEATURES`) takes

    t = Σ cᵢ · xᵢ        cᵢ ≥ 0

seconds. The coefficients are non-negative least squares on relative error (each row and its
target divided by the measured time), over single kernels timed in isolation; solved exactly
by trying every subset of the basis (at most 2⁷ − 1 small systems). A network's end-to-end
time is

    T = pass_factor · Σ t + overhead_per_kernel_s · kernels

with both terms fitted, non-negative, to measured end-to-end times of whole networks: a
kernel inside a network runs with the caches its neighbours left, and the framework
dispatches between kernels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from convcost.cost.graph import Node
from convcost.cost.groups import fused_groups
from convcost.net.kernels import FEATURES, KERNEL_CLASSES, Kernel, detect
from convcost.net.latency import Composed, Prediction, Timed, nnls


@dataclass(frozen=True)
class KernelSample:
    """One kernel timed in isolation: its class, its features and its seconds."""

    kernel_class: str
    features: Mapping[str, float]
    seconds: float

    @property
    def values(self) -> tuple[float, ...]:
        """The features of the class's basis, in order."""
        return tuple(self.features[f] for f in FEATURES[self.kernel_class])


@dataclass(frozen=True)
class KernelFit:
    """``t = Σ coefficients[f] · f`` over the class's features; ``samples`` it was fitted on."""

    coefficients: Mapping[str, float]
    samples: int

    def seconds(self, features: Mapping[str, float]) -> float:
        return sum(c * features[f] for f, c in self.coefficients.items())


@dataclass(frozen=True)
class NetTiming(Timed[Kernel]):
    """A whole network measured end to end (median seconds) and its kernels."""

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return self.parts


@dataclass(frozen=True)
class KernelModel(Composed[KernelFit]):
    """Fitted kernel classes, the end-to-end composition, and where it was measured."""

    @property
    def kernels(self) -> Mapping[str, KernelFit]:
        return self.classes

    @property
    def overhead_per_kernel_s(self) -> float:
        return self.overhead_s

    def label(self) -> str:
        m = self.machine
        return (f"kernel model, {m['cpu']}, {m['threads']} thread(s), batch {m['batch']}, "
                f"{m['backend']} {m['backend_version']} {m['dtype']}")

    def fitted(self, kernel_class: str) -> bool:
        """Whether the class was fitted on any sample (else its kernels are predicted 0 s)."""
        fit = self.kernels.get(kernel_class)
        return fit is not None and fit.samples > 0

    def kernel_s(self, kernel: Kernel) -> float:
        fitted = self.kernels.get(kernel.kernel_class)
        return 0.0 if fitted is None else fitted.seconds(kernel.features)

    def layers_s(self, kernels: Sequence[Kernel]) -> float:
        return sum(self.kernel_s(k) for k in kernels)

    @property
    def backend(self) -> str:
        return str(self.machine.get("backend", "torch"))

    def net_s(self, kernels: Sequence[Kernel]) -> float:
        return self.total(self.layers_s(kernels), len(kernels))


def fit_class(cls: str, samples: Sequence[KernelSample]) -> KernelFit:
    """Relative-error NNLS over the class's basis (a zero for every feature without samples)."""
    names = FEATURES[cls]
    if not samples:
        return KernelFit(MappingProxyType(dict.fromkeys(names, 0.0)), 0)
    rows = [[v / s.seconds for v in s.values] for s in samples]
    coef = nnls(rows, [1.0] * len(samples))
    return KernelFit(MappingProxyType(dict(zip(names, coef, strict=True))), len(samples))


def fit_kernels(samples: Sequence[KernelSample]) -> dict[str, KernelFit]:
    return {cls: fit_class(cls, [s for s in samples if s.kernel_class == cls])
            for cls in KERNEL_CLASSES}


def compose(kernels: Mapping[str, KernelFit], nets: Sequence[NetTiming],
            machine: Mapping[str, str | int]) -> KernelModel:
    """The model with its pass factor and per-kernel overhead fitted to ``nets`` (relative
    error, non-negative); without nets, factor 1 and no overhead."""
    model = KernelModel(MappingProxyType(dict(machine)), MappingProxyType(dict(kernels)), 1.0, 0.0,
                        tuple(n.name for n in nets))
    if not nets:
        return model
    rows = [(model.layers_s(n.kernels) / n.end_to_end_s, len(n.kernels) / n.end_to_end_s)
            for n in nets]
    factor, overhead = nnls(rows, [1.0] * len(nets))
    return KernelModel(model.machine, model.kernels, factor, overhead, model.calibrated_on)


def predict_kernels(model: KernelModel, root: Node) -> Prediction:
    """Per fused group seconds (the time of the kernels a group starts; 0 on the BN/act
    groups a kernel fuses) and the end-to-end total. The kernels are those the model's
    backend runs (onnxruntime's start inside a group when it splits an activation off)."""
    kernels = detect(root, model.backend)
    owner = {id(leaf): id(g) for g in fused_groups(root) for leaf in g.leaves()}
    seconds: dict[int, float] = {}
    counted = set()
    for kernel in kernels:
        head, *rest = (owner.get(id(g), id(g)) for g in kernel.groups)
        seconds.update((g, seconds.get(g, 0.0)) for g in rest)
        seconds[head] = seconds.get(head, 0.0) + model.kernel_s(kernel)
        counted.add(head)
    leaders = {id(next(g.leaves())): id(g) for g in fused_groups(root)
               if not g.is_leaf and id(g) in seconds}
    layers = sum(seconds.values())
    unfitted = Counter(k.kernel_class for k in kernels if not model.fitted(k.kernel_class))
    return Prediction(MappingProxyType(seconds), MappingProxyType(leaders),
                      model.total(layers, len(kernels)), model.label(), frozenset(counted), len(kernels),
                      MappingProxyType(dict(unfitted)))
