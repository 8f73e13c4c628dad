"""The conventions' rows for the arithmetic kinds ``div`` (``a / b``), ``shift`` (``x + value``) and
``clamp`` (``torch.clamp(x, min, max)``), and ``scalar`` of op rsub (``value - x``: rule key
``scalar_rsub``) and sub (``x - value``: ``scalar_sub``).

Each row was measured by running the tool on the kind's torch module (tests/torch/test_tool_rules.py,
tests/torch/test_conventions.py's token zoo): fvcore skips ``aten::div``, ``aten::add`` and
``aten::rsub``, ``aten::sub`` as unsupported and ignores ``aten::clamp`` as free (0); thop has no
rule for the stand-in modules (0); ptflops patches none of ``Tensor.__truediv__``,
``Tensor.__add__``, ``Tensor.__rsub__``, ``Tensor.__sub__``, ``torch.clamp`` (0); torchinfo
counts no parameter (0); FlopCounterMode counts none (0), as for the other elementwise ops. Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import unsupported, zeros

_KEYS = ("div", "shift", "scalar_rsub", "scalar_sub", "clamp")


def _rows() -> dict[str, dict[str, Rule]]:
    return {
        "paper": zeros("0: elementwise, not a conv or linear MAC", **dict.fromkeys(_KEYS, "")),
        "fvcore": {**unsupported(div="aten::div", shift="aten::add", scalar_rsub="aten::rsub",
                                 scalar_sub="aten::sub"),
                   **zeros("0: ignored as free", clamp="aten::clamp")},
        "thop": unsupported(div="DivModule (a / b: no rule)", shift="ShiftModule (x + value: no rule)",
                            scalar_rsub="ScalarRsub (value - x: no rule)",
                            scalar_sub="ScalarSub (x - value: no rule)",
                            clamp="Clamp (torch.clamp: no rule)"),
        "ptflops": unsupported(div="a / b (Tensor.__truediv__ is not patched)",
                               shift="x + value (Tensor.__add__ is not patched)",
                               scalar_rsub="value - x (Tensor.__rsub__ is not patched)",
                               scalar_sub="x - value (Tensor.__sub__ is not patched)",
                               clamp="torch.clamp (not patched)"),
        "torchinfo": zeros("0: no parameters", **dict.fromkeys(_KEYS, "")),
        "torch": zeros("0: not a matmul, conv or attention op", **dict.fromkeys(_KEYS, "")),
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(_rows())
"""convention name -> its rows for these kinds."""
