"""Predicted latency: a per-layer-class linear model fitted to measured profiles. Pure.

Every fused group (:func:`convcost.cost.groups.fused_groups`) of layer class k is predicted as

    t = a_k · MACs + b_k · bytes + c_k

with bytes the memory access cost of :mod:`convcost.cost.memory` at the profiled dtype. The
coefficients are non-negative least squares over the measured group medians of that class
(an exact active-set search: three unknowns, eight subsets). A class with fewer samples than
:data:`MIN_SAMPLES` uses the fit over every group (``all``). The end-to-end total is

    T = pass_factor · Σ t + overhead_per_group_s · groups

fitted, non-negative, to the calibration specs' end-to-end medians (relative errors): the
factor carries the spread of the times (a typical pass is slower than the sum of per-layer
medians), the per-group term the dispatch between groups. The baseline it is judged against
predicts a total from MACs alone: ``T = k · MACs`` with ``k`` = Σ end-to-end times / Σ MACs
of the calibration specs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Generic, TypeVar

from convcost.cost.graph import Node
from convcost.cost.groups import fused_groups, group_class
from convcost.cost.memory import model_memory

if TYPE_CHECKING:
    from convcost.net.kernel_model import KernelModel

MIN_SAMPLES = 3
BACKENDS = ("torch", "onnxruntime")
PROFILE_DTYPES = ("float32", "bfloat16")
CLASSES = ("standard", "depthwise", "pointwise", "grouped", "fully connected", "other")


@dataclass(frozen=True)
class Sample:
    """One measured group: its class, MACs, bytes moved and median seconds."""

    layer_class: str
    macs: int
    bytes: int
    seconds: float


P = TypeVar("P")


@dataclass(frozen=True)
class Timed(Generic[P]):
    """A network measured end to end (median seconds): its parts, MACs and name."""

    name: str
    parts: tuple[P, ...]
    end_to_end_s: float
    macs: int


@dataclass(frozen=True)
class SpecTiming(Timed[Sample]):
    """One profiled spec: its group samples, end-to-end median and MACs."""

    @property
    def samples(self) -> tuple[Sample, ...]:
        return self.parts

    @property
    def overhead_s(self) -> float:
        return self.end_to_end_s - sum(s.seconds for s in self.samples)


@dataclass(frozen=True)
class ClassFit:
    """``t = per_mac_s · MACs + per_byte_s · bytes + per_layer_s`` for one class."""

    per_mac_s: float
    per_byte_s: float
    per_layer_s: float
    samples: int

    def seconds(self, macs: int, moved: int) -> float:
        return self.per_mac_s * macs + self.per_byte_s * moved + self.per_layer_s


F = TypeVar("F")


@dataclass(frozen=True)
class Composed(Generic[F]):
    """What every latency model holds: the machine it describes, its fits by class, the
    end-to-end composition ``T = pass_factor·Σt + overhead_s·calls`` and where it was fitted."""

    machine: Mapping[str, str | int]
    classes: Mapping[str, F]
    pass_factor: float
    overhead_s: float  # per fused group (this model) or kernel (the kernel model)
    calibrated_on: tuple[str, ...]

    def total(self, layers_s: float, calls: int) -> float:
        """The end-to-end prediction from the summed per-call predictions."""
        return self.pass_factor * layers_s + self.overhead_s * calls

    @property
    def dtype(self) -> str:
        return str(self.machine["dtype"])


@dataclass(frozen=True)
class LatencyModel(Composed[ClassFit]):
    """Fitted classes (``all`` always present), per-group overhead and where it was measured."""

    @property
    def overhead_per_group_s(self) -> float:
        return self.overhead_s

    def fit_for(self, layer_class: str) -> ClassFit:
        return self.classes.get(layer_class) or self.classes["all"]

    def label(self) -> str:
        m = self.machine
        return f"{m['cpu']}, {m['threads']} thread(s), {m['backend']} {m['dtype']}"


def _solve(rows: Sequence[Sequence[float]], targets: Sequence[float]) -> list[float] | None:
    """Least squares by the normal equations (Gauss-Jordan); None when singular."""
    n = len(rows[0])
    a = [[sum(r[i] * r[j] for r in rows) for j in range(n)] +
         [sum(r[i] * t for r, t in zip(rows, targets, strict=True))] for i in range(n)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col:
                factor = a[r][col] / a[col][col]
                a[r] = [x - factor * y for x, y in zip(a[r], a[col], strict=True)]
    return [a[i][n] / a[i][i] for i in range(n)]


def nnls(rows: Sequence[Sequence[float]], targets: Sequence[float]) -> list[float]:
    """Non-negative least squares, exactly, by trying every subset of the columns."""
    width = len(rows[0])
    scale = [max(abs(r[j]) for r in rows) or 1.0 for j in range(width)]
    scaled = [[r[j] / scale[j] for j in range(width)] for r in rows]
    best, best_error = [0.0] * width, sum(t * t for t in targets)
    for size in range(1, width + 1):
        for cols in itertools.combinations(range(width), size):
            coef = _solve([[r[j] for j in cols] for r in scaled], targets)
            if coef is None or min(coef) < 0:
                continue
            full = [0.0] * width
            for j, c in zip(cols, coef, strict=True):
                full[j] = c / scale[j]
            error = sum((t - sum(f * x for f, x in zip(full, r, strict=True))) ** 2
                        for r, t in zip(rows, targets, strict=True))
            if error < best_error:
                best, best_error = full, error
    return best


def fit_class(samples: Sequence[Sample]) -> ClassFit:
    a, b, c = nnls([(float(s.macs), float(s.bytes), 1.0) for s in samples],
                   [s.seconds for s in samples])
    return ClassFit(a, b, c, len(samples))


def fit(specs: Sequence[SpecTiming], machine: Mapping[str, str | int]) -> LatencyModel:
    """The per-class model of the groups of ``specs`` (at least one spec, one group)."""
    samples = [s for spec in specs for s in spec.samples]
    classes = {"all": fit_class(samples)}
    for cls in CLASSES:
        members = [s for s in samples if s.layer_class == cls]
        if len(members) >= MIN_SAMPLES:
            classes[cls] = fit_class(members)
    fitted = LatencyModel(MappingProxyType(dict(machine)), MappingProxyType(classes), 1.0, 0.0,
                          tuple(spec.name for spec in specs))
    rows = [(layers_total(fitted, s) / s.end_to_end_s, len(s.samples) / s.end_to_end_s)
            for s in specs]
    factor, overhead = nnls(rows, [1.0] * len(specs))
    return replace(fitted, pass_factor=factor, overhead_s=overhead)


@dataclass(frozen=True)
class Prediction:
    """Predicted seconds per fused group (keyed by node identity) and in total."""

    groups: Mapping[int, float]
    leaders: Mapping[int, int]  # first leaf of a fused block -> the block
    total_s: float
    label: str = ""
    counted: frozenset[int] | None = None  # the groups that start a kernel (None: every group)
    calls: int | None = None  # the kernels, when a group can start several (None: counted)
    # kernel class -> the kernels the model has no fit for, predicted as 0 s (a lower bound)
    unfitted: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def short_note(self) -> str | None:
        """One line saying which kernels the total leaves out, or None when it has them all."""
        if not self.unfitted:
            return None
        left = ", ".join(f"{n} {cls}" for cls, n in sorted(self.unfitted.items()))
        return (f"the predicted latency leaves out {left} kernel(s): the latency model has no fit "
                "for them (calibrate on a network that has them); its total is a lower bound")

    @property
    def group_count(self) -> int:
        """The calls the end-to-end overhead is paid on (groups, or kernels)."""
        if self.calls is not None:
            return self.calls
        return len(self.groups if self.counted is None else self.counted)

    def count_in(self, node: Node) -> int:
        """The calls inside ``node`` (as :attr:`group_count` counts them)."""
        return sum(1 for g in fused_groups(node)
                   if id(g) in self.groups and (self.counted is None or id(g) in self.counted))

    @property
    def layers_s(self) -> float:
        return sum(self.groups.values())

    @property
    def overhead_s(self) -> float:
        """What the end-to-end prediction adds to the summed groups (spread and dispatch)."""
        return self.total_s - self.layers_s

    def of(self, node: Node) -> float:
        """A node's share: the groups inside it; a fused group's time sits on the group and
        on its first leaf (the conv), its BN and activation leaves get 0."""
        if id(node) in self.groups:
            return self.groups[id(node)]
        if id(node) in self.leaders:
            return self.groups[self.leaders[id(node)]]
        return sum((self.groups.get(id(g), 0.0) for g in fused_groups(node)), 0.0)


def predict(model: LatencyModel | KernelModel, root: Node) -> Prediction:
    """The model's prediction of ``root``: per group, and end to end."""
    if not isinstance(model, LatencyModel):
        from convcost.net.kernel_model import predict_kernels

        return predict_kernels(model, root)
    memory = model_memory(root, model.dtype)
    groups = list(fused_groups(root))
    seconds = {id(g): model.fit_for(group_class(g)).seconds(g.macs, memory.of(g).mem_access_bytes)
               for g in groups}
    leaders = {id(next(g.leaves())): id(g) for g in groups if not g.is_leaf}
    return Prediction(MappingProxyType(seconds), MappingProxyType(leaders),
                      model.total(sum(seconds.values()), len(groups)), model.label())


def layers_total(model: LatencyModel, spec: SpecTiming) -> float:
    """The summed group predictions of a profiled spec."""
    return sum(model.fit_for(s.layer_class).seconds(s.macs, s.bytes) for s in spec.samples)


def predict_total(model: LatencyModel, spec: SpecTiming) -> float:
    """A profiled spec's predicted end-to-end time from its own groups' MACs and bytes."""
    return model.total(layers_total(model, spec), len(spec.samples))
