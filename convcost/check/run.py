"""``convcost check``: every model against its budget and the baseline. Reads files, never prints.

Inputs are model arguments (spec files, built-in names, imported models, ``git:REV:path``),
directories (their ``*.yaml`` / ``*.yml`` files) and budgets files (a top-level ``budgets``
list): :mod:`convcost.check.targets`. A model named by a budgets file is checked against
that entry instead of its own ``budget:``; a model given twice is checked once. Every input
that cannot be read, parsed or analysed is a :class:`Problem`: never a pass. The baseline
keeps every model's layers: a regression names the layers that grew (:mod:`convcost.net.diff`).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from convcost.check.baseline import (
    Baseline,
    BaselineDiff,
    Entry,
    baseline_lock,
    diff_baseline,
    load_baseline,
    merged,
    stored,
    write_baseline,
)
from convcost.check.budget import MetricCheck, evaluate, measure, spec_budget
from convcost.check.targets import Problem as Problem
from convcost.check.targets import Target, collect, open_target
from convcost.conventions.convention import Convention
from convcost.conventions.rules import PAPER
from convcost.cost.value import Cost
from convcost.errors import CheckFailed, ConvcostError
from convcost.limits import quote
from convcost.net.analysis import Uncounted, analyze
from convcost.net.diff import LayerFigures, profile
from convcost.spec.budget import Budget

if TYPE_CHECKING:
    from convcost.runtime.guard import Notify
    from convcost.runtime.verify import Verification


@dataclass(frozen=True)
class ModelCheck:
    name: str  # the model name, with any --alpha/--resolution override: the baseline key
    spec: str
    budget: Budget | None
    metrics: tuple[MetricCheck, ...]
    figures: Cost
    verification: Verification | None = None  # the torch/fvcore cross-check (--verify)
    convention: str = "paper"  # whose count the MACs/FLOPs budgets and the baseline apply to
    layers: tuple[LayerFigures, ...] = ()  # the layers the baseline keeps (params or MACs)
    uncounted: Uncounted = field(default_factory=Uncounted)  # opaque layers: lower bounds

    @property
    def over(self) -> tuple[MetricCheck, ...]:
        return tuple(m for m in self.metrics if m.over)

    @property
    def incomplete(self) -> bool:
        """Figures are lower bounds and the budget does not allow it (``allow_incomplete``)."""
        return bool(self.uncounted) and not (self.budget is not None and self.budget.allow_incomplete)

    @property
    def failed(self) -> bool:
        return (bool(self.over) or self.incomplete
                or (self.verification is not None and not self.verification.ok))


@dataclass(frozen=True)
class CheckResult:
    models: tuple[ModelCheck, ...]
    problems: tuple[Problem, ...] = ()
    baseline: BaselineDiff | None = None

    @property
    def status(self) -> str:
        """``error`` (exit 2), ``fail`` (exit 1) or ``pass``."""
        if self.problems:
            return "error"
        failed = any(m.failed for m in self.models) or (self.baseline is not None
                                                          and self.baseline.failed)
        return "fail" if failed else "pass"

    def summary(self) -> str:
        over = sum(1 for m in self.models if m.over)
        parts = [f"{len(self.models)} model{'s' * (len(self.models) != 1)}, {over} over budget"]
        unbudgeted = sum(1 for m in self.models if m.budget is None)
        if unbudgeted:
            parts.append(f"{unbudgeted} without a budget")
        incomplete = sum(1 for m in self.models if m.incomplete)
        if incomplete:
            parts.append(f"{incomplete} incomplete (opaque layers, MACs not counted; a budget "
                         "may allow it with allow_incomplete: true)")
        mismatched = sum(1 for m in self.models if m.verification and not m.verification.ok)
        if mismatched:
            parts.append(f"{mismatched} failed the cross-check")
        if self.baseline is not None:
            grew = len({d.model for d in self.baseline.grew})
            parts.append(f"{grew} grew beyond the baseline")
            if self.baseline.new:
                verb = "added to" if self.baseline.updated else "not in"
                parts.append(f"{len(self.baseline.new)} {verb} the baseline")
        if self.problems:
            parts.append(f"{len(self.problems)} could not be checked")
        return ", ".join(parts)

    def raise_for_status(self) -> None:
        """Bad input -> ConvcostError (exit 2); over budget or regressed -> CheckFailed (exit 1)."""
        if self.problems:
            more = len(self.problems) - 1
            raise ConvcostError(self.problems[0].message + (f" (and {more} more)" if more else ""))
        if self.status == "fail":
            raise CheckFailed(f"check failed: {self.summary()}")


def _key(name: str, alpha: float | None, resolution: int | None, convention: str = "paper",
         input_shape: tuple[int, ...] | None = None) -> str:
    overrides = [f"{flag}={value:g}" for flag, value in (("alpha", alpha), ("resolution", resolution))
                 if value is not None]
    overrides += [f"input={'x'.join(map(str, input_shape))}"] if input_shape else []
    overrides += [f"convention={convention}"] if convention != PAPER.name else []
    return f"{name}[{','.join(overrides)}]" if overrides else name


def _check(target: Target, alpha: float | None, resolution: int | None, verify: bool,
           convention: Convention = PAPER, notify: Notify | None = None, strict: bool = False
           ) -> ModelCheck:
    opened = open_target(target, notify)
    spec = opened.spec()
    budget = target.entry.budget if target.entry else spec_budget(spec, opened.text)
    analysis = analyze(spec, alpha=alpha, resolution=resolution)
    if analysis.uncounted and notify is not None:
        notify(analysis.uncounted.message(analysis.model))
    if analysis.uncounted and strict:
        raise ConvcostError(analysis.uncounted.refusal(analysis.model))
    measured = measure(analysis, convention)
    verification = None
    if verify:
        from convcost.runtime.verify import verify as cross_check  # imports torch and fvcore

        verification = cross_check(analysis, notify)
    counted = None if convention is PAPER else convention.macs  # paper: node.macs, no rules
    layers = profile(analysis.root, model=spec.name, memory=False, macs=counted).layers
    return ModelCheck(_key(spec.name, alpha, resolution, convention.name, target.input_shape),
                      target.file, budget, evaluate(measured, budget),
                      Cost(measured.params, measured.macs), verification, convention.name,
                      stored(layers), analysis.uncounted)


def _missing(file: str, paths: Sequence[str]) -> ConvcostError:
    args = " ".join(shlex.quote(p) for p in paths)
    return ConvcostError(f"--baseline: {file} does not exist yet; create it with: convcost check "
                         f"{args} --baseline {shlex.quote(file)} --update-baseline")


def _baseline(models: Sequence[ModelCheck], file: str, tolerance: Fraction, update: bool,
              paths: Sequence[str] = ()) -> BaselineDiff:
    names: dict[str, str] = {}
    for m in models:
        if m.name in names:
            raise ConvcostError(f"{m.spec}: model name {quote(m.name)} is also the name of "
                                f"{names[m.name]}; the baseline needs unique names")
        names[m.name] = m.spec
    current = {m.name: Entry(params=m.figures.params, macs=m.figures.macs, layers=m.layers)
               for m in models}
    if not update:
        if not os.path.lexists(file):
            raise _missing(file, paths)
        return diff_baseline(current, load_baseline(file), file, tolerance)
    old: Baseline | None = None
    with baseline_lock(file) as target:  # re-read under the lock: a concurrent run's models stay
        if os.path.exists(target):
            old = load_baseline(target)
        write_baseline(target, merged(old, current))
    return diff_baseline(current, old, target, tolerance, updated=True)


def run_check(paths: Sequence[str], *, alpha: float | None = None, resolution: int | None = None,
              baseline: str | None = None, tolerance: float = 0.0, update_baseline: bool = False,
              verify: bool = False, convention: Convention = PAPER,
              notify: Notify | None = None, strict: bool = False) -> CheckResult:
    """Check every model of ``paths``; with ``update_baseline``, rewrite ``baseline`` unless
    some input could not be checked. MACs and FLOPs are ``convention``'s count (its MACs);
    under a convention other than paper the baseline key says so (``name[convention=thop]``)."""
    if update_baseline and baseline is None:
        raise ConvcostError("--update-baseline: needs --baseline FILE")
    if tolerance < 0:
        raise ConvcostError(f"--tolerance: must be ≥ 0 (a percentage), got {tolerance:g}")
    problems: list[Problem] = []
    models: list[ModelCheck] = []
    for target in collect(paths, problems, notify):
        try:
            models.append(_check(target, alpha, resolution, verify, convention, notify, strict))
        except ConvcostError as err:
            problems.append(Problem.of(err))
    comparison = None
    if baseline is not None:
        try:
            comparison = _baseline(models, baseline, Fraction(str(tolerance)),
                                   update_baseline and not problems, paths)
        except ConvcostError as err:
            problems.append(Problem.of(err))
    return CheckResult(tuple(models), tuple(problems), comparison)
