"""`convcost list --sources`: the front-end readers, in the order the registry asks them, with
what each takes and the installed versions of the packages that read it."""

from __future__ import annotations

import json
from importlib.metadata import version

import jsonschema
import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.frontend import registry
from convcost.frontend.network import Reader
from convcost.report.output_schema import command_schema


def _run(*argv: str) -> str:
    result = CliRunner().invoke(app, ["list", "--sources", *argv], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_lists_every_reader_in_order_with_versions() -> None:
    data = json.loads(_run("--format", "json"))
    jsonschema.validate(data, command_schema("list_sources"))
    sources = data["sources"]
    assert [s["name"] for s in sources] == [r.name for r in registry.READERS]
    assert [s["order"] for s in sources] == list(range(1, len(registry.READERS) + 1))
    yaml = next(s for s in sources if s["name"] == "yaml")
    assert yaml["syntax"] == "FILE.yaml" and yaml["imports"] is False
    assert yaml["tools"] == {"PyYAML": version("PyYAML")}  # the installed version, read
    assert next(s for s in sources if s["name"] == "onnx")["imports"] is True


def test_table_shows_each_reader_and_names_a_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    tflite = Reader("tflite", "FILE.tflite", lambda a: a.endswith(".tflite"),
                    lambda a, r: None,  # type: ignore[arg-type,return-value]
                    ("convcost-no-such-package",), imports=True)
    monkeypatch.setattr(registry, "READERS", (tflite, *registry.READERS))
    text = _run()
    rows = [line.split() for line in text.splitlines() if line.strip()[:1].isdigit()]
    assert [row[:2] for row in rows][:2] == [["1", "tflite"], ["2", "git"]]  # the order asked
    assert len(rows) == len(registry.READERS)  # the six, and tflite
    assert "convcost-no-such-package (not installed)" in text
    assert f"PyYAML {version('PyYAML')}" in text
