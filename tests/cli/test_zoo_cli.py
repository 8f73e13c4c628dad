"""The built-in zoo: names resolve in every command that takes a spec; ``convcost list``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import SPECS
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.spec import zoo

# every command taking a spec, with a built-in name instead of a path (no torch needed)
BY_NAME = [
    (["model", "mobilenet_v1", "--no-verify", "--format", "json"], "568740352"),
    (["conventions", "mobilenet_v1", "--format", "json"], "568740352"),
    (["sweep", "mobilenet_v1", "--alpha", "1", "--format", "json"], "568740352"),
    (["check", "mobilenet_v1", "--format", "json"], "568740352"),
]


@pytest.mark.parametrize(("argv", "macs"), BY_NAME, ids=[a[0] for a, _ in BY_NAME])
def test_builtin_name_resolves_in_every_command(argv: list[str], macs: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an empty directory: no specs/ to find
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    # MobileNet V1 at 224: 568,740,352 paper MACs (README table)
    assert macs in result.stdout.replace(",", "")


def test_a_file_of_the_same_name_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mobilenet_v1").write_text(
        "name: mine\ninput: {channels: 3, resolution: 8}\n"
        "layers: [{kind: conv, out_channels: 4, kernel_size: 1}]\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["model", "mobilenet_v1", "--no-verify", "--format", "json"])
    assert result.exit_code == 0, result.output
    # the local file: 1×1 conv 3 -> 4 at 8×8: 3·4 = 12 params, 12·64 = 768 MACs
    data = json.loads(result.stdout)
    assert (data["model"], data["totals"]["params"], data["totals"]["macs"]) == ("mine", 12, 768)


def test_unknown_name_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["model", "mobilenet_v9", "--no-verify"])
    assert result.exit_code == 2
    assert result.stderr == ("convcost: error: mobilenet_v9: cannot read spec: no such file, nor a "
                             "built-in spec of that name (convcost list shows them)\n")


@pytest.mark.parametrize(("name", "found"), [
    ("mobilenet_v2", True), ("mobilenet_v2.yaml", True), ("../specs/mobilenet_v2", False),
    ("", False), (".hidden", False), ("nope", False),
])
def test_builtin_lookup(name: str, found: bool) -> None:
    assert (zoo.builtin(name) is not None) is found


@pytest.mark.parametrize(("text", "expected"), [
    ("# yaml-language-server: $schema=x\n#\n# MobileNet V1 1.0-224\n# more\nname: a\n",
     "MobileNet V1 1.0-224"),
    ("name: a\n# late comment\n", ""),
    ("#\n#   Tiny net  \n", "Tiny net"),
])
def test_description_is_the_first_header_line(text: str, expected: str) -> None:
    assert zoo.description(text) == expected


def test_list_shows_every_builtin_with_its_figures() -> None:
    result = CliRunner().invoke(app, ["list", "--format", "json"])
    assert result.exit_code == 0, result.output
    models = {m["name"]: m for m in json.loads(result.stdout)["models"]}
    assert sorted(models) == sorted(p.stem for p in SPECS.glob("*.yaml"))
    v2 = models["mobilenet_v2"]
    # README table: 3,504,872 params, 300,774,272 MACs at 224; FLOPs = 2 × MACs
    assert (v2["params"], v2["macs"], v2["flops"]) == (3504872, 300774272, 601548544)
    assert v2["input"] == [1, 3, 224, 224]
    assert v2["description"] == "MobileNet V2 1.0-224, as torchvision.models.mobilenet_v2"
    assert all(m["description"] for m in models.values())


def test_list_table_names_units_and_rows() -> None:
    result = CliRunner().invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.strip().startswith("resnet18 ")]
    # ResNet-18: 11,689,512 params -> 11.69 M; 1,814,073,344 MACs -> 1.81 G
    assert len(rows) == 1 and "11.69 M" in rows[0] and "1.81 G" in rows[0]
