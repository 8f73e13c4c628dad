"""`check` on real projects: the per-layer baseline, formats that agree on a regression,
budgets files naming any model, the missing-baseline hint (issue 22 §2)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner, Result

from convcost.cli.app import app
from convcost.report.output_schema import output_schema

ROOT = Path(__file__).resolve().parents[2]
WIDEN = ("out_channels: 64, repeat: 4", "out_channels: 96, repeat: 4")
BUDGET = ("  params: 3.6M\n  macs: 310M\n", "  params: 4M\n  macs: 400M\n")


def _run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, ["check", *map(str, args)],
                              env={"GITHUB_ACTIONS": "", "COLUMNS": "200", **(env or {})})


@pytest.fixture
def grown(tmp_path: Path) -> tuple[Path, Path]:
    """mobilenet_v2 and its baseline; then stage4 widened 64 -> 96 (budget raised: only the
    baseline fails)."""
    spec, baseline = tmp_path / "mobilenet_v2.yaml", tmp_path / "baseline.json"
    text = (ROOT / "specs" / "mobilenet_v2.yaml").read_text(encoding="utf-8")
    spec.write_text(text, encoding="utf-8")
    assert _run(spec, "--baseline", baseline, "--update-baseline").exit_code == 0
    spec.write_text(text.replace(*WIDEN).replace(*BUDGET), encoding="utf-8")
    return spec, baseline


def test_baseline_is_one_line_per_layer(grown: tuple[Path, Path]) -> None:
    _, baseline = grown
    data = json.loads(baseline.read_text(encoding="utf-8"))
    layers = data["models"]["mobilenet_v2"]["layers"]
    # the 52 convs, 52 BNs and the classifier of mobilenet_v2 (layers with params or MACs)
    assert len(layers) == 105 and layers[0] == {"name": "stem.conv", "kind": "conv",
                                                "params": 864, "macs": 10838016}
    lines = baseline.read_text(encoding="utf-8").splitlines()
    assert sum(1 for line in lines if line.lstrip().startswith('{"name": ')) == 105
    assert sum(x["params"] for x in layers) == data["models"]["mobilenet_v2"]["params"] == 3504872


def test_every_format_shows_a_baseline_regression(grown: tuple[Path, Path], tmp_path: Path) -> None:
    spec, baseline = grown
    table = _run(spec, "--baseline", baseline)
    assert table.exit_code == 1 and "GREW" in table.stdout
    # the MACs that grew: stage4.1-3's expand and project 1×1 convs, +6.02 M each (64·384·196 =
    # 4 816 896 -> 96·576·196 = 10 838 016) come first
    assert "mobilenet_v2: MACs grew in stage4.1.expand.conv (+6.02 M)" in table.stdout
    assert "mobilenet_v2: layers against the baseline" in table.stdout

    data = json.loads(_run(spec, "--baseline", baseline, "-f", "json").stdout)
    jsonschema.validate(data, output_schema())
    assert data["status"] == "fail" and data["models"][0]["failed"]
    macs = next(d for d in data["baseline"]["deltas"] if d["metric"] == "macs")
    grew = {x["name"]: x["change"] for x in macs["layers"]}
    assert grew["stage4.1.expand.conv"] == 10838016 - 4816896
    # the MACs grow in stage4.0's projection (1), stage4.1-3 (3 convs each) and stage5.0 (3)
    assert len(grew) == 13 and sum(grew.values()) == macs["change"] == 349093760 - 300774272

    rows = list(csv.DictReader(io.StringIO(_run(spec, "--baseline", baseline, "-f", "csv").stdout)))
    assert [(r["metric"], r["over"], r["grew"], r["failed"]) for r in rows] == [
        ("params", "False", "True", "True"), ("macs", "False", "True", "True")]

    md = _run(spec, "--baseline", baseline, "-f", "markdown").stdout
    assert md.startswith("## convcost check: FAIL")
    assert "| changed | stage4.1.expand.conv | pwconv | 30720 | 6021120 |" in md

    summary = tmp_path / "summary.md"
    annotated = _run(spec, "--baseline", baseline,
                     env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert "; in stage4.1.expand.conv (+6.02 M), " in annotated.stderr
    assert "### mobilenet_v2: layers against the baseline" in summary.read_text(encoding="utf-8")


def test_a_version_1_baseline_is_read_and_migrated(tmp_path: Path) -> None:
    baseline = tmp_path / "b.json"
    baseline.write_text('{"models": {"mobilenet_v2": {"macs": 300774272, "params": 3504871}},'
                        ' "version": 1}\n', encoding="utf-8")
    result = _run("mobilenet_v2", "--baseline", baseline)
    assert result.exit_code == 1  # one param more than the baseline says
    assert ("no per-layer figures in the baseline for mobilenet_v2: --update-baseline records "
            "them") in result.stdout
    assert _run("mobilenet_v2", "--baseline", baseline, "--update-baseline").exit_code == 0
    data = json.loads(baseline.read_text(encoding="utf-8"))
    assert data["version"] == 2 and len(data["models"]["mobilenet_v2"]["layers"]) == 105
    assert _run("mobilenet_v2", "--baseline", baseline).exit_code == 0


def test_the_shipped_baseline_has_layers() -> None:
    data = json.loads((ROOT / "convcost-baseline.json").read_text(encoding="utf-8"))
    assert data["version"] == 2
    assert all(entry.get("layers") for entry in data["models"].values())


@pytest.mark.parametrize(("layers", "line", "message"), [
    ('[{"name": "a", "kind": "conv", "params": 1, "macs": 2},\n'
     ' {"name": "a", "kind": "conv", "params": 1, "macs": 2}]', 3,
     "models.m.layers[1].name: duplicate layer name 'a'"),
    ('[{"name": "a", "kind": "conv", "params": -1, "macs": 2}]', 2,
     "models.m.layers[0].params: must be"),
    ('[{"name": "a", "kind": "conv", "params": 1}]', 2, "models.m.layers[0].macs: missing required"),
    ('[{"name": "a", "kind": "conv", "params": 1, "macs": 2, "x": 3}]', 2,
     "models.m.layers[0].x: unknown key"),
    ('[{"name": "a\\u001b[31m", "kind": "conv", "params": 1, "macs": 2}]', 2,
     "models.m.layers[0].name: must be a printable string"),
])
def test_bad_layer_lines_are_located(tmp_path: Path, layers: str, line: int, message: str) -> None:
    baseline = tmp_path / "b.json"
    baseline.write_text('{"version": 2, "models": {"m": {"params": 1, "macs": 2,\n"layers": '
                        + layers + "}}}\n", encoding="utf-8")
    result = _run("mobilenet_v2", "--baseline", baseline)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"convcost: error: {baseline}:{line}: {message}"), result.stderr


def test_missing_baseline_hint_quotes_the_arguments(tmp_path: Path) -> None:
    shutil.copy(ROOT / "specs" / "mobilenet_v1.yaml", tmp_path / "a b.yaml")
    result = _run("mobilenet_v2", tmp_path / "a b.yaml", "--baseline", tmp_path / "none.json")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert (f"create it with: convcost check mobilenet_v2 '{tmp_path / 'a b.yaml'}' --baseline "
            f"{tmp_path / 'none.json'} --update-baseline") in result.stderr


def _budgets(tmp_path: Path, entries: str) -> Path:
    path = tmp_path / "ci" / "budgets.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"budgets:\n{entries}", encoding="utf-8")
    return path


def test_budgets_file_names_a_builtin(tmp_path: Path) -> None:
    budgets = _budgets(tmp_path, "  - {spec: mobilenet_v1, params: 4.3M, macs: 500M}\n")
    result = _run(budgets, "-f", "json")
    assert result.exit_code == 1  # 568 740 352 MACs > 500M
    data = json.loads(result.stdout)
    assert data["models"][0]["name"] == "mobilenet_v1"
    assert [m["metric"] for m in data["models"][0]["metrics"] if m["over"]] == ["macs"]


@pytest.mark.parametrize(("entry", "message"), [
    ("{spec: mobilenet_v1, input: 1x3x160x160, params: 5M, macs: 1G}",
     "budgets[0].input: only an imported model takes an input shape"),
    ("{spec: 'torchvision:resnet18', input: 1x3x0x4, params: 5M, macs: 1G}",
     "budgets[0].input: expected a shape like 1x3x224x224"),
    ("{spec: 'torchvision:resnet18', input: [1, 3], params: 5M, macs: 1G, inputs: 2}",
     "budgets[0].inputs: unknown key"),
    ("{spec: 'net.py:Net(', params: 5M, macs: 1G}", "budgets[0].spec: "),
])
def test_bad_budget_entries_are_located(tmp_path: Path, entry: str, message: str) -> None:
    budgets = _budgets(tmp_path, f"  - {entry}\n")
    result = _run(budgets)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"convcost: error: {budgets}:2: {message}"), result.stderr


def test_git_revision_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    shutil.copy(ROOT / "specs" / "mobilenet_v1.yaml", tmp_path / "net.yaml")
    for args in (["init", "-q"], ["add", "net.yaml"], ["commit", "-q", "-m", "v1"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                       check=True, capture_output=True)
    monkeypatch.chdir(tmp_path)
    data: dict[str, Any] = json.loads(_run("git:HEAD:net.yaml", "-f", "json").stdout)
    assert data["status"] == "pass" and data["models"][0]["spec"] == "git:HEAD:net.yaml"
