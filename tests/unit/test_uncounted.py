"""Uncounted work is never silent (issue 19 §1): opaque layers on every command and format,
``--strict``, ``check`` and ``allow_incomplete``, dropped layers with what they held."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.cost.ops.opaque import describe, uncounted
from convcost.net.analysis import analyze, spec_uncounted
from convcost.spec.loader import load_spec
from tests.helpers import ROOT

# A token model as `convcost import` writes it: a patch conv, then two opaque layers. The second
# reads both the first and the conv (every input the original ops read), and is repeated twice.
SPEC = """\
name: tokens
input: {channels: 3, resolution: 32}
layers:
  - {kind: conv, name: patch, out_channels: 8, kernel_size: 8, stride: 8, padding: 0}
  - {kind: opaque, name: embed, op: 'flatten ×1, transpose ×1', output_shape: [16, 8]}
  - {kind: opaque, name: blocks, from: [embed, patch], op: 'linear ×4, layernorm ×2',
     output_shape: [16, 8], params: 100, repeat: 2}
  - {kind: opaque, name: pool, op: 'mean ×1', output_shape: [8]}
  - {kind: linear, name: head, out_features: 10}
"""
# patch: 8·3·64 = 1,536 params, 16 positions · 1,536 = 24,576 MACs; head: 8·10 + 10 = 90
# params, 80 MACs; opaque: 2 · 100 params. Totals: 1,826 params, 24,656 MACs (a lower bound).
PARAMS, MACS = 1_536 + 200 + 90, 24_576 + 80
# 4 opaque layers (embed, blocks.0, blocks.1, pool): linear 2·4, layernorm 2·2, flatten,
# transpose, mean once each
OPS = {"linear": 8, "layernorm": 4, "flatten": 1, "transpose": 1, "mean": 1}


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "GITHUB_ACTIONS": ""})
    return result.exit_code, result.stdout, result.stderr


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "lower bounds" in line]


def test_describe_and_uncounted_are_inverse_and_bounded() -> None:
    ops = Counter({"linear": 48, "layernorm": 25, "torch._C._nn.scaled_dot_product_attention": 12})
    assert uncounted(describe(ops)) == ops
    many = Counter({f"op_number_{i}": i + 1 for i in range(40)})  # 40 kinds, 820 ops in all
    text = describe(many)
    assert len(text) <= 200 and "other ops ×" in text
    assert sum(uncounted(text).values()) == 820  # 1 + 2 + ... + 40: the tail summed, none lost
    assert uncounted("a free text") == Counter({"a free text": 1})


def test_analysis_and_spec_agree_on_what_is_uncounted(spec: Path) -> None:
    loaded = load_spec(spec)
    analysis = analyze(loaded)
    assert (analysis.totals.params, analysis.totals.macs) == (PARAMS, MACS)
    assert not analysis.complete
    assert analysis.uncounted.layers == spec_uncounted(loaded).layers == 4
    assert analysis.uncounted.ops == spec_uncounted(loaded).ops == Counter(OPS)


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
@pytest.mark.parametrize("summary", [[], ["--summary"]])
def test_model_says_once_that_totals_are_lower_bounds(spec: Path, fmt: str, summary: list[str]) -> None:
    code, out, err = _invoke("model", str(spec), "--no-verify", "-f", fmt, *summary)
    assert code == 0
    [line] = _warnings(err)
    assert "tokens: totals are lower bounds: MACs of 4 opaque layers (linear ×8, layernorm ×4" in line
    if fmt == "json":
        totals = json.loads(out)["totals"]
        assert totals == {"params": PARAMS, "macs": MACS, "flops": 2 * MACS, "complete": False,
                          "opaque_layers": 4, "uncounted": OPS}
    elif fmt == "table":
        assert "INCOMPLETE: these totals are lower bounds" in out


def test_summary_csv_has_the_completeness_columns(spec: Path) -> None:
    _, out, _ = _invoke("model", str(spec), "--no-verify", "-f", "csv", "--summary")
    header, row = out.splitlines()
    assert header.endswith(",complete,uncounted")
    assert row.startswith(f"tokens,input=1x3x32x32,{PARAMS},{MACS},{2 * MACS},False,flatten ×1; "
                          "transpose ×1; linear ×8")  # the inputs column names the one input


def test_the_fast_path_warns_too(spec: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "convcost", "model", str(spec), "--no-verify",
                           "--summary"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and len(_warnings(done.stderr)) == 1


@pytest.mark.parametrize("command", [
    ["model", "{}", "--no-verify"], ["model", "{}"], ["conventions", "{}"], ["sweep", "{}"],
    ["verify", "{}"], ["profile", "{}"], ["calibrate", "{}", "-o", "{}.lat"], ["bench", "{}"],
    ["check", "{}"], ["diff", "{}", "{}"], ["fit", "{}", "--max-macs", "1G"],
    ["report", "{}", "-o", "{}.html"],
])
def test_strict_refuses_an_opaque_layer_on_every_command(spec: Path, command: list[str]) -> None:
    code, _, err = _invoke(*(word.replace("{}", str(spec)) for word in command), "--strict")
    assert code == 2, err
    assert "--strict: tokens: figures would be lower bounds: MACs of 4 opaque layers" in err


@pytest.mark.parametrize("command", [["conventions", "{}"], ["sweep", "{}", "--alpha", "1"],
                                     ["diff", "{}", "{}"]])
def test_other_commands_warn_once(spec: Path, command: list[str]) -> None:
    code, _, err = _invoke(*(word.replace("{}", str(spec)) for word in command))
    assert code == 0 and len(_warnings(err)) == command.count("{}")  # one per model read


@pytest.mark.parametrize(("allow", "code"), [("", 1), (", allow_incomplete: true", 0)])
def test_check_fails_an_incomplete_model_unless_its_budget_allows_it(
        tmp_path: Path, allow: str, code: int) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(SPEC + f"budget: {{params: 1M, macs: 1M{allow}}}\n", encoding="utf-8")
    got, out, err = _invoke("check", str(path), "-f", "json")
    assert got == code, err
    [model] = json.loads(out)["models"]
    assert (model["complete"], model["opaque_layers"], model["uncounted"]) == (False, 4, OPS)
    assert model["failed"] is (code == 1) and model["allow_incomplete"] is bool(allow)
    assert len(_warnings(err)) == 1
    if code:
        assert "1 incomplete" in json.loads(out)["summary"]
    _, table, _ = _invoke("check", str(path))
    said = "INCOMPLETE (FAILS)" if code else "INCOMPLETE (allowed by its budget: allow_incomplete)"
    assert said in " ".join(table.split())


def test_bad_allow_incomplete_is_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(SPEC + "budget: {params: 1M, macs: 1M, allow_incomplete: 'yes'}\n", encoding="utf-8")
    code, _, err = _invoke("check", str(path))
    assert code == 2 and "budget.allow_incomplete: must be true or false" in err


def test_a_dropped_layer_is_named_with_what_it_held(tmp_path: Path) -> None:
    path = tmp_path / "branch.yaml"
    path.write_text("""\
name: branch
input: {channels: 3, resolution: 8}
layers:
  - {kind: conv, name: stem, out_channels: 4, kernel_size: 3}
  - {kind: conv, name: aux, out_channels: 16, kernel_size: 1}
  - {kind: conv, name: head, from: stem, out_channels: 2, kernel_size: 1}
""", encoding="utf-8")
    code, _, err = _invoke("model", str(path), "--no-verify", "--summary")
    assert code == 0
    # aux: 1×1 conv 4 -> 16 on 8×8: 64 params, 64 · 64 = 4,096 MACs
    assert "layers[1]: layer 'aux' is not used by any output: not counted (it holds 64 params " \
           "and 4,096 MACs)" in err
