"""Presentation of ``convcost check``: a table per model, the baseline deltas and CI outputs.

On GitHub Actions (``GITHUB_ACTIONS=true``) :func:`publish_github` writes one workflow-command
annotation per failure to stderr (the runner reads both streams; stdout stays clean for
``--format json``) and appends the markdown report to ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any, TextIO

from convcost.check.baseline import BASELINE_METRICS, BaselineDiff, Delta
from convcost.check.budget import MetricCheck
from convcost.check.run import CheckResult, ModelCheck, Problem
from convcost.errors import SpecError
from convcost.net.diff import LayerChange
from convcost.report.render import Column, Report, View, human, percent, signed
from convcost.report.safe_text import clean
from convcost.spec.budget import BUDGET_METRICS
from convcost.spec.yamlpos import line_of
from convcost.spec.yamlsafe import read_text

_NONE = "—"


def _figure(value: int | Fraction | str) -> str:
    if isinstance(value, str):
        return value
    return percent(value) if isinstance(value, Fraction) else human(value)


def _exact(value: int | Fraction) -> str:
    """Exact figures for messages: an off-by-one over a limit must show."""
    return percent(value, digits=4) if isinstance(value, Fraction) else str(value)


def _signed(value: int | str) -> str:
    return value if isinstance(value, str) else signed(value)


def _signed_percent(part: int | None, whole: int | None) -> str:
    if part is None or not whole:
        return _NONE
    return ("+" if part > 0 else "") + percent(part, whole)


def _headroom(check: MetricCheck) -> str:
    return _NONE if check.headroom is None else percent(check.headroom)


def _status(check: MetricCheck) -> str:
    if check.limit is None:
        return "no budget"
    return "OVER" if check.over else "ok"


def model_report(model: ModelCheck) -> Report:
    columns = [
        Column("metric", lambda c: c.label, justify="left"),
        Column("value", lambda c: c.value, _figure),
        Column("limit", lambda c: _NONE if c.limit is None else c.limit, _figure),
        Column("headroom (% of limit)", _headroom),
        Column("status", _status, justify="left"),
    ]
    notes = []
    if model.convention != "paper":
        notes.append(f"MACs and FLOPs as the {model.convention} convention counts them "
                     "(docs/conventions.md)")
    if model.budget is None:
        notes.append("no budget: add a `budget:` mapping to the spec, or list it in a budgets file")
    elif model.budget.file != model.spec:
        notes.append(f"budget from {model.budget.file} ({model.budget.path})")
    if model.uncounted:
        allowed = "allowed by its budget: allow_incomplete" if not model.incomplete else "FAILS"
        notes.append(f"INCOMPLETE ({allowed}): figures are lower bounds: MACs of "
                     f"{model.uncounted.listed()} are not counted")
    if model.verification is not None:
        from convcost.report.verify_view import summary

        notes.append(f"cross-check ({model.verification.tools}): {summary(model.verification)}")
    styles = tuple("bold red" if c.over else "" for c in model.metrics)
    return Report(f"{model.name} · {model.spec}", columns, model.metrics, notes, styles)


def _delta_status(delta: Delta, updated: bool) -> str:
    if delta.base is None:
        return "added" if updated else "not in baseline"
    if delta.grew:
        return "GREW"
    return "shrank" if delta.value < delta.base else "ok"


def baseline_report(cmp: BaselineDiff) -> Report:
    columns = [
        Column("model", lambda d: d.model, justify="left"),
        Column("metric", lambda d: BUDGET_METRICS[d.metric], justify="left"),
        Column("baseline", lambda d: _NONE if d.base is None else d.base, _figure),
        Column("current", lambda d: d.value, _figure),
        Column("Δ", lambda d: _NONE if d.change is None else d.change, _signed),
        Column("Δ %", lambda d: _signed_percent(d.change, d.base)),
        Column("status", lambda d: _delta_status(d, cmp.updated), justify="left"),
    ]
    notes = []
    if cmp.new and not cmp.updated:
        notes.append(f"not in the baseline: {', '.join(cmp.new)}; add with --update-baseline")
    if cmp.stale:
        notes.append(f"in the baseline but not checked in this run: {', '.join(cmp.stale)}")
    if cmp.updated:
        notes.append(f"baseline written: {cmp.file}")
    for d in cmp.grew:
        if d.layers:
            notes.append(f"{d.model}: {BUDGET_METRICS[d.metric]} grew in {grown_text(d)}")
    totals_only = sorted({d.model for d in cmp.deltas if d.base is not None}
                         - set(cmp.layers or {}))
    if totals_only and not cmp.updated:
        notes.append(f"no per-layer figures in the baseline for {', '.join(totals_only)}: "
                     "--update-baseline records them")
    styles = tuple("bold red" if d.grew or (d.base is None and not cmp.updated) else ""
                   for d in cmp.deltas)
    title = f"baseline {cmp.file}, tolerance {float(cmp.tolerance):g} %"
    return Report(title, columns, cmp.deltas, notes, styles)


def grown_text(delta: Delta, shown: int = 3) -> str:
    """``stage4.1.expand.conv (+6.02 M), … and 33 more``: the layers where a figure grew."""
    rows = sorted(delta.layers, key=lambda r: -(r.figure(delta.metric).change or 0))
    parts = [f"{r.name} ({signed(int(r.figure(delta.metric).change or 0))})" for r in rows[:shown]]
    more = len(rows) - shown
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def layer_reports(cmp: BaselineDiff) -> list[Report]:
    """Each changed model's layers against the baseline, as ``convcost diff`` lists them."""
    from convcost.report.diff_view import DiffView, layers_report

    limits = dict.fromkeys(BASELINE_METRICS, cmp.tolerance)
    return [replace(layers_report(DiffView(d, limits)),
                    title=f"{name}: layers against the baseline {cmp.file}")
            for name, d in cmp.changed.items()]


def problems_report(problems: tuple[Problem, ...]) -> Report:
    return Report("could not check (never a pass)",
                  [Column("error", lambda p: p.message, justify="left")], problems,
                  styles=("bold red",) * len(problems))


def check_reports(result: CheckResult) -> list[Report]:
    reports = [model_report(m) for m in result.models]
    if result.baseline is not None:
        reports.append(baseline_report(result.baseline))
        reports += layer_reports(result.baseline)
    if result.problems:
        reports.append(problems_report(result.problems))
    return reports


def _metric_json(check: MetricCheck) -> dict[str, Any]:
    def exact(value: int | Fraction | None) -> int | float | None:
        return float(value) if isinstance(value, Fraction) else value

    return {"metric": check.metric, "value": exact(check.value), "limit": exact(check.limit),
            "headroom": exact(check.headroom), "over": check.over, "layer": check.layer or None}


def _grown_json(row: LayerChange, metric: str) -> dict[str, Any]:
    change = row.figure(metric)
    return {"name": row.name, "old_name": row.old_name, "status": row.status,
            "baseline": change.before, "current": change.after, "change": change.change}


def _baseline_json(cmp: BaselineDiff) -> dict[str, Any]:
    deltas = [{"model": d.model, "metric": d.metric, "baseline": d.base, "current": d.value,
               "change": d.change, "grew": d.grew,
               "layers": [_grown_json(r, d.metric) for r in d.layers]} for d in cmp.deltas]
    return {"file": cmp.file, "tolerance_percent": float(cmp.tolerance), "updated": cmp.updated,
            "failed": cmp.failed, "new": list(cmp.new), "stale": list(cmp.stale), "deltas": deltas}


def _verify_json(model: ModelCheck) -> dict[str, Any] | None:
    if model.verification is None:
        return None
    from convcost.report.verify_view import verify_json

    return verify_json(model.verification)


def _regressed(result: CheckResult) -> set[str]:
    """The models that fail against the baseline (grew, or are missing from it)."""
    return set() if result.baseline is None else result.baseline.failed_models()


def check_json(result: CheckResult) -> dict[str, Any]:
    regressed = _regressed(result)
    models = [{"name": m.name, "spec": m.spec, "convention": m.convention,
               "budget_file": None if m.budget is None else m.budget.file,
               "failed": m.failed or m.name in regressed,
               "metrics": [_metric_json(c) for c in m.metrics],
               "verify": _verify_json(m), "complete": not m.uncounted,
               "opaque_layers": m.uncounted.layers, "uncounted": dict(m.uncounted.ops),
               "allow_incomplete": m.budget is not None and m.budget.allow_incomplete}
              for m in result.models]
    return {"status": result.status, "summary": result.summary(), "models": models,
            "baseline": None if result.baseline is None else _baseline_json(result.baseline),
            "errors": [{"message": p.message, "file": p.file, "line": p.line}
                       for p in result.problems]}


def _headline(result: CheckResult) -> str:
    return f"convcost check: {result.status.upper()} ({result.summary()})"


def check_markdown(result: CheckResult) -> str:
    body = "\n".join(r.markdown() for r in check_reports(result))
    return f"## {_headline(result)}\n\n{body}"


CSV_COLUMNS = ("model", "spec", "convention", "metric", "value", "limit", "headroom", "over",
               "layer", "baseline", "baseline_change", "grew", "failed", "complete")


def check_csv(result: CheckResult) -> str:
    """One row per model and metric: its budget (``over``) and its baseline (``grew``);
    ``failed``: the model fails the check (budget, baseline or cross-check)."""
    from convcost.report.rows import tidy_csv

    deltas = {} if result.baseline is None else {(d.model, d.metric): d
                                                 for d in result.baseline.deltas}
    rows = []
    for m in check_json(result)["models"]:
        for metric in m["metrics"]:
            d = deltas.get((m["name"], metric["metric"]))
            rows.append({"model": m["name"], "spec": m["spec"], "convention": m["convention"],
                         **metric, "baseline": None if d is None else d.base,
                         "baseline_change": None if d is None else d.change,
                         "grew": None if d is None else d.grew, "failed": m["failed"],
                         "complete": m["complete"]})
    return tidy_csv(rows, CSV_COLUMNS)


def check_view(result: CheckResult, summary: bool = False) -> View:
    """What ``convcost check`` prints; ``summary``: the headline only (table, markdown)."""
    headline = _headline(result)
    return View("check", (lambda: []) if summary else (lambda: check_reports(result)),
                lambda: check_json(result), csv=lambda: check_csv(result),
                markdown=(lambda: f"## {headline}\n") if summary else (lambda: check_markdown(result)),
                after=(headline,))


# -- GitHub Actions ----------------------------------------------------------------------


def _escape(text: str, prop: bool = False) -> str:
    """Workflow-command escaping: a message can never end the command or start another."""
    text = clean(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _command(message: str, file: str | None = None, line: int | None = None) -> str:
    props = [f"file={_escape(file, True)}"] if file else []
    props += [f"line={line}"] if file and line else []
    props.append("title=convcost check")
    return f"::error {','.join(props)}::{_escape(message)}"


def _line(file: str, path: str) -> int | None:
    try:
        return line_of(read_text(file), path)
    except SpecError:
        return None


def github_annotations(result: CheckResult) -> list[str]:
    """One ``::error`` workflow command per failure, at the budget line that is exceeded."""
    out = [_command(p.detail, p.file, p.line) for p in result.problems]
    for model in result.models:
        for check in model.over:
            file = model.budget.file if model.budget and model.budget.file else model.spec
            out.append(_command(f"{model.name}: {check.label} {_exact(check.value)} is over its "
                                f"limit {_exact(check.limit or 0)} ({check.path}) by "
                                f"{_exact(-(check.headroom or 0))}", file, _line(file, check.path)))
        if model.verification is not None and not model.verification.ok:
            from convcost.report.verify_view import summary

            out.append(_command(f"cross-check failed: {summary(model.verification)}", model.spec))
    cmp = result.baseline
    if cmp is not None and not cmp.updated:
        specs = {m.name: m.spec for m in result.models}
        for d in cmp.grew:
            where = f"; in {grown_text(d)}" if d.layers else ""
            out.append(_command(f"{d.model}: {BUDGET_METRICS[d.metric]} grew from {d.base} to {d.value} "
                                f"({_signed_percent(d.change, d.base)}, tolerance "
                                f"{float(cmp.tolerance):g} %) against {cmp.file}{where}",
                                specs[d.model]))
        for name in cmp.new:
            out.append(_command(f"{name} is not in the baseline; run convcost check "
                                f"--baseline {cmp.file} --update-baseline", specs[name]))
    return out


def publish_github(result: CheckResult, environ: Mapping[str, str], stderr: TextIO | None = None
                   ) -> None:
    """On GitHub Actions: annotations to stderr, the markdown report to the step summary.

    An unwritable step summary is a warning on stderr: it never turns a pass into a failure.
    """
    if environ.get("GITHUB_ACTIONS") != "true":
        return
    out = stderr or sys.stderr
    for line in github_annotations(result):
        out.write(line + "\n")
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(check_markdown(result) + "\n")
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            out.write(f"convcost: warning: cannot write GITHUB_STEP_SUMMARY "
                      f"{clean(summary)}: {clean(reason)}\n")
