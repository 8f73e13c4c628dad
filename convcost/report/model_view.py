"""Presentation of the ``model`` command: per-layer table, totals and the summaries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from convcost.conventions.convention import Counting
from convcost.conventions.rules import PAPER_MACS
from convcost.cost.graph import Node
from convcost.net.analysis import (
    Analysis,
    SeparablePair,
    by_layer_class,
    separable_pairs,
    standard_equivalent,
)
from convcost.report.extras_view import model_extras
from convcost.report.model_inputs import heading, inputs_json, output_column, row_layouts
from convcost.report.render import Column, Report, View, human, percent
from convcost.report.rows import (
    AXIS_NAMES,
    Figures,
    count_column,
    rf_flat,
    rf_json,
    rf_number,
    tidy_csv,
    tree_rows,
)
from convcost.report.safe_text import Markup

if TYPE_CHECKING:  # the receptive field, cross-check and latency load only when asked for
    from convcost.cost.receptive import ModelRF, ReceptiveField
    from convcost.net.figures import ModelFigures
    from convcost.net.latency import Prediction
    from convcost.runtime.verify import Verification


def _fields(analysis: Analysis) -> ModelRF | None:
    """The receptive fields, or None when the input has no spatial axes (tokens, features), or
    the model's inputs have not the same spatial axes (in whose pixels would it be?)."""
    from convcost.cost.receptive import defined, receptive_fields

    dims = {defined(i.layout) for i in analysis.inputs}
    return receptive_fields(analysis.root, dims.pop()) if len(dims) == 1 and 0 not in dims else None


def _verify_report(verification: Verification | None) -> list[Report]:
    """The cross-check's summary table, when there was a cross-check."""
    if verification is None:
        return []
    from convcost.report.verify_view import verify_report

    return [verify_report(verification)]


def frontier(root: Node, depth: int | None) -> Iterator[tuple[int, Node]]:
    """Nodes that partition the model at ``depth``: leaves, or blocks cut at that depth."""
    for level, node in root.walk(depth):
        if level and (node.is_leaf or level == depth):
            yield level, node


def _label(level: int, node: Node, parent: str) -> str:
    name = node.name[len(parent) + 1:] if parent and node.name.startswith(parent + ".") else node.name
    return "  " * (level - 1) + name


def labelled_nodes(root: Node, depth: int | None) -> list[tuple[str, Node]]:
    """The nodes a table shows, down to ``depth``, each with its indented label."""
    rows: list[tuple[str, Node]] = []
    parents: list[str] = [""]
    for level, node in root.walk(depth):
        if not level:
            continue
        del parents[level:]
        rows.append((_label(level, node, parents[-1]), node))
        parents.append(node.name)
    return rows


def _fraction(value: Fraction) -> str:
    """``35``, or ``5/2`` when fractional (after an upsample or a transposed conv)."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _pair(pair: tuple[Fraction, ...]) -> str:
    """``315`` when every axis agrees, else ``h×w`` (``d×h×w`` of a volume)."""
    return _fraction(pair[0]) if len(set(pair)) == 1 else "×".join(map(_fraction, pair))


def rf_columns(rfs: ModelRF | None, node: Any, machine: bool) -> list[Column]:
    """The receptive-field columns of ``--rf``: size, jump (effective stride), padding."""
    if rfs is None:
        return []

    def of(row: Any) -> ReceptiveField:
        return rfs.of(node(row))

    if not machine:
        return [Column("RF", lambda r: _pair(of(r).size) + (" (all)" if of(r).whole else "")),
                Column("jump", lambda r: _pair(of(r).jump)),
                Column("RF pad", lambda r: _pair(of(r).padding))]

    def exact(what: str, index: int) -> Callable[[Any], int | float]:
        return lambda row: rf_number(getattr(of(row), what)[index])

    names = AXIS_NAMES[len(rfs.output.axes)]
    return [Column(f"rf_{what}_{axis}", exact(what, i))
            for what in ("size", "jump", "padding") for i, axis in enumerate(names)]


def layers_report(analysis: Analysis, depth: int | None,
                  verification: Verification | None = None,
                  counting: Counting = PAPER_MACS, rfs: ModelRF | None = None) -> Report:
    total = counting.count(analysis.root)
    columns = [
        Column("layer", lambda r: r[0], justify="left"),
        Column("kind", lambda r: r[1].label, justify="left"),
        output_column(analysis, lambda r: r[1]),
        Column("params", lambda r: r[1].params, human),
        Column(counting.label, lambda r: counting.count(r[1]), human),
        Column(f"% {counting.unit}", lambda r: Fraction(counting.count(r[1]), total or 1), percent),
        *rf_columns(rfs, lambda r: r[1], machine=False),
        *_check_columns(verification, lambda r: r[1].name),
    ]
    rows = labelled_nodes(analysis.root, depth)
    styles = ["" if node.is_leaf else "bold" for _, node in rows]
    return Report(heading(analysis), columns, rows, shares_notes(analysis.root), styles)


def shares_notes(root: Node) -> list[str]:
    """One note per layer that reuses another's weights (``shares:``): its params are 0."""
    return [f"{node.name} shares the weights of {node.shares}: its params (0 here) are "
            f"counted once, at {node.shares}" for _, node in root.walk() if node.shares]


def _check_columns(verification: Verification | None, name: Any) -> list[Column]:
    """The ✓/✗ column of the torch/fvcore cross-check, when there is one."""
    if verification is None:
        return []
    from convcost.report.verify_view import check_column

    return [check_column(verification, name)]


def flat_report(analysis: Analysis, depth: int | None,
                verification: Verification | None = None,
                counting: Counting = PAPER_MACS, rfs: ModelRF | None = None) -> Report:
    """The machine form of the layer table: full names, a partition that sums to the totals."""
    columns = [
        Column("name", lambda r: r.name, justify="left"),
        Column("kind", lambda r: r.label, justify="left"),
        Column("output_shape", lambda r: r.output_shape),
        Column("params", lambda r: r.params),
        Column("macs", lambda r: r.macs),
        Column("flops", lambda r: r.flops),
        *_counting_columns(counting),
        *rf_columns(rfs, lambda r: r, machine=True),
        *_check_columns(verification, lambda r: r.name),
    ]
    rows = [node for _, node in frontier(analysis.root, depth)]
    return Report(f"{analysis.model}: layers", columns, rows)


def _counting_columns(counting: Counting) -> list[Column]:
    """The machine column of a ``--convention``/``--flops`` count, e.g. ``thop_macs``."""
    if counting.default:
        return []
    key = f"{counting.convention.name}_{counting.unit.lower()}"
    return [Column(key, counting.count)]


def totals_report(analysis: Analysis, counting: Counting = PAPER_MACS, model: str = "") -> Report:
    t = analysis.totals
    columns = [Column("total", lambda r: r[0], justify="left"),
               Column("value", lambda r: r[1], human), Column("exact", lambda r: f"{r[1]:,}")]
    rows = [("params", t.params), ("MACs", t.macs), ("FLOPs (2 × MACs)", t.flops)]
    notes = []
    if not counting.default:
        c = counting.convention
        rows.append((f"{counting.unit}, {c.name} convention", counting.count(analysis.root)))
        notes.append(f"{c.name} convention ({c.tool or c.source}): {c.doc}")
    if not analysis.complete:
        notes.append(incomplete_note(analysis))
    title = "totals (paper: conv + linear MACs)"
    return Report(f"{model} — {title}" if model else title, columns, rows, notes)


def incomplete_note(analysis: Analysis) -> str:
    """The table footer of an incomplete model: its totals are lower bounds."""
    return (f"INCOMPLETE: these totals are lower bounds: MACs of {analysis.uncounted.listed()} "
            "are not counted")


def completeness_json(analysis: Analysis) -> dict[str, Any]:
    """``complete`` and, when not, what the totals leave out (the keys of JSON totals)."""
    found = analysis.uncounted
    return {"complete": not found, "opaque_layers": found.layers, "uncounted": dict(found.ops)}


def kinds_report(analysis: Analysis) -> Report:
    t = analysis.totals
    columns = [
        Column("layer class", lambda r: r.layer_class, justify="left"),
        Column("MACs", lambda r: r.macs, human),
        Column("% MACs", lambda r: Fraction(r.macs, t.macs or 1), percent),
        Column("params", lambda r: r.params, human),
        Column("% params", lambda r: Fraction(r.params, t.params or 1), percent),
    ]
    return Report("by layer class (MobileNet Table 2 form)", columns, by_layer_class(analysis))


def _pair_label(pair: SeparablePair) -> str:
    dw, pw = pair.depthwise.name.split("."), pair.pointwise.name.split(".")
    n = next((i for i, (a, b) in enumerate(zip(dw, pw, strict=False)) if a != b), min(len(dw), len(pw)))
    if not n:
        return f"{'.'.join(dw)} → {'.'.join(pw)}"
    return f"{'.'.join(dw[:n])}: {'.'.join(dw[n:])} → {'.'.join(pw[n:])}"


def separable_report(analysis: Analysis) -> Report | None:
    pairs = separable_pairs(analysis)
    if not pairs:
        return None
    columns = [
        Column("depthwise → pointwise", _pair_label, justify="left"),
        Column("MACs", lambda p: p.macs, human),
        Column("standard MACs", lambda p: p.standard_macs, human),
        Column("measured", lambda p: p.macs_ratio, lambda v: f"{float(v):.6f}"),
        Column("1/N + 1/K²", lambda p: p.theory, lambda v: f"{float(v):.6f}"),
        Column("=", lambda p: p.macs_ratio == p.theory, lambda v: "✓" if v else "≠"),
    ]
    eq = standard_equivalent(analysis)
    t = analysis.totals
    notes = [Markup(  # numbers only: markup is safe here
        f"standard-equivalent net ({eq.pairs} separable pairs → standard convs): "
        f"params {human(eq.params)} vs {human(t.params)} ([bold]{eq.params / t.params:.2f}×[/]), "
        f"MACs {human(eq.macs)} vs {human(t.macs)} ([bold]{eq.macs / t.macs:.2f}×[/])"
    )]
    return Report("depthwise separable pairs: measured ratio vs theory", columns, pairs, notes)


def model_reports(analysis: Analysis, depth: int | None, machine: bool,
                  verification: Verification | None = None,
                  counting: Counting = PAPER_MACS, rf: bool = False) -> list[Report]:
    rfs = _fields(analysis) if rf else None
    main = (flat_report(analysis, depth, verification, counting, rfs) if machine
            else layers_report(analysis, depth, verification, counting, rfs))
    reports = [main, totals_report(analysis, counting), kinds_report(analysis)]
    sep = separable_report(analysis)
    return [*reports, *([sep] if sep else []), *_verify_report(verification)]


def _verify_json(verification: Verification) -> dict[str, Any]:
    from convcost.report.verify_view import verify_json

    return verify_json(verification)


def model_json(analysis: Analysis, depth: int | None, verification: Verification | None,
               figures: Figures, summary: bool = False) -> dict[str, Any]:
    """The ``model`` JSON: every key on every run, ``None`` where not computed.

    ``layers`` always holds the leaves; ``blocks`` the blocks down to ``depth`` (all without
    it); under ``summary`` both, and the per-layer summaries, are ``None``.
    """
    t = analysis.totals
    counting = figures.counting or PAPER_MACS
    leaves, blocks = tree_rows(analysis.root, figures, depth)
    eq = standard_equivalent(analysis)
    detail: dict[str, Any] = {
        "layers": leaves, "blocks": blocks,
        "by_kind": {k.layer_class: {"params": k.params, "macs": k.macs}
                    for k in by_layer_class(analysis)},
        "separable": [
            {"depthwise": p.depthwise.name, "pointwise": p.pointwise.name, "macs": p.macs,
             "standard_macs": p.standard_macs, "ratio": float(p.macs_ratio),
             "theory": float(p.theory)}
            for p in separable_pairs(analysis)
        ],
        "standard_equivalent": {"params": eq.params, "macs": eq.macs, "pairs": eq.pairs},
    }
    rfs = figures.rfs or _fields(analysis)
    return {
        "model": analysis.model,
        "input": list(analysis.input_shape),
        "inputs": inputs_json(analysis),
        "alpha": analysis.alpha,
        "depth": depth,
        "totals": {"params": t.params, "macs": t.macs, "flops": t.flops,
                   **completeness_json(analysis)},
        "convention": {**counting.describe(), "total": counting.count(analysis.root)},
        **({key: None for key in detail} if summary else detail),
        "receptive_field": None if rfs is None else rf_json(rfs.output),
        "verify": None if verification is None else _verify_json(verification),
    }


def model_csv(analysis: Analysis, figures: Figures, summary: bool = False) -> str:
    """One row per leaf (or, under ``summary``, one row of model totals)."""
    counting = figures.counting
    names = {count_column(counting): "count"} if counting and not counting.default else {}
    if summary:
        columns = ["name", "inputs", "params", "macs", "flops", *names, "complete", "uncounted"]
        root = analysis.root
        inputs = " ".join(f"{i.name}={'x'.join(map(str, i.shape))}" for i in analysis.inputs)
        row = {"name": analysis.model, "inputs": inputs, "params": root.params, "macs": root.macs,
               "flops": root.flops, "count": counting.count(root) if counting else root.macs,
               "complete": analysis.complete,
               "uncounted": "; ".join(f"{op} ×{n}" for op, n in analysis.uncounted.ops.items())}
        return tidy_csv([row], columns, names)
    leaves, _ = tree_rows(analysis.root, figures, 0)
    return tidy_csv([{**row, **rf_flat(row["receptive_field"])} for row in leaves],
                    figures.csv_columns(), names)


def latency_report(analysis: Analysis, prediction: Prediction) -> Report:
    """``--latency-model``: the predicted time of every fused group, and the total."""
    from convcost.cost.groups import fused_groups, group_class

    columns = [Column("layer group", lambda g: g.name, justify="left"),
               Column("class", group_class, justify="left"),
               Column("MACs", lambda g: g.macs, human),
               Column("pred. (µs)", lambda g: prediction.of(g) * 1e6, lambda v: f"{v:,.1f}")]
    return Report(f"{analysis.model}: predicted latency", columns,
                  list(fused_groups(analysis.root)), [latency_note(prediction)])


def latency_note(prediction: Prediction) -> str:
    units = "layer groups" if prediction.counted is None else "kernels"
    return (f"predicted latency {prediction.total_s * 1e3:.3f} ms end to end: {prediction.group_count} "
            f"{units} {prediction.layers_s * 1e3:.3f} ms, overhead {prediction.overhead_s * 1e3:.3f} "
            f"ms (latency model: {prediction.label})")


def latency_json(analysis: Analysis, prediction: Prediction | None) -> dict[str, Any] | None:
    """The ``latency`` key: None without ``--latency-model``."""
    if prediction is None:
        return None
    from convcost.cost.groups import fused_groups

    return {"model": prediction.label, "total_s": prediction.total_s,
            "layers_s": prediction.layers_s, "overhead_s": prediction.overhead_s,
            "groups": [{"name": g.name, "predicted_s": prediction.of(g)}
                       for g in fused_groups(analysis.root)]}


@dataclass(frozen=True)
class ModelOutput:
    """Everything ``convcost model`` shows, computed: the analysis and what the flags added."""

    analysis: Analysis
    depth: int | None
    verification: Verification | None
    counting: Counting
    figures: ModelFigures
    summary: bool = False
    rf: bool = False
    prediction: Prediction | None = None

    def reports(self, machine: bool) -> list[Report]:
        """The tables (their machine form under ``machine``)."""
        a, extra = self.analysis, model_extras(self.analysis, self.figures, self.depth, machine)
        if self.summary:
            reports = [totals_report(a, self.counting, heading(a)), *extra.totals,
                       *_verify_report(self.verification)]
        else:
            reports = model_reports(a, self.depth, machine, self.verification, self.counting, self.rf)
            if extra.reports:  # the memory / training tables replace the plain per-layer table
                reports = [*extra.reports, *reports[0 if self.rf else 1:]]
        return [*reports, *([latency_report(a, self.prediction)] if self.prediction else [])]

    def rows(self) -> Figures:
        """The figures of the per-layer rows (JSON and CSV rows always carry the fields)."""
        a, extra = self.analysis, model_extras(self.analysis, self.figures, self.depth, True)
        return replace(extra.figures, counting=self.counting, rfs=_fields(a), rf=self.rf,
                       layouts=row_layouts(a))

    def json(self) -> dict[str, Any]:
        a = self.analysis
        extra = model_extras(a, self.figures, self.depth, True)
        return {**model_json(a, self.depth, self.verification, self.rows(), self.summary),
                **extra.json(), "latency": latency_json(a, self.prediction)}


def model_output(analysis: Analysis, depth: int | None, verification: Verification | None,
                 counting: Counting, figures: ModelFigures, summary: bool, rf: bool = False,
                 prediction: Prediction | None = None) -> View:
    """What ``convcost model`` prints; ``figures``: what the flags computed."""
    out = ModelOutput(analysis, depth, verification, counting, figures, summary, rf, prediction)
    return View("model", lambda: out.reports(False), out.json, lambda: out.reports(True),
                lambda: model_csv(analysis, out.rows(), summary))
