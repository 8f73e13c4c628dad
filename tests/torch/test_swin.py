"""Swin: torchvision's shifted-window attention (2-D and the video Swin's 3-D) and patch merging
import as their kinds, exact against sum(p.numel()) and FlopCounterMode / 2, and each
convention's row is its tool's count on the kind's module and on torchvision's own module."""

from __future__ import annotations

import json

import pytest
from test_attention_conventions import TOOLS, leaf, run_tool

from convcost.conventions.rules import CONVENTIONS
from convcost.cost.ops.swin import ShiftedWindowAttention
from convcost.cost.registry import rule_keys

MODELS = "tests/torch/import_models.py"
V2_KEYS = rule_keys(ShiftedWindowAttention(8, 2, (2, 2), cosine=True))  # tested here alone


@pytest.mark.parametrize(("name", "x"), [("TinySwin(v2=False)", (1, 3, 20, 24)),
                                         ("TinySwin(v2=True)", (1, 3, 20, 24)),
                                         ("TinySwin3d()", (1, 3, 6, 20, 20))])
def test_a_tiny_swin_imports_exactly(name: str, x: tuple[int, ...]) -> None:
    """The model's figures equal sum(numel) and FlopCounterMode / 2; the cross-check agrees
    (3-D: torch.fx traces torchvision's video Swin, whose window narrows to the 3 frames)."""
    import import_models
    import torch
    from typer.testing import CliRunner

    from convcost.cli.app import app
    from convcost.runtime.flop_count import flop_counter

    model = eval(name, vars(import_models)).eval()  # a name of the list above
    with torch.no_grad(), flop_counter() as counter:
        model(torch.zeros(x))
    result = CliRunner().invoke(app, ["model", f"{MODELS}:{name}", "--input",
                                      "x".join(map(str, x)), "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["complete"] and data["verify"]["ok"], data["verify"]["mismatches"]
    assert data["totals"]["params"] == sum(p.numel() for p in model.parameters())
    assert data["totals"]["macs"] == counter.get_total_flops() // 2
    kinds = {layer["kind"] for layer in data["layers"]}
    assert {"shifted_window_attention", "patch_merge", "permute"} <= kinds, kinds


# (channels, heads, window, shift, input): a shifted case, a padded batch of 2, 3×3 windows;
# 3-D (V1 only): shifted and padded, a window narrowed to 3 frames (its depth then unshifted)
SHAPES = [(8, 2, (2, 2), (1, 1), (1, 4, 4, 8)), (8, 2, (2, 2), (1, 1), (2, 5, 4, 8)),
          (12, 3, (3, 3), (1, 1), (2, 6, 7, 12))]
SHAPES_3D = [(8, 2, (2, 2, 3), (1, 1, 1), (1, 4, 3, 5, 8)),
             (8, 2, (4, 2, 2), (2, 1, 1), (1, 3, 4, 4, 8))]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize(("shape", "cosine"), [(shape, cosine) for shape in SHAPES
                                               for cosine in (False, True)]
                         + [(shape, False) for shape in SHAPES_3D])
def test_the_row_is_the_tools_count(shape: tuple, cosine: bool, tool: str) -> None:
    c, heads, window, shift, x = shape
    op = ShiftedWindowAttention(c, heads, window, shift, cosine)
    count, params = run_tool(tool, op, x, ())
    node = leaf(op, x)
    assert CONVENTIONS[tool].count(node) == count
    if not (tool == "thop" and cosine):  # thop totals cpb_mlp's params alone: a known gap
        assert CONVENTIONS[tool].param_count(node) == params


@pytest.mark.parametrize("kind", ["v1", "v2", "3d"])
def test_the_kinds_module_counts_as_torchvisions(kind: str) -> None:
    """Every tool counts the kind's module as torchvision's ShiftedWindowAttention(V2, 3d)."""
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
    from torchvision.models.video import swin_transformer as swin3d

    x, window, shift = ((1, 3, 5, 4, 8), [4, 2, 2], [2, 1, 1]) if kind == "3d" else \
        ((2, 5, 4, 8), [2, 2], [1, 1])
    op = ShiftedWindowAttention(8, 2, tuple(window), tuple(shift), kind == "v2")
    cls = {"v1": swin.ShiftedWindowAttention, "v2": swin.ShiftedWindowAttentionV2,
           "3d": swin3d.ShiftedWindowAttention3d}[kind]
    for tool in TOOLS:
        counts = []
        for model in (cls(8, window, shift, 2), op_kind(op).module(op, x)):
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
