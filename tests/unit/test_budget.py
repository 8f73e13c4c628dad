"""Budgets, budgets files and the baseline: the pure modules behind ``convcost check``."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from convcost.check.baseline import (
    Baseline,
    Entry,
    diff_baseline,
    load_baseline,
    merged,
    parse_baseline,
    write_baseline,
)
from convcost.check.budget import (
    evaluate,
    is_budgets_file,
    measure,
    parse_budgets_file,
    spec_budget,
)
from convcost.cost.value import Cost
from convcost.errors import ConvcostError, SpecError
from convcost.net.analysis import analyze
from convcost.spec.budget import parse_budget, parse_count, parse_share
from convcost.spec.loader import load_spec, read_yaml

# input 1×3×8×8; conv 3→16 k3 (padding 1) -> 1×16×8×8; global avg pool; linear 16→10 with bias.
TINY = """\
name: tiny
input: {{channels: 3, resolution: 8}}
budget:
  params: {params}
  macs: {macs}
layers:
  - {{kind: conv, name: conv, out_channels: 16}}
  - {{kind: pool, name: pool, op: avg, global: true}}
  - {{kind: flatten, name: flat}}
  - {{kind: linear, name: fc, out_features: 10, bias: true}}
"""
CONV_PARAMS = 16 * 3 * 3 * 3  # 432
CONV_MACS = 1 * 16 * 8 * 8 * 3 * 3 * 3  # 27,648
FC_PARAMS = 16 * 10 + 10  # 170
FC_MACS = 16 * 10  # 160
PARAMS = CONV_PARAMS + FC_PARAMS  # 602
MACS = CONV_MACS + FC_MACS  # 27,808


def _tiny(write_spec: Callable[..., Path], params: Any = PARAMS, macs: Any = MACS) -> Path:
    return write_spec(TINY.format(params=params, macs=macs))


# --- counts with K/M/G suffixes -----------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (600, 600),
    (0, 0),
    ("600", 600),
    ("600K", 600_000),  # 600·10³
    ("1.5k", 1_500),  # 1.5·10³, lower-case suffix
    ("4.3M", 4_300_000),  # 4.3·10⁶ exactly (float 4.3e6 would also be, but 4.3*10**6 is not)
    ("600M", 600_000_000),  # 600·10⁶
    ("1.2G", 1_200_000_000),  # 1.2·10⁹
    ("15.47026432G", 15_470_264_320),  # 15.47026432·10⁹: exact to the unit
    ("3.000001M", 3_000_001),  # 3·10⁶ + 1
    (" 2 M ", 2_000_000),  # spaces around and before the suffix
])
def test_parse_count(value: Any, expected: int) -> None:
    assert parse_count(value, "budget.macs") == expected


@pytest.mark.parametrize(("value", "message"), [
    ("4.3X", "must be an integer or a count like 4.3M, 600K or 1.2G, got '4.3X'"),
    ("1.2345K", "must be a whole number, got '1.2345K' = 1234.5"),  # 1.2345·10³
    ("0.5", "must be a whole number, got '0.5' = 0.5"),
    ("-5M", "must be an integer or a count like"),
    ("1e6", "must be an integer or a count like"),
    ("M", "must be an integer or a count like"),
    ("", "must be an integer or a count like"),
    ("1,000", "must be an integer or a count like"),
    (4300000.0, "must be an integer or a count like 4.3M, got 4300000.0"),
    (True, "must be an integer, got true"),
    (-1, "must be an integer ≥ 0, got -1"),
    ([1], "must be an integer, got [1]"),
    (None, "must be an integer, got None"),
])
def test_parse_count_rejects(value: Any, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_count(value, "budget.macs")
    assert info.value.path == "budget.macs"
    assert message in info.value.message


@pytest.mark.parametrize(("value", "expected"), [
    (0.2, Fraction(1, 5)),  # as written, not the binary float 0.2000000000000000111
    (1, Fraction(1)),
    (0.125, Fraction(1, 8)),
])
def test_parse_share(value: Any, expected: Fraction) -> None:
    assert parse_share(value, "budget.max_layer_share") == expected


@pytest.mark.parametrize(("value", "message"), [
    (0, "must be > 0, got 0"),
    (1.5, "must be a fraction in (0, 1], got 1.5"),
    ("20%", "must be a number, got '20%'"),
])
def test_parse_share_rejects(value: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace("]", r"\]")):
        parse_share(value, "budget.max_layer_share")


# --- budget mappings ----------------------------------------------------------------------------


def test_parse_budget_keeps_order_and_paths() -> None:
    budget = parse_budget({"max_layer_share": 0.5, "macs": "1M", "params": 10, "flops": "2M"},
                          "budget", "x.yaml")
    assert [(lim.metric, lim.value, lim.path) for lim in budget.limits] == [
        ("params", 10, "budget.params"),
        ("macs", 1_000_000, "budget.macs"),
        ("flops", 2_000_000, "budget.flops"),
        ("max_layer_share", Fraction(1, 2), "budget.max_layer_share"),
    ]
    assert budget.file == "x.yaml"


@pytest.mark.parametrize(("raw", "path", "message"), [
    ({"macs": 1}, "budget.params", "missing required field"),
    ({"params": 1}, "budget.macs", "missing required field"),
    ({"params": 1, "macs": 1, "mac": 1}, "budget.mac", "unknown key (did you mean 'macs'?)"),
    ({"params": 1, "macs": 1, "activation": 1}, "budget.activation",
     "(did you mean 'activations'?)"),
    ([1, 2], "budget", "must be a mapping, got list"),
])
def test_parse_budget_rejects(raw: Any, path: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_budget(raw, "budget", "x.yaml")
    assert info.value.path == path
    assert message in info.value.message


def test_spec_budget_error_names_file_line_and_field(write_spec: Callable[..., Path]) -> None:
    path = _tiny(write_spec, macs="'600Q'")
    with pytest.raises(SpecError) as info:
        load_spec(path)  # one validator: the loader refuses it for `model` as for `check`
    line = path.read_text().splitlines().index("  macs: '600Q'") + 1
    assert str(info.value).startswith(f"{path}:{line}: budget.macs: must be an integer or a count")


def test_spec_without_budget_has_none(write_spec: Callable[..., Path]) -> None:
    text = TINY.format(params=1, macs=1)
    path = write_spec("\n".join(line for line in text.splitlines()
                                 if not line.startswith(("budget", "  params", "  macs"))))
    assert spec_budget(load_spec(path)) is None


# --- measuring and evaluating -------------------------------------------------------------------


def test_measure_tiny(write_spec: Callable[..., Path]) -> None:
    analysis = analyze(load_spec(_tiny(write_spec)))
    measured = measure(analysis)
    assert (measured.params, measured.macs) == (PARAMS, MACS)
    assert (measured.params, measured.macs) == (analysis.totals.params, analysis.totals.macs)
    assert measured.flops == 2 * MACS  # 55,616
    assert measured.activations == 1 * 16 * 8 * 8  # the conv output, 1,024 elements
    assert measured.share == Fraction(CONV_MACS, MACS)  # 27,648 / 27,808
    assert measured.largest == "conv"


@pytest.mark.parametrize(("metric", "limit", "over"), [
    ("params", PARAMS, False),  # exactly at the limit: a pass
    ("params", PARAMS - 1, True),  # one unit over
    ("macs", MACS, False),
    ("macs", MACS - 1, True),
    ("flops", 2 * MACS, False),
    ("flops", 2 * MACS - 1, True),
    ("activations", 16 * 8 * 8, False),
    ("activations", 16 * 8 * 8 - 1, True),
])
def test_evaluate_at_and_over_the_limit(write_spec: Callable[..., Path], metric: str, limit: int,
                                        over: bool) -> None:
    measured = measure(analyze(load_spec(_tiny(write_spec))))
    raw = {"params": 10**9, "macs": 10**9, metric: limit}
    (check,) = [c for c in evaluate(measured, parse_budget(raw, "budget", None)) if c.metric == metric]
    assert check.over is over
    assert check.headroom == Fraction(limit - measured.value(metric), limit)


def test_evaluate_layer_share(write_spec: Callable[..., Path]) -> None:
    measured = measure(analyze(load_spec(_tiny(write_spec))))
    share = Fraction(CONV_MACS, MACS)  # 27,648 / 27,808 ≈ 0.99425
    for limit, over in ((0.99, True), (0.995, False)):
        budget = parse_budget({"params": PARAMS, "macs": MACS, "max_layer_share": limit}, "b", None)
        check = evaluate(measured, budget)[-1]
        assert (check.metric, check.value, check.layer, check.over) == (
            "max_layer_share", share, "conv", over)
        assert check.label == "largest layer share of MACs (conv)"


def test_evaluate_without_budget(write_spec: Callable[..., Path]) -> None:
    measured = measure(analyze(load_spec(_tiny(write_spec))))
    checks = evaluate(measured, None)
    assert [(c.metric, c.value, c.limit, c.over, c.headroom) for c in checks] == [
        ("params", PARAMS, None, False, None), ("macs", MACS, None, False, None)]


# --- budgets files ------------------------------------------------------------------------------


def _budgets(tmp_path: Path, text: str) -> tuple[Any, str, str]:
    path = tmp_path / "ci" / "budgets.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    data, text = read_yaml(path)
    return data, text, str(path)


def test_budgets_file_paths_are_relative_to_it(tmp_path: Path) -> None:
    data, text, file = _budgets(tmp_path, "budgets:\n  - spec: ../specs/a.yaml\n"
                                          "    params: 4.3M\n    macs: 600M\n")
    assert is_budgets_file(data)
    (entry,) = parse_budgets_file(data, text, file)
    assert entry.spec == "../specs/a.yaml"
    assert entry.file == os.path.normpath(tmp_path / "specs" / "a.yaml")
    assert [(lim.metric, lim.value) for lim in entry.budget.limits] == [
        ("params", 4_300_000), ("macs", 600_000_000)]
    assert (entry.budget.file, entry.budget.path) == (file, "budgets[0]")


@pytest.mark.parametrize(("text", "line", "where", "message"), [
    ("budgets:\n  - spec: a.yaml\n    params: 1\n    macs: 1.5\n", 4, "budgets[0].macs",
     "must be an integer or a count like 4.3M, got 1.5"),
    ("budgets:\n  - spec: a.yaml\n    params: 1\n    macs: 1\n  - spec: ./a.yaml\n"
     "    params: 1\n    macs: 1\n", 5, "budgets[1].spec", "'./a.yaml' already has a budget at budgets[0]"),
    ("budgets:\n  - params: 1\n    macs: 1\n", 2, "budgets[0].spec", "missing required field"),
    ("budgets:\n  - spec: a.yaml\n    params: 1\n    macs: 1\n    flop: 1\n", 5, "budgets[0].flop",
     "unknown key (did you mean 'flops'?)"),
    ("budgets: []\n", 1, "budgets", "must list at least one budget"),
    ("budgets: {a.yaml: {params: 1, macs: 1}}\n", 1, "budgets", "must be a list, got dict"),
    ("budgets:\n  - spec: a.yaml\n    params: 1\n    macs: 1\nextra: 1\n", 5, "extra",
     "unknown key"),
])
def test_budgets_file_errors(tmp_path: Path, text: str, line: int, where: str, message: str) -> None:
    data, text, file = _budgets(tmp_path, text)
    with pytest.raises(SpecError) as info:
        parse_budgets_file(data, text, file)
    assert (info.value.file, info.value.line, info.value.path) == (file, line, where)
    assert message in info.value.message


def test_a_spec_is_not_a_budgets_file() -> None:
    assert not is_budgets_file({"budgets": [], "layers": []})  # a spec with a typo: its own error
    assert not is_budgets_file([{"budgets": []}])


# --- the baseline -------------------------------------------------------------------------------


def _base(**models: tuple[int, int]) -> Baseline:
    return Baseline("b.json", {name: Cost(*pair) for name, pair in models.items()})


@pytest.mark.parametrize(("base", "now", "tolerance", "grew"), [
    ((100, 1000), (101, 1000), 0, True),  # params grew by one
    ((100, 1000), (100, 1001), 0, True),  # MACs grew by one
    ((100, 1000), (100, 1000), 0, False),  # unchanged
    ((100, 1000), (99, 900), 0, False),  # shrinking is allowed
    ((100, 1000), (105, 1050), 5, False),  # +5 % with a 5 % tolerance: 105·100 = 100·105
    ((100, 1000), (106, 1000), 5, True),  # +6 % > 5 %
    ((1000, 1000), (1005, 1000), Fraction(1, 2), False),  # +0.5 % at 0.5 %
    ((1000, 1000), (1006, 1000), Fraction(1, 2), True),
    ((0, 0), (1, 0), 50, True),  # from zero, any growth is beyond any tolerance
])
def test_compare_growth_and_tolerance(base: tuple[int, int], now: tuple[int, int],
                                      tolerance: Fraction, grew: bool) -> None:
    cmp = diff_baseline({"m": Cost(*now)}, _base(m=base), "b.json", Fraction(tolerance))
    assert bool(cmp.grew) is grew
    assert cmp.failed is grew
    params, macs = cmp.deltas
    assert (params.change, macs.change) == (now[0] - base[0], now[1] - base[1])


def test_compare_missing_and_stale_models() -> None:
    cmp = diff_baseline({"new": Cost(1, 2), "kept": Cost(3, 4)}, _base(kept=(3, 4), gone=(5, 6)),
                  "b.json", Fraction(0))
    assert cmp.new == ("new",)
    assert cmp.stale == ("gone",)
    assert cmp.failed  # a model missing from the baseline is never silently a pass
    assert [d.base for d in cmp.deltas if d.model == "new"] == [None, None]
    updated = diff_baseline({"new": Cost(1, 2)}, None, "b.json", Fraction(0), updated=True)
    assert updated.new == ("new",) and not updated.failed


def test_merged_keeps_unchecked_models() -> None:
    assert merged(_base(a=(1, 2), b=(3, 4)), {"b": Cost(5, 6)}) == {
        "a": Cost(1, 2), "b": Cost(5, 6)}
    assert merged(None, {"b": Cost(5, 6)}) == {"b": Cost(5, 6)}


def test_write_baseline_is_sorted_and_diff_friendly(tmp_path: Path) -> None:
    path = tmp_path / "convcost-baseline.json"
    write_baseline(path, {"zeta": Cost(1, 2), "alpha": Cost(3, 4)})
    text = path.read_text()
    assert text.endswith("}\n")
    # version 2: totals alone (no layers) are written as version 1 wrote them
    assert text == json.dumps({"models": {"alpha": {"macs": 4, "params": 3},
                                          "zeta": {"macs": 2, "params": 1}}, "version": 2},
                              indent=2, sort_keys=True) + "\n"
    assert load_baseline(path).models == {"alpha": Entry(params=3, macs=4),
                                          "zeta": Entry(params=1, macs=2)}
    assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044  # readable by all, not mkstemp's 0600


@pytest.mark.parametrize("fail_in", ["os.fsync", "os.replace"])
def test_interrupted_write_keeps_the_old_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   fail_in: str) -> None:
    path = tmp_path / "convcost-baseline.json"
    write_baseline(path, {"m": Cost(1, 2)})
    before = path.read_bytes()

    def interrupted(fd: Any) -> None:
        raise KeyboardInterrupt  # the new text is in the temporary file, not yet renamed

    def no_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    # the baseline is written by the helper every -o uses (convcost/outfile.py)
    if fail_in == "os.fsync":
        monkeypatch.setattr("convcost.outfile.os.fsync", interrupted)
    else:
        monkeypatch.setattr("convcost.outfile.os.replace", no_replace)
    # an OSError is bad input for the CLI (one line, exit 2); an interrupt stays one
    with pytest.raises((KeyboardInterrupt, ConvcostError)):
        write_baseline(path, {"m": Cost(10, 20)})
    assert path.read_bytes() == before
    assert load_baseline(path).models == {"m": Entry(params=1, macs=2)}
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


@pytest.mark.parametrize(("text", "line", "where", "message"), [
    ('{"version": 1, "models": {"m": {"params": 1, "macs": -1}}}', 1, "models.m.macs",
     "must be an integer ≥ 0, got -1"),
    ('{\n  "version": 1,\n  "models": {\n    "m": {"params": 1}\n  }\n}', 4, "models.m.macs",
     "missing required field"),
    ('{\n  "version": 3,\n  "models": {}\n}', 2, "version", "unsupported baseline version 3"),
    ('{\n  "version": 1,\n  "model": {}\n}', 3, "model", "unknown key (did you mean 'models'?)"),
    ('{\n  "version": 1,\n  "models": {\n}', 4, "", "invalid JSON: Expecting"),
])
def test_baseline_errors(tmp_path: Path, text: str, line: int, where: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_baseline(path)
    assert (info.value.file, info.value.line, info.value.path) == (str(path), line, where)
    assert message in info.value.message


def test_missing_baseline_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read baseline: No such file"):
        load_baseline(tmp_path / "none.json")
    with pytest.raises(SpecError, match="must be a mapping"):
        parse_baseline([], "b.json")
