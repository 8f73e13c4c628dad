"""The fast path of ``convcost model SPEC --no-verify``: same output as the typer app, fewer imports.

The speed itself is measured by benchmarks/bench_cli.py, never asserted; these tests guard what
makes it fast (typer, click, rich and the unused compute modules are never imported) and that the
shortcut changes nothing a user sees (bytes on stdout and stderr, exit code).
"""

from __future__ import annotations

import os
import sys

import pytest
from helpers import ROOT, run
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.cli.entry import fast_model


@pytest.mark.parametrize(("argv", "expected"), [
    (["model", "a.yaml", "--no-verify"], {"spec": "a.yaml", "fmt": "table", "summary": False}),
    (["model", "--no-verify", "-f", "json", "a"], {"spec": "a", "fmt": "json", "summary": False}),
    (["model", "a", "--format", "csv", "--no-verify", "--summary"],
     {"spec": "a", "fmt": "csv", "summary": True}),
    (["model", "a", "--no-verify", "-f", "json", "-f", "markdown"],  # the last wins, as in click
     {"spec": "a", "fmt": "markdown", "summary": False}),
    (["model", "a"], None),  # cross-checks: torch's import dwarfs the CLI's
    (["model", "a", "--verify", "--no-verify"], None),
    (["model", "--no-verify"], None),  # no SPEC: click says so
    (["model", "a", "b", "--no-verify"], None),  # two SPECs: click says so
    (["model", "a", "--no-verify", "--format"], None),  # no value
    (["model", "a", "--no-verify", "--format", "xml"], None),  # a bad value: click lists the choices
    (["model", "a", "--no-verify", "--format=json"], None),
    (["model", "a", "--no-verify", "-h"], None),
    (["model", "a", "--no-verify", "--flops"], None),
    (["model", "", "--no-verify"], None),
    (["model", "a", "--no-verify", "--"], None),
    (["layer", "a", "--no-verify"], None),
    ([], None),
])
def test_fast_path_takes_only_the_plain_model_call(argv: list[str], expected: object) -> None:
    assert fast_model(argv) == expected


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200", "CONVCOST_DEBUG": ""}


@pytest.mark.slow  # a subprocess per case: make test; the fast loop runs in-process with torch blocked
@pytest.mark.parametrize("argv", [
    ["model", "specs/mobilenet_v2.yaml", "--no-verify"],
    ["model", "mobilenet_v1", "--no-verify", "--format", "json"],
    ["model", "--no-verify", "-f", "csv", "specs/resnet18.yaml"],
    ["model", "mobilenet_v1", "--no-verify", "-f", "markdown", "--summary"],
    ["model", "mobilenet_v1", "--no-verify", "--summary", "-f", "json"],
    ["model", "no/such/spec.yaml", "--no-verify"],  # exit 2, one line naming the file
])
def test_fast_path_prints_what_the_typer_app_prints(argv: list[str]) -> None:
    assert fast_model(argv) is not None
    fast = run([sys.executable, "-m", "convcost", *argv], _env())
    slow = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)
    assert fast.returncode == (2 if "no/such" in argv[1] else 0)


def _imported(argv: list[str]) -> set[str]:
    """The modules ``python -X importtime -m convcost ARGV`` imports."""
    proc = run([sys.executable, "-X", "importtime", "-m", "convcost", *argv], _env())
    assert proc.returncode == 0, proc.stderr
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


# What the table of `model SPEC --no-verify` never needs: the CLI framework and its help renderer,
# the cross-check, and the compute of flags not given.
NOT_NEEDED = ("typer", "click", "rich", "convcost.cli.app", "convcost.cli.options",
              "convcost.runtime.verify", "convcost.net.latency", "convcost.cost.memory",
              "convcost.cost.roofline", "convcost.cost.training", "convcost.cost.receptive",
              "convcost.spec.jsonschema", "convcost.report.output_schema", "statistics")


@pytest.mark.parametrize("fmt", ["json", pytest.param("table", marks=pytest.mark.slow)])
def test_model_no_verify_imports_no_framework(fmt: str) -> None:
    """The guard of the start-up time (a third of it was typer, click and rich)."""
    names = _imported(["model", "specs/mobilenet_v2.yaml", "--no-verify", "--format", fmt])
    assert "convcost.net.analysis" in names  # the listing is real
    allowed = ("convcost.cost.receptive",) if fmt == "json" else ()  # JSON carries the RF
    found = sorted(n for n in names for bad in NOT_NEEDED
                   if (n == bad or n.startswith(bad + ".")) and n not in allowed)
    assert found == []


@pytest.mark.slow  # a subprocess per case: make test; the fast loop runs in-process with torch blocked
def test_any_other_call_takes_the_typer_app() -> None:
    names = _imported(["model", "specs/mobilenet_v2.yaml", "--no-verify", "--flops"])
    assert {"typer", "click", "convcost.cli.app"} <= names


def test_installed_script_runs_the_entry_point() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'convcost = "convcost.cli.entry:main"' in text
    assert (ROOT / "convcost" / "__main__.py").read_text(encoding="utf-8").count(
        "from convcost.cli.entry import main") == 1


@pytest.mark.parametrize("raised", [KeyboardInterrupt(), RuntimeError("Error calling __set_name__")])
def test_ctrl_c_while_modules_import_is_one_line_and_130(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], raised: Exception) -> None:
    # a SIGINT during an import: plain, or wrapped by Python as the cause of another error (a
    # dataclass's __set_name__): never a traceback with exit 1
    from convcost.cli import entry, interrupt

    def imports() -> None:
        if isinstance(raised, KeyboardInterrupt):
            raise raised
        raise raised from KeyboardInterrupt()

    def leave() -> None:
        raise SystemExit(130)

    monkeypatch.setattr(interrupt, "install", lambda: None)
    monkeypatch.setattr(interrupt, "exit_interrupted", leave)
    monkeypatch.setattr(entry, "_main", imports)
    with pytest.raises(SystemExit) as done:
        entry.main()
    assert done.value.code == 130
    assert capsys.readouterr().err == "convcost: aborted\n"
