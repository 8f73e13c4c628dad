"""The conventions' rows for ``gather`` (``x[:, index]`` with an index buffer: ViT-RelPos's
relative-position table spread to a window's token pairs).

Each row was measured by running the tool on the kind's torch module (tests/torch/test_tool_rules.py,
tests/torch/test_conventions.py's token zoo): ``x[:, index]`` traces to ``aten::index``, which
fvcore ignores as free (0, nothing skipped); thop has no rule for a module without one (0);
ptflops patches no tensor indexing and hooks no such module (0); torchinfo counts no parameter
(0); FlopCounterMode counts no matmul (0). Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import unsupported, zeros


def _rows() -> dict[str, dict[str, Rule]]:
    return {
        "paper": zeros("0: a copy, not a conv or linear MAC", gather=""),
        "fvcore": zeros("0: ignored as free", gather="aten::index"),
        "thop": unsupported(gather="GatherModule (x[:, index]: no rule)"),
        "ptflops": unsupported(gather="x[:, index] (not patched; no hook)"),
        "torchinfo": zeros("0: no parameters", gather=""),
        "torch": zeros("0: not a matmul, conv or attention op", gather=""),
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(_rows())
"""convention name -> its rows for this kind."""
