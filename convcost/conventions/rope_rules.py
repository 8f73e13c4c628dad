"""The conventions' rows for ``rope``, a rotary position embedding ``x·cos + rotate(x)·sin``
(EVA, DINOv3, Qwen3-VL, DeepSeek): elementwise multiplies and an add, no conv or linear MAC.
fvcore meets two ``aten::mul``, an ``aten::add`` and an ``aten::neg`` per rotation, each
unsupported (the chunk, slices and cat are free); thop and ptflops know no such module (nor
patch ``Tensor.__mul__``); torchinfo counts no parameter; FlopCounterMode counts no matmul.
A rope that also reads the tables its sin/cos come from (Gemma4's angles) runs the same ops.
Measured by running the tools on the kind's torch module (tests/torch/test_conventions.py, the
token zoo, with and without a table). Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import unsupported, zero, zeros
from convcost.cost.graph import Node


def rope_fvcore_skipped(_: Node) -> dict[str, int]:
    # fvcore on x·cos + rotate(x)·sin: x·cos and rotate(x)·sin (2 aten::mul), their sum
    # (1 aten::add), the negated half of rotate(x) (1 aten::neg), each unsupported
    return {"aten::mul": 2, "aten::add": 1, "aten::neg": 1}


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType({
    "paper": zeros("0: elementwise multiplies and an add, not a conv or linear MAC", rope=""),
    "fvcore": {"rope": Rule(zero, "0: unsupported aten::mul (2 calls), aten::add, aten::neg, skipped",
                            "unsupported", "aten::mul, aten::add, aten::neg", skipped=rope_fvcore_skipped)},
    "thop": unsupported(rope="Rotary (no rule)"),
    "ptflops": unsupported(rope="x * cos + rotate(x) * sin (Tensor.__mul__ is not patched)"),
    "torchinfo": zeros("0: no parameters", rope=""),
    "torch": zeros("0: not a matmul, conv or attention op", rope=""),
})
"""convention name -> its row for ``rope``."""
