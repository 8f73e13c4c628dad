"""Windows, repeats and broadcasts of traced tensors (``x.unfold``, ``x.repeat_interleave``,
``x.expand``) are read as their kinds (``sliding``, ``repeat_interleave``, ``expand``): nothing
opaque, figures equal to torch's, the cross-check agreeing."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import graph_of
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.runtime.flop_count import flop_counter

MODEL = "tests/torch/import_models.py:Tiled"


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_tiling_ops_are_their_kinds(tracer: str) -> None:
    graph = graph_of(MODEL, (2, 3, 8, 8), tracer=tracer)
    assert not graph.opaque()
    ops = {n.op: n for n in graph}
    assert [n.attr("size") for n in graph if n.op == "sliding"] == [6, 6]
    assert (ops["repeat_interleave"].attr("repeats"), ops["repeat_interleave"].attr("dim")) == (4, 0)
    assert ops["repeat_interleave"].shape == (8, 1, 4)  # N·4 windows at N = 2


def test_tiled_model_is_exact() -> None:
    import import_models

    model = import_models.Tiled().eval()
    with torch.no_grad(), flop_counter() as counter:
        model(torch.zeros(2, 3, 8, 8))
    result = CliRunner().invoke(app, ["model", MODEL, "--input", "2x3x8x8", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # params: conv 3·4 + 4 = 16, proj 4·4 + 4 = 20: 36; MACs at N = 2: conv 2·4·8·8·3 = 1,536,
    # q·kᵀ 8·1·36·4 = 1,152, a·k 8·1·36·4 = 1,152, proj 8·3·4·4 = 384: 4,224
    assert (data["totals"]["params"], data["totals"]["macs"]) == (36, 4_224)
    assert data["totals"]["macs"] == counter.get_total_flops() // 2
    assert data["totals"]["complete"] and data["verify"]["ok"], data["verify"]["mismatches"]
    kinds = [layer["kind"] for layer in data["layers"]]
    assert kinds.count("sliding") == 2 and {"repeat_interleave", "expand"} <= set(kinds)
