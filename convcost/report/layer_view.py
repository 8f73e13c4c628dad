"""Presentation of the ``layer`` command: the four variants of one convolution."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from convcost.cost.value import LayerCost
from convcost.net.compare import Comparison
from convcost.report.render import Column, Report, human, percent, shape
from convcost.report.safe_text import Markup

if TYPE_CHECKING:  # conventions load only for --convention/--flops: `layer` starts faster
    from convcost.conventions.rules import Counting


def _ratio(value: Fraction) -> str:
    return f"{float(value):.6f}"


def _counted_columns(cmp: Comparison, counting: Counting | None,
                     counts: Mapping[str, int] | None) -> list[Column]:
    """Paper MACs and FLOPs, or the ``--convention``/``--flops`` count of each variant."""
    if counting is None or counts is None:
        std = cmp.standard.macs
        return [Column("MACs", lambda r: r[1].macs, human),
                Column("FLOPs", lambda r: r[1].flops, human),
                Column("MACs vs standard", lambda r: Fraction(r[1].macs, std), percent)]
    return [Column(counting.label, lambda r: counts[r[0]], human),
            Column(f"{counting.unit} vs standard",
                   lambda r: Fraction(counts[r[0]], counts["standard"] or 1), percent)]


def layer_report(cmp: Comparison, counting: Counting | None = None,
                 counts: Mapping[str, int] | None = None) -> Report:
    """The four variants; ``counts`` (variant -> count) under a non-paper ``counting``."""
    cfg = cmp.config
    kh, kw = cfg.kernel
    title = (f"conv {cfg.in_channels}→{cfg.out_channels}, k {shape(cfg.kernel)}, "
             f"input {shape(cfg.input_shape)}, stride {shape(cfg.stride)}, "
             f"{'bias' if cfg.bias else 'no bias'}{', BN' if cfg.bn else ''}")
    columns = [
        Column("variant", lambda r: r[0], justify="left"),
        Column("output C×H×W", lambda r: r[1].output_shape[1:], shape),
        Column("params", lambda r: r[1].params, human),
        *_counted_columns(cmp, counting, counts),
    ]
    rows = list(cmp.rows().items())
    n, k2 = cfg.out_channels, kh * kw
    reduction = 1 / cmp.macs_ratio
    notes = []
    if counting is not None and counts is not None:
        conv = counting.convention
        notes.append(f"{counting.label}: {conv.doc} ({conv.tool or conv.source}); the ratios "
                     "below are paper MACs")
    notes += [  # numbers only: markup is safe here
        Markup("separable = depthwise + pointwise. separable / standard: "
               f"MACs [bold]{_ratio(cmp.macs_ratio)}[/], "
               f"params [bold]{_ratio(cmp.params_ratio)}[/]"),
        Markup(f"theory 1/N + 1/K² = 1/{n} + 1/{k2} = [bold]{_ratio(cmp.theory)}[/]"
               + ("  (exact match)" if cmp.macs_ratio == cmp.theory else "  (bias/BN/shape effects)")),
        Markup(f"reduction: [bold]{float(reduction):.2f}×[/] fewer MACs, "
               f"[bold]{float(1 - cmp.macs_ratio) * 100:.1f} % fewer[/]; params "
               f"{float(1 / cmp.params_ratio):.2f}×, {float(1 - cmp.params_ratio) * 100:.1f} % fewer"),
    ]
    return Report(title, columns, rows, notes, styles=("", "dim", "dim", "bold green"))


def _cost_json(cost: LayerCost) -> dict[str, Any]:
    return {"params": cost.params, "macs": cost.macs, "flops": cost.flops,
            "output_shape": list(cost.output_shape)}


def layer_json(cmp: Comparison, counting: Counting | None = None,
               counts: Mapping[str, int] | None = None) -> dict[str, Any]:
    cfg = cmp.config
    data: dict[str, Any] = {name: _cost_json(cost) for name, cost in cmp.rows().items()}
    if counting is not None and counts is not None:
        data["convention"] = {**counting.describe(), "counts": dict(counts)}
    data["ratio"] = {"macs": float(cmp.macs_ratio), "params": float(cmp.params_ratio),
                     "theory": float(cmp.theory)}
    data["config"] = {"in_channels": cfg.in_channels, "out_channels": cfg.out_channels,
                      "kernel": list(cfg.kernel), "input_shape": list(cfg.input_shape),
                      "stride": list(cfg.stride), "dilation": list(cfg.dilation),
                      "padding": cfg.padding if isinstance(cfg.padding, str) else list(cfg.padding),
                      "bias": cfg.bias, "bn": cfg.bn}
    return data
