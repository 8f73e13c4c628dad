"""The conventions' rows for the zero-MAC norms without a mean: ``normalize`` (``F.normalize``
in forward, XCiT's cross-covariance attention).

Each row was measured by running the tool on the kind's torch module (tests/torch/test_tool_rules.py,
tests/torch/test_conventions.py's token zoo): ``F.normalize`` traces to
``aten::linalg_vector_norm``, ``aten::clamp_min``, ``aten::expand_as`` and ``aten::div``, all
four unsupported by fvcore (0); thop has no rule for a module without one (0); ptflops patches
no ``F.normalize`` and hooks no such module (0); torchinfo counts no parameter (0);
FlopCounterMode counts no matmul (0). Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import unsupported, zero, zeros
from convcost.cost.graph import Node

_NORMALIZE_ATEN = ("aten::linalg_vector_norm", "aten::clamp_min", "aten::expand_as", "aten::div")


def _normalize_skipped(_: Node) -> Mapping[str, int]:
    return dict.fromkeys(_NORMALIZE_ATEN, 1)  # one call each per F.normalize


def _rows() -> dict[str, dict[str, Rule]]:
    return {
        "paper": zeros("0: a norm, not a conv or linear MAC", normalize=""),
        "fvcore": {"normalize": Rule(zero, "0: unsupported aten::linalg_vector_norm, clamp_min, "
                                     "expand_as, div, skipped", "unsupported", ", ".join(_NORMALIZE_ATEN),
                                     skipped=_normalize_skipped)},
        "thop": unsupported(normalize="NormalizeModule (F.normalize: no rule)"),
        "ptflops": unsupported(normalize="F.normalize (not patched; no hook)"),
        "torchinfo": zeros("0: no parameters", normalize=""),
        "torch": zeros("0: not a matmul, conv or attention op", normalize=""),
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(_rows())
"""convention name -> its rows for these kinds."""
