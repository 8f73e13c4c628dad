"""Golden outputs: each command and format on three specs, and every spec's totals, byte for byte.

Run ``CONVCOST_UPDATE_GOLDEN=1 pytest tests -k golden`` to rewrite the files after an
intended change, then review the diff (the torchinfo ``tests/test_output`` practice).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.conventions.rules import CONVENTIONS

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
FORMATS = ("table", "json", "csv", "markdown")
TOOLS = tuple(name for name in CONVENTIONS if name != "paper")
UPDATE = os.environ.get("CONVCOST_UPDATE_GOLDEN") == "1"
# The per-format goldens run on three small specs that differ in shape, and on no other: a plain
# sequential stack, a graph (`from:` merges, skip connections, upsampling) and one with
# squeeze-excitation (where the counting conventions disagree most); the flags' goldens on the
# sequential one. Every shipped spec still meets the real tools' rules through the per-convention
# totals tables below, `check` and its baseline through tests/cli/test_check_cli.py
# (test_shipped_specs_are_within_budget_and_baseline), and the output schema and the formats'
# structure through tests/cli/test_output_contract.py (--depth: test_layers_are_always_the_leaves).
SEQUENTIAL, GRAPH, SE = "mobilenet_v1", "unet", "mobilenet_v3_small"
GOLDEN_SPECS = (SEQUENTIAL, GRAPH, SE)


def _model(spec: str, *argv: str) -> list[str]:
    return ["model", f"specs/{spec}.yaml", "--no-verify", *argv]


def _model_cases() -> list[tuple[str, list[str]]]:
    cases: list[tuple[str, list[str]]] = []
    for spec in GOLDEN_SPECS:
        cases += [(f"model/{spec}.{fmt}", _model(spec, "--format", fmt)) for fmt in FORMATS]
        cases.append((f"conventions/{spec}.table", ["conventions", f"specs/{spec}.yaml"]))
        cases.append((f"conventions/{spec}.json", ["conventions", f"specs/{spec}.yaml", "--format", "json"]))
        cases.append((f"sweep/{spec}.table", ["sweep", f"specs/{spec}.yaml", "--alpha", "1,0.5",
                                              "--resolution", "224,160"]))
    for flag in ("memory", "training"):
        cases += [(f"model/{SEQUENTIAL}.{flag}.{fmt}", _model(SEQUENTIAL, f"--{flag}", "--format", fmt))
                  for fmt in FORMATS]
        cases += [(f"model/{spec}.{flag}.table", _model(spec, f"--{flag}")) for spec in (GRAPH, SE)]
    for tool in TOOLS:
        cases.append((f"model/{SE}.{tool}.table", _model(SE, "--convention", tool)))
        cases.append((f"model/{GRAPH}.{tool}.json", _model(GRAPH, "--convention", tool, "--format", "json")))
    return cases


CHECK = ["check", *(f"specs/{spec}.yaml" for spec in GOLDEN_SPECS), "--baseline", "convcost-baseline.json"]
LAYER = ["layer", "--cin", "64", "--cout", "128", "--k", "3", "--hw", "224"]
OTHER_CASES: list[tuple[str, list[str]]] = [
    *[(f"layer/basic.{fmt}", [*LAYER, "--format", fmt]) for fmt in FORMATS],
    ("layer/memory.table", [*LAYER, "--memory", "--bn"]),
    *[(f"layer/attention.{fmt}", ["layer", "--cin", "64", "--cout", "64", "--hw", "56", "--attention",
                                   "--heads", "4", "--kv-stride", "2", "--format", fmt]) for fmt in FORMATS],
    ("layer/training.json", [*LAYER, "--training", "--format", "json"]),
    ("layer/thop.table", [*LAYER, "--convention", "thop"]),
    *[(f"check/golden_specs.{fmt}", [*CHECK, "--format", fmt]) for fmt in ("table", "json", "csv")],
    ("sweep/mobilenet_v1.json", ["sweep", "specs/mobilenet_v1.yaml", "--format", "json"]),
    ("sweep/mobilenet_v1.csv", ["sweep", "specs/mobilenet_v1.yaml", "--format", "csv"]),
    ("sweep/mobilenet_v1.t4.csv", ["sweep", "mobilenet_v1", "--roofline", "t4", "--dtype", "float16",
                                   "--format", "csv"]),
    ("layer/memory.t4.csv", [*LAYER, "--memory", "--roofline", "t4", "--format", "csv"]),
    ("layer/training.csv", [*LAYER, "--training", "--format", "csv"]),
    ("layer/thop.csv", [*LAYER, "--convention", "thop", "--format", "csv"]),
    ("check/golden_specs.summary.table", [*CHECK[:4], "--summary"]),
    ("conventions/mobilenet_v1.csv", ["conventions", "mobilenet_v1", "--format", "csv"]),
    ("conventions/mobilenet_v1.summary.table", ["conventions", "mobilenet_v1", "--summary"]),
    ("list/builtins.table", ["list"]),
    ("list/builtins.json", ["list", "--format", "json"]),
    ("list/builtins.csv", ["list", "--format", "csv"]),
    ("schema/output.json", ["schema", "output"]),
    *[(f"diff/mobilenet_v1_wide.{fmt}", ["diff", "specs/mobilenet_v1.yaml",
                                          "tests/cli/data/mobilenet_v1_wide.yaml",
                                          "--fail-on-growth", "20%", "--format", fmt])
      for fmt in ("table", "markdown")],
    *[(f"model/mobilenet_v1.{name}", ["model", "mobilenet_v1", "--no-verify", *argv]) for name, argv in (
        ("summary.table", ["--summary"]),
        ("summary.json", ["--summary", "--format", "json"]),
        ("summary.csv", ["--summary", "--format", "csv"]),
        ("memory.summary.table", ["--summary", "--memory", "--training"]),
        ("t4.csv", ["--roofline", "t4", "--format", "csv"]),
        ("t4.summary.table", ["--roofline", "t4", "--summary"]),
        ("all.csv", ["--memory", "--training", "--convention", "thop", "--format", "csv"]),
        ("input.table", ["--input", "2x3x320x240", "--summary"]),
        ("height.table", ["--height", "160", "--width", "224", "--summary"]),
    )],
]
CASES = _model_cases() + OTHER_CASES
# each list analyses every shipped spec (~0.35 s of CPU): the fast loop compares its table, make
# test its JSON and CSV too (their renderers are compared by every other JSON and CSV golden)
SLOW_CASES = frozenset({"list/builtins.json", "list/builtins.csv"})


def _invoke(argv: list[str]) -> str:
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "200", "GITHUB_ACTIONS": ""})
    assert result.exit_code == 0, result.output
    return result.stdout


def _compare(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.out"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with CONVCOST_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "argv"), [
    pytest.param(name, argv, marks=pytest.mark.slow) if name in SLOW_CASES else (name, argv)
    for name, argv in CASES], ids=[name for name, _ in CASES])
def test_golden(name: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    _compare(name, _invoke(argv))


@pytest.fixture(scope="module")
def conventions_rows() -> dict[str, list[dict[str, str]]]:
    """``conventions SPEC --summary --format csv`` of every shipped spec: one row per convention."""
    rows: dict[str, list[dict[str, str]]] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        for spec in SPECS:
            text = _invoke(["conventions", f"specs/{spec}.yaml", "--summary", "--format", "csv"])
            rows[spec] = list(csv.DictReader(io.StringIO(text)))
    return rows


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_totals_of_every_shipped_spec(convention: str,
                                      conventions_rows: dict[str, list[dict[str, str]]]) -> None:
    """One compact table per convention: every shipped spec's exact total under its rules (in
    the convention's unit) and the params it reports (empty: the tool reports none)."""
    lines = ["model,unit,total,params"]
    for spec, rows in conventions_rows.items():
        [row] = [r for r in rows if r["name"] == convention]
        lines.append(f"{spec},{row['unit']},{row['total']},{row['params']}")
    assert len(lines) == len(SPECS) + 1
    _compare(f"totals/{convention}.csv", "\n".join(lines) + "\n")


def _specs_named(argv: list[str]) -> set[str]:
    """The shipped specs a command line names (``specs/unet.yaml`` or ``unet``)."""
    return {Path(word).stem for word in argv if Path(word).stem in SPECS
            and (word in SPECS or word.startswith("specs/"))}


def test_the_goldens_are_the_cases_on_three_specs() -> None:
    """Every golden file is a case's (none left behind), one totals table per convention, and
    no per-format golden names a shipped spec but the three: a new spec adds a totals row only."""
    files = {str(p.relative_to(GOLDEN)).removesuffix(".out") for p in GOLDEN.rglob("*.out")}
    assert files == {name for name, _ in CASES} | {f"totals/{name}.csv" for name in CONVENTIONS}
    assert set().union(*(_specs_named(argv) for _, argv in CASES)) == set(GOLDEN_SPECS)
    named = _specs_named(["diff", "specs/mobilenet_v2.yaml", "vgg16", "vgg16.onnx"])
    assert named == {"mobilenet_v2", "vgg16"}  # the check sees both spellings
