"""``--device`` means one thing: the torch device (bench, profile, calibrate); a roofline
preset is ``--roofline`` (model, layer, sweep, report). The old spellings still work, with a
deprecation line on stderr."""

from __future__ import annotations

from typing import Any

import click
import pytest
import typer
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.cli.options import ROOFLINES

TORCH_DEVICES = {"auto", "cpu", "cuda"}


def _commands() -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    return dict(group.commands)


def _visible(command: Any, flag: str) -> list[click.Parameter]:
    return [p for p in command.params if flag in p.opts and not getattr(p, "hidden", False)]


def test_device_is_the_torch_device_wherever_it_is_shown() -> None:
    shown = {}
    for name, command in _commands().items():
        for param in _visible(command, "--device"):
            shown[name] = set(param.type.choices)  # type: ignore[attr-defined]
    assert set(shown) == {"bench", "profile", "calibrate"}  # the commands that run torch on one
    assert all(choices <= TORCH_DEVICES for choices in shown.values()), shown


def test_roofline_is_the_preset_wherever_it_is_shown() -> None:
    shown = {name for name, command in _commands().items()
             for param in _visible(command, "--roofline")
             if set(param.type.choices) == set(ROOFLINES)}  # type: ignore[attr-defined]
    assert shown == {"model", "layer", "sweep", "report"}


@pytest.mark.parametrize(("argv", "shown"), [
    (["model", "mobilenet_v1", "--no-verify", "--summary"], "t4 (float32: 8100 GFLOP/s, 320 GB/s"),
    (["layer", "--cin", "32", "--cout", "64", "--hw", "56"], "t4 (float32: 8100 GFLOP/s, 320 GB/s"),
    (["sweep", "mobilenet_v1", "--alpha", "1,0.5", "--format", "csv"], ",time_s\n"),
])
def test_the_old_device_spelling_is_the_roofline_with_a_warning(runner: CliRunner, argv: list[str],
                                                                shown: str) -> None:
    new = runner.invoke(app, [*argv, "--roofline", "t4"])
    old = runner.invoke(app, [*argv, "--device", "t4"])
    assert (new.exit_code, old.exit_code) == (0, 0)
    assert old.stdout == new.stdout and shown in new.stdout
    assert "warning: --device t4 is deprecated: write --roofline t4" in old.stderr
    assert "deprecated" not in new.stderr
