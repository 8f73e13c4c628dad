"""``convcost check`` through the CLI: exit codes, budgets files, the baseline, CI outputs.

Figures come from :func:`convcost.net.analysis.analyze` run in the test, so a budget "at the
limit" is the exact analytic figure and "one over" is that figure minus one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from convcost.check.budget import measure
from convcost.cli.app import app
from convcost.net.analysis import analyze
from convcost.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]

# 1×3×8×8 -> conv 3→16 k3 -> global avg pool -> linear 16→C. Budget lines: params 4, macs 5.
MODEL = """\
name: {name}
input: {{channels: 3, resolution: 8}}
budget:
  params: {params}
  macs: {macs}
layers:
  - {{kind: conv, name: conv, out_channels: {width}}}
  - {{kind: pool, name: pool, op: avg, global: true}}
  - {{kind: flatten, name: flat}}
  - {{kind: linear, name: fc, out_features: 10, bias: true}}
"""
PARAMS_LINE, MACS_LINE = 4, 5


def _write(path: Path, name: str = "tiny", width: int = 16, params: Any = None, macs: Any = None,
           ) -> Path:
    """A spec; limits default to its exact figures (measured by a throwaway copy)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(MODEL.format(name=name, width=width, params=1, macs=1))
    exact = measure(analyze(load_spec(path)))
    path.write_text(MODEL.format(name=name, width=width, params=exact.params if params is None else params,
                                 macs=exact.macs if macs is None else macs))
    return path


def _figures(path: Path) -> tuple[int, int]:
    measured = measure(analyze(load_spec(path)))
    return measured.params, measured.macs


def _check(runner: CliRunner, *args: str | Path) -> Result:
    return runner.invoke(app, ["check", *map(str, args)])


def _json(runner: CliRunner, *args: str | Path) -> tuple[int, dict[str, Any]]:
    result = _check(runner, *args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


# --- exit codes ---------------------------------------------------------------------------------


def test_exactly_at_the_limit_passes(runner: CliRunner, tmp_path: Path) -> None:
    spec = _write(tmp_path / "tiny.yaml")
    params, macs = _figures(spec)
    code, data = _json(runner, spec)
    assert code == 0
    assert data["status"] == "pass"
    (model,) = data["models"]
    assert [(m["metric"], m["value"], m["limit"], m["headroom"], m["over"]) for m in model["metrics"]] == [
        ("params", params, params, 0, False), ("macs", macs, macs, 0, False)]


@pytest.mark.parametrize("metric", ["params", "macs"])
def test_one_unit_over_fails(runner: CliRunner, tmp_path: Path, metric: str) -> None:
    spec = tmp_path / "tiny.yaml"
    _write(spec)
    params, macs = _figures(spec)
    limits = {"params": params, "macs": macs}
    limits[metric] -= 1
    _write(spec, **limits)
    result = _check(runner, spec)
    assert result.exit_code == 1, result.output
    assert "OVER" in result.stdout
    assert result.stderr == "convcost: error: check failed: 1 model, 1 over budget\n"
    code, data = _json(runner, spec)
    assert code == 1 and data["status"] == "fail"
    (over,) = [m for m in data["models"][0]["metrics"] if m["over"]]
    assert over["metric"] == metric
    assert over["headroom"] == pytest.approx(-1 / limits[metric])  # (limit - value) / limit


def test_malformed_budget_exits_2_naming_file_line_and_field(runner: CliRunner, tmp_path: Path) -> None:
    spec = _write(tmp_path / "tiny.yaml", macs="'600Q'")
    result = _check(runner, spec)
    assert result.exit_code == 2
    assert result.stderr == (f"convcost: error: {spec}:{MACS_LINE}: budget.macs: must be an integer "
                             "or a count like 4.3M, 600K or 1.2G, got '600Q'\n")


def test_a_broken_spec_is_never_a_pass(runner: CliRunner, tmp_path: Path) -> None:
    good = _write(tmp_path / "a_good.yaml")
    bad = tmp_path / "b_bad.yaml"
    bad.write_text("name: bad\ninput: {channels: 3, resolution: 8}\nlayers:\n  - {kind: cnov}\n")
    result = _check(runner, tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"convcost: error: {bad}:4: layers[0].kind: unknown kind 'cnov'")
    assert result.stderr.count("\n") == 1
    code, data = _json(runner, tmp_path)
    assert code == 2 and data["status"] == "error"
    assert [m["spec"] for m in data["models"]] == [str(good)]  # the good one is still reported
    assert [(e["file"], e["line"]) for e in data["errors"]] == [(str(bad), 4)]


@pytest.mark.parametrize(("args", "message"), [
    (["missing.yaml"], "missing.yaml: cannot read spec: no such file, nor a built-in spec of that name"),
    (["--update-baseline", "x.yaml"], "--update-baseline: needs --baseline FILE"),
    (["--tolerance", "-1", "x.yaml"], "--tolerance: must be ≥ 0 (a percentage), got -1"),
    (["--format", "xml", "x.yaml"], "check: Invalid value for '--format' / '-f': 'xml' is not one of"),
])
def test_bad_input_exits_2(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "x.yaml")
    result = _check(runner, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"convcost: error: {message}")


def test_empty_directory_and_no_arguments(runner: CliRunner, tmp_path: Path) -> None:
    result = _check(runner, tmp_path)
    assert result.exit_code == 2
    assert f"{tmp_path}: no .yaml or .yml files in this directory" in result.stderr
    assert _check(runner).exit_code == 2


def test_shipped_specs_are_within_budget_and_baseline(runner: CliRunner) -> None:
    code, data = _json(runner, ROOT / "specs", "--baseline", ROOT / "convcost-baseline.json")
    assert code == 0, data
    shipped = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
    assert sorted(m["name"] for m in data["models"]) == shipped
    assert all(m["budget_file"] == m["spec"] for m in data["models"])  # every spec has a budget
    assert data["baseline"]["new"] == [] and not data["baseline"]["failed"]


# --- directories and budgets files --------------------------------------------------------------


def test_directory_takes_yaml_and_yml_once(runner: CliRunner, tmp_path: Path) -> None:
    a = _write(tmp_path / "a.yaml", name="a")
    _write(tmp_path / "b.yml", name="b")
    (tmp_path / "notes.txt").write_text("not a spec")
    code, data = _json(runner, tmp_path, a)  # a given twice: checked once
    assert code == 0
    assert [m["name"] for m in data["models"]] == ["a", "b"]


def test_budgets_file_overrides_the_spec_budget(runner: CliRunner, tmp_path: Path) -> None:
    spec = _write(tmp_path / "specs" / "tiny.yaml")  # its own budget: exactly at the limit
    params, macs = _figures(spec)
    budgets = tmp_path / "ci" / "budgets.yaml"
    budgets.parent.mkdir()
    budgets.write_text(f"budgets:\n  - spec: ../specs/tiny.yaml\n    params: {params}\n"
                       f"    macs: {macs - 1}\n")
    code, data = _json(runner, spec, budgets)
    assert code == 1
    (model,) = data["models"]
    assert model["budget_file"] == str(budgets)
    assert [m["limit"] for m in model["metrics"]] == [params, macs - 1]
    result = _check(runner, budgets)
    assert "budget from " + str(budgets) + " (budgets[0])" in result.stdout


def test_budget_twice_in_budgets_files(runner: CliRunner, tmp_path: Path) -> None:
    _write(tmp_path / "tiny.yaml")
    entry = "budgets:\n  - spec: tiny.yaml\n    params: 1K\n    macs: 1M\n"
    (tmp_path / "one.budgets").write_text(entry)
    (tmp_path / "two.budgets").write_text(entry)
    assert _check(runner, tmp_path / "one.budgets", tmp_path / "one.budgets").exit_code == 0  # once
    result = _check(runner, tmp_path / "one.budgets", tmp_path / "two.budgets")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"convcost: error: {tmp_path / 'two.budgets'}:2: budgets[0].spec: "
                                    f"'tiny.yaml' already has a budget in {tmp_path / 'one.budgets'}")


def test_spec_without_budget_is_reported(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "free.yaml"
    spec.write_text("\n".join(line for line in _write(spec).read_text().splitlines()
                              if not line.startswith(("budget", "  params", "  macs"))))
    result = _check(runner, spec)
    assert result.exit_code == 0
    assert "no budget" in result.stdout and "1 without a budget" in result.stdout


def test_alpha_and_resolution_overrides(runner: CliRunner, tmp_path: Path) -> None:
    spec = _write(tmp_path / "tiny.yaml")
    code, data = _json(runner, spec, "--resolution", "16")  # 4× the conv MACs: over budget
    assert code == 1
    assert data["models"][0]["name"] == "tiny[resolution=16]"
    macs = measure(analyze(load_spec(spec), resolution=16)).macs
    assert data["models"][0]["metrics"][1]["value"] == macs


# --- the baseline -------------------------------------------------------------------------------


def _baseline_run(runner: CliRunner, spec: Path, baseline: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    return _json(runner, spec, "--baseline", baseline, *extra)


def test_baseline_round_trip_growth_and_shrink(runner: CliRunner, tmp_path: Path) -> None:
    spec, baseline = tmp_path / "tiny.yaml", tmp_path / "convcost-baseline.json"
    _write(spec, width=16, params="1G", macs="1G")
    params, macs = _figures(spec)
    code, data = _baseline_run(runner, spec, baseline, "--update-baseline")
    assert code == 0 and data["baseline"]["updated"]
    # conv 3→16 k3 on 8×8 (no bias): 3·16·9 = 432 params, ·64 positions = 27 648 MACs; linear
    # 16→10 with bias: 170 params, 160 MACs; the pool and flatten hold neither: not kept
    assert json.loads(baseline.read_text()) == {"version": 2, "models": {"tiny": {
        "params": params, "macs": macs, "layers": [
            {"name": "conv", "kind": "conv", "params": 432, "macs": 27648},
            {"name": "fc", "kind": "linear", "params": 170, "macs": 160}]}}}
    assert (params, macs) == (432 + 170, 27648 + 160)
    lines = baseline.read_text().splitlines()  # one line per layer
    assert '        {"name": "conv", "kind": "conv", "params": 432, "macs": 27648},' in lines
    assert _baseline_run(runner, spec, baseline)[0] == 0

    _write(spec, width=17, params="1G", macs="1G")  # one more channel: grew, still within budget
    grown = _figures(spec)
    code, data = _baseline_run(runner, spec, baseline)
    assert code == 1
    assert [(d["metric"], d["change"], d["grew"]) for d in data["baseline"]["deltas"]] == [
        ("params", grown[0] - params, True), ("macs", grown[1] - macs, True)]
    # 17 channels: conv 3·17·9 = 459 params (+27), 29 376 MACs (+1 728); fc 17·10 + 10 = 180
    # params (+10), 170 MACs (+10): the regression names both layers, in network order
    assert [(x["name"], x["change"]) for d in data["baseline"]["deltas"] for x in d["layers"]] == [
        ("conv", 27), ("fc", 10), ("conv", 1728), ("fc", 10)]
    result = _check(runner, spec, "--baseline", baseline)
    assert "GREW" in result.stdout and "1 grew beyond the baseline" in result.stderr
    delta_percent = f"+{(grown[1] - macs) / macs * 100:.2f} %"  # Δ % of the MACs
    assert delta_percent in result.stdout

    _write(spec, width=15, params="1G", macs="1G")  # shrinking is allowed
    code, data = _baseline_run(runner, spec, baseline)
    assert code == 0
    assert all(d["change"] < 0 and not d["grew"] for d in data["baseline"]["deltas"])
    assert "shrank" in _check(runner, spec, "--baseline", baseline).stdout


def test_baseline_tolerance(runner: CliRunner, tmp_path: Path) -> None:
    spec, baseline = tmp_path / "tiny.yaml", tmp_path / "b.json"
    _write(spec, width=16, params="1G", macs="1G")
    assert _baseline_run(runner, spec, baseline, "--update-baseline")[0] == 0
    params, macs = _figures(spec)
    _write(spec, width=17, params="1G", macs="1G")
    grown = _figures(spec)
    growth = max((grown[0] - params) / params, (grown[1] - macs) / macs) * 100  # in %
    assert _baseline_run(runner, spec, baseline, "--tolerance", f"{growth + 0.01:.2f}")[0] == 0
    assert _baseline_run(runner, spec, baseline, "--tolerance", f"{growth - 0.01:.2f}")[0] == 1


def test_model_missing_from_the_baseline(runner: CliRunner, tmp_path: Path) -> None:
    baseline = tmp_path / "b.json"
    _write(tmp_path / "a.yaml", name="a")
    assert _baseline_run(runner, tmp_path / "a.yaml", baseline, "--update-baseline")[0] == 0
    _write(tmp_path / "b.yaml", name="b")
    result = _check(runner, tmp_path, "--baseline", baseline)
    assert result.exit_code == 1
    assert "not in the baseline: b; add with --update-baseline" in result.stdout
    assert "1 not in the baseline" in result.stderr
    code, data = _baseline_run(runner, tmp_path / "b.yaml", baseline, "--update-baseline")
    assert code == 0 and data["baseline"]["stale"] == ["a"]  # not checked: listed, not a failure
    assert sorted(json.loads(baseline.read_text())["models"]) == ["a", "b"]  # merged: a kept, b added
    assert _baseline_run(runner, tmp_path, baseline)[0] == 0


def test_no_baseline_written_when_an_input_is_bad(runner: CliRunner, tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("name: [\n")
    baseline = tmp_path / "b.json"
    result = _check(runner, tmp_path, "--baseline", baseline, "--update-baseline")
    assert result.exit_code == 2
    assert not baseline.exists()


def test_missing_baseline_file_is_bad_input(runner: CliRunner, tmp_path: Path) -> None:
    spec = _write(tmp_path / "tiny.yaml")
    result = _check(runner, spec, "--baseline", tmp_path / "none.json")
    assert result.exit_code == 2
    # one line: what to run to create it
    assert result.stderr == (f"convcost: error: --baseline: {tmp_path / 'none.json'} does not exist "
                             f"yet; create it with: convcost check {spec} --baseline "
                             f"{tmp_path / 'none.json'} --update-baseline\n")


# --- formats and GitHub Actions -----------------------------------------------------------------


def test_markdown_format(runner: CliRunner, tmp_path: Path) -> None:
    spec = _write(tmp_path / "tiny.yaml")
    params, _ = _figures(spec)
    result = _check(runner, spec, "--format", "markdown")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "## convcost check: PASS (1 model, 0 over budget)"
    assert f"| params | {params} | {params} | 0.00 % | ok |" in lines  # exact integers


def test_github_annotations_and_step_summary(runner: CliRunner, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "tiny.yaml"
    _write(spec)
    macs = _figures(spec)[1]
    _write(spec, macs=macs - 1)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = _check(runner, spec, "--format", "json")
    assert result.exit_code == 1
    json.loads(result.stdout)  # annotations never mix into stdout
    annotation, failure = result.stderr.splitlines()
    over = f"{1 / (macs - 1) * 100:.4f} %25"  # 1 / limit, with % escaped as %25
    assert annotation == (f"::error file={spec},line={MACS_LINE},title=convcost check::tiny: MACs {macs} "
                          f"is over its limit {macs - 1} (budget.macs) by {over}")
    assert failure.startswith("convcost: error: check failed")
    text = summary.read_text()
    assert text.startswith("earlier step\n## convcost check: FAIL (1 model, 1 over budget)\n")
    assert f"| MACs | {macs} | {macs - 1} |" in text


def test_github_annotations_for_bad_input_and_baseline(runner: CliRunner, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    spec = _write(tmp_path / "tiny.yaml", macs="1.5")
    result = _check(runner, spec)
    assert result.stderr.splitlines()[0] == (
        f"::error file={spec},line={MACS_LINE},title=convcost check::budget.macs: must be an integer "
        "or a count like 4.3M, got 1.5")
    _write(spec, params="1G", macs="1G")
    result = _check(runner, spec, "--baseline", tmp_path / "b.json", "--update-baseline")
    assert result.exit_code == 0 and "::error" not in result.stderr
    _write(spec, width=17, params="1G", macs="1G")
    result = _check(runner, spec, "--baseline", tmp_path / "b.json")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"::error file={spec},title=convcost check::tiny: params grew from ")


def test_no_annotations_outside_github(runner: CliRunner, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    spec = _write(tmp_path / "tiny.yaml", macs=1)
    result = _check(runner, spec)
    assert result.exit_code == 1
    assert "::error" not in result.output
    assert not summary.exists()


# --- torch: never imported unless --verify ------------------------------------------------------


@pytest.mark.slow  # a subprocess: make test; the fast loop runs in-process with torch blocked
def test_check_runs_with_torch_unimportable(tmp_path: Path) -> None:
    for name in ("torch", "fvcore"):
        fake = tmp_path / "site" / name
        fake.mkdir(parents=True)
        (fake / "__init__.py").write_text(f"raise ImportError('{name} is unimportable here')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    env.pop("GITHUB_ACTIONS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "convcost", "check", "specs/", "--baseline", "convcost-baseline.json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    shipped = len(list((ROOT / "specs").glob("*.yaml")))  # every shipped spec, within budget
    assert (f"convcost check: PASS ({shipped} models, 0 over budget, 0 grew beyond the baseline)"
            in proc.stdout)


@pytest.mark.torch  # needs torch: deselected by the fast loop
def test_verify_runs_the_cross_check(runner: CliRunner, tmp_path: Path) -> None:
    spec = _write(tmp_path / "tiny.yaml")
    code, data = _json(runner, spec, "--verify")
    assert code == 0
    verify = data["models"][0]["verify"]
    assert verify["ok"] is True and verify["mismatches"] == []
    assert verify["totals"]["params"] == _figures(spec)[0]  # torch's sum(p.numel())


@pytest.mark.torch  # needs torch: deselected by the fast loop
def test_verify_mismatch_fails(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import convcost.runtime.verify as verify_module

    real = verify_module.verify

    def off_by_one(analysis: Any, notify: Any = None) -> Any:
        from dataclasses import replace

        return replace(real(analysis), torch_params=analysis.totals.params + 1)

    monkeypatch.setattr(verify_module, "verify", off_by_one)
    spec = _write(tmp_path / "tiny.yaml")
    result = _check(runner, spec, "--verify")
    assert result.exit_code == 1
    assert "1 failed the cross-check" in result.stderr
    assert "✗ tiny: 1 mismatch(es): model: params" in result.stdout
