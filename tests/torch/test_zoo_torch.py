"""Built-in names in the commands that need torch: verify and bench."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app


def test_verify_and_bench_take_a_builtin_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    verified = CliRunner().invoke(app, ["verify", "mobilenet_block"])
    assert verified.exit_code == 0, verified.output
    # the seed's MobileNetV1Block: 228 + 2,624 = 2,852 params
    assert "params 2,852" in verified.stdout
    timed = CliRunner().invoke(app, ["bench", "mobilenet_block", "--warmup", "0", "--repeats", "1",
                                     "--format", "json"])
    assert timed.exit_code == 0, timed.output
    assert '"model": "mobilenet_block"' in timed.stdout
    profiled = CliRunner().invoke(app, ["profile", "mobilenet_block", "--warmup", "0", "--repeats", "1",
                                        "--format", "json"])
    assert profiled.exit_code == 0, profiled.output
    assert '"model": "mobilenet_block"' in profiled.stdout
