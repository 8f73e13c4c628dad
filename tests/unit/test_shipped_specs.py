"""The issue-12 specs give the published torchvision figures, pinned without torch through
``convcost model SPEC --no-verify -f json``."""

from __future__ import annotations

import json

import pytest
from shipped_specs import DETECTOR_SPECS, TORCHVISION_SPECS
from typer.testing import CliRunner

from convcost.cli.app import app


@pytest.mark.parametrize(("spec", "params", "macs"),
                         [(s[0], s[4], s[5]) for s in TORCHVISION_SPECS]
                         + [(s[0], s[3], s[4]) for s in DETECTOR_SPECS],
                         ids=[s[0] for s in [*TORCHVISION_SPECS, *DETECTOR_SPECS]])
def test_spec_figures_are_torchvisions(spec: str, params: int, macs: int) -> None:
    result = CliRunner().invoke(app, ["model", spec, "--no-verify", "-f", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    assert (totals["params"], totals["macs"], totals["flops"]) == (params, macs, 2 * macs)
