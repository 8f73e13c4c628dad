"""Hostile and careless input, one class per test, on every command each class applies to.

Every case asserts the exit code (named in convcost.exit_codes), exactly one line on stderr
and no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, one_line_error
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.exit_codes import ExitCode

V1 = str(ROOT / "specs" / "mobilenet_v1.yaml")
TINY = """\
name: {name}
input: {{channels: 3, resolution: 8}}
budget: {{params: {params}, macs: 10M}}
layers:
  - {{kind: conv, name: conv, out_channels: 8}}
  - {{kind: pool, name: pool, op: avg, global: true}}
"""


def _tiny(folder: Path, name: str = "tiny", params: int | str = "1M", file: str = "t.yaml") -> Path:
    path = folder / file
    path.write_text(TINY.format(name=json.dumps(name), params=params), encoding="utf-8")
    return path


# -- numbers: every int/float option is bounded by one mechanism (cli/numbers.py) ----------------
LAYER = ["layer", "--cin", "8", "--cout", "8", "--hw", "8"]
NUMBERS = [
    (["model", V1, "--no-verify", "--alpha", "1e308"], "--alpha"),
    (["model", V1, "--no-verify", "--alpha", "nan"], "--alpha"),
    (["model", V1, "--no-verify", "--rho", "inf"], "--rho"),
    (["model", V1, "--no-verify", "--peak-gflops", "inf", "--bandwidth-gbs", "1"], "--peak-gflops"),
    (["model", V1, "--no-verify", "--resolution", "9" * 401], "--resolution"),
    (["model", V1, "--no-verify", "--batch", "99999999999"], "--batch"),
    ([*LAYER, "--alpha", "-inf"], "--alpha"),
    (["layer", "--cin", "9" * 30, "--cout", "8", "--hw", "8"], "--cin"),
    ([*LAYER, "--k", "1x" + "9" * 30], "--k"),
    ([*LAYER, "--stride", "99999999999"], "--stride"),
    (["check", V1, "--tolerance", "nan"], "--tolerance"),
    (["check", V1, "--alpha", "1e308"], "--alpha"),
    (["sweep", V1, "--alpha", "1,nan"], "--alpha"),
    (["sweep", V1, "--resolution", "1e308"], "--resolution"),
    (["sweep", V1, "--peak-gflops", "1e308", "--bandwidth-gbs", "1"], "--peak-gflops"),
    (["conventions", V1, "--batch", "1" + "0" * 20], "--batch"),
    (["bench", V1, "--threads", "9" * 20], "--threads"),
    (["verify", V1, "--resolution", "-" + "9" * 20], "--resolution"),
    (["sweep", V1, "--alpha", ",".join(["0.5"] * 200), "--resolution", ",".join(["64"] * 100)],
     "20,000 grid points, more than 10,000"),
]


@pytest.mark.parametrize(("argv", "flag"), NUMBERS, ids=[" ".join(a[:1] + a[-2:])[:40] for a, _ in NUMBERS])
def test_numbers_are_bounded(runner: CliRunner, argv: list[str], flag: str) -> None:
    one_line_error(runner.invoke(app, argv), ExitCode.BAD_INPUT, flag)


# -- reading: only regular files, bounded, read once ---------------------------------------------
def _places(tmp_path: Path) -> dict[str, str]:
    fifo = tmp_path / "fifo.yaml"
    if not fifo.exists():
        os.mkfifo(fifo)
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.truncate(17 * 2**20)  # sparse: 17 MiB of zeros
    return {"/dev/zero": "not a regular file", str(fifo): "not a regular file",
            str(tmp_path): "directory", str(big): "larger than 16 MiB",
            str(tmp_path / "missing.yaml"): "cannot read spec",
            "x" * 5000: "cannot read spec"}


@pytest.mark.parametrize("command", [["model", "{}", "--no-verify"], ["conventions", "{}"],
                                     ["sweep", "{}"], ["check", "{}"], ["verify", "{}"],
                                     ["bench", "{}"]], ids=lambda c: c[0])
def test_unreadable_places_are_one_line(runner: CliRunner, tmp_path: Path, command: list[str]) -> None:
    for place, fragment in _places(tmp_path).items():
        if command[0] == "check" and place == str(tmp_path):
            fragment = "cannot read spec"  # a directory of specs: its files, one line each
        result = runner.invoke(app, [a.format(place) for a in command])
        one_line_error(result, ExitCode.BAD_INPUT, fragment)


def test_check_lists_every_unreadable_input(runner: CliRunner, tmp_path: Path) -> None:
    places = [p for p in _places(tmp_path) if p != str(tmp_path)]  # its files are listed too
    result = runner.invoke(app, ["check", *places, "--format", "json"])
    one_line_error(result, ExitCode.BAD_INPUT, f"(and {len(places) - 1} more)")
    assert len(json.loads(result.stdout)["errors"]) == len(places)


# -- internal errors: exit 3, never 1; the traceback only with CONVCOST_DEBUG=1 ------------------
@pytest.mark.parametrize("command", [["model", V1, "--no-verify"], ["conventions", V1],
                                     ["sweep", V1], ["check", V1]], ids=lambda c: c[0])
def test_unexpected_exception_is_internal_error(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                                command: list[str]) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("convcost.net.analysis.analyze", broken)
    monkeypatch.setattr("convcost.check.run.analyze", broken)
    monkeypatch.setattr("convcost.net.sweep.analyze", broken, raising=False)
    monkeypatch.setattr("convcost.spec.loader.parse_spec", broken)
    line = one_line_error(runner.invoke(app, command), ExitCode.INTERNAL_ERROR, "internal error")
    assert "ZeroDivisionError: a bug" in line and "CONVCOST_DEBUG=1" in line
    monkeypatch.setenv("CONVCOST_DEBUG", "1")
    result = runner.invoke(app, command)
    assert result.exit_code == ExitCode.INTERNAL_ERROR and "Traceback" in result.stderr


# -- unwritable places ------------------------------------------------------------------------
def test_baseline_into_a_missing_directory(runner: CliRunner, tmp_path: Path) -> None:
    spec = _tiny(tmp_path)
    for target in (tmp_path / "nope" / "b.json", tmp_path / "nope" / "deeper" / "b.json"):
        result = runner.invoke(app, ["check", str(spec), "--baseline", str(target),
                                     "--update-baseline"])
        one_line_error(result, ExitCode.BAD_INPUT, "--baseline: cannot write")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_baseline_into_a_read_only_directory(runner: CliRunner, tmp_path: Path) -> None:
    spec = _tiny(tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    result = runner.invoke(app, ["check", str(spec), "--baseline", str(folder / "b.json"),
                                 "--update-baseline"])
    one_line_error(result, ExitCode.BAD_INPUT, "Permission denied")


@pytest.mark.parametrize("summary", ["{dir}", "{dir}/missing/summary.md", "/dev/full"])
def test_unwritable_step_summary_is_a_warning(runner: CliRunner, tmp_path: Path, summary: str) -> None:
    spec = _tiny(tmp_path)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary.format(dir=tmp_path)}
    result = runner.invoke(app, ["check", str(spec)], env=env)
    assert result.exit_code == ExitCode.OK  # a pass stays a pass
    assert result.stderr.startswith("convcost: warning: cannot write GITHUB_STEP_SUMMARY")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(("target", "fragment"), [
    ("plot.txt", "must end in .png"), ("plot.jpeg", "must end in .png"),
    ("folder.png", "is a directory"), ("missing/plot.png", "cannot write into"),
])
def test_plot_target_is_checked_before_the_work(runner: CliRunner, tmp_path: Path, target: str,
                                                fragment: str) -> None:
    (tmp_path / "folder.png").mkdir()
    result = runner.invoke(app, ["sweep", V1, "--plot", str(tmp_path / target)])
    one_line_error(result, ExitCode.BAD_INPUT, fragment)
    assert result.stdout == ""  # refused before the sweep ran


# -- memory: estimated and refused before torch runs -------------------------------------------
@pytest.mark.parametrize("command", [
    ["model", V1], ["verify", V1], ["check", V1, "--verify"], ["bench", V1],
    ["bench", "--cin", "256", "--cout", "256", "--hw", "2048"],
], ids=lambda c: " ".join(c[:1] + c[2:3]))
def test_memory_limit_refuses_before_torch(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                           command: list[str]) -> None:
    monkeypatch.setenv("CONVCOST_MEMORY_LIMIT", "1M")
    monkeypatch.setattr("convcost.runtime.verify.available", lambda: True)  # torch not needed
    line = one_line_error(runner.invoke(app, command), ExitCode.BAD_INPUT, "over the limit of 1.00 MB")
    assert ("--no-verify" in line) == (command[0] != "bench")
    assert "CONVCOST_MEMORY_LIMIT" in line


# -- terminals ----------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["model", V1, "--no-verify"], *(  # a subprocess each: make test
    pytest.param(argv, marks=pytest.mark.slow) for argv in ([*LAYER], ["check", V1], ["conventions", V1]))],
    ids=lambda a: a[0])
def test_ascii_terminal_gets_ascii_symbols(argv: list[str]) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([sys.executable, "-m", "convcost", *argv], capture_output=True,
                          text=True, encoding="ascii", errors="strict", env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and done.stdout.isascii()


@pytest.mark.slow  # a subprocess per case: make test; the fast loop runs in-process with torch blocked
def test_narrow_terminal_still_shows_over(tmp_path: Path) -> None:
    spec = _tiny(tmp_path, params=10)
    env = {**os.environ, "COLUMNS": "40"}
    done = subprocess.run([sys.executable, "-m", "convcost", "check", str(spec)], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    one_line_error(done, ExitCode.FAILED, "over budget")
    assert "OVER" in done.stdout


# -- user strings are data ----------------------------------------------------------------------
EVIL = ["evil[/]", "evil[bold]x[/bold]", "x\n::error file=a.py::injected", "\x1b[31mred\x1b[0m",
        "a|b`*_<script>_"]


@pytest.mark.parametrize("name", EVIL, ids=range(len(EVIL)))
@pytest.mark.parametrize("fmt", ["table", "csv", "markdown", "json"])
def test_user_strings_are_never_markup_or_commands(runner: CliRunner, tmp_path: Path, name: str,
                                                   fmt: str) -> None:
    spec = _tiny(tmp_path, name=name, params=10)  # over budget: annotations too
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    for argv in (["model", str(spec), "--no-verify"], ["check", str(spec)]):
        result = runner.invoke(app, [*argv, "--format", fmt], env=env)
        assert result.exit_code in (ExitCode.OK, ExitCode.FAILED), result.stderr
        for line in (result.stdout + result.stderr).splitlines():
            assert not line.startswith("::") or line.startswith("::error file="), line
            assert "\x1b" not in line
        if fmt == "json":
            names = [m["name"] for m in json.loads(result.stdout).get("models", [])]
            assert names in ([], [name])
    text = summary.read_text(encoding="utf-8")
    assert "::error" not in "".join(line[:7] for line in text.splitlines())
    assert "<script>" not in text and "\x1b" not in text


@pytest.mark.parametrize("folder", ["b[x]", "[bold]b", "plain"])
def test_baseline_note_prints_the_real_path(runner: CliRunner, tmp_path: Path, folder: str) -> None:
    spec = _tiny(tmp_path)
    (tmp_path / folder).mkdir()
    real = tmp_path / folder / "real[1].json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    result = runner.invoke(app, ["check", str(spec), "--baseline", str(link), "--update-baseline"])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert f"baseline written: {real}" in result.stdout
    assert link.is_symlink() and json.loads(real.read_text())["models"]["tiny"]["params"] > 0


# -- duplicate keys in every file convcost reads (specs: tests/cli/test_bad_spec_values.py) ------
DUPLICATES = [
    ("budgets.yaml", "budgets:\n  - {spec: t.yaml, params: 1M, macs: 10M}\nbudgets: []\n",
     ["check", "{file}"], ":3: budgets: duplicate key (first at line 1)"),
    ("budgets.yaml", "budgets:\n  - {spec: t.yaml, params: 1M, macs: 10M, params: 5M}\n",
     ["check", "{file}"], ":2: budgets[0].params: duplicate key (first at line 2)"),
    ("b.json", '{"version": 1, "models": {"tiny": {"params": 1, "macs": 2, "params": 3}}}',
     ["check", "{spec}", "--baseline", "{file}"], ":1: models.tiny.params: duplicate key"),
    ("b.json", '{"version": 1,\n "version": 1, "models": {}}',
     ["check", "{spec}", "--baseline", "{file}", "--update-baseline"],
     ":2: version: duplicate key (first at line 1)"),
]


@pytest.mark.parametrize(("file", "text", "argv", "fragment"), DUPLICATES,
                         ids=[f"{d[0]}-{i}" for i, d in enumerate(DUPLICATES)])
def test_duplicate_keys_are_refused_in_every_file(runner: CliRunner, tmp_path: Path, file: str,
                                                  text: str, argv: list[str], fragment: str) -> None:
    spec = _tiny(tmp_path)
    path = tmp_path / file
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, [a.format(file=path, spec=spec) for a in argv])
    one_line_error(result, ExitCode.BAD_INPUT, f"{path}{fragment}")
    assert path.read_text(encoding="utf-8") == text  # a refused baseline is never rewritten


@pytest.mark.parametrize("fmt", ["table"])
def test_closed_stdout_is_its_own_exit_code(fmt: str) -> None:
    """``convcost model … | head -1``: exit 141, never 1 ("failed") and no traceback."""
    spec = str(ROOT / "specs" / "resnet50.yaml")  # the output is larger than a pipe buffer
    proc = subprocess.Popen([sys.executable, "-m", "convcost", "model", spec, "--no-verify",
                             "--format", fmt, "--memory", "--training"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == ExitCode.BROKEN_PIPE, err
    assert b"Traceback" not in err
