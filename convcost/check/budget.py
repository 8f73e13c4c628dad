"""Budgets: limits on a model's cost, from a spec's ``budget:`` or a budgets file. Pure.

A budget limits ``params`` and ``macs`` (both required), and optionally ``flops``,
``activations`` (the largest output of any one layer, in elements, batch included) and
``max_layer_share`` (the largest share of the model's MACs any one layer may take).
Counts are integers or strings with a K, M or G suffix (10³, 10⁶, 10⁹): ``4.3M`` is
exactly 4 300 000.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from convcost.conventions.convention import Convention
from convcost.conventions.rules import PAPER
from convcost.cost.value import Cost
from convcost.errors import ConvcostError, SpecError
from convcost.limits import quote
from convcost.net.analysis import Analysis
from convcost.spec.budget import BUDGET_METRICS, ENTRY_KEYS, REQUIRED_METRICS, SHARE, Budget, parse_budget
from convcost.spec.fields import as_list, as_mapping, check_keys, join
from convcost.spec.inputs import parse_shape
from convcost.spec.loader import Spec, locate


def spec_budget(spec: Spec, text: str | None = None) -> Budget | None:
    """The ``budget:`` of a spec (validated by the loader, as for every command)."""
    return spec.budget


@dataclass(frozen=True)
class BudgetEntry:
    """One entry of a budgets file: a model (as written and as resolved), its budget, and
    the input shape an imported model is traced on (None: its own)."""

    spec: str
    file: str
    budget: Budget
    input_shape: tuple[int, ...] | None = None


def is_budgets_file(data: Any) -> bool:
    """A budgets file has a top-level ``budgets`` list and no ``layers`` (a spec has)."""
    return isinstance(data, Mapping) and "budgets" in data and "layers" not in data


def _model(spec: str, base: Path, path: str) -> str:
    """The model an entry names: a source as written (a file source's path made relative to
    the budgets file), a spec path relative to the budgets file, or a built-in name."""
    from convcost.frontend.registry import relative_to

    try:
        return relative_to(spec, base)
    except ConvcostError as err:
        raise SpecError(str(err), path=path) from None


def _entry(raw: Any, path: str, base: Path, file: str) -> BudgetEntry:
    spec = as_mapping(raw, path).get("spec")
    if not isinstance(spec, str) or not spec:
        got = "missing required field" if spec is None else f"must be a path, got {quote(spec)}"
        raise SpecError(got, path=join(path, "spec"))
    model = _model(spec, base, join(path, "spec"))
    shape = None
    if "input" in raw:
        from convcost.frontend.registry import imports

        if not imports(model):
            raise SpecError("only an imported model takes an input shape (a spec has its own "
                            "`input:`)", path=join(path, "input"))
        shape = parse_shape(raw["input"], join(path, "input"))
    return BudgetEntry(spec, model, parse_budget(raw, path, file, ENTRY_KEYS), shape)


def parse_budgets_file(data: Any, text: str, file: str) -> tuple[BudgetEntry, ...]:
    """``budgets: [{spec: path/relative/to/this/file.yaml, params: 4.3M, macs: 600M}, ...]``;
    ``spec`` may name any model (``torchvision:resnet18`` with ``input: 1x3x224x224``, ...)."""
    base = Path(file).parent
    try:
        check_keys(as_mapping(data, ""), ("budgets",), "")
        entries = as_list(data["budgets"], "budgets")
        if not entries:
            raise SpecError("must list at least one budget", path="budgets")
        out: list[BudgetEntry] = []
        seen: dict[tuple[str, tuple[int, ...] | None], str] = {}
        for i, raw in enumerate(entries):
            path = f"budgets[{i}]"
            entry = _entry(raw, path, base, file)
            if (entry.file, entry.input_shape) in seen:
                raise SpecError(f"{quote(entry.spec)} already has a budget at "
                                f"{seen[entry.file, entry.input_shape]}", path=join(path, "spec"))
            seen[entry.file, entry.input_shape] = path
            out.append(entry)
        return tuple(out)
    except SpecError as err:
        raise locate(err.at(file, None), text) from None


# -- evaluation -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Measured(Cost):
    """Every budgeted metric of one analysed model (params, MACs and FLOPs: a :class:`Cost`)."""

    activations: int
    share: Fraction
    largest: str  # the layer with the most MACs

    def value(self, metric: str) -> int | Fraction:
        return self.share if metric == SHARE else int(getattr(self, metric))


def measure(analysis: Analysis, convention: Convention = PAPER) -> Measured:
    """The budgeted metrics; ``macs`` (so ``flops`` and the layer share) as ``convention``
    counts them, in MACs (a FLOPs convention's count halved)."""
    leaves = analysis.leaves()
    macs = convention.macs(analysis.root)
    largest = max(leaves, key=convention.macs)
    share = Fraction(convention.macs(largest), macs) if macs else Fraction(0)
    activations = max(math.prod(leaf.output_shape) for leaf in leaves)
    return Measured(params=analysis.totals.params, macs=macs, activations=activations,
                    share=share, largest=largest.name)


@dataclass(frozen=True)
class MetricCheck:
    """One metric of one model against its limit (None: no budget for it)."""

    metric: str
    value: int | Fraction
    limit: int | Fraction | None = None
    path: str = ""
    layer: str = ""  # for max_layer_share: the layer with the largest share

    @property
    def label(self) -> str:
        return f"{BUDGET_METRICS[self.metric]} ({self.layer})" if self.layer else BUDGET_METRICS[self.metric]

    @property
    def over(self) -> bool:
        return self.limit is not None and self.value > self.limit

    @property
    def headroom(self) -> Fraction | None:
        """``(limit - value) / limit``: negative when over; None without a (non-zero) limit."""
        if not self.limit:
            return None
        return Fraction(self.limit - self.value) / Fraction(self.limit)


def evaluate(measured: Measured, budget: Budget | None) -> tuple[MetricCheck, ...]:
    """Each limit of ``budget`` against ``measured``; without a budget, params and MACs only."""
    if budget is None:
        return tuple(MetricCheck(m, measured.value(m)) for m in REQUIRED_METRICS)
    return tuple(
        MetricCheck(lim.metric, measured.value(lim.metric), lim.value, lim.path,
                    measured.largest if lim.metric == SHARE else "")
        for lim in budget.limits
    )
