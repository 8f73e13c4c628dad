"""`check` and `diff` on any source: torchvision names, `file.py:Class(...)` and ONNX files in a
budgets file (each with its input shape), and an imported model against the shipped spec."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from convcost.cli.app import app

NET = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, 10)

    def forward(self, x):
        return self.fc(self.pool(self.conv(x)).flatten(1))
"""


def _json(argv: list[str], code: int = 0) -> dict[str, Any]:
    result = CliRunner().invoke(app, [*argv, "-f", "json"], env={"GITHUB_ACTIONS": ""})
    assert result.exit_code == code, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _project(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.py").write_text(NET, encoding="utf-8")
    return tmp_path


def test_budgets_file_names_python_and_torchvision_models(tmp_path: Path) -> None:
    root = _project(tmp_path)
    budgets = root / "ci" / "budgets.yaml"
    budgets.parent.mkdir()
    # the file source is relative to the budgets file, as a spec path is
    budgets.write_text(
        "budgets:\n"
        "  - {spec: '../models/net.py:Net(width=16)', input: 1x3x32x32, params: 1K, macs: 500K}\n"
        "  - {spec: 'torchvision:resnet18', input: [1, 3, 160, 160], params: 12M, macs: 900M}\n",
        encoding="utf-8")
    data = _json(["check", str(budgets)], 1)
    by_name = {m["name"]: m for m in data["models"]}
    # Net(16): conv 3·16·9 = 432 params, ·32·32 = 442 368 MACs; fc 16·10 + 10 = 170 params and
    # 160 MACs: 602 params (within 1K), 442 528 MACs (within 500K)
    net = next(m for name, m in by_name.items() if name.startswith("Net"))
    assert [(x["metric"], x["value"], x["over"]) for x in net["metrics"]] == [
        ("params", 602, False), ("macs", 442528, False)]
    assert net["name"].endswith("[input=1x3x32x32]")
    # resnet18 at 160×160: 11 689 512 params; of its 1 814 073 344 MACs at 224, the convs'
    # (all but the fc's 512·1000 = 512 000) scale by 160²/224² = 25 600/50 176:
    # 1 813 561 344 · 25 600 / 50 176 + 512 000 = 925 798 400, over 900M
    resnet = next(m for name, m in by_name.items() if "resnet18" in name)
    assert [x["value"] for x in resnet["metrics"]] == [11689512, 925798400]
    assert resnet["metrics"][1]["over"] and data["status"] == "fail"


def test_budgets_file_names_an_onnx_file(tmp_path: Path) -> None:
    pytest.importorskip("onnxscript")
    import sys

    root = _project(tmp_path)
    sys.path.insert(0, str(root / "models"))
    try:
        from net import Net  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(root / "models"))
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(Net(8).eval(), (torch.zeros(1, 3, 16, 16),), str(root / "net.onnx"))
    budgets = root / "budgets.yaml"
    budgets.write_text("budgets:\n  - {spec: net.onnx, params: 120, macs: 8K}\n", encoding="utf-8")
    data = _json(["check", str(budgets)], 1)
    # Net(8) at 16×16: conv 3·8·9 = 216 params, ·256 = 55 296 MACs; fc 8·10 + 10 = 90 params,
    # 80 MACs: 306 params and 55 376 MACs, both over
    assert [(x["value"], x["over"]) for x in data["models"][0]["metrics"]] == [
        (306, True), (55376, True)]


def test_diff_of_an_import_against_the_spec_matches_by_structure() -> None:
    """torchvision's module paths (features.N.conv...) against the spec's names (stageN...):
    no name in common but the first few; the structure pairs every layer (same figures)."""
    data = _json(["diff", "torchvision:mobilenet_v2", "mobilenet_v2"])
    counts = data["counts"]
    assert counts["added"] == counts["removed"] == 0 and counts["changed"] == 0
    assert [t["change"] for t in data["totals"] if t["metric"] in ("params", "macs")] == [0, 0]
