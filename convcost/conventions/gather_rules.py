"""The conventions' rows for the kinds that pick entries: ``gather`` (``x[:, index]`` with an index
buffer: ViT-RelPos's relative-position table spread to a window's token pairs) and
``grid_sample`` (``F.grid_sample(x, grid)``: x read at the grid's coordinates, RAFT's correlation
lookups).

Each row was measured by running the tool on the kind's torch module (tests/torch/test_tool_rules.py,
tests/torch/test_conventions.py's token zoo; tests/torch/test_grid_sample.py): ``x[:, index]``
traces to ``aten::index``, which fvcore ignores as free (0, nothing skipped); ``F.grid_sample``
to ``aten::grid_sampler``, which fvcore's default handle counts as 4 per output element whatever
the mode, padding or rank ("assume bilinear"); thop has no rule for a module without one (0);
ptflops patches neither tensor indexing nor ``F.grid_sample`` and hooks no such module (0);
torchinfo counts no parameter (0); FlopCounterMode counts neither (0: not a matmul, conv or
attention op). Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import numel_out, unsupported, zeros
from convcost.cost.graph import Node


def _four_per_output(node: Node) -> int:
    # fvcore: elementwise_flop_counter(0, 4) on aten::grid_sampler's output, any mode
    return 4 * numel_out(node)


def _rows() -> dict[str, dict[str, Rule]]:
    return {
        "paper": {**zeros("0: a copy, not a conv or linear MAC", gather=""),
                  **zeros("0: sampling, not a conv or linear MAC", grid_sample="")},
        "fvcore": {**zeros("0: ignored as free", gather="aten::index"),
                   "grid_sample": Rule(_four_per_output, "4·numel of the output, any mode "
                                       "(aten::grid_sampler: 'assume bilinear')",
                                       tool_op="aten::grid_sampler")},
        "thop": unsupported(gather="GatherModule (x[:, index]: no rule)",
                            grid_sample="GridSampleModule (F.grid_sample: no rule)"),
        "ptflops": unsupported(gather="x[:, index] (not patched; no hook)",
                               grid_sample="F.grid_sample (not patched; no hook)"),
        "torchinfo": zeros("0: no parameters", gather="", grid_sample=""),
        "torch": zeros("0: not a matmul, conv or attention op", gather="", grid_sample=""),
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(_rows())
"""convention name -> its rows for these kinds."""
