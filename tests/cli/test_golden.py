"""Golden outputs: each command and format on a few specs, and every spec's totals, byte for byte.

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

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
FORMATS = ("table", "json", "csv", "markdown")
TOOLS = ("fvcore", "thop", "ptflops", "torchinfo", "torch")
UPDATE = os.environ.get("CONVCOST_UPDATE_GOLDEN") == "1"
# The per-format goldens run on three small specs that differ in shape: a plain sequential
# stack, a graph (`from:` merges, skip connections, upsampling) and one with squeeze-excitation
# (where the counting conventions disagree most). Every shipped spec still meets the real tools'
# rules through the per-convention totals tables below, and the output schema and the formats'
# structure through tests/cli/test_output_contract.py.
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


LAYER = ["layer", "--cin", "64", "--cout", "128", "--k", "3", "--hw", "224"]
OTHER_CASES: list[tuple[str, list[str]]] = [
    *[(f"layer/basic.{fmt}", [*LAYER, "--format", fmt]) for fmt in FORMATS],
    ("layer/memory.table", [*LAYER, "--memory", "--bn"]),
    *[(f"layer/attention.{fmt}", ["layer", "--cin", "64", "--cout", "64", "--hw", "56", "--attention",
                                   "--heads", "4", "--kv-stride", "2", "--format", fmt]) for fmt in FORMATS],
    ("layer/training.json", [*LAYER, "--training", "--format", "json"]),
    ("layer/thop.table", [*LAYER, "--convention", "thop"]),
    ("check/specs.table", ["check", "specs/", "--baseline", "convcost-baseline.json"]),
    ("check/specs.json", ["check", "specs/", "--baseline", "convcost-baseline.json", "--format", "json"]),
    ("sweep/mobilenet_v1.json", ["sweep", "specs/mobilenet_v1.yaml", "--format", "json"]),
    ("sweep/mobilenet_v1.csv", ["sweep", "specs/mobilenet_v1.yaml", "--format", "csv"]),
    ("sweep/mobilenet_v1.t4.csv", ["sweep", "mobilenet_v1", "--roofline", "t4", "--dtype", "float16",
                                   "--format", "csv"]),
    ("layer/memory.t4.csv", [*LAYER, "--memory", "--roofline", "t4", "--format", "csv"]),
    ("layer/training.csv", [*LAYER, "--training", "--format", "csv"]),
    ("layer/thop.csv", [*LAYER, "--convention", "thop", "--format", "csv"]),
    ("check/specs.csv", ["check", "specs/", "--baseline", "convcost-baseline.json", "--format", "csv"]),
    ("check/specs.summary.table", ["check", "specs/", "--summary"]),
    ("conventions/mobilenet_v2.csv", ["conventions", "mobilenet_v2", "--format", "csv"]),
    ("conventions/mobilenet_v2.summary.table", ["conventions", "mobilenet_v2", "--summary"]),
    ("list/builtins.table", ["list"]),
    ("list/builtins.json", ["list", "--format", "json"]),
    ("list/builtins.csv", ["list", "--format", "csv"]),
    ("schema/output.json", ["schema", "output"]),
    *[(f"diff/mobilenet_v2_wide.{fmt}", ["diff", "specs/mobilenet_v2.yaml",
                                          "tests/cli/data/mobilenet_v2_wide.yaml",
                                          "--fail-on-growth", "20%", "--format", fmt])
      for fmt in ("table", "markdown")],
    *[(f"model/mobilenet_v2.{name}", ["model", "mobilenet_v2", "--no-verify", *argv]) for name, argv in (
        ("depth1.json", ["--depth", "1", "--format", "json"]),
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


@pytest.mark.parametrize(("name", "argv"), CASES, ids=[name for name, _ in CASES])
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


@pytest.mark.parametrize("convention", ("paper", *TOOLS))
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
