"""Two models layer by layer: what was added, removed or changed, and the totals. Pure.

A model is a :class:`Profile`: its leaf layers in execution order, each with its params,
MACs, output shape, activation memory (bytes of its output) and, when a latency model was
given, its predicted seconds. :func:`diff` matches the layers of two profiles:

1. **by name**: a layer of the same name in both;
2. **by structure**, among the layers left over, in execution order: first those with the
   same kind and the same figures (a renamed layer), then those of the same kind (a layer
   renamed and changed). Both are order-preserving alignments (:mod:`difflib`), bounded by
   :data:`MAX_ALIGN` layers left over per side (beyond, a layer is added or removed).

Whatever is left is removed (only in the first model) or added (only in the second).
A baseline (:mod:`convcost.check.baseline`) stores profiles without shapes or memory; the
figures missing on either side are None and never count as a change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from fractions import Fraction
from typing import Protocol

from convcost.cost.graph import Node
from convcost.cost.memory import model_memory
from convcost.cost.registry import uncounted
from convcost.cost.value import Shape
from convcost.errors import ConvcostError

METRICS = ("params", "macs", "memory", "latency")
"""The figures a diff compares: params, MACs, activation memory (bytes), predicted latency (s)."""
METRIC_LABELS = {"params": "params", "macs": "MACs", "memory": "activation memory (bytes)",
                 "latency": "latency (s)"}
STATUSES = ("added", "removed", "changed", "renamed", "same")
MAX_ALIGN = (20_000, 2_000)
"""Layers left over (per side) beyond which the alignment by signature, by kind, is skipped:
:class:`difflib.SequenceMatcher` is quadratic on long runs of one key (about 1 s at the bound)."""

Figure = int | float


class Latency(Protocol):
    """A latency prediction (:class:`convcost.net.latency.Prediction`): seconds per node."""

    @property
    def total_s(self) -> float: ...

    def of(self, node: Node) -> float: ...


@dataclass(frozen=True)
class LayerFigures:
    """One leaf layer of a model. ``memory``: bytes of its output activation at the profile's
    dtype; ``output_shape``/``memory``/``latency_s`` are None when not known (a baseline)."""

    name: str
    kind: str  # the node label: conv, dwconv, pwconv, bn, relu, linear, ...
    params: int
    macs: int
    output_shape: Shape | None = None
    memory: int | None = None
    latency_s: float | None = None
    counted: bool = True  # False: an opaque (imported, uncounted) layer: its MACs are 0

    def figure(self, metric: str) -> Figure | None:
        return {"params": self.params, "macs": self.macs, "memory": self.memory,
                "latency": self.latency_s}[metric]

    @property
    def signature(self) -> tuple[Hashable, ...]:
        """What a renamed layer keeps: its kind and figures."""
        return (self.kind, self.params, self.macs, self.output_shape, self.counted)


@dataclass(frozen=True)
class Totals:
    """A model's totals: ``memory`` is its peak activation memory (bytes live at once)."""

    params: int
    macs: int
    memory: int | None = None
    latency_s: float | None = None

    def figure(self, metric: str) -> Figure | None:
        return {"params": self.params, "macs": self.macs, "memory": self.memory,
                "latency": self.latency_s}[metric]


@dataclass(frozen=True)
class Profile:
    """A model as the diff sees it: its name, where it came from, its layers and totals."""

    model: str
    source: str
    layers: tuple[LayerFigures, ...]
    totals: Totals
    input_shape: Shape | None = None
    dtype: str = "float32"
    latency_label: str = ""  # the latency model's description, when latency was predicted

    @property
    def uncounted(self) -> tuple[str, ...]:
        """Layers whose MACs are not counted (opaque imports): the totals may be short."""
        return tuple(layer.name for layer in self.layers if not layer.counted)


def profile(root: Node, *, model: str, source: str = "", input_shape: Shape | None = None,
            dtype: str = "float32", latency: Latency | None = None, latency_label: str = "",
            memory: bool = True, macs: Callable[[Node], int] | None = None) -> Profile:
    """The :class:`Profile` of an analysed network (``analysis.root``). ``memory=False``
    skips the activation memory (the dataflow trace); ``macs`` counts a leaf's MACs another
    way (a convention's count; default: the paper's, ``node.macs``)."""
    count = macs or (lambda node: node.macs)
    traced = model_memory(root, dtype) if memory else None
    layers = tuple(
        LayerFigures(leaf.name, leaf.label, leaf.params, count(leaf), leaf.output_shape,
                     None if traced is None else traced.of(leaf).output_bytes,
                     None if latency is None else latency.of(leaf),
                     uncounted(leaf.op) is None)
        for leaf in root.leaves())
    totals = Totals(root.params, sum(x.macs for x in layers) if macs else root.macs,
                    None if traced is None else traced.peak_bytes,
                    None if latency is None else latency.total_s)
    return Profile(model, source, _unique_names(layers), totals, input_shape, dtype, latency_label)


def _unique_names(layers: tuple[LayerFigures, ...]) -> tuple[LayerFigures, ...]:
    """Layer names made unique (``name#2``, ...): matching by name needs one layer per name."""
    seen: dict[str, int] = {}
    out = []
    for layer in layers:
        seen[layer.name] = seen.get(layer.name, 0) + 1
        if seen[layer.name] > 1:
            layer = replace(layer, name=f"{layer.name}#{seen[layer.name]}")
        out.append(layer)
    return tuple(out)


# -- changes ---------------------------------------------------------------------------


def _change(before: Figure | None, after: Figure | None) -> Figure | None:
    return None if before is None or after is None else after - before


def _ratio(before: Figure | None, after: Figure | None) -> Fraction | None:
    """``(after - before) / before``, exact (a float is taken at its exact binary value)."""
    if before is None or after is None or not before:
        return None
    return (Fraction(after) - Fraction(before)) / Fraction(before)


@dataclass(frozen=True)
class FigureChange:
    """One figure of one model (or layer) before and after."""

    metric: str
    before: Figure | None
    after: Figure | None

    @property
    def change(self) -> Figure | None:
        return _change(self.before, self.after)

    @property
    def ratio(self) -> Fraction | None:
        """The relative change (0.02 is +2 %); None when either side is unknown or before is 0."""
        return _ratio(self.before, self.after)

    def grew_beyond(self, percent: Fraction) -> bool:
        """``after > before · (1 + percent/100)``, exactly; growth from 0 always counts."""
        if self.before is None or self.after is None:
            return False
        return Fraction(self.after) * 100 > Fraction(self.before) * (100 + percent)


@dataclass(frozen=True)
class LayerChange:
    """One row of a diff: a layer of either model, or a matched pair."""

    status: str  # one of STATUSES
    before: LayerFigures | None
    after: LayerFigures | None
    matched_by: str | None = None  # "name", "structure" or None (added/removed)

    @property
    def name(self) -> str:
        """The layer's name in the second model (the first's when removed)."""
        layer = self.after or self.before
        assert layer is not None
        return layer.name

    @property
    def old_name(self) -> str | None:
        """The name in the first model when it differs (a layer matched by structure)."""
        if self.before is None or self.after is None or self.before.name == self.after.name:
            return None
        return self.before.name

    @property
    def kind(self) -> str:
        layer = self.after or self.before
        assert layer is not None
        return layer.kind

    def figure(self, metric: str) -> FigureChange:
        """An added layer changes a figure from 0, a removed one to 0."""
        before = _side(self.before, metric, self.after)
        after = _side(self.after, metric, self.before)
        return FigureChange(metric, before, after)

    @property
    def figures(self) -> tuple[FigureChange, ...]:
        return tuple(self.figure(m) for m in METRICS)

    @property
    def shapes(self) -> tuple[Shape | None, Shape | None]:
        return (None if self.before is None else self.before.output_shape,
                None if self.after is None else self.after.output_shape)


def _side(layer: LayerFigures | None, metric: str, other: LayerFigures | None) -> Figure | None:
    if layer is not None:
        return layer.figure(metric)
    known = other is not None and other.figure(metric) is not None
    return (0.0 if metric == "latency" else 0) if known else None


def _status(before: LayerFigures, after: LayerFigures) -> str:
    same = (before.kind == after.kind and before.counted == after.counted
            and all(_equal(before.figure(m), after.figure(m)) for m in METRICS)
            and _equal(before.output_shape, after.output_shape))
    if not same:
        return "changed"
    return "same" if before.name == after.name else "renamed"


def _equal(a: object, b: object) -> bool:
    """Equal, or unknown on either side (a baseline keeps no shapes)."""
    return a is None or b is None or a == b


# -- matching --------------------------------------------------------------------------


def _align(before: Sequence[LayerFigures], after: Sequence[LayerFigures],
           key: Callable[[LayerFigures], Hashable]) -> list[tuple[int, int]]:
    """Order-preserving pairs ``(i, j)`` of equal keys (the longest matching runs)."""
    matcher = SequenceMatcher(None, [key(x) for x in before], [key(x) for x in after],
                              autojunk=False)
    return [(block.a + k, block.b + k) for block in matcher.get_matching_blocks()
            for k in range(block.size)]


def match(before: Sequence[LayerFigures], after: Sequence[LayerFigures]
          ) -> dict[int, tuple[int, str]]:
    """Index in ``before`` -> (index in ``after``, "name" or "structure")."""
    by_name = {layer.name: j for j, layer in enumerate(after)}
    pairs = {i: (by_name[layer.name], "name") for i, layer in enumerate(before)
             if layer.name in by_name}
    keys: tuple[Callable[[LayerFigures], Hashable], ...] = (
        lambda x: x.signature, lambda x: x.kind)
    for key, bound in zip(keys, MAX_ALIGN, strict=True):
        taken = {j for j, _ in pairs.values()}
        left_a = [i for i in range(len(before)) if i not in pairs]
        left_b = [j for j in range(len(after)) if j not in taken]
        if not left_a or not left_b or max(len(left_a), len(left_b)) > bound:
            continue
        for i, j in _align([before[i] for i in left_a], [after[j] for j in left_b], key):
            pairs[left_a[i]] = (left_b[j], "structure")
    return pairs


def _order(before: Sequence[LayerFigures], pairs: Mapping[int, tuple[int, str]],
           count: int) -> list[tuple[float, int, int | None, int | None]]:
    """Rows in the second model's order; a removed layer follows the last matched layer
    before it (the start when none)."""
    rows: list[tuple[float, int, int | None, int | None]] = []
    paired = {j: i for i, (j, _) in pairs.items()}
    rows += [(j, 0, paired.get(j), j) for j in range(count)]
    anchor = -1.0
    for i in range(len(before)):
        if i in pairs:
            anchor = pairs[i][0]
        else:
            rows.append((anchor, 1, i, None))
    rows.sort(key=lambda r: (r[0], r[1], r[2] if r[2] is not None else -1))
    return rows


@dataclass(frozen=True)
class ModelDiff:
    """Two profiles, their layers matched, and their totals."""

    before: Profile
    after: Profile
    layers: tuple[LayerChange, ...]  # every layer, in the second model's order
    metrics: tuple[str, ...] = field(default=METRICS)

    @property
    def changes(self) -> tuple[LayerChange, ...]:
        """The rows that are not ``same``."""
        return tuple(row for row in self.layers if row.status != "same")

    def count(self, status: str) -> int:
        return sum(1 for row in self.layers if row.status == status)

    @property
    def totals(self) -> tuple[FigureChange, ...]:
        return tuple(FigureChange(m, self.before.totals.figure(m), self.after.totals.figure(m))
                     for m in self.metrics)

    def total(self, metric: str) -> FigureChange:
        return FigureChange(metric, self.before.totals.figure(metric),
                            self.after.totals.figure(metric))

    @property
    def identical(self) -> bool:
        return not self.changes and all(t.change in (0, None) for t in self.totals)

    def grew(self, limits: Mapping[str, Fraction]) -> tuple[FigureChange, ...]:
        """The totals that grew beyond their limit (``metric -> percent``)."""
        return tuple(self.total(m) for m, pct in limits.items() if self.total(m).grew_beyond(pct))

    def grown_layers(self, metric: str) -> tuple[LayerChange, ...]:
        """The layers whose ``metric`` grew (added layers with any of it included)."""
        return tuple(row for row in self.layers
                     if (row.figure(metric).change or 0) > 0)


def diff(before: Profile, after: Profile) -> ModelDiff:
    """Match the layers of ``before`` and ``after`` (see the module docstring)."""
    pairs = match(before.layers, after.layers)
    rows: list[LayerChange] = []
    for _, _, i, j in _order(before.layers, pairs, len(after.layers)):
        a = None if i is None else before.layers[i]
        b = None if j is None else after.layers[j]
        if a is not None and b is not None:
            rows.append(LayerChange(_status(a, b), a, b, pairs[i][1] if i is not None else None))
        else:
            rows.append(LayerChange("removed" if b is None else "added", a, b))
    metrics = tuple(m for m in METRICS
                    if before.totals.figure(m) is not None or after.totals.figure(m) is not None)
    return ModelDiff(before, after, tuple(rows), metrics)


# -- growth limits ---------------------------------------------------------------------

_PERCENT = re.compile(r"\s*(\d{1,6}(?:\.\d{1,6})?)\s*%?\s*")


def parse_growth(flag: str, text: str) -> Fraction:
    """``2%``, ``2`` or ``0.5%`` -> the percentage as an exact Fraction (``--fail-on-growth``)."""
    found = _PERCENT.fullmatch(text)
    if found is None:
        raise ConvcostError(f"{flag}: expected a percentage such as 2% or 0.5%, got {text!r}")
    return Fraction(found[1])


def growth_limits(overall: Fraction | None, per_metric: Mapping[str, Fraction | None],
                  metrics: Iterable[str]) -> dict[str, Fraction]:
    """``metric -> percent``: a per-figure limit, else the overall one (for each figure
    both models have)."""
    limits = {m: overall for m in metrics if overall is not None}
    limits.update({m: pct for m, pct in per_metric.items() if pct is not None})
    return {m: pct for m, pct in limits.items() if pct is not None}


def shape_text(shape: Shape | None) -> str:
    """``1×32×112×112``; ``—`` when unknown."""
    return "—" if shape is None else "×".join(map(str, shape))
