"""Swin: torchvision's shifted-window attention and patch merging import as their kinds, exact
against sum(p.numel()) and FlopCounterMode / 2, and each convention's row is its tool's count
on the kind's module and on torchvision's own module."""

from __future__ import annotations

import json

import pytest
from test_attention_conventions import TOOLS, leaf, run_tool

from convcost.conventions.rules import CONVENTIONS
from convcost.cost.ops.swin import ShiftedWindowAttention
from convcost.cost.registry import rule_keys

MODELS = "tests/torch/import_models.py"
V2_KEYS = rule_keys(ShiftedWindowAttention(8, 2, (2, 2), cosine=True))  # tested here alone


@pytest.mark.parametrize("v2", [False, True])
def test_a_tiny_swin_imports_exactly(v2: bool) -> None:
    """The model's figures equal sum(numel) and FlopCounterMode / 2; the cross-check agrees."""
    import torch
    from import_models import TinySwin
    from typer.testing import CliRunner

    from convcost.cli.app import app
    from convcost.runtime.flop_count import flop_counter

    model = TinySwin(v2).eval()
    with torch.no_grad(), flop_counter() as counter:
        model(torch.zeros(1, 3, 20, 24))
    result = CliRunner().invoke(app, ["model", f"{MODELS}:TinySwin(v2={v2})", "--input",
                                      "1x3x20x24", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["complete"] and data["verify"]["ok"], data["verify"]["mismatches"]
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    assert data["totals"]["macs"] == counter.get_total_flops() // 2
    kinds = {layer["kind"] for layer in data["layers"]}
    assert {"shifted_window_attention", "patch_merge", "permute"} <= kinds, kinds


# (channels, heads, window, shift, input): a shifted case, a padded batch of 2, 3×3 windows
SHAPES = [(8, 2, 2, 1, (1, 4, 4, 8)), (8, 2, 2, 1, (2, 5, 4, 8)), (12, 3, 3, 1, (2, 6, 7, 12))]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("cosine", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_the_row_is_the_tools_count(shape: tuple, cosine: bool, tool: str) -> None:
    c, heads, window, shift, x = shape
    op = ShiftedWindowAttention(c, heads, (window, window), (shift, shift), cosine)
    count, params = run_tool(tool, op, x, ())
    node = leaf(op, x)
    assert CONVENTIONS[tool].count(node) == count
    if not (tool == "thop" and cosine):  # thop totals cpb_mlp's params alone: a known gap
        assert CONVENTIONS[tool].param_count(node) == params


@pytest.mark.parametrize("cosine", [False, True])
def test_the_kinds_module_counts_as_torchvisions(cosine: bool) -> None:
    """Every tool counts the kind's module as torchvision's ShiftedWindowAttention(V2)."""
    import contextlib
    import io

    import torch
    from test_attention_conventions import _count

    from convcost.cost.registry import op_kind
    from convcost.runtime.flop_count import math_attention
    from convcost.runtime.importer.resolve import import_torchvision
    from convcost.runtime.verify import quiet

    import_torchvision()
    from torchvision.models import swin_transformer as swin

    x = (2, 5, 4, 8)
    op = ShiftedWindowAttention(8, 2, (2, 2), (1, 1), cosine)
    cls = swin.ShiftedWindowAttentionV2 if cosine else swin.ShiftedWindowAttention
    for tool in TOOLS:
        counts = []
        for model in (cls(8, [2, 2], [1, 1], 2), op_kind(op).module(op, x)):
            with quiet(), math_attention(), contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                counts.append(_count(tool, model.eval(), torch.zeros(x)))
        assert counts[0] == counts[1], tool


# (α, resolution): swin_t's embedding width 96·α through every stage (patch merging doubles
# it); one cheap case (the sweep test runs more α)
@pytest.mark.parametrize(("alpha", "resolution"), [(0.5, 64)])
def test_swin_t_at_a_width_multiplier_equals_torchvision_at_that_embedding(
        alpha: float, resolution: int) -> None:
    """swin_t at α is torchvision's SwinTransformer with embed_dim 96·α (heads 3-6-12-24 kept):
    its params equal sum(p.numel()) and its MACs FlopCounterMode / 2."""
    import torch

    import convcost
    from convcost.runtime.flop_count import flop_counter
    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()
    from torchvision.models.swin_transformer import SwinTransformer

    totals = convcost.analyze(convcost.load_spec("specs/swin_t.yaml"), alpha=alpha,
                              resolution=resolution).totals
    with torch.device("meta"):  # shapes only: no weights drawn
        model = SwinTransformer([4, 4], int(96 * alpha), [2, 2, 6, 2], [3, 6, 12, 24], [7, 7]).eval()
        with torch.no_grad(), flop_counter() as counter:
            model(torch.zeros(1, 3, resolution, resolution))
    assert totals.params == sum(p.numel() for p in model.parameters())
    assert totals.macs == counter.get_total_flops() // 2
