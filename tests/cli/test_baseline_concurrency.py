"""Two ``check --update-baseline`` runs at once on one baseline: neither loses the other's model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

pytestmark = pytest.mark.slow  # builds/spawns processes: `make test` runs it, the fast loop skips it

SPEC = """\
name: {name}
input: {{channels: 3, resolution: 8}}
layers:
  - {{kind: conv, name: conv, out_channels: {width}}}
"""
ROUNDS = 5


def test_concurrent_updates_lose_no_model(tmp_path: Path) -> None:
    specs = []
    for i, name in enumerate(("alpha", "beta")):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(SPEC.format(name=name, width=8 * (i + 1)))
        specs.append(spec)
    for round_ in range(ROUNDS):
        baseline = tmp_path / f"baseline{round_}.json"
        runs = [subprocess.Popen([sys.executable, "-m", "convcost", "check", str(spec),
                                  "--baseline", str(baseline), "--update-baseline"],
                                 cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                for spec in specs]
        for run in runs:
            _, err = run.communicate(timeout=60)
            assert run.returncode == 0, err
        models = json.loads(baseline.read_text())["models"]
        # alpha: conv 3→8, 3×3: 216 params; beta: 3→16: 432 (no bias)
        assert {name: m["params"] for name, m in models.items()} == {"alpha": 216, "beta": 432}
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
