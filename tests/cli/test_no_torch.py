"""The analytic commands run without torch: with torch and fvcore made unimportable, and (with
them importable) without ever importing them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCKED = ("torch", "fvcore")

# (id, argv after `convcost`, figures its output must show: exact, or as the table rounds them)
COMMANDS: list[tuple[str, list[str], list[str]]] = [
    ("layer", ["layer", "--cin", "8", "--cout", "16", "--k", "3", "--hw", "32"],
     ["1.18 M",  # standard MACs 1*16*32*32*8*3*3 = 1,179,648
      "204.80 K",  # separable MACs 1*8*32*32*3*3 + 1*16*32*32*8 = 204,800
      "1.15 K"]),  # standard params 16*8*3*3 = 1,152
    ("layer-json", ["layer", "--cin", "8", "--cout", "16", "--k", "3", "--hw", "32", "--format", "json"],
     ['"macs": 1179648', '"macs": 204800', '"params": 1152']),
    ("model", ["model", "specs/mobilenet_v1.yaml", "--no-verify"],
     ["4.23 M", "568.74 M"]),  # MobileNet paper, Table 1: 4.2 M params, 569 M mult-adds
    ("model-rf", ["model", "specs/mobilenet_v1.yaml", "--no-verify", "--rf", "--depth", "1"],
     ["315"]),  # the receptive field of the last conv (tests/unit/test_receptive.py)
]

from helpers import blocked_env as _blocked_env  # noqa: E402
from helpers import run as _run  # noqa: E402

# Subprocesses with torch blocked: make test, where torch is installed. The fast loop needs none
# of them: it runs every in-process test with torch and fvcore blocked.
pytestmark = pytest.mark.slow


def test_blocker_blocks(tmp_path: Path) -> None:
    env = _blocked_env(tmp_path)
    for name in BLOCKED:
        proc = _run([sys.executable, "-c", f"import {name}"], env)
        assert proc.returncode == 1
        assert f"{name} is blocked for this test" in proc.stderr


@pytest.mark.parametrize(("argv", "figures"), [pytest.param(a, f, id=i) for i, a, f in COMMANDS])
def test_runs_with_torch_unimportable(tmp_path: Path, argv: list[str], figures: list[str]) -> None:
    proc = _run([sys.executable, "-m", "convcost", *argv], _blocked_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for figure in figures:
        assert figure in proc.stdout


def test_profile_without_torch_is_one_line(tmp_path: Path) -> None:
    proc = _run([sys.executable, "-m", "convcost", "profile", "specs/mobilenet_block.yaml"],
                _blocked_env(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr == ("convcost: error: convcost profile and calibrate need torch: "
                           "pip install 'convcost[torch]'\n")


_NEVER_IMPORTS = """
import json, sys
import convcost
from typer.testing import CliRunner
from convcost.cli.app import app

for argv in json.loads(sys.argv[1]):
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
totals = convcost.analyze(convcost.load_spec("specs/mobilenet_v2.yaml")).totals
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {blocked})
print(json.dumps({{"params": totals.params, "loaded": loaded}}))
"""


def test_torch_never_imported() -> None:
    script = _NEVER_IMPORTS.format(blocked=set(BLOCKED))
    proc = _run([sys.executable, "-c", script, json.dumps([argv for _, argv, _ in COMMANDS])])
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["loaded"] == []
    assert result["params"] == 3_504_872  # torchvision's published mobilenet_v2 param count


@pytest.mark.parametrize(("raised", "reason"), [
    ('ImportError("torch is blocked for this test")', " (torch is blocked for this test)"),
    ("ImportError", ""),  # an ImportError without a message adds no empty "()"
])
def test_the_cross_check_note_gives_the_import_error_when_it_has_one(
        tmp_path: Path, raised: str, reason: str) -> None:
    env = _blocked_env(tmp_path)
    for name in BLOCKED:
        (tmp_path / name / "__init__.py").write_text(f"raise {raised}\n")
    proc = _run([sys.executable, "-m", "convcost", "model", "specs/mobilenet_block.yaml", "--summary"], env)
    assert proc.returncode == 0
    assert proc.stderr == ("convcost: note: not cross-checked: the cross-check needs torch and "
                           f"fvcore: pip install 'convcost[torch]'{reason}\n")
