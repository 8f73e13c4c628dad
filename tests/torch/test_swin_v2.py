"""timm's Swin V2 window attention (``swin_transformer_v2.WindowAttention`` and
``swin_transformer_v2_cr.WindowMultiHeadAttention``) imports as ``cosine_window_attention``,
exact against sum(p.numel()) and FlopCounterMode / 2, and each convention's row is its tool's
count on the kind's module and on timm's own module."""

from __future__ import annotations

import json

import pytest
from test_attention_conventions import TOOLS, leaf, run_tool

from convcost.conventions.rules import CONVENTIONS
from convcost.cost.ops.swin_v2 import CosineWindowAttention

MODELS = "tests/torch/import_models.py"
# (op, windows' tokens): a 2×2 window, a 3×2 one (6 tokens, 15 coordinates), the cr's on a
# square 3×3 window with a narrow MLP
CASES = [(CosineWindowAttention(8, 2, (2, 2)), (3, 4, 8)),
         (CosineWindowAttention(12, 3, (3, 2)), (2, 6, 12)),
         (CosineWindowAttention(8, 2, (2, 2), 384, "swinv2_cr"), (3, 4, 8)),
         (CosineWindowAttention(12, 3, (3, 3), 16, "swinv2_cr"), (2, 9, 12))]


def _timm(op: CosineWindowAttention) -> object:
    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()  # timm imports torchvision: with CPU torch, its fake ops tolerated
    from timm.models.swin_transformer_v2 import WindowAttention
    from timm.models.swin_transformer_v2_cr import WindowMultiHeadAttention

    if op.variant == "swinv2":
        return WindowAttention(op.channels, op.window, op.heads)
    return WindowMultiHeadAttention(op.channels, op.heads, op.window, meta_hidden_dim=op.hidden)


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize(("op", "x"), CASES)
def test_the_row_is_the_tools_count(op: CosineWindowAttention, x: tuple, tool: str) -> None:
    count, params = run_tool(tool, op, x, ())
    node = leaf(op, x)
    assert CONVENTIONS[tool].count(node) == count
    if tool != "thop":  # thop totals the params of the modules it ran alone: a known gap
        assert CONVENTIONS[tool].param_count(node) == params


@pytest.mark.parametrize(("op", "x"), [CASES[1], CASES[3]])
def test_the_kinds_module_counts_as_timms(op: CosineWindowAttention, x: tuple) -> None:
    """Every tool counts the kind's module as timm's, and their params are equal."""
    import contextlib
    import io

    import torch
    from test_attention_conventions import _count

    from convcost.cost.registry import op_kind
    from convcost.runtime.flop_count import math_attention
    from convcost.runtime.verify import quiet

    for tool in TOOLS:
        counts = []
        for model in (_timm(op), op_kind(op).module(op, x)):
            with quiet(), math_attention(), contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                counts.append(_count(tool, model.eval(), torch.zeros(x)))  # type: ignore[attr-defined]
        assert counts[0] == counts[1], tool


@pytest.mark.parametrize("cr", [False, True])
def test_a_tiny_swin_v2_imports_exactly(cr: bool) -> None:
    """A two-stage timm Swin V2 (and V2-CR): its figures equal sum(numel) and FlopCounterMode
    / 2, every attention is the kind and the cross-check agrees."""
    import import_models
    import torch
    from typer.testing import CliRunner

    from convcost.cli.app import app
    from convcost.runtime.flop_count import flop_counter

    model = import_models.TinySwinV2(cr).eval()
    with torch.no_grad(), flop_counter() as counter:
        model(torch.zeros(1, 3, 32, 32))
    result = CliRunner().invoke(app, ["model", f"{MODELS}:TinySwinV2(cr={cr})", "--input",
                                      "1x3x32x32", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["complete"] and data["verify"]["ok"], data["verify"]["mismatches"]
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    assert data["totals"]["macs"] == counter.get_total_flops() // 2
    kinds = [layer["kind"] for layer in data["layers"]]
    assert kinds.count("cosine_window_attention") == 3, kinds
