"""The views of the figures options add (``--memory``, the roofline, ``--training``) to
``model`` and ``layer``: reports, the per-layer row figures, the model-level JSON keys. The
figures themselves are computed before (:mod:`convcost.net.figures`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.report.render import Report
from convcost.report.rows import Figures, training_part

if TYPE_CHECKING:
    from convcost.net.analysis import Analysis
    from convcost.net.figures import LayerFigures, ModelFigures


@dataclass(frozen=True)
class Extras:
    """Reports to print, the figures behind the per-layer rows, and the model-level JSON keys.

    ``json`` gives ``memory`` and ``training`` always (``None`` when not asked for);
    ``variants`` (layer command) maps a variant to its memory/roofline/training row keys.
    """

    reports: list[Report] = field(default_factory=list)
    totals: list[Report] = field(default_factory=list)  # what --summary keeps of the reports
    figures: Figures = field(default_factory=Figures)
    json: Callable[[], dict[str, Any]] = lambda: {"memory": None, "training": None}
    variants: Mapping[str, dict[str, Any]] = field(default_factory=dict)


def model_extras(analysis: Analysis, figs: ModelFigures, depth: int | None, machine: bool) -> Extras:
    """The reports of ``figs`` (the machine form under ``machine``), and their JSON keys."""
    mem, est, result = figs.memory, figs.estimate, figs.training
    if mem is None and result is None:
        return Extras()
    reports: list[Report] = []
    totals: list[Report] = []
    keys: dict[str, Callable[[], Any]] = {"memory": lambda: None, "training": lambda: None}
    if mem is not None:
        from convcost.report.memory_view import memory_reports, summary_json

        shown = memory_reports(analysis, mem, est, depth, machine)
        reports += shown
        totals.append(shown[1])
        keys["memory"] = lambda: summary_json(mem, est)
    if result is not None:
        from convcost.report.training_view import training_json, training_reports

        shown = training_reports(analysis, result, depth, machine)
        reports += shown
        totals.append(shown[1])
        keys["training"] = lambda: training_json(result)
    return Extras(reports, totals, Figures(None, mem, est, result),
                  lambda: {key: make() for key, make in keys.items()})


def layer_extras(figs: LayerFigures) -> Extras:
    """The reports and row keys of each variant's figures (``layer``)."""
    if figs.memory is None and figs.training is None:
        return Extras()
    reports: list[Report] = []
    keys: dict[str, Callable[[], Any]] = {"memory": lambda: None, "training": lambda: None}
    parts: dict[str, dict[str, Any]] = {name: {} for name in figs.nodes}
    mems, ests, results = figs.memory, figs.estimates, figs.training
    if mems is not None:
        from convcost.report.memory_view import (
            layer_memory_json,
            layer_memory_report,
            variant_memory_parts,
        )

        reports.append(layer_memory_report(figs.nodes, mems, ests))
        keys["memory"] = lambda: layer_memory_json(mems, ests)
        for name, part in variant_memory_parts(figs.nodes, mems, ests).items():
            parts[name].update(part)
    if results is not None:
        from convcost.report.training_view import layer_training_report, training_json

        reports.append(layer_training_report(results))
        keys["training"] = lambda: {name: training_json(r) for name, r in results.items()}
        for name, r in results.items():
            parts[name].update(training_part(r.forward_macs, r.grad_input_macs,
                                             r.grad_weight_macs))
    return Extras(reports, json=lambda: {key: make() for key, make in keys.items()},
                  variants=parts)
