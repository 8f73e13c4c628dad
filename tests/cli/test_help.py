"""Help and parsing: -h, option panels, choices checked at parse time, completion, one error line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from helpers import ROOT
from typer.testing import CliRunner

from convcost.cli import options
from convcost.cli.app import app
from convcost.cost.memory import DTYPES
from convcost.cost.roofline import DEVICES

COMMANDS = ("layer", "model", "verify", "conventions", "schema", "list", "check", "sweep", "bench",
            "profile", "calibrate", "import", "fit")


def _help(*argv: str) -> str:
    result = CliRunner().invoke(app, [*argv, "-h"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_dash_h_is_help_and_every_command_writes_to_a_file(command: str) -> None:
    text = _help(*([command] if command else []))
    assert re.search(r"Usage: \S+ ", text)  # CliRunner names the program "root"
    if command:
        assert "--output" in text and "-o" in text  # -o/--output FILE on every command


@pytest.mark.parametrize("command", ["layer", "model"])
def test_options_grouped_in_panels(command: str) -> None:
    text = _help(command)
    panels = re.findall(r"╭─ (.+?) ─", text)
    assert panels[-4:] == ["Shape", "Counting", "Memory and roofline", "Output"]
    # each option in its panel: --alpha under Shape, --dtype under Memory, --format under Output
    shape, counting, memory, output = (text.split(f"╭─ {p} ─")[1].split("╰")[0] for p in panels[-4:])
    assert "--alpha" in shape and "--convention" in counting and "--dtype" in memory
    assert "--format" in output and "--output" in output


def test_completion_is_installable() -> None:
    text = _help()
    assert "--install-completion" in text and "--show-completion" in text


@pytest.mark.slow  # a subprocess per case: make test; the fast loop runs in-process with torch blocked
@pytest.mark.parametrize(("words", "expected"), [
    ("convcost model x --format ", ["table", "json", "csv", "markdown"]),
    ("convcost model x --convention t", ["thop", "torchinfo", "torch"]),
    ("convcost layer --dtype b", ["bfloat16"]),
    ("convcost layer --roofline ", ["jetson-nano", "t4", "a100"]),
    ("convcost layer --padding s", ["same"]),
    ("convcost schema ", ["spec", "output"]),
])
def test_shells_complete_the_fixed_values(words: str, expected: list[str]) -> None:
    env = {**os.environ, "_CONVCOST_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split(" ")) - 1)}
    proc = subprocess.run([sys.executable, "-m", "convcost"], env=env, capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == expected


@pytest.mark.parametrize(("argv", "valid"), [
    (["model", "x", "--format", "xml"], "'table', 'json', 'csv', 'markdown'"),
    (["model", "x", "--convention", "tflops"], "'paper', 'fvcore', 'thop', 'ptflops', 'torchinfo', 'torch'"),
    (["layer", "--cin", "3", "--cout", "4", "--hw", "8", "--dtype", "fp8"],
     "'float32', 'float16', 'bfloat16', 'int8'"),
    (["layer", "--cin", "3", "--cout", "4", "--hw", "8", "--roofline", "h100"],
     "'jetson-nano', 't4', 'a100'"),
    (["layer", "--cin", "3", "--cout", "4", "--hw", "8", "--padding", "valid"],
     "'valid' is not one of auto, same, an integer P ≥ 0 or PHxPW"),
    (["check", "specs/", "--convention", "x"], "'paper', 'fvcore'"),
    (["bench", "--device", "tpu"], "'auto', 'cpu', 'cuda'"),
    (["profile", "x", "--device", "tpu"], "'cpu', 'cuda'"),
    (["profile", "x", "--dtype", "float16"], "'float32', 'bfloat16'"),
    (["calibrate", "x", "-o", "m.yaml", "--backend", "tvm"], "'torch', 'onnxruntime'"),
    (["import", "x:y", "--tracer", "jit"], "'auto', 'fx', 'export'"),
])
def test_bad_choice_fails_at_parse_time_with_the_list(argv: list[str], valid: str) -> None:
    # the spec "x" does not exist: the choice fails first, at parse time
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert valid in result.stderr
    assert result.stderr.startswith(f"convcost: error: {argv[0]}: Invalid value for '--")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(("argv", "line"), [
    (["--bogus"], "convcost: error: No such option '--bogus'."),
    (["model", "--bogus"], "convcost: error: model: No such option '--bogus'."),
    (["nosuch"], "convcost: error: No such command 'nosuch'."),
])
def test_error_lines_are_not_doubled(argv: list[str], line: str) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert result.stderr == line + "\n"
    assert result.stderr.count("convcost") == 1


def test_choices_match_the_cost_tables() -> None:
    from convcost.conventions.rules import CONVENTIONS

    assert tuple(CONVENTIONS) == options.CONVENTIONS
    assert tuple(DTYPES) == options.DTYPES
    assert set(options.ROOFLINES) == set(DEVICES)
    from convcost.net.latency import BACKENDS, PROFILE_DTYPES
    from convcost.runtime.importer.trace import TRACERS

    assert (options.RUN_DTYPES, options.BACKENDS, options.TRACERS) == (PROFILE_DTYPES, BACKENDS, TRACERS)


def test_sweep_dtype_applies_to_the_roofline() -> None:
    args = ["sweep", "mobilenet_v1", "--alpha", "1", "--roofline", "t4", "--format", "json"]
    fp32 = CliRunner().invoke(app, args)
    fp16 = CliRunner().invoke(app, [*args, "--dtype", "float16"])
    assert fp32.exit_code == fp16.exit_code == 0, fp16.output
    import json

    t32, t16 = (json.loads(r.stdout)["points"][0]["time_s"] for r in (fp32, fp16))
    assert t16 < t32  # half the bytes: a memory-bound net estimates faster
    assert "float16" in json.loads(fp16.stdout)["roofline"]


def test_roofline_times_name_their_unit() -> None:
    result = CliRunner().invoke(app, ["model", "mobilenet_v2", "--no-verify", "--roofline", "t4",
                                      "--summary"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "est. time" in line)
    # 542.24 µs in the value column, the same time in seconds in the exact column
    assert re.search(r"est\. time\s+542\.24 µs\s+0\.000542241302 s", row), row
    assert "(s)" not in row
