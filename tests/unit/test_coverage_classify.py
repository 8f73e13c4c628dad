"""benchmarks/coverage.py sorts each run by what it says: the JSON's completeness flag first."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import ROOT, load_script

coverage: Any = load_script(ROOT / "benchmarks" / "coverage.py", "coverage_benchmark")

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
