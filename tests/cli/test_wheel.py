"""The built wheel carries the zoo: installed without extras, ``convcost model NAME`` works anywhere.

Marked ``wheel`` (builds a wheel and a venv, ~20 s): ``pytest -m "not torch and not wheel"``
is the fast loop.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT, SPECS

pytestmark = [pytest.mark.wheel, pytest.mark.slow]


def _sh(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel, and the build's log (with setuptools' warnings)."""
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("src") / "convcost"  # a copy: no build/ left in the repo
    skip = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "tests")
    shutil.copytree(ROOT, source, symlinks=True, ignore=skip)
    log = _sh([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
               "-w", str(out), str(source)], cwd=out)
    (built,) = out.glob("convcost-*.whl")
    return built, log.stdout + log.stderr


@pytest.fixture(scope="module")
def wheel(build: tuple[Path, str]) -> Path:
    return build[0]


def test_build_has_no_license_deprecation(build: tuple[Path, str]) -> None:
    log = build[1]
    assert "Building wheel for convcost" in log
    # setuptools >= 77 warns on a `license = {text = ...}` table; an SPDX string is quiet
    assert "project.license" not in log
    with zipfile.ZipFile(build[0]) as archive:
        metadata = archive.read("convcost-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata


def test_wheel_holds_every_spec_unchanged(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = {Path(n).name: archive.read(n) for n in archive.namelist()
                   if n.startswith("convcost/zoo/") and n.endswith(".yaml")}
    # specs/ is the source: the wheel holds each file byte for byte, and nothing else
    assert shipped == {p.name: p.read_bytes() for p in SPECS.glob("*.yaml")}
    assert {"mobilenet_v1.yaml", "mobilenet_v2.yaml", "resnet50.yaml"} <= set(shipped)


def test_installed_wheel_runs_a_builtin_by_name(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _sh([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    # the wheel alone: core dependencies (typer, click, rich, pyyaml), no extras, no torch
    _sh([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(wheel)],
        cwd=tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _sh([str(venv / "bin" / "convcost"), "model", "mobilenet_v2"], cwd=empty)
    # torchvision's MobileNet V2: 3,504,872 params; 300,774,272 paper MACs at 224
    assert "3,504,872" in result.stdout
    assert "300,774,272" in result.stdout
    assert "not cross-checked" in result.stderr  # no torch in this venv: a note, exit 0
    fast = _sh([str(venv / "bin" / "convcost"), "model", "mobilenet_v2", "--no-verify"], cwd=empty)
    assert (fast.stdout, fast.stderr) == (result.stdout, "")  # the fast path: same table, no note
    listed = _sh([str(venv / "bin" / "convcost"), "list", "--format", "json"], cwd=empty)
    assert '"name": "mobilenet_v2"' in listed.stdout
    page = empty / "report.html"  # the report's script and style ship as package data
    _sh([str(venv / "bin" / "convcost"), "report", "mobilenet_v2", "-o", str(page)], cwd=empty)
    text = page.read_text(encoding="utf-8")
    assert "document.body.dataset.ready" in text and "#graph-panel" in text
