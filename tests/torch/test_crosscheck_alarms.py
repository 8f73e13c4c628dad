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
    analysis = convcost.analyze(model, (x,))
    # fvcore: the conv only, 8·8 positions · 8 out · 27 = 13,824; aten::mean/sum/amax unsupported (0)
    assert _fvcore_total(model, x) == FVCORE.total(analysis) == 64 * 8 * 27
    assert analysis.complete  # mean, sum and max (amax) layers of dims [2, 3]: nothing opaque


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


def test_the_cross_check_runs_the_original_twice() -> None:
    """One pass holds FlopCounterMode, the output-shape hooks, the parameter reads and the
    forward spies, the other is fvcore's trace: a big input (SAM at 1024²) costs two forwards, not
    four. Still the directly called block is seen, and every parameter read (224 + 584 = 808)."""
    from convcost.frontend.source import parse_source
    from convcost.net.analysis import analyze as analyze_spec
    from convcost.runtime.importer.crosscheck import verify_original
    from convcost.runtime.importer.load import import_source
    from convcost.spec.loader import spec_from
    from convcost.spec.yamlsafe import load_yaml

    session = import_source(parse_source(f"{MODELS}:Direct"), (1, 3, 8, 8))
    spec = spec_from(load_yaml(session.yaml, "direct"), session.yaml, "direct")
    assert session.model is not None
    calls: list[int] = []
    session.model.register_forward_pre_hook(lambda *_: calls.append(1))
    checked = verify_original(analyze_spec(spec), session)
    assert len(calls) == 2
    assert checked.ok and checked.direct == ("block",) and checked.torch_params == 808


def test_an_incomplete_model_is_checked_with_its_counts_as_lower_bounds() -> None:
    result = CliRunner().invoke(app, ["model", f"{MODELS}:Mixer", "--input", "1x3x8x8", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # conv 64·8·27 = 13,824 MACs counted; the einsum's 64·8·8 = 4,096 MACs are in the opaque
    # layer: FlopCounterMode sees 13,824 + 4,096, convcost's total is a lower bound below it
    assert data["totals"]["macs"] == 13_824 and not data["totals"]["complete"]
    assert data["verify"]["ok"] and data["verify"]["totals"]["flop_counter_flops"] == 2 * (13_824 + 4_096)
    assert "totals are lower bounds" in result.stderr


def test_a_lower_bound_above_the_tools_count_is_still_a_mismatch() -> None:
    from collections import Counter

    from convcost.runtime.verify import LayerCheck, Verification

    layer = LayerCheck("mix", "opaque", True, 10, 8, 0, 0, (1, 8), (1, 8), opaque=True)
    assert [m.figure for m in layer.mismatches()] == ["fvcore"]  # 10 > 8: more than the tool
    region = LayerCheck("blocks", "opaque", True, 0, 8, 5, 4, (1, 8), (1, 9, 8), opaque=True)
    assert not list(region.mismatches())  # a region past its module: params, shape in totals
    below = LayerCheck("mix", "opaque", True, 5, 8, 0, 0, (1, 8), (1, 8), opaque=True)
    checked = Verification("m", "fvcore", "", (below,), 5, 8, 0, 0, 5, 16, Counter(), Counter(),
                           lower_bounds=True)
    assert checked.ok  # 5 ≤ 8 per layer, 5 ≤ 8 fvcore and 2·5 ≤ 16 FLOPs in total
    assert not Verification("m", "fvcore", "", (), 9, 8, 0, 0, 5, 16, Counter(), Counter(),
                            lower_bounds=True).ok


def test_an_elementwise_layer_on_a_reshaped_view_keeps_its_shape() -> None:
    from convcost.runtime.importer.crosscheck import _seen
    from convcost.spec.yamlsafe import load_yaml

    spec = ("name: v\ninput: {channels: 3, resolution: 8}\nlayers:\n"
            "  - {kind: conv, name: c, out_channels: 8}\n  - {kind: groupnorm, name: n, groups: 1}\n")
    node = convcost.analyze(parse_spec(load_yaml(spec))).root.children[1]
    assert node.output_shape == (1, 8, 8, 8)
    assert _seen(node, (1, 8, 4, 16)) == (1, 8, 8, 8)  # MobileViT-v2's patches: 4 × 16 = 8 × 8
    assert _seen(node, (1, 8, 4, 15)) == (1, 8, 4, 15)  # another element count: a real mismatch
    assert _seen(node, (1, 4, 8, 16)) == (1, 4, 8, 16)  # other channels: a real mismatch
    conv = convcost.analyze(parse_spec(load_yaml(spec))).root.children[0]
    assert _seen(conv, (1, 8, 4, 16)) == (1, 8, 4, 16)  # a conv's output is never a view


class _TokenInput(nn.Module):
    """A parameter expanded to the batch under no_grad, then given to a module (timm's PiT and
    CaiT class tokens): FlopCounterMode's module tracker asserts on it unless autograd is on."""

    def __init__(self) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 4))
        self.proj = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.token.expand(x.shape[0], -1)) + x


def test_a_parameter_fed_to_a_module_is_counted_not_an_internal_error() -> None:
    from convcost.runtime.verify import hooked_forward, quiet

    with quiet():
        shapes, flops = hooked_forward(_TokenInput(), ["proj"], torch.zeros(2, 3))
    assert (shapes, flops) == ({"proj": (2, 3)}, 2 * 2 * 4 * 3)  # FLOPs 2·N·in·out = 48


def test_an_imported_model_at_another_width_is_checked_as_rebuilt() -> None:
    """``--alpha 0.5`` analyses a narrower net than the original module: comparing the two was
    a false alarm (every layer a mismatch, exit 1); the rebuilt spec is what was analysed."""
    args = ["model", f"{MODELS}:Residuals", "--input", "1x3x16x16", "--alpha", "0.5", "-f", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    full = json.loads(CliRunner().invoke(app, [*args[:4], "-f", "json"]).stdout)
    assert data["verify"]["ok"] and data["totals"]["macs"] < full["totals"]["macs"]
    assert data["verify"]["totals"]["flop_counter_flops"] == 2 * data["totals"]["macs"]
