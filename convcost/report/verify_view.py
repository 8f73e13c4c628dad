"""Presentation of the torch/fvcore cross-check: the ✓/✗ cell, the summary table and JSON."""

from __future__ import annotations

from collections import Counter
from typing import Any

from convcost.report.render import Column, Report, View, shape
from convcost.runtime.verify import LayerCheck, Mismatch, Verification

SHOWN_MISMATCHES = 10


def _figure(value: Any) -> str:
    if isinstance(value, tuple):
        return shape(value)
    return "—" if value is None else f"{value:,}"


def mismatch_text(m: Mismatch, with_layer: bool = True) -> str:
    """``features.3.conv: fvcore 1,204,224 ≠ 1,204,225`` (convcost first, then the tool)."""
    where = f"{m.layer or 'model'}: " if with_layer else ""
    return f"{where}{m.figure} {_figure(m.convcost)} ≠ {_figure(m.tool)}"


def check_cell(check: LayerCheck | None) -> str:
    """The ✓/✗ column: a mismatch shows both numbers (convcost ≠ torch/fvcore)."""
    if check is None:
        return ""
    if check.ok:
        return "✓"
    return "✗ " + "; ".join(mismatch_text(m, with_layer=False) for m in check.mismatches())


def check_column(verification: Verification | None, name: Any) -> Column:
    """A column for a layer table; ``name`` gives a row's node name."""
    checks = {c.name: c for c in verification.layers} if verification else {}
    return Column("torch ✓", lambda r: check_cell(checks.get(name(r))), justify="left")


def ops_text(ops: Counter[str]) -> str:
    return ", ".join(f"{op} ×{n}" for op, n in ops.most_common()) or "none"


def skipped_line(v: Verification) -> str:
    """The ops fvcore counted as 0: unsupported ones, then the ones it ignores as free."""
    return (f"fvcore skipped (counted 0): {ops_text(v.unsupported)} (unsupported); "
            f"{ops_text(v.ignored)} (ignored as free)")


def summary(v: Verification) -> str:
    """One line: ``✓ mobilenet_v2: 312 layers agree …`` or the count and first mismatches."""
    mismatches = v.mismatches()
    if not mismatches:
        return (f"✓ {v.model}: {len(v.layers)} layers agree with torch and fvcore "
                f"(fvcore count, params, output shape); params {v.params:,}; "
                f"MACs {v.macs:,} {'≤' if v.lower_bounds else '='} FlopCounterMode FLOPs / 2"
                + (" (a lower bound: opaque layers)" if v.lower_bounds else ""))
    shown = "; ".join(mismatch_text(m) for m in mismatches[:SHOWN_MISMATCHES])
    more = f"; … {len(mismatches) - SHOWN_MISMATCHES} more" if len(mismatches) > SHOWN_MISMATCHES else ""
    return f"✗ {v.model}: {len(mismatches)} mismatch(es): {shown}{more}"


def verify_report(v: Verification) -> Report:
    """The totals of the cross-check, with fvcore's skipped ops and any mismatch under it."""
    agree = sum(check.ok for check in v.layers)
    rows = [
        ("layers agreeing (fvcore count, params, shape)", len(v.layers), agree),
        (f"{v.convention} convention MACs vs fvcore total", v.count, v.fvcore),
        ("params vs sum(p.numel())", v.params, v.torch_params),
        ("paper MACs vs FlopCounterMode FLOPs / 2", v.macs, v.counter_macs),
    ]
    columns = [
        Column("cross-check", lambda r: r[0], justify="left"),
        Column("convcost", lambda r: r[1], _figure),
        Column("torch / fvcore", lambda r: r[2], _figure),
        Column("=", lambda r: "✓" if r[1] == r[2] else "≤ (lower bound)" if (
            v.lower_bounds and r[0] != "params vs sum(p.numel())" and r[1] < r[2]) else "✗"),
    ]
    notes = [summary(v), skipped_line(v), *direct_line(v)]
    if v.lower_bounds:
        notes.append("opaque layers: convcost's counts are lower bounds, so they agree when at "
                     "most the tools'; an opaque layer's params and shape are checked in the totals")
    return Report(f"cross-check: {v.tools}", columns, rows, notes)


def direct_line(v: Verification) -> list[str]:
    """The layers whose forward the model calls directly (no hook fires): said, once."""
    if not v.direct:
        return []
    shown = ", ".join(v.direct[:5]) + (f", … ({len(v.direct)})" if len(v.direct) > 5 else "")
    return [f"called directly (module.forward(x): no hook fires), so compared as part of their "
            f"parent (the totals), params each: {shown}"]


def verify_json(v: Verification) -> dict[str, Any]:
    return {
        "ok": v.ok,
        "layers": len(v.layers),
        "tools": v.tools,
        "mismatches": [
            {"layer": m.layer, "figure": m.figure,
             "convcost": list(m.convcost) if isinstance(m.convcost, tuple) else m.convcost,
             "tool": list(m.tool) if isinstance(m.tool, tuple) else m.tool}
            for m in v.mismatches()
        ],
        "direct": list(v.direct),
        "unsupported_ops": dict(v.unsupported),
        "ignored_ops": dict(v.ignored),
        "totals": {"params": v.torch_params, "fvcore": v.fvcore,
                   "flop_counter_flops": v.counter_flops},
    }


def verify_output(checked: list[tuple[str, Verification]]) -> View:
    """What ``convcost verify`` prints: a summary line per spec, JSON, or one CSV row per spec."""
    from convcost.report.safe_text import clean

    def lines(bullet: str) -> list[str]:
        return [line for path, v in checked
                for line in (f"{bullet}{clean(path)}: {summary(v)}", f"  {skipped_line(v)}")]

    return View("verify", lambda: [], lambda: {"models": [
                    {"spec": path, "model": v.model, **verify_json(v)} for path, v in checked]},
                csv=lambda: _verify_csv(checked), markdown=lambda: "\n".join(lines("- ")),
                after=lines(""))


def _verify_csv(checked: list[tuple[str, Verification]]) -> str:
    from convcost.report.rows import tidy_csv

    rows = [{"spec": path, "model": v.model, "ok": v.ok, "layers": len(v.layers),
             "mismatches": len(v.mismatches()), "params": v.params, "macs": v.macs}
            for path, v in checked]
    return tidy_csv(rows, ["spec", "model", "ok", "layers", "mismatches", "params", "macs"])
