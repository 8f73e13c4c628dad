"""`convcost diff A B`: every format says what changed; growth limits exit 1; git:REV:path."""

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
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.report.output_schema import output_schema

ROOT = Path(__file__).resolve().parents[2]
WIDE = "tests/cli/data/mobilenet_v2_wide.yaml"  # mobilenet_v2, stage4 widened from 64 to 96
PAIR = ["specs/mobilenet_v2.yaml", WIDE]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def _run(argv: list[str], code: int = 0) -> Any:
    result = CliRunner().invoke(app, argv, env={"GITHUB_ACTIONS": "", "COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result


def _json(argv: list[str], code: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_run([*argv, "-f", "json"], code).stdout)
    return data


def test_json_names_the_changed_layers_and_validates() -> None:
    data = _json(["diff", *PAIR])
    jsonschema.validate(data, output_schema())
    # stage4.0's projection conv + BN, stage4.1-3 (9 layers each), stage5.0 (7 of its 8):
    # 2 + 27 + 7 = 36 changed; stage5.0 gains a residual add (in = out = 96 at stride 1)
    assert data["counts"] == {"added": 1, "removed": 0, "changed": 36, "renamed": 0, "same": 117}
    assert [row["name"] for row in data["layers"] if row["status"] == "added"] == ["stage5.0.add"]
    totals = {t["metric"]: t for t in data["totals"]}
    # params 3 504 872 -> 3 754 728: +249 856 (+7.13 %); MACs 300 774 272 -> 349 093 760
    assert (totals["params"]["before"], totals["params"]["after"]) == (3504872, 3754728)
    assert totals["macs"]["change"] == 349093760 - 300774272
    expand = next(r for r in data["layers"] if r["name"] == "stage4.1.expand.conv")
    # 1×1 conv 64 -> 384 at 14×14 becomes 96 -> 576: params 24 576 -> 55 296, output 1×576×14×14
    assert (expand["before"]["params"], expand["after"]["params"]) == (24576, 55296)
    assert expand["after"]["output_shape"] == [1, 576, 14, 14]
    assert expand["changes"]["memory"] == (576 - 384) * 14 * 14 * 4  # float32 bytes
    assert data["status"] == "pass" and data["limits"] == []


@pytest.mark.parametrize(("flags", "code", "grew"), [
    (["--fail-on-growth", "2%"], 1, ["params", "macs"]),  # +7.13 %, +16.07 %
    (["--fail-on-growth", "20%"], 0, []),
    (["--fail-on-growth", "2%", "--fail-on-params-growth", "8", "--fail-on-macs-growth", "17%"], 0, []),
    (["--fail-on-macs-growth", "16%"], 1, ["macs"]),  # 16.07 % > 16 %
    (["--fail-on-memory-growth", "0%"], 0, []),  # the peak (stage1's 1×96×112×112 pair) holds
])
def test_growth_limits(flags: list[str], code: int, grew: list[str]) -> None:
    data = _json(["diff", *PAIR, *flags], code)
    assert [lim["metric"] for lim in data["limits"] if lim["grew"]] == grew
    assert data["status"] == ("fail" if grew else "pass")


def test_every_format_shows_the_failure() -> None:
    flags = ["diff", *PAIR, "--fail-on-macs-growth", "2%"]
    table = _run(flags, 1)
    assert "convcost diff: FAIL: MACs +16.07 % (limit 2 %)" in table.stdout
    assert table.stderr == "convcost: error: diff: grew beyond the limit: MACs +16.07 % (limit 2 %)\n"
    md = _run([*flags, "-f", "markdown"], 1).stdout
    assert md.startswith("## convcost diff: mobilenet_v2 → mobilenet_v2_wide: FAIL: MACs +16.07 %")
    assert "| MACs | 300774272 | 349093760 | 48319488 | +16.07 % | 2 %: GREW |" in md  # exact
    rows = list(csv.DictReader(io.StringIO(_run([*flags, "-f", "csv"], 1).stdout)))
    total = next(r for r in rows if r["status"] == "total" and r["name"] == "macs")
    assert (total["grew"], total["limit_percent"], total["ratio"]) == ("True", "2", "0.160650")


def test_csv_reads_back_as_the_json() -> None:
    data = _json(["diff", *PAIR])
    rows = list(csv.DictReader(io.StringIO(_run(["diff", *PAIR, "-f", "csv"]).stdout)))
    layers = [r for r in rows if r["status"] != "total"]
    assert [r["name"] for r in layers] == [r["name"] for r in data["layers"]]
    for row, entry in zip(layers, data["layers"], strict=True):
        assert int(row["macs_change"]) == entry["changes"]["macs"]
        assert int(row["params_after"]) == entry["after"]["params"]
    assert [r["name"] for r in rows if r["status"] == "total"] == ["params", "macs", "memory"]


def test_markdown_lists_the_changed_layers() -> None:
    md = _run(["diff", *PAIR, "-f", "markdown"]).stdout
    layer_rows = [line for line in md.splitlines() if line.startswith("| changed") or
                  line.startswith("| added")]
    assert len(layer_rows) == 37
    # stage5.0's projection: 1×1 conv 384 -> 96 becomes 576 -> 96: +192·96 = 18 432 params,
    # ·14·14 = 3 612 672 MACs; its output keeps its shape, so its memory
    assert "| changed | stage5.0.project.conv | pwconv | 18432 | 3612672 | 1×96×14×14 | 0 |" in md


def test_identical_and_all() -> None:
    same = _json(["diff", "mobilenet_v2", "specs/mobilenet_v2.yaml"])
    assert same["layers"] == [] and same["counts"]["same"] == 153
    assert "no layer changed" in _run(["diff", "mobilenet_v2", "mobilenet_v2"]).stdout
    every = _json(["diff", *PAIR, "--all"])
    assert len(every["layers"]) == 154 and every["all_layers"]


def test_summary_is_the_totals() -> None:
    short = _run(["diff", *PAIR, "--summary"]).stdout
    assert "+16.07 %" in short and "stage4" not in short


@pytest.mark.parametrize(("flags", "message"), [
    (["--fail-on-growth", "two"], "--fail-on-growth: expected a percentage such as 2% or 0.5%"),
    (["--fail-on-latency-growth", "1%"], "--fail-on-latency-growth: needs --latency-model"),
    (["--input", "1x3x0"], "--input: expected a shape like 1x3x224x224"),
])
def test_bad_options_are_one_line(flags: list[str], message: str) -> None:
    result = _run(["diff", *PAIR, *flags], 2)
    assert result.stderr.startswith(f"convcost: error: {message}") and result.stderr.count("\n") == 1


LATENCY = """\
format: convcost-latency/1
machine: {cpu: test cpu, device: cpu, threads: 1, torch: 2.13.0, dtype: float32, backend: torch}
calibrated_on: [a]
pass_factor: 1.0
overhead_per_group_s: 0.0
classes:
  all: {per_mac_s: 1.0e-09, per_byte_s: 0.0, per_layer_s: 1.0e-06, samples: 10}
"""


def test_latency_model_adds_a_figure(tmp_path: Path) -> None:
    model = tmp_path / "device.yaml"
    model.write_text(LATENCY, encoding="utf-8")
    data = _json(["diff", *PAIR, "--latency-model", str(model)])
    latency = next(t for t in data["totals"] if t["metric"] == "latency")
    # 1 ns per MAC and 1 µs per fused group: +48 319 488 MACs is +48.3 ms, plus 1 µs for the
    # new add (its own group)
    assert latency["change"] == pytest.approx(48319488e-9 + 1e-6, rel=1e-9)
    failed = _json(["diff", *PAIR, "--latency-model", str(model), "--fail-on-latency-growth",
                    "5%"], 1)
    assert [lim["metric"] for lim in failed["limits"]] == ["latency"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                   check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "-q")
    shutil.copy(ROOT / "specs" / "mobilenet_v2.yaml", tmp_path / "net.yaml")
    _git(tmp_path, "add", "net.yaml")
    _git(tmp_path, "commit", "-q", "-m", "v1")
    shutil.copy(ROOT / WIDE, tmp_path / "net.yaml")  # the working tree: widened
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_git_revision_against_the_working_tree(repo: Path) -> None:
    data = _json(["diff", "git:HEAD:net.yaml", "net.yaml"])
    assert data["before"]["source"] == "git:HEAD:net.yaml"
    assert data["counts"]["changed"] == 36 and data["counts"]["added"] == 1


def test_git_path_is_relative_to_the_current_directory(repo: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "sub")
    assert _json(["diff", "git:HEAD:../net.yaml", "../net.yaml"])["counts"]["changed"] == 36


@pytest.mark.parametrize(("arg", "message"), [
    ("git:HEAD:../outside.yaml", "is not a file inside the git repository"),
    ("git:HEAD:.", "is not a file inside the git repository"),
    ("git:-p:net.yaml", "'-p' is not a git revision"),
    ("git:HEAD", "expected git:REV:PATH"),
    ("git:nosuchrev:net.yaml", "git: "),
    ("git:HEAD:sub", "git:HEAD:sub: "),  # not in the commit
    ("git:HEAD:missing.yaml", "git: "),
])
def test_git_errors_are_one_line(repo: Path, arg: str, message: str) -> None:
    result = _run(["diff", arg, "net.yaml"], 2)
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_git_tree_is_not_a_spec(repo: Path) -> None:
    (repo / "sub" / "a.yaml").write_text("x: 1\n", encoding="utf-8")
    _git(repo, "add", "sub/a.yaml")
    _git(repo, "commit", "-q", "-m", "sub")
    result = _run(["diff", "git:HEAD:sub", "net.yaml"], 2)
    assert "a git tree, not a file" in result.stderr


def test_git_source_works_for_model_too(repo: Path) -> None:
    text = _run(["model", "git:HEAD:net.yaml", "--no-verify", "--summary"]).stdout
    assert "3,504,872" in text  # the committed mobilenet_v2, not the widened working tree


OPAQUE = """\
name: opq
input: {channels: 3, resolution: 8}
layers:
  - {kind: conv, name: conv, out_channels: 4}
  - {kind: opaque, name: weird, op: aten.foo, output_shape: [4, 8, 8], params: 5}
"""


def test_uncounted_layers_are_said_and_fail_under_strict(tmp_path: Path) -> None:
    spec = tmp_path / "opq.yaml"
    spec.write_text(OPAQUE, encoding="utf-8")
    plain = _run(["diff", str(spec), str(spec)])
    said = [line for line in plain.stderr.splitlines() if "lower bounds" in line]
    # one line per model read (issue 19 §1), naming the uncounted op with its count
    assert said == ["convcost: warning: opq: totals are lower bounds: MACs of 1 opaque layer "
                    "(aten.foo ×1) are not counted"] * 2
    assert "A: 1 layers not counted (opaque: weird)" in plain.stdout
    data = _json(["diff", str(spec), str(spec)])
    assert data["before"]["uncounted"] == ["weird"]
    strict = _run(["diff", str(spec), str(spec), "--strict"], 2)  # like every command: exit 2
    assert "convcost: error: --strict: opq: figures would be lower bounds" in strict.stderr
