"""``convcost check``: every model against its budget and the baseline. Reads files, never prints.

Inputs are spec files, directories (their ``*.yaml`` / ``*.yml`` files) and budgets files
(a top-level ``budgets`` list). A spec named by a budgets file is checked against that
entry instead of its own ``budget:``; a spec given twice is checked once. Every input that
cannot be read, parsed or analysed is a :class:`Problem`: never a pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.check.baseline import (
    Baseline,
    BaselineDiff,
    baseline_lock,
    diff_baseline,
    load_baseline,
    merged,
    write_baseline,
)
from convcost.check.budget import (
    Budget,
    BudgetEntry,
    MetricCheck,
    evaluate,
    is_budgets_file,
    measure,
    parse_budgets_file,
    spec_budget,
)
from convcost.conventions.rules import PAPER, Convention
from convcost.cost.value import Cost
from convcost.errors import CheckFailed, ConvcostError, SpecError
from convcost.limits import quote
from convcost.net.analysis import analyze
from convcost.spec.loader import locate, read_yaml, spec_from

if TYPE_CHECKING:
    from convcost.runtime.guard import Notify
    from convcost.runtime.verify import Verification


@dataclass(frozen=True)
class Problem:
    """An input that could not be checked, located for annotations where possible."""

    message: str  # the whole one-line error, location included
    file: str | None = None
    line: int | None = None
    detail: str = ""  # the message without its file and line

    @classmethod
    def of(cls, err: ConvcostError) -> Problem:
        if isinstance(err, SpecError):
            field = f"{err.path}: " if err.path else ""
            return cls(str(err), err.file, err.line, f"{field}{err.message}")
        return cls(str(err), detail=str(err))


@dataclass(frozen=True)
class ModelCheck:
    name: str  # the model name, with any --alpha/--resolution override: the baseline key
    spec: str
    budget: Budget | None
    metrics: tuple[MetricCheck, ...]
    figures: Cost
    verification: Verification | None = None  # the torch/fvcore cross-check (--verify)
    convention: str = "paper"  # whose count the MACs/FLOPs budgets and the baseline apply to

    @property
    def over(self) -> tuple[MetricCheck, ...]:
        return tuple(m for m in self.metrics if m.over)

    @property
    def failed(self) -> bool:
        return bool(self.over) or (self.verification is not None and not self.verification.ok)


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


@dataclass(frozen=True)
class _Target:
    file: str
    entry: BudgetEntry | None = None  # the budgets-file entry naming this spec
    loaded: tuple[Any, str] | None = None  # (data, text) when already read


def _files(path: str) -> list[str]:
    """A directory's YAML files (sorted), or the path itself (or the built-in it names)."""
    folder = Path(path)
    try:
        is_dir = folder.is_dir()
    except (OSError, ValueError):  # a name too long: reading it reports the error
        is_dir = False
    if not is_dir:
        from convcost.spec.zoo import resolve

        return [str(resolve(path))]
    try:
        files = sorted(str(p) for p in folder.iterdir()
                       if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError as exc:
        raise ConvcostError(f"{path}: cannot read directory: {exc.strerror or exc}") from None
    if not files:
        raise ConvcostError(f"{path}: no .yaml or .yml files in this directory")
    return files


def _imported(path: str, targets: dict[str, _Target], problems: list[Problem],
              notify: Notify | None) -> bool:
    """A model source (``torchvision:resnet50``) is imported and checked as its spec; its
    import notes (BatchNorm folded by the exporter, ...) go to ``notify``."""
    from convcost.runtime.importer.load import is_source

    if not is_source(path):
        return False
    from convcost.runtime.importer.load import open_source, source_yaml  # torch inside functions

    try:
        targets[path] = _Target(path, None, source_yaml(path))
    except ConvcostError as err:
        problems.append(Problem.of(err))
        return True
    if notify is not None:
        for note in open_source(path).imported.graph.notes:
            notify(f"note: {note}")
    return True


def _targets(paths: Iterable[str], problems: list[Problem], notify: Notify | None = None) -> list[_Target]:
    targets: dict[str, _Target] = {}
    seen: set[str] = set()
    for path in paths:
        if _imported(path, targets, problems, notify):
            continue
        try:
            files = _files(path)
        except ConvcostError as err:
            problems.append(Problem.of(err))
            continue
        for file in files:
            if os.path.realpath(file) in seen:
                continue
            seen.add(os.path.realpath(file))
            try:
                data, text = read_yaml(file)
                if not is_budgets_file(data):
                    key = os.path.realpath(file)
                    old = targets.get(key)
                    targets[key] = _Target(file, old.entry if old else None, (data, text))
                    continue
                for entry in parse_budgets_file(data, text, file):
                    key = os.path.realpath(entry.file)
                    old = targets.get(key)
                    if old is not None and old.entry is not None:
                        clash = SpecError(f"{quote(entry.spec)} already has a budget in "
                                          f"{old.entry.budget.file}",
                                          path=f"{entry.budget.path}.spec", file=file)
                        raise locate(clash, text)
                    targets[key] = _Target(old.file if old else entry.file, entry,
                                           old.loaded if old else None)
            except ConvcostError as err:
                problems.append(Problem.of(err))
    return list(targets.values())


def _key(name: str, alpha: float | None, resolution: int | None, convention: str = "paper") -> str:
    overrides = [f"{flag}={value:g}" for flag, value in (("alpha", alpha), ("resolution", resolution))
                 if value is not None]
    overrides += [f"convention={convention}"] if convention != PAPER.name else []
    return f"{name}[{','.join(overrides)}]" if overrides else name


def _check(target: _Target, alpha: float | None, resolution: int | None, verify: bool,
           convention: Convention = PAPER, notify: Notify | None = None) -> ModelCheck:
    data, text = target.loaded or read_yaml(target.file)
    spec = spec_from(data, text, target.file)
    budget = target.entry.budget if target.entry else spec_budget(spec, text)
    analysis = analyze(spec, alpha=alpha, resolution=resolution)
    measured = measure(analysis, convention)
    verification = None
    if verify:
        from convcost.runtime.verify import verify as cross_check  # imports torch and fvcore

        verification = cross_check(analysis, notify)
    return ModelCheck(_key(spec.name, alpha, resolution, convention.name), target.file, budget,
                      evaluate(measured, budget), Cost(measured.params, measured.macs), verification,
                      convention.name)


def _baseline(models: Sequence[ModelCheck], file: str, tolerance: Fraction, update: bool
              ) -> BaselineDiff:
    names: dict[str, str] = {}
    for m in models:
        if m.name in names:
            raise ConvcostError(f"{m.spec}: model name {quote(m.name)} is also the name of "
                                f"{names[m.name]}; the baseline needs unique names")
        names[m.name] = m.spec
    current = {m.name: m.figures for m in models}
    if not update:
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
              notify: Notify | None = None) -> CheckResult:
    """Check every model of ``paths``; with ``update_baseline``, rewrite ``baseline`` unless
    some input could not be checked. MACs and FLOPs are ``convention``'s count (its MACs);
    under a convention other than paper the baseline key says so (``name[convention=thop]``)."""
    if update_baseline and baseline is None:
        raise ConvcostError("--update-baseline: needs --baseline FILE")
    if tolerance < 0:
        raise ConvcostError(f"--tolerance: must be ≥ 0 (a percentage), got {tolerance:g}")
    problems: list[Problem] = []
    models: list[ModelCheck] = []
    for target in _targets(paths, problems, notify):
        try:
            models.append(_check(target, alpha, resolution, verify, convention, notify))
        except ConvcostError as err:
            problems.append(Problem.of(err))
    comparison = None
    if baseline is not None:
        try:
            comparison = _baseline(models, baseline, Fraction(str(tolerance)),
                                   update_baseline and not problems)
        except ConvcostError as err:
            problems.append(Problem.of(err))
    return CheckResult(tuple(models), tuple(problems), comparison)
