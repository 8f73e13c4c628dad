"""A counting convention as data: a :class:`Rule` per rule key, and what a command shows.

:class:`Convention` is one tool's way of counting; its rows are in
:mod:`convcost.conventions.rules`, their shared formulas in :mod:`convcost.conventions.formulas`.
:class:`Counting` is a convention in the unit a command prints. Pure: no torch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from convcost.cost.graph import Node
from convcost.cost.registry import part_nodes, rule_keys

if TYPE_CHECKING:  # the layer command needs no spec machinery
    from convcost.net.analysis import Analysis

Status = Literal["counted", "zero", "unsupported"]
Count = int | Fraction  # ptflops divides per-image hooks by the batch: a half can remain
Unit = Literal["MACs", "FLOPs"]
ParamsRule = Literal["all", "supported"]


@dataclass(frozen=True)
class Rule:
    """How a tool counts one kind of leaf: ``formula(node) -> int`` and a one-line doc.

    A formula may return a Fraction where the tool's own arithmetic is fractional (ptflops'
    upsample); :meth:`Convention.count` truncates the exact sum, as the tool does.
    """

    formula: Callable[[Node], Count]
    doc: str
    status: Status = "counted"
    tool_op: str = ""  # the tool's own name of the op, e.g. aten::hardswish or nn.Hardswish
    calls: Callable[[Node], int] | None = None  # the tool's op calls in one leaf (None: one)
    skipped: Callable[[Node], Mapping[str, int]] | None = None  # ops the tool skips as
    # unsupported inside a leaf it counts (fvcore in nn.MultiheadAttention), with their calls


@dataclass(frozen=True)
class Convention:
    """One tool's counting rules, a rule per rule key of the registry (tests check all).

    ``params`` says how the tool totals parameters: ``all`` of them, only those of the
    modules it has a rule for (``supported``), or None when it reports none.
    """

    name: str
    doc: str
    source: str  # the tool and version the rules were read from
    unit: Unit
    rules: Mapping[str, Rule]
    params: ParamsRule | None = None
    params_doc: str = ""
    tool: str = ""  # the tool and its version, short: ``fvcore 0.1.5`` ("" for paper)

    def rule(self, node: Node) -> Rule:
        """The rule of a leaf's op (its bias has a rule of its own, see :meth:`terms`)."""
        assert node.op is not None, "rules apply to leaves"
        return self.rules[rule_keys(node.op)[0]]

    def terms(self, leaf: Node) -> Iterator[tuple[str, Count]]:
        """``(rule key, count)`` for each part of a leaf: the op, then its bias if any; a leaf
        made of parts (Mobile MQA) is the terms of its parts, each by its own rule."""
        assert leaf.op is not None, "rules apply to leaves"
        parts = part_nodes(leaf)
        for part in parts:
            yield from self.terms(part)
        for key in () if parts else rule_keys(leaf.op):
            yield key, self.rules[key].formula(leaf)

    def count(self, node: Node) -> int:
        """The tool's count for ``node`` in :attr:`unit`: a leaf, or the sum over a block."""
        return math.floor(sum(n for leaf in node.leaves() for _, n in self.terms(leaf)))

    def total(self, analysis: Analysis) -> int:
        return self.count(analysis.root)

    def macs(self, node: Node) -> int:
        """The count in MACs: a FLOPs convention counts 2 FLOPs per MAC of every op."""
        return self.count(node) // (2 if self.unit == "FLOPs" else 1)

    def param_count(self, node: Node) -> int | None:
        """The tool's parameter total below ``node`` (None: the tool reports none)."""
        if self.params is None:
            return None
        return sum(leaf.params for leaf in node.leaves()
                   if self.params == "all" or self.rule(leaf).status != "unsupported")

    def unsupported(self, node: Node) -> Counter[str]:
        """The tool's names of the unsupported ops below ``node`` (every term of each leaf,
        e.g. a tf_same conv's pad), with their occurrences."""
        found: Counter[str] = Counter()
        for leaf in (p for n in node.leaves() for p in (part_nodes(n) or (n,))):
            for rule in (self.rules[key] for key in _keys(leaf)):
                if rule.status == "unsupported" and rule.skipped is None:  # else it names them
                    found[rule.tool_op] += 1 if rule.calls is None else rule.calls(leaf)
                if rule.skipped is not None:
                    found.update(rule.skipped(leaf))
        return found


def _keys(leaf: Node) -> tuple[str, ...]:
    assert leaf.op is not None, "rules apply to leaves"
    return rule_keys(leaf.op)


@dataclass(frozen=True)
class Counting:
    """What a command shows: a convention's count, in FLOPs (``flops``) or its own unit."""

    convention: Convention
    flops: bool = False

    @property
    def unit(self) -> Unit:
        return "FLOPs" if self.flops else self.convention.unit

    @property
    def default(self) -> bool:
        """Paper MACs: the figures every command shows without ``--convention``/``--flops``."""
        return self.convention.name == "paper" and not self.flops

    @property
    def label(self) -> str:
        """The column header: ``MACs`` by default, else e.g. ``MACs (thop)``."""
        return self.unit if self.default else f"{self.unit} ({self.convention.name})"

    def count(self, node: Node) -> int:
        doubled = self.flops and self.convention.unit == "MACs"
        return self.convention.count(node) * (2 if doubled else 1)

    def describe(self) -> dict[str, str]:
        """What a count means, for JSON output: convention name, unit, source and doc."""
        c = self.convention
        return {"name": c.name, "unit": self.unit, "source": c.source, "doc": c.doc}
