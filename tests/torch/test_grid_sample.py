"""``grid_sample`` (``F.grid_sample``): every convention's row is its tool's count on the kind's
module, and small models sampling at computed and fixed grids import exactly with each tracer."""

from __future__ import annotations

import math

import pytest
from test_attention_conventions import TOOLS, leaf, run_tool

from convcost.conventions.rules import CONVENTIONS
from convcost.cost.opkind import Op
from convcost.cost.ops.grid_sample import GridSample
from convcost.cost.value import Shape
from convcost.net.analysis import Analysis
from convcost.runtime.verify import Verification

# name -> (op, x, (the grid's shape,)): every mode and padding, 4-D and volumetric
CASES: dict[str, tuple[Op, Shape, tuple[Shape, ...]]] = {
    "bilinear": (GridSample((2, 4, 5, 2)), (2, 3, 6, 7), ((2, 4, 5, 2),)),
    "nearest_border": (GridSample((2, 4, 5, 2), "nearest", "border"), (2, 3, 6, 7), ((2, 4, 5, 2),)),
    "bicubic_reflection_corners": (GridSample((2, 4, 5, 2), "bicubic", "reflection", True),
                                   (2, 3, 6, 7), ((2, 4, 5, 2),)),
    "volumetric": (GridSample((2, 3, 4, 5, 3)), (2, 3, 4, 6, 7), ((2, 3, 4, 5, 3),)),
    "volumetric_nearest": (GridSample((2, 3, 4, 5, 3), "nearest"), (2, 3, 4, 6, 7),
                           ((2, 3, 4, 5, 3),)),
}
MODELS = "tests/torch/import_models.py"


@pytest.mark.parametrize("name", list(CASES))
def test_every_row_is_its_tools_count(name: str) -> None:
    op, x, others = CASES[name]
    node = leaf(op, x)
    rows = {tool: (CONVENTIONS[tool].count(node), CONVENTIONS[tool].param_count(node)) for tool in TOOLS}
    assert {tool: run_tool(tool, op, x, others) for tool in TOOLS} == rows


def test_the_counts_of_one_lookup() -> None:
    """fvcore counts 4 per output whatever the mode ("assume bilinear"); no other tool counts it."""
    op, x, others = CASES["bicubic_reflection_corners"]
    counts = {tool: run_tool(tool, op, x, others)[0] for tool in TOOLS}
    out = 2 * 3 * 4 * 5  # [N, C, Ho, Wo]: 120 samples
    assert counts == {"fvcore": 4 * out, "thop": 0, "ptflops": 0, "torchinfo": 0, "torch": 0}
    assert leaf(op, x).macs == 0 and math.prod(leaf(op, x).output_shape) == out


def _imported(source: str, shape: tuple[int, ...], tracer: str) -> tuple[Analysis, Verification]:
    from convcost.frontend.registry import open_network
    from convcost.net.analysis import analyze
    from convcost.runtime.importer.crosscheck import verify_original
    from convcost.spec.loader import spec_from

    opened = open_network(source, shape, tracer=tracer)
    assert opened.session is not None
    analysis = analyze(spec_from(opened.data, opened.text, opened.file))
    return analysis, verify_original(analysis, opened.session)


@pytest.mark.parametrize("tracer", ["fx", "export"])
@pytest.mark.parametrize(("volumetric", "shape"), [(False, (2, 3, 8, 8)), (True, (2, 3, 4, 6, 6))])
def test_a_predicted_grid_imports_exactly(tracer: str, volumetric: bool, shape: tuple[int, ...]) -> None:
    analysis, check = _imported(f"{MODELS}:Sampled(volumetric={volumetric})", shape, tracer)
    assert [leaf.label for leaf in analysis.leaves()].count("grid_sample") == 1
    assert analysis.complete and check.ok, check
    # conv 3->4 (3×3, or 3×3×3) and 1×1 4->2 (or 3) at every position; the sample no MAC
    positions = math.prod(shape[2:]) * shape[0]
    kernel, grid = (27, 3) if volumetric else (9, 2)
    assert analysis.totals.macs == positions * (4 * 3 * kernel + grid * 4)
    assert 2 * analysis.totals.macs == check.counter_flops
    # fvcore: the convs, plus 4 per sample: N·4 channels·positions
    assert check.fvcore == analysis.totals.macs + 4 * 4 * positions


def test_a_fixed_grid_is_recorded_as_a_constant_it_reads() -> None:
    # RAFT's first lookup: a grid made from no input is a recorded constant the first
    # grid_sample reads, the second reads it moved by a conv's offsets (so fvcore's 4 per
    # sample are in the spec's count: nothing opaque)
    analysis, check = _imported("tests/torch/record_models.py:Warping", (2, 3, 8, 8), "record")
    leaves = [(leaf.label, leaf.output_shape) for leaf in analysis.leaves()]
    assert ("recorded", (2, 8, 8, 2)) in leaves
    assert [shape for label, shape in leaves if label == "grid_sample"] == [(2, 4, 8, 8)] * 2
    assert analysis.complete and check.ok, check
    # conv 3->4 3×3, offsets 4->2 3×3, at 2·64 positions
    assert analysis.totals.macs == 2 * 64 * (4 * 3 * 9 + 2 * 4 * 9) == 23_040
    assert check.fvcore == 23_040 + 2 * 4 * 4 * 2 * 64  # two samples
