"""The conventions' rows for XCiT's zero-MAC ops: ``normalize`` (``F.normalize`` in forward,
its cross-covariance attention) and ``fourier_pos`` (its Fourier positional grid).

Each row was measured by running the tool on the kind's torch module (tests/torch/test_tool_rules.py,
tests/torch/test_conventions.py's token zoo): ``F.normalize`` traces to
``aten::linalg_vector_norm``, ``aten::clamp_min``, ``aten::expand_as`` and ``aten::div``, all
four unsupported by fvcore (0); thop has no rule for a module without one (0); ptflops patches
no ``F.normalize`` and hooks no such module (0); torchinfo counts no parameter (0);
FlopCounterMode counts no matmul (0). The Fourier grid's sines, cosines and arithmetic are
unsupported by fvcore too (its ``arange``, views, ``stack`` and ``cat`` ignored as free), and no
other tool counts them. Pure: no torch.
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


# fvcore's unsupported ops of one grid (tests/torch/test_tool_rules.py): y and x by arange and
# repeat, each over its last + eps and times 2π; the exponents 10000^(2·⌊i/2⌋/hidden); the
# positions over them; sines and cosines of each half
_FOURIER_ATEN = {"aten::repeat": 2, "aten::add": 2, "aten::div": 6, "aten::mul": 3, "aten::pow": 1,
                 "aten::sin": 2, "aten::cos": 2}


def _fourier_skipped(_: Node) -> Mapping[str, int]:
    return _FOURIER_ATEN


def _rows() -> dict[str, dict[str, Rule]]:
    return {
        "paper": zeros("0: not a conv or linear MAC", normalize="", fourier_pos=""),
        "fvcore": {"normalize": Rule(zero, "0: unsupported aten::linalg_vector_norm, clamp_min, "
                                     "expand_as, div, skipped", "unsupported", ", ".join(_NORMALIZE_ATEN),
                                     skipped=_normalize_skipped),
                   "fourier_pos": Rule(zero, "0: unsupported aten::sin, cos, div, mul, add, pow, "
                                       "repeat, skipped", "unsupported", ", ".join(_FOURIER_ATEN),
                                       skipped=_fourier_skipped)},
        "thop": unsupported(normalize="NormalizeModule (F.normalize: no rule)",
                            fourier_pos="FourierPosition (no rule)"),
        "ptflops": unsupported(normalize="F.normalize (not patched; no hook)",
                               fourier_pos="sin, cos, arithmetic (not patched; no hook)"),
        "torchinfo": zeros("0: no parameters", normalize="", fourier_pos=""),
        "torch": zeros("0: not a matmul, conv or attention op", normalize="", fourier_pos=""),
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(_rows())
"""convention name -> its rows for these kinds."""
