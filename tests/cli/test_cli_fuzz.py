"""The CLI as a whole under random argv: valid options with garbage values, in any order.

Whatever the argv, convcost exits with a documented code (0, 1, 2; never 3, an internal error),
prints no traceback, and a failure is one line on stderr. In-process (CliRunner) to stay fast;
the commands that run torch (bench, verify, profile, calibrate, import, model without
--no-verify) are left out. Every command's ``-o`` is fuzzed too, in a fresh folder.
"""

from __future__ import annotations

import os
import tempfile

import pytest
from helpers import ROOT, examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.exit_codes import ExitCode

SPEC = str(ROOT / "specs" / "mobilenet_block.yaml")
GARBAGE = st.sampled_from([
    "", "0", "-1", "1e308", "nan", "inf", "-inf", "9" * 30, "9" * 401, "1x0", "3x", "x", "0x10",
    "1,", ",", "1,nan", "abc", "[/]", "\n::error::x", "\x1b[31m", "/dev/zero", "/", "a" * 300,
    "3", "1", "0.5", "224", "paper", "thop", "json", "csv", "markdown", "t4", "int8",
]) | st.text(max_size=12) | st.integers(-10, 10**12).map(str) | st.floats().map(str)

LAYER_OPTIONS = ["--cin", "--cout", "--k", "--hw", "--h", "--w", "--stride", "--padding",
                 "--dilation", "--batch", "--alpha", "--rho", "--dtype", "--roofline",
                 "--peak-gflops", "--bandwidth-gbs", "--convention", "--format"]
MODEL_OPTIONS = ["--alpha", "--resolution", "--rho", "--batch", "--depth", "--dtype", "--roofline",
                 "--peak-gflops", "--bandwidth-gbs", "--convention", "--format"]
COMMANDS = {
    "layer": (["layer", "--cin", "8", "--cout", "16", "--hw", "16"], LAYER_OPTIONS,
              ["--bias", "--bn", "--memory", "--fuse-bn", "--training", "--flops"]),
    "model": (["model", SPEC, "--no-verify"], MODEL_OPTIONS,
              ["--memory", "--fuse-bn", "--training", "--flops"]),
    "sweep": (["sweep", SPEC], ["--alpha", "--resolution", "--batch", "--dtype", "--roofline",
                                "--peak-gflops", "--bandwidth-gbs", "--format"], []),
    "check": (["check", SPEC], ["--tolerance", "--alpha", "--resolution", "--convention",
                                "--format"], []),
    "conventions": (["conventions", SPEC], ["--alpha", "--resolution", "--batch", "--format"], []),
}
SPEC2 = str(ROOT / "specs" / "mobilenet_v1.yaml")
GROWTH = ["--fail-on-growth", "--fail-on-params-growth", "--fail-on-macs-growth"]
COMMANDS.update({
    "diff": (["diff", SPEC, SPEC2], ["--dtype", "--format", "--input", "--latency-model",
                                     *GROWTH], ["--all", "--summary", "--strict"]),
    "report": (["report", SPEC, "-o", "page.html"], ["--against", "--format", "--alpha",
                                                     "--resolution", "--batch", "--roofline",
                                                     "--peak-gflops", "--bandwidth-gbs",
                                                     "--dtype", "--input"], ["--strict"]),
    "fit": (["fit", SPEC, "--max-macs", "20M"], ["--max-params", "--max-macs", "--alpha",
                                                 "--resolution", "--batch", "--top", "--format"],
            ["--depth", "--no-depth", "--strict"]),
    "list": (["list"], ["--format"], []),
})
OUTPUTS = ["--output", "-o"]  # every command above writes with -o: garbage paths too
DOCUMENTED = {ExitCode.OK, ExitCode.FAILED, ExitCode.BAD_INPUT}


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    base, options, flags = COMMANDS[draw(st.sampled_from(sorted(COMMANDS)))]
    argv = list(base)
    for _ in range(draw(st.integers(0, 4))):
        if flags and draw(st.booleans()):
            argv.append(draw(st.sampled_from(flags)))
        else:
            argv += [draw(st.sampled_from([*options, *OUTPUTS])), draw(GARBAGE)]
    return argv


@pytest.mark.slow
@settings(max_examples=examples(250), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argvs())
def test_any_argv_exits_with_a_documented_code(argv: list[str]) -> None:
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:  # -o GARBAGE writes into a fresh folder
        os.chdir(folder)
        try:
            result = CliRunner().invoke(app, argv)
        finally:
            os.chdir(here)
    assert result.exit_code in DOCUMENTED, (argv, result.exit_code, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr, argv
    if result.exit_code != ExitCode.OK:
        assert len(result.stderr.splitlines()) == 1, (argv, result.stderr)
    for line in result.stdout.splitlines():
        assert not line.startswith("::") and "\x1b" not in line, (argv, line)
