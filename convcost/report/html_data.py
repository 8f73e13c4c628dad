"""What ``convcost report`` draws, computed from an analysis. Pure: no torch, no markup.

One :class:`LayerFigures` per leaf of the node tree, in execution order (the dataflow trace),
the tensor edges between them, and the model-level summaries the seeds' tables give: shares
by layer class, the standard-equivalent network, the receptive field, the roofline.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from convcost.cost.dataflow import Step, trace
from convcost.cost.groups import layer_class
from convcost.cost.memory import model_memory
from convcost.cost.receptive import defined, receptive_fields
from convcost.cost.registry import uncounted
from convcost.cost.roofline import Roofline, estimate
from convcost.cost.value import Shape
from convcost.net.analysis import (
    Analysis,
    ClassShare,
    StandardEquivalent,
    by_layer_class,
    separable_pairs,
    standard_equivalent,
)
from convcost.report.html_layout import Layout, layout

if TYPE_CHECKING:
    from convcost.net.latency import Prediction

METRICS = ("macs", "params", "memory", "latency")
"""What a node's size and colour may show: MACs, params, bytes moved, predicted latency."""


@dataclass(frozen=True)
class LayerFigures:
    """One leaf: what the table row, the node and the charts show of it."""

    name: str
    kind: str
    layer_class: str
    output_shape: Shape
    params: int
    macs: int
    memory: int  # bytes moved: input + weights + output (the roofline's memory term)
    intensity: Fraction | None  # FLOPs per byte moved
    bound: str  # memory, compute, or "" (nothing to do)
    rf_size: tuple[Fraction, ...]  # receptive field of its output, per axis (h and w)
    rf_jump: tuple[Fraction, ...]
    rf_whole: bool
    latency_s: float | None  # predicted (a fused group's time sits on its first leaf)
    counted: bool = True  # False: an opaque (imported) layer, whose MACs are not counted


@dataclass(frozen=True)
class Separable:
    """The network against its standard-equivalent (every separable pair one standard conv)."""

    params: int
    macs: int
    equivalent: StandardEquivalent
    theory_holds: int  # pairs whose measured MACs ratio equals 1/N + 1/K²


@dataclass(frozen=True)
class ReportData:
    """Everything the HTML page and the SVG files draw."""

    model: str
    input_shape: Shape
    alpha: float
    layers: tuple[LayerFigures, ...]
    edges: tuple[tuple[int, int], ...]  # producer -> consumer, indices into ``layers``
    classes: tuple[ClassShare, ...]
    separable: Separable
    roof: Roofline
    dtype: str
    latency: str = ""  # the latency model's label ("" without one)
    latency_total_s: float | None = None

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def uncounted(self) -> tuple[str, ...]:
        """Layers whose MACs are not counted (opaque imports): the MACs may be short."""
        return tuple(layer.name for layer in self.layers if not layer.counted)

    def metrics(self) -> tuple[str, ...]:
        """The metrics a node may show: latency only with a latency model."""
        return METRICS if self.latency_total_s is not None else METRICS[:3]

    def drawing(self) -> Layout:
        return layout(len(self.layers), self.edges)


def edges_of(steps: tuple[Step, ...]) -> tuple[tuple[int, int], ...]:
    """Producer -> consumer step pairs: a tensor's producer is the step that returned it, or
    (a channel chunk, a view) the latest step before that wrote its storage."""
    by_tensor = {id(step.output): i for i, step in enumerate(steps)}
    writer: dict[int, int] = {}
    edges: dict[tuple[int, int], None] = {}
    for i, step in enumerate(steps):
        for tensor in step.inputs:
            src = by_tensor.get(id(tensor), writer.get(tensor.storage))
            if src is not None and src != i:
                edges[(src, i)] = None
        writer[step.output.storage] = i
    return tuple(edges)


def _separable(analysis: Analysis) -> Separable:
    pairs = separable_pairs(analysis)
    holds = sum(1 for p in pairs if p.macs_ratio == p.theory)
    t = analysis.totals
    return Separable(t.params, t.macs, standard_equivalent(analysis), holds)


def report_data(analysis: Analysis, roof: Roofline, dtype: str = "float32",
                prediction: Prediction | None = None) -> ReportData:
    """The figures of every leaf of ``analysis`` and the summaries, on roofline ``roof``."""
    steps = trace(analysis.root).steps
    memory = model_memory(analysis.root, dtype)
    fields = receptive_fields(analysis.root, defined(analysis.layout) or 2)
    layers = []
    for step in steps:
        node, mem = step.node, memory.of(step.node)
        est = estimate(node.flops, mem.mem_access_bytes, roof)
        rf = fields.of(node)
        layers.append(LayerFigures(
            node.name, node.label, layer_class(node.op), node.output_shape, node.params, node.macs,
            mem.mem_access_bytes, mem.intensity, est.bound, rf.size, rf.jump, rf.whole,
            None if prediction is None else prediction.of(node), uncounted(node.op) is None))
    return ReportData(
        analysis.model, analysis.input_shape, analysis.alpha, tuple(layers), edges_of(steps),
        tuple(by_layer_class(analysis)), _separable(analysis), roof, dtype,
        prediction.label if prediction is not None else "",
        prediction.total_s if prediction is not None else None)
