"""The Makefile's set-up: `make run` installs what running needs, `make test` the dev extra."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _dry_run(*args: str) -> list[str]:
    """The pip commands `make -n -B` would run for a fresh venv."""
    out = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), "VENV=/nonexistent/venv", *args],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return [line for line in out.splitlines() if "pip install" in line]


def test_run_installs_core_torch_and_fvcore_only() -> None:
    pips = _dry_run("run")
    assert pips[-1].endswith("pip install -q --no-compile -e '.[torch]'")  # [torch] = torch + fvcore
    assert not any("[dev]" in line for line in pips)
    assert any(line.endswith("pip install -q --no-compile  torch==2.13.0") for line in pips)  # no index
    # pip upgraded first (its resolver is faster), nothing compiled at install
    assert pips[0].endswith("pip install -q --no-compile --upgrade pip")
    assert all("--no-compile" in line for line in pips)


def test_test_installs_the_dev_extra() -> None:
    assert _dry_run("test")[-1].endswith("pip install -q --no-compile -e '.[dev]'")


def test_torch_index_is_a_variable() -> None:
    pips = _dry_run("run", "TORCH_INDEX=https://download.pytorch.org/whl/cpu")
    assert any(line.endswith("--index-url https://download.pytorch.org/whl/cpu torch==2.13.0")
               for line in pips)


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-s", "-C", str(ROOT), *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_test_installs_chromium_for_the_browser_test() -> None:
    out = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), "VENV=/nonexistent/venv", "test"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert "apt-get install -y -q chromium" in out
    assert out.index("chromium") < out.index("pytest --run-slow")  # before the tests run


def test_the_chromium_step_never_fails_the_build() -> None:
    """apt missing or failing (APT_GET=false): exit 0 and say the browser test will skip;
    chromium already there (any executable): apt is not called at all."""
    failing = _make("chromium", "CHROMIUM=/nonexistent/chromium", "APT_GET=false")
    assert failing.returncode == 0
    if os.geteuid() == 0:
        assert "browser test will skip" in failing.stdout
    present = _make("chromium", f"CHROMIUM={sys.executable}", "APT_GET=false")
    assert (present.returncode, present.stdout) == (0, "")


def _fake_venv(tmp_path: Path, mypy: int, pytest_: int) -> Path:
    """A venv whose tools are scripts: ruff and convcost pass, mypy and python exit as told."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    codes = {"ruff": 0, "convcost": 0, "mypy": mypy, "python": pytest_}
    for tool, code in codes.items():
        script = venv / "bin" / tool
        script.write_text(f"#!/bin/sh\necho {tool} ran\nexit {code}\n")
        script.chmod(0o755)
    for marker in (".torch", ".installed"):  # installed: newer than pyproject.toml
        (venv / marker).touch()
    return venv


@pytest.mark.parametrize(("mypy", "pytest_", "passes"), [(0, 0, True), (1, 0, False), (0, 1, False)])
def test_make_test_fails_when_mypy_or_pytest_fails(tmp_path: Path, mypy: int, pytest_: int,
                                                   passes: bool) -> None:
    # mypy runs beside pytest (in the background): its exit code still decides, and its report
    # is printed after pytest's output
    venv = _fake_venv(tmp_path, mypy, pytest_)
    done = _make("test", f"VENV={venv}", f"CHROMIUM={sys.executable}")
    assert (done.returncode == 0) == passes, done.stdout + done.stderr
    assert done.stdout.index("python ran") < done.stdout.index("mypy ran")
    assert "ruff ran" in done.stdout and "convcost ran" in done.stdout


def test_the_install_caches_the_rewritten_test_modules(tmp_path: Path) -> None:
    """scripts/warm_bytecode.py writes the pyc pytest's import hook would (assertions rewritten,
    keyed by the source's hash), so a fresh clone's workers read it instead of each rewriting
    every test module; a helper module is left to plain Python."""
    from _pytest.assertion import rewrite
    from helpers import load_script

    warm = load_script(ROOT / "scripts" / "warm_bytecode.py", "warm_bytecode")
    (tmp_path / "test_a.py").write_text("def test_a():\n    assert 1 + 1 == 2\n")
    (tmp_path / "helper.py").write_text("X = 1\n")
    assert warm.rewrite_tests(tmp_path) == 1
    pyc = tmp_path / "__pycache__" / ("test_a" + rewrite.PYC_TAIL)
    code = rewrite._read_pyc(tmp_path / "test_a.py", pyc)
    assert code is not None and "@pytest_ar" in code.co_names  # rewritten (its helpers imported)
    (tmp_path / "test_a.py").write_text("def test_a():\n    assert 2\n")
    assert rewrite._read_pyc(tmp_path / "test_a.py", pyc) is None  # an edit makes it stale
