"""benchmarks/coverage.py sorts each run by what it says: the JSON's completeness flag first."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "coverage.py"
_SPEC = importlib.util.spec_from_file_location("coverage_benchmark", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
coverage: Any = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = coverage  # its dataclasses look their module up
_SPEC.loader.exec_module(coverage)

UNUSED = "convcost: warning: m:20: layers[13]: layer 'a.getitem' is not used by any output: not counted"


@pytest.mark.parametrize(("totals", "err", "status"), [
    ({"params": 10, "macs": 20, "complete": True, "uncounted": {}}, UNUSED, "exact"),  # res2net50d
    ({"params": 10, "macs": 20, "complete": False, "uncounted": {"aten.cumsum": 1}}, "", "incomplete"),
    ({"params": 10, "macs": 5, "complete": True, "uncounted": {}}, "", "wrong"),
    ({"params": 10, "macs": 5}, "totals are lower bounds", "incomplete"),  # no flag: stderr decides
])
def test_a_run_is_sorted_by_its_completeness_flag(totals: dict[str, Any], err: str, status: str) -> None:
    result = coverage.Result("timm:m", "timm", "timm/m", "error", exit=0, ref_params=10, ref_macs=20)
    assert coverage.classify(result, json.dumps({"totals": totals}), err).status == status
