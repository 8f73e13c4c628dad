"""The suite's own layout: without torch, tests/torch is neither collected nor imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import blocked_env, run


@pytest.mark.slow  # a pytest subprocess: make test
def test_torch_tests_are_not_collected_without_torch(tmp_path: Path) -> None:
    # tests/torch/conftest.py ignores its directory when torch cannot be imported (or under
    # -m "not torch"): pytest collects nothing there and imports none of its modules
    proc = run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                "-p", "no:randomly", "tests/torch"], blocked_env(tmp_path))
    assert proc.returncode == 5, proc.stdout + proc.stderr  # 5: no tests collected
    assert "no tests collected" in proc.stdout
    assert "test_" not in proc.stdout and "skipped" not in proc.stdout  # no module imported


def test_no_two_test_modules_share_a_basename() -> None:
    # tests/ has no __init__.py per directory: pytest imports each module by its basename, so a
    # second test_x.py elsewhere fails collection ("import file mismatch") in the run that sees both
    root = Path(__file__).resolve().parents[1]
    seen: dict[str, Path] = {}
    twins = []
    for path in sorted(root.rglob("test_*.py")):
        if path.name in seen:
            twins.append(f"{seen[path.name].relative_to(root)} and {path.relative_to(root)}")
        seen.setdefault(path.name, path)
    assert not twins, twins
