"""Presentation of the ``layer`` command: the four variants of one convolution."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from convcost.net.compare import Comparison
from convcost.report.render import Column, Report, View, human, percent, shape, totals_only
from convcost.report.rows import BASE, KEYS, MEMORY, ROOFLINE, TRAINING, count_column, tidy_csv
from convcost.report.safe_text import Markup

if TYPE_CHECKING:  # conventions load only for --convention/--flops: `layer` starts faster
    from convcost.conventions.convention import Counting
    from convcost.report.extras_view import Extras


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


_KINDS = {"standard": ("conv", "conv"), "depthwise": ("dwconv", "conv"),
          "pointwise": ("pwconv", "conv"), "separable": ("separable", None)}


def variant_rows(cmp: Comparison, counts: Mapping[str, int] | None,
                 parts: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One tidy row per variant (the keys of a model's layer rows); ``parts``: flag keys."""
    rows = []
    for name, cost in cmp.rows().items():
        kind, op_class = _KINDS[name]
        c, h, w = cost.output_shape[1:]
        row: dict[str, Any] = dict.fromkeys(KEYS)
        row.update(name=name, kind=kind, op_class=op_class, out_c=c, out_h=h, out_w=w,
                   out_shape=[c, h, w], layout="NCHW", params=cost.params, macs=cost.macs,
                   flops=cost.flops, depth=0,
                   count=cost.macs if counts is None else counts[name])
        row.update(parts.get(name, {}))
        rows.append(row)
    return rows


def config_json(cmp: Comparison) -> dict[str, Any]:
    cfg = cmp.config
    return {"in_channels": cfg.in_channels, "out_channels": cfg.out_channels,
            "kernel": list(cfg.kernel), "input_shape": list(cfg.input_shape),
            "stride": list(cfg.stride), "dilation": list(cfg.dilation),
            "padding": cfg.padding if isinstance(cfg.padding, str) else list(cfg.padding),
            "bias": cfg.bias, "bn": cfg.bn}


def layer_json(cmp: Comparison, counting: Counting | None, counts: Mapping[str, int] | None,
               parts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ``layer`` JSON: config, convention, one row per variant and the ratios."""
    from convcost.conventions.rules import PAPER_MACS

    rows = variant_rows(cmp, counts, parts)
    used = counting or PAPER_MACS
    return {"config": config_json(cmp),
            "convention": {**used.describe(), "total": None},
            "variants": rows,
            "ratio": {"macs": float(cmp.macs_ratio), "params": float(cmp.params_ratio),
                      "theory": float(cmp.theory)}}


def layer_csv(cmp: Comparison, counting: Counting | None, counts: Mapping[str, int] | None,
              parts: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per variant: the base columns, then the flags' columns."""
    columns = list(BASE)
    names: dict[str, str] = {}
    if counting is not None and counts is not None:
        names[count_column(counting)] = "count"
        columns.append(count_column(counting))
    flagged = set().union(*(p.keys() for p in parts.values())) if parts else set()
    columns += [key for key in (*MEMORY, *ROOFLINE, *TRAINING) if key in flagged]
    return tidy_csv(variant_rows(cmp, counts, parts), columns, names)


def layer_output(cmp: Comparison, counting: Counting | None, counts: Mapping[str, int] | None,
                 extra: Extras, summary: bool = False) -> View:
    """What ``convcost layer`` prints; ``extra``: the reports and keys of the flags' figures."""
    reports = [layer_report(cmp, counting, counts), *extra.reports]
    return View("layer", lambda: totals_only(reports) if summary else reports,
                lambda: {**layer_json(cmp, counting, counts, extra.variants), **extra.json()},
                csv=lambda: layer_csv(cmp, counting, counts, extra.variants))
