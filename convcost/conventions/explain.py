"""``convcost conventions``: every convention's total, and its gap to ``paper`` by op class.

Each convention counts each leaf of the analysed network through its rules
(:mod:`convcost.conventions.rules`); summed per op class, the difference to the paper count of
that class says where a tool's number comes from. A FLOPs convention is compared with
paper in FLOPs (2 × paper MACs). Pure: no torch, no printing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

from convcost.conventions.convention import Convention, Count
from convcost.conventions.rules import CONVENTIONS, PAPER
from convcost.cost.dataflow import Step, trace
from convcost.cost.graph import Node
from convcost.cost.ops import opaque
from convcost.cost.registry import RULE_CLASSES, rule_keys
from convcost.cost.value import Shape
from convcost.net.analysis import Analysis

OPAQUE = opaque.CLASS  # listed only for a network with opaque (imported) layers
_ORDER = ("conv", "conv bias", "linear", "linear bias", "BN", "activations", "pooling",
          "residual adds", "SE scale/gates", "concat/shuffle", "flatten/dropout")
CLASSES: tuple[str, ...] = tuple(c for c in dict.fromkeys((*_ORDER, *RULE_CLASSES.values())) if c != OPAQUE)
"""The op classes of the breakdown, in display order (a new op's new class comes last)."""
GATE = "SE scale/gates"
ACTIVATIONS = "activations"


def _classes(step: Step) -> set[str]:
    assert step.node.op is not None, "steps run leaves"
    return {RULE_CLASSES[k] for k in rule_keys(step.node.op)}


def _gated(step: Step) -> Iterator[int]:
    """The inputs of ``step`` off its data path (its kind's ``path`` trait): a gate, as the
    second input of a squeeze-excitation ``scale`` (``x · gate``)."""
    path = step.op_kind.path
    if path is not None:
        through = path(tuple(t.shape for t in step.inputs), step.node.output_shape)
        yield from (i for i in range(len(step.inputs)) if i not in through)


def _gates(root: Node) -> set[str]:
    """Names of the gate activations: the activations (by their rule class) whose output is a
    gate (an input off the data path) of a merge such as a ``scale`` (squeeze-excitation)."""
    steps = trace(root).steps
    producer = {step.output.storage: step for step in steps if not step.view}
    gates: set[str] = set()
    for step in steps:
        for i in _gated(step):
            gate = producer.get(step.inputs[i].storage)
            if gate is not None and _classes(gate) == {ACTIVATIONS}:
                gates.add(gate.node.name)
    return gates


def classed_terms(convention: Convention, root: Node) -> Iterator[tuple[str, Count]]:
    """``(op class, count)`` of every term of every leaf below ``root``."""
    gates = _gates(root)
    for leaf in root.leaves():
        for key, count in convention.terms(leaf):
            yield (GATE if leaf.name in gates else RULE_CLASSES[key]), count


def by_class(convention: Convention, root: Node) -> dict[str, int]:
    """The convention's count per op class (every class of :data:`CLASSES`, zeros included)."""
    counts: dict[str, Count] = dict.fromkeys(CLASSES, 0)
    for cls, count in classed_terms(convention, root):
        counts[cls] = counts.get(cls, 0) + count
    # truncated per class as the tool truncates its total: only ptflops' upsample class can
    # hold a fraction, so the classes still sum to the total
    return {cls: math.floor(count) for cls, count in counts.items()}


@dataclass(frozen=True)
class ConventionTotal:
    """One convention's total, against paper counted in the same unit."""

    convention: Convention
    total: int
    paper: int  # the paper total in this convention's unit (FLOPs: 2 × MACs)
    counts: Mapping[str, int]  # op class -> this convention's count
    paper_counts: Mapping[str, int]  # op class -> paper's count, in this unit
    params: int | None  # the tool's parameter total (None: it reports none)
    unsupported: Mapping[str, int]  # the tool's unsupported ops, counted 0

    @property
    def name(self) -> str:
        return self.convention.name

    @property
    def gap(self) -> int:
        return self.total - self.paper

    @property
    def gap_ratio(self) -> Fraction | None:
        return Fraction(self.gap, self.paper) if self.paper else None

    @property
    def gaps(self) -> dict[str, int]:
        """op class -> gap to paper, for the classes with one (they sum to :attr:`gap`)."""
        gaps = {cls: self.counts[cls] - self.paper_counts[cls] for cls in CLASSES}
        return {cls: gap for cls, gap in gaps.items() if gap}


@dataclass(frozen=True)
class Explanation:
    """Every convention's total for one analysed model, paper first."""

    model: str
    input_shape: Shape
    rows: tuple[ConventionTotal, ...]
    present: tuple[str, ...]  # the op classes that occur in the model

    @property
    def paper(self) -> ConventionTotal:
        return self.rows[0]

    def counted(self) -> tuple[str, ...]:
        """The op classes some convention counts (the rows of the breakdown)."""
        return tuple(cls for cls in CLASSES if any(row.counts[cls] for row in self.rows))

    def uncounted(self) -> tuple[str, ...]:
        """The op classes in the model that no convention counts."""
        counted = self.counted()
        return tuple(cls for cls in self.present if cls not in counted)


def _total(convention: Convention, analysis: Analysis, paper: Mapping[str, int]) -> ConventionTotal:
    scale = 2 if convention.unit == "FLOPs" else 1
    counts = by_class(convention, analysis.root)
    paper_counts = {cls: scale * n for cls, n in paper.items()}
    return ConventionTotal(
        convention, sum(counts.values()), sum(paper_counts.values()), MappingProxyType(counts),
        MappingProxyType(paper_counts), convention.param_count(analysis.root),
        MappingProxyType(Counter(convention.unsupported(analysis.root))),
    )


def explain(analysis: Analysis, conventions: Iterable[Convention] = CONVENTIONS.values()
            ) -> Explanation:
    """Every convention's total and per-class counts for ``analysis`` (paper always first)."""
    paper = by_class(PAPER, analysis.root)
    rows = [PAPER, *(c for c in conventions if c is not PAPER)]
    present = {cls for cls, _ in classed_terms(PAPER, analysis.root)}
    return Explanation(analysis.model, analysis.input_shape,
                       tuple(_total(c, analysis, paper) for c in rows),
                       tuple(cls for cls in CLASSES if cls in present))
