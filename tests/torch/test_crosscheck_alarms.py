"""The cross-check fails only on a real disagreement (issue 19 §2): reductions as fvcore
really counts them, SE squeezes written ``x.mean((2, 3), keepdim=True)``, and modules whose
forward is called directly."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from fvcore.nn import FlopCountAnalysis
from torch import nn
from typer.testing import CliRunner

import convcost
from convcost.cli.app import app
from convcost.conventions.rules import FVCORE
from convcost.runtime.verify import verify
from convcost.spec.loader import parse_spec

MODELS = "tests/torch/import_models.py"


class _Reduce(nn.Module):
    def __init__(self, op: str, keepdim: bool) -> None:
        super().__init__()
        self.conv, self.op, self.keepdim = nn.Conv2d(3, 8, 3, padding=1), op, keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.conv(x), self.op)((2, 3), keepdim=self.keepdim)  # type: ignore[no-any-return]


def _fvcore_total(model: nn.Module, x: torch.Tensor) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counter = FlopCountAnalysis(model, (x,)).unsupported_ops_warnings(False)
        return int(counter.total())


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["mean", "sum", "amax"])
def test_reductions_over_hw_count_as_fvcore_counts_them(op: str, keepdim: bool) -> None:
    model = _Reduce(op, keepdim).eval()
    x = torch.zeros(1, 3, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sum and amax are opaque: an IncompleteWarning
        analysis = convcost.analyze(model, (x,))
    # fvcore: the conv only, 8·8 positions · 8 out · 27 = 13,824; aten::mean/sum/amax unsupported (0)
    assert _fvcore_total(model, x) == FVCORE.total(analysis) == 64 * 8 * 27
    assert analysis.complete is (op == "mean")  # mean is a spec kind; sum and amax are opaque


def _se_spec(squeeze: str) -> str:
    return ("name: se\ninput: {channels: 16, resolution: 8}\nlayers:\n"
            "  - {kind: inverted_residual, out_channels: 16, expand_ratio: 4, act: silu, "
            f"se: {{reduction: 4, base: input, divisor: null, act: silu, gate: sigmoid, "
            f"squeeze: {squeeze}}}}}\n")


def test_se_squeezed_by_a_mean_is_built_and_counted_as_fvcore_sees_it() -> None:
    from convcost.spec.yamlsafe import load_yaml

    pooled, meaned = (convcost.analyze(parse_spec(load_yaml(_se_spec(s)))) for s in ("pool", "mean"))
    # the pooling module is counted by fvcore (C·H·W = 64·8·8 = 4,096), the mean is not
    assert FVCORE.total(pooled) - FVCORE.total(meaned) == 64 * 8 * 8
    assert pooled.totals == meaned.totals  # paper MACs and params are the same
    checked = verify(meaned)  # built with x.mean((2, 3), keepdim=True): fvcore agrees per layer
    assert checked.ok, checked.mismatches()


def test_timm_se_block_imports_and_verifies() -> None:
    result = CliRunner().invoke(app, ["model", f"{MODELS}:MeanSE", "--input", "1x16x8x8", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verify"]["ok"] and data["totals"]["complete"]


def test_a_directly_called_forward_is_compared_in_its_parent() -> None:
    result = CliRunner().invoke(app, ["model", f"{MODELS}:Direct", "--input", "1x3x8x8", "-f", "json"])
    assert result.exit_code == 0, result.output
    verified = json.loads(result.stdout)["verify"]
    assert verified["ok"] and verified["direct"] == ["block"]
    # stem 8·27 + 8 = 224 params, 64 · 216 MACs; block 8·72 + 8 = 584 params, 64 · 576 MACs
    assert verified["totals"]["flop_counter_flops"] == 2 * 64 * (216 + 576)
    table = CliRunner().invoke(app, ["model", f"{MODELS}:Direct", "--input", "1x3x8x8"])
    assert "called directly (module.forward(x): no hook fires)" in table.stdout
