"""Latency-model files are bounded like specs (issue 24, "Threads, signals and sizes").

A latency model is a few hundred bytes: it is read only up to 1 MiB and 50,000 YAML values
(aliases expanded), so a 1.9-million-element list is refused at once (it took 218 s and 1 GiB
before), and a value quoted in an error is cut to 60 characters. The table runs in-process in
the fast loop, and in a measured child under --run-slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import measured, one_line_error
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.exit_codes import ExitCode
from convcost.limits import QUOTE_CHARS

GOOD = """\
format: convcost-latency/1
machine: {cpu: AMD EPYC, device: cpu, threads: 2, torch: 2.13.0+cpu, dtype: float32, backend: torch}
calibrated_on: [mobilenet_block]
pass_factor: 0.97
overhead_per_group_s: 0.0
classes:
  all: {per_mac_s: 3.4e-10, per_byte_s: 2.7e-09, per_layer_s: 0.147, samples: 4}
"""
LONG = "y" * 5000
HOSTILE = {
    # case -> (file text, a fragment of the one error line)
    "1.9-million-element list": (
        GOOD.replace("[mobilenet_block]", "[" + ", ".join(["a"] * 1_900_000) + "]"),
        "larger than 1 MiB"),
    "1.9 million values by aliases": (
        GOOD.replace("calibrated_on:", "x: [&a [" + ", ".join(["a"] * 1000) + "], ["
                     + ", ".join(["*a"] * 1900) + "]]\ncalibrated_on:"),
        "expands to more than 50,000 values"),
    "a 5000-character format": (GOOD.replace("convcost-latency/1", LONG), "got 'yyy"),
    "a 5000-character number": (GOOD.replace("0.97", f'"{LONG}"'), "got 'yyy"),
    "a duplicate key": (GOOD + "pass_factor: 0.5\n", "duplicate key"),
}


def _check_quote(line: str) -> None:
    quoted = line[line.index("got '") + 4:] if "got '" in line else ""
    assert len(quoted) <= QUOTE_CHARS, (len(quoted), line[:200])


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_latency_file_is_one_line(tmp_path: Path, case: str) -> None:
    text, fragment = HOSTILE[case]
    path = tmp_path / "device.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["model", "mobilenet_block", "--no-verify",
                                      "--latency-model", str(path)])
    _check_quote(one_line_error(result, ExitCode.BAD_INPUT, fragment))
    assert path.read_text() == text


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_latency_file_in_a_child_is_quick_and_small(tmp_path: Path, case: str) -> None:
    text, fragment = HOSTILE[case]
    (tmp_path / "device.yaml").write_text(text)
    run = measured(["model", "mobilenet_block", "--no-verify", "--latency-model", "device.yaml"],
                   cwd=tmp_path)
    _check_quote(one_line_error(run, ExitCode.BAD_INPUT, fragment))
    assert run.seconds < 30 and run.rss_mib < 400, (run.seconds, run.rss_mib)


def test_a_good_latency_file_still_predicts(tmp_path: Path) -> None:
    (tmp_path / "device.yaml").write_text(GOOD)
    result = CliRunner().invoke(app, ["model", "mobilenet_block", "--no-verify", "--summary",
                                      "--latency-model", str(tmp_path / "device.yaml")])
    assert result.exit_code == 0, result.stderr
    assert "predicted latency" in result.stdout
