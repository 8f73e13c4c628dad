"""The figures that options add to ``model``, ``layer`` and ``sweep``: ``--memory``, the
roofline, ``--training`` and ``--latency-model``.

The glue from options to compute, reports and JSON keys, so the commands each gain a few lines
only (their typer option types are in :mod:`convcost.cli.options`). Compute modules are
imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.report.rows import Figures, training_part

if TYPE_CHECKING:
    from pathlib import Path

    from convcost.cost.roofline import Roofline
    from convcost.net.analysis import Analysis
    from convcost.net.compare import LayerConfig
    from convcost.net.latency import Prediction
    from convcost.report.render import Report

@dataclass(frozen=True)
class CostOptions:
    memory: bool = False
    dtype: str = "float32"
    fuse_bn: bool = False
    roofline: str | None = None  # a roofline preset
    device: str | None = None  # its deprecated spelling
    peak_gflops: float | None = None
    bandwidth_gbs: float | None = None
    training: bool = False

    @property
    def wants_memory(self) -> bool:
        return (self.memory or self.fuse_bn or self.dtype != "float32" or self.preset is not None
                or self.peak_gflops is not None or self.bandwidth_gbs is not None)

    @property
    def any(self) -> bool:
        return self.wants_memory or self.training

    @property
    def preset(self) -> str | None:
        return self.roofline or self.device

    def estimate(self) -> Roofline | None:
        """The roofline these options ask for (None: no estimate)."""
        from convcost.cost.memory import element_bytes
        from convcost.cost.roofline import resolve

        element_bytes(self.dtype)  # validate --dtype first
        if self.device is not None:
            from convcost.cli.terminal import say

            say(f"warning: --device {self.device} is deprecated: write --roofline {self.device} "
                "(--device is the torch device of bench and profile)")
        return resolve(self.preset, self.peak_gflops, self.bandwidth_gbs, self.dtype)


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


def model_extras(analysis: Analysis, opts: CostOptions, depth: int | None,
                 machine: bool) -> Extras:
    if not opts.any:
        return Extras()
    reports: list[Report] = []
    keys: dict[str, Callable[[], Any]] = {"memory": lambda: None, "training": lambda: None}
    mem = est = result = None
    totals: list[Report] = []
    if opts.wants_memory:
        from convcost.cost.memory import model_memory
        from convcost.cost.roofline import model_estimate
        from convcost.report.memory_view import memory_reports, summary_json

        roof = opts.estimate()
        mem = model_memory(analysis.root, opts.dtype, opts.fuse_bn)
        est = model_estimate(mem, roof) if roof else None
        shown = memory_reports(analysis, mem, est, depth, machine)
        reports += shown
        totals.append(shown[1])
        keys["memory"] = lambda: summary_json(mem, est)
    if opts.training:
        from convcost.cost.training import training
        from convcost.report.training_view import training_json, training_reports

        result = training(analysis.root)
        shown = training_reports(analysis, result, depth, machine)
        reports += shown
        totals.append(shown[1])
        keys["training"] = lambda: training_json(result)
    return Extras(reports, totals, Figures(None, mem, est, result),
                  lambda: {key: make() for key, make in keys.items()})


def layer_extras(config: LayerConfig, opts: CostOptions) -> Extras:
    if not opts.any:
        return Extras()
    from convcost.net.layer_nodes import variant_nodes

    nodes = variant_nodes(config)
    reports: list[Report] = []
    keys: dict[str, Callable[[], Any]] = {"memory": lambda: None, "training": lambda: None}
    parts: dict[str, dict[str, Any]] = {name: {} for name in nodes}
    if opts.wants_memory:
        from convcost.cost.memory import model_memory
        from convcost.cost.roofline import model_estimate
        from convcost.report.memory_view import (
            layer_memory_json,
            layer_memory_report,
            variant_memory_parts,
        )

        roof = opts.estimate()
        mems = {name: model_memory(node, opts.dtype, opts.fuse_bn) for name, node in nodes.items()}
        ests = {name: model_estimate(m, roof) for name, m in mems.items()} if roof else None
        reports.append(layer_memory_report(nodes, mems, ests))
        keys["memory"] = lambda: layer_memory_json(mems, ests)
        for name, part in variant_memory_parts(nodes, mems, ests).items():
            parts[name].update(part)
    if opts.training:
        from convcost.cost.training import training
        from convcost.report.training_view import layer_training_report, training_json

        results = {name: training(node, input_needs_grad=True) for name, node in nodes.items()}
        reports.append(layer_training_report(results))
        keys["training"] = lambda: {name: training_json(r) for name, r in results.items()}
        for name, r in results.items():
            parts[name].update(training_part(r.forward_macs, r.grad_input_macs,
                                             r.grad_weight_macs))
    return Extras(reports, json=lambda: {key: make() for key, make in keys.items()},
                  variants=parts)


def latency_prediction(path: Path | None, analysis: Analysis) -> Prediction | None:
    """The predicted latency of ``analysis`` under ``--latency-model``, or None."""
    from convcost.cli.parsing import latency_option

    model = latency_option(path)
    if model is None:
        return None
    from convcost.net.latency import predict

    return predict(model, analysis.root)
