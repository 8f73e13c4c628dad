"""Budgets: limits on a model's cost, from a spec's ``budget:`` or a budgets file. Pure.

A budget limits ``params`` and ``macs`` (both required), and optionally ``flops``,
``activations`` (the largest output of any one layer, in elements, batch included) and
``max_layer_share`` (the largest share of the model's MACs any one layer may take).
Counts are integers or strings with a K, M or G suffix (10³, 10⁶, 10⁹): ``4.3M`` is
exactly 4 300 000.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from convcost.conventions.rules import PAPER, Convention
from convcost.errors import SpecError
from convcost.net.analysis import Analysis
from convcost.spec.fields import as_int, as_list, as_mapping, as_number, check_keys, join
from convcost.spec.loader import Spec, locate

QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*[KMGkmg]?$"
_QUANTITY = re.compile(QUANTITY_PATTERN)
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}

#: metric key -> label with its unit. Counted metrics first, then the per-layer cap.
BUDGET_METRICS: Mapping[str, str] = {
    "params": "params",
    "macs": "MACs",
    "flops": "FLOPs",
    "activations": "peak activations (elements)",
    "max_layer_share": "largest layer share of MACs",
}
REQUIRED_METRICS = ("params", "macs")
SHARE = "max_layer_share"
ENTRY_KEYS = ("spec", *BUDGET_METRICS)


def parse_count(value: Any, path: str) -> int:
    """``600000``, ``"600K"``, ``"4.3M"``, ``"1.2G"`` -> an exact integer (K = 10³)."""
    if isinstance(value, str):
        text = value.strip()
        if not _QUANTITY.match(text):
            raise SpecError(f"must be an integer or a count like 4.3M, 600K or 1.2G, got {value!r}",
                            path=path)
        suffix = text[-1].lower() if text[-1].isalpha() else ""
        exact = Decimal(text.rstrip("KMGkmg").strip()) * _SCALE[suffix]
        if exact != exact.to_integral_value():
            raise SpecError(f"must be a whole number, got {value!r} = {exact.normalize()}", path=path)
        return int(exact)
    if isinstance(value, float):
        raise SpecError(f"must be an integer or a count like 4.3M, got {value}", path=path)
    return as_int(value, path, minimum=0)


def parse_share(value: Any, path: str) -> Fraction:
    """A fraction in (0, 1], kept exact as written (``0.2`` -> 1/5)."""
    share = as_number(value, path)
    if share > 1:
        raise SpecError(f"must be a fraction in (0, 1], got {value}", path=path)
    return Fraction(str(value))


@dataclass(frozen=True)
class Limit:
    metric: str
    value: int | Fraction
    path: str  # field path of the limit in its file, e.g. ``budget.macs``


@dataclass(frozen=True)
class Budget:
    """The limits of one model and the file they are written in."""

    limits: tuple[Limit, ...]
    file: str | None
    path: str  # field path of the budget mapping, e.g. ``budget`` or ``budgets[2]``


def parse_budget(raw: Any, path: str, file: str | None, allowed: tuple[str, ...] = tuple(BUDGET_METRICS)
                 ) -> Budget:
    """Validate a budget mapping (errors name ``path.key``; the caller adds the line)."""
    data = as_mapping(raw, path)
    check_keys(data, allowed, path)
    for key in REQUIRED_METRICS:
        if key not in data:
            raise SpecError("missing required field", path=join(path, key))
    limits = []
    for key in BUDGET_METRICS:
        if key in data:
            where = join(path, key)
            value = parse_share(data[key], where) if key == SHARE else parse_count(data[key], where)
            limits.append(Limit(key, value, where))
    return Budget(tuple(limits), file, path)


def spec_budget(spec: Spec, text: str | None = None) -> Budget | None:
    """The ``budget:`` of a spec, validated; errors carry the spec's file and line."""
    if spec.budget is None:
        return None
    try:
        return parse_budget(spec.budget, "budget", spec.source)
    except SpecError as err:
        raise locate(err.at(spec.source, None), text) from None


@dataclass(frozen=True)
class BudgetEntry:
    """One entry of a budgets file: a spec (path as written and as resolved) and its budget."""

    spec: str
    file: str
    budget: Budget


def is_budgets_file(data: Any) -> bool:
    """A budgets file has a top-level ``budgets`` list and no ``layers`` (a spec has)."""
    return isinstance(data, Mapping) and "budgets" in data and "layers" not in data


def parse_budgets_file(data: Any, text: str, file: str) -> tuple[BudgetEntry, ...]:
    """``budgets: [{spec: path/relative/to/this/file.yaml, params: 4.3M, macs: 600M}, ...]``."""
    base = Path(file).parent
    try:
        check_keys(as_mapping(data, ""), ("budgets",), "")
        entries = as_list(data["budgets"], "budgets")
        if not entries:
            raise SpecError("must list at least one budget", path="budgets")
        out: list[BudgetEntry] = []
        seen: dict[str, str] = {}
        for i, raw in enumerate(entries):
            path = f"budgets[{i}]"
            spec = as_mapping(raw, path).get("spec")
            if not isinstance(spec, str) or not spec:
                got = "missing required field" if spec is None else f"must be a path, got {spec!r}"
                raise SpecError(got, path=join(path, "spec"))
            resolved = os.path.normpath(base / spec)
            if resolved in seen:
                raise SpecError(f"{spec!r} already has a budget at {seen[resolved]}",
                                path=join(path, "spec"))
            seen[resolved] = path
            out.append(BudgetEntry(spec, resolved, parse_budget(raw, path, file, ENTRY_KEYS)))
        return tuple(out)
    except SpecError as err:
        raise locate(err.at(file, None), text) from None


# -- evaluation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """Every budgeted metric of one analysed model."""

    params: int
    macs: int
    activations: int
    share: Fraction
    largest: str  # the layer with the most MACs

    @property
    def flops(self) -> int:
        return 2 * self.macs

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
    return Measured(analysis.totals.params, macs, activations, share, largest.name)


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
