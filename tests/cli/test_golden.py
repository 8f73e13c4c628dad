"""Golden outputs: every shipped spec through every command and format, byte for byte.

Run ``CONVCOST_UPDATE_GOLDEN=1 pytest tests -k golden`` to rewrite the files after an
intended change, then review the diff (the torchinfo ``tests/test_output`` practice).
"""

from __future__ import annotations

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


def _model_cases() -> list[tuple[str, list[str]]]:
    cases: list[tuple[str, list[str]]] = []
    for spec in SPECS:
        path = f"specs/{spec}.yaml"
        for fmt in FORMATS:
            base = ["model", path, "--no-verify", "--format", fmt]
            cases.append((f"model/{spec}.{fmt}", base))
            cases.append((f"model/{spec}.memory.{fmt}", [*base, "--memory"]))
            cases.append((f"model/{spec}.training.{fmt}", [*base, "--training"]))
        for tool in TOOLS:
            for fmt in ("table", "json"):
                cases.append((f"model/{spec}.{tool}.{fmt}",
                              ["model", path, "--no-verify", "--convention", tool, "--format", fmt]))
        cases.append((f"conventions/{spec}.table", ["conventions", path]))
        cases.append((f"conventions/{spec}.json", ["conventions", path, "--format", "json"]))
        cases.append((f"sweep/{spec}.table", ["sweep", path, "--alpha", "1,0.5", "--resolution", "224,160"]))
    return cases


LAYER = ["layer", "--cin", "64", "--cout", "128", "--k", "3", "--hw", "224"]
OTHER_CASES: list[tuple[str, list[str]]] = [
    *[(f"layer/basic.{fmt}", [*LAYER, "--format", fmt]) for fmt in FORMATS],
    ("layer/memory.table", [*LAYER, "--memory", "--bn"]),
    ("layer/training.json", [*LAYER, "--training", "--format", "json"]),
    ("layer/thop.table", [*LAYER, "--convention", "thop"]),
    ("check/specs.table", ["check", "specs/", "--baseline", "convcost-baseline.json"]),
    ("check/specs.json", ["check", "specs/", "--baseline", "convcost-baseline.json", "--format", "json"]),
    ("sweep/mobilenet_v1.json", ["sweep", "specs/mobilenet_v1.yaml", "--format", "json"]),
    ("sweep/mobilenet_v1.csv", ["sweep", "specs/mobilenet_v1.yaml", "--format", "csv"]),
    ("sweep/mobilenet_v1.t4.csv", ["sweep", "mobilenet_v1", "--device", "t4", "--dtype", "float16",
                                   "--format", "csv"]),
    ("layer/memory.t4.csv", [*LAYER, "--memory", "--device", "t4", "--format", "csv"]),
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
    *[(f"model/mobilenet_v2.{name}", ["model", "mobilenet_v2", "--no-verify", *argv]) for name, argv in (
        ("depth1.json", ["--depth", "1", "--format", "json"]),
        ("summary.table", ["--summary"]),
        ("summary.json", ["--summary", "--format", "json"]),
        ("summary.csv", ["--summary", "--format", "csv"]),
        ("memory.summary.table", ["--summary", "--memory", "--training"]),
        ("t4.csv", ["--device", "t4", "--format", "csv"]),
        ("t4.summary.table", ["--device", "t4", "--summary"]),
        ("all.csv", ["--memory", "--training", "--convention", "thop", "--format", "csv"]),
        ("input.table", ["--input", "2x3x320x240", "--summary"]),
        ("height.table", ["--height", "160", "--width", "224", "--summary"]),
    )],
]
CASES = _model_cases() + OTHER_CASES


def _param(name: str, argv: list[str]) -> object:
    """The plain formats of each spec run in the fast loop; flag and convention variants are slow."""
    variant = name.split("/", 1)[1].split(".")[1:-1]
    slow = name.startswith("model/") and (bool(variant) or name.endswith(".markdown"))
    return pytest.param(name, argv, id=name, marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize(("name", "argv"), [_param(*case) for case in CASES])
def test_golden(name: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "200", "GITHUB_ACTIONS": ""})
    assert result.exit_code == 0, result.output
    path = GOLDEN / f"{name}.out"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(result.stdout, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with CONVCOST_UPDATE_GOLDEN=1"
    assert result.stdout == path.read_text(encoding="utf-8")
