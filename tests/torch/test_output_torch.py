"""The JSON contract of the commands that need torch: model (cross-checked), verify, bench."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.report.output_schema import output_schema

RUNS = {
    "model": ["model", "mobilenet_block"],
    "verify": ["verify", "mobilenet_block", "standard_cnn"],
    "bench layer": ["bench", "--cin", "4", "--cout", "8", "--hw", "8", "--warmup", "0", "--repeats", "2"],
    "bench spec": ["bench", "mobilenet_block", "--warmup", "0", "--repeats", "1", "--resolution", "32"],
    "bench summary": ["bench", "mobilenet_block", "--warmup", "0", "--repeats", "2", "--resolution", "32",
                      "--summary"],
}


def _json(argv: list[str]) -> dict[str, Any]:
    result = CliRunner().invoke(app, [*argv, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize("name", RUNS)
def test_json_validates_against_the_output_schema(name: str) -> None:
    data = _json(RUNS[name])
    jsonschema.validate(data, output_schema())
    assert data["command"] == RUNS[name][0]


def test_verify_json_and_csv_per_spec(tmp_path: Path) -> None:
    data = _json(RUNS["verify"])
    # the seed pair: 2,852 and 19,392 params (README table), both agreeing with torch
    assert [(m["model"], m["ok"], m["totals"]["params"]) for m in data["models"]] == [
        ("mobilenet_block", True, 2852), ("standard_cnn", True, 19392)]
    target = tmp_path / "verify.csv"
    written = CliRunner().invoke(app, [*RUNS["verify"], "--format", "csv", "-o", str(target)])
    assert written.exit_code == 0 and written.stdout == ""
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r["model"], r["ok"], r["params"], r["mismatches"]) for r in rows] == [
        ("mobilenet_block", "True", "2852", "0"), ("standard_cnn", "True", "19392", "0")]
