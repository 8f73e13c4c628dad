"""Shared fixtures: the repo root, a spec writer and a CLI runner."""

from __future__ import annotations

import functools
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer.testing
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent

# The suite writes bytecode even where PYTHONDONTWRITEBYTECODE is set (this machine sets it):
# otherwise pytest rewrites and compiles every test module in every worker, and every
# `python -m convcost` subprocess compiles convcost anew (make unexports it too).
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
# One torch intra-op thread per test process (subprocesses inherit it), unless the caller says
# otherwise: make test runs a worker per core, so a second OpenMP thread only spin-waits for work
# (a 64×64 repvit forward: 1.3 s of CPU on two threads on a loaded 2-core machine, 0.05 s on
# one). Set before anything imports torch; a test of --threads still sets its own count.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# CliRunner.invoke rebuilds the click command of the whole typer app at every call (~23 ms of a
# ~28 ms `layer` run); the command is stateless between invocations, so build it once per app.
typer.testing._get_command = functools.lru_cache(maxsize=None)(typer.testing._get_command)
SPECS = ROOT / "specs"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true",
                     help="also run tests marked slow (wheel build, process races, long fuzz)")
    parser.addoption("--run-exhaustive", action="store_true",
                     help="also run tests marked exhaustive (a check repeated on every large shipped spec)")


def pytest_configure(config: pytest.Config) -> None:
    """The properties draw their full number of examples (tests/helpers.py ``examples``) under
    ``--run-exhaustive`` (make test-all), half under ``--run-slow`` (make test), a sixth in the
    fast loop; the variable set here also tells ``helpers.every_spec`` that slow tests run."""
    for option, scale in (("--run-exhaustive", "full"), ("--run-slow", "half")):
        if config.getoption(option):
            os.environ["CONVCOST_TESTS_EXAMPLES"] = scale
            break


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run under ``--run-slow`` (``make test``), not in the fast loop; those
    marked ``exhaustive`` under ``--run-exhaustive`` only (``make test-all``)."""
    for marker, option, target in (("slow", "--run-slow", "make test"),
                                   ("exhaustive", "--run-exhaustive", "make test-all")):
        if config.getoption(option):
            continue
        skip = pytest.mark.skip(reason=f"{marker}: run with {option} ({target} does)")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


def _cpu_seconds() -> float:
    """This process's CPU time plus that of its finished children (a test's subprocesses)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """With CONVCOST_TEST_CPU=FILE, each test's CPU seconds (setup to teardown, subprocesses
    included), its node id and its wall seconds are appended to FILE, a tab-separated line each
    (``sort -rn FILE`` ranks them). CPU, unlike wall time, hardly moves with the machine's load;
    wall well above CPU on a quiet core is time a worker waits (a timeout, a sleep, a child's)."""
    target = os.environ.get("CONVCOST_TEST_CPU")
    start, wall = _cpu_seconds(), time.perf_counter()
    yield
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(f"{_cpu_seconds() - start:.4f}\t{item.nodeid}\t{time.perf_counter() - wall:.4f}\n")


@pytest.fixture(autouse=True)
def _fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as piped output: 200 columns, whatever the terminal running the tests says."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text to ``tmp_path/spec.yaml`` and return the path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
