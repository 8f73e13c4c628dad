"""The conventions' rows for XCiT's zero-MAC ops: ``normalize`` (``F.normalize`` in forward,
its cross-covariance attention) and ``fourier_pos`` (its Fourier positional grid); and the RMS
norms ``rmsnorm`` (timm's ``RmsNorm2d``, MobileNetV5) and ``rmsnorm_last`` (``nn.RMSNorm``).

Each row was measured by running the tool on the kind's torch module (tests/torch/test_tool_rules.py,
tests/torch/test_conventions.py's token zoo): ``F.normalize`` traces to
``aten::linalg_vector_norm``, ``aten::clamp_min``, ``aten::expand_as`` and ``aten::div``, all
four unsupported by fvcore (0); thop has no rule for a module without one (0); ptflops patches
no ``F.normalize`` and hooks no such module (0); torchinfo counts no parameter (0);
FlopCounterMode counts no matmul (0). The Fourier grid's sines, cosines and arithmetic are
unsupported by fvcore too (its ``arange``, views, ``stack`` and ``cat`` ignored as free), and no
other tool counts them. The RMS norms: fvcore skips timm's ``RmsNorm2d`` (``aten::pow``, ``mean``,
``add``, ``rsqrt``, ``mul`` and ``mul`` by γ) and ``aten::rms_norm``; thop has no rule for either
(0, their γ dropped); ptflops no hook (0); torchinfo counts ``out.shape[0]·params`` (N·C with γ).
Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import affine, batch_params, unsupported, zero, zeros
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


_RMS_2D = ("aten::pow", "aten::mean", "aten::add", "aten::rsqrt", "aten::mul")


def _rms_skipped(node: Node) -> Mapping[str, int]:
    # x · rsqrt(mean(x²) + eps): one mul, and a second by γ when affine
    return {**dict.fromkeys(_RMS_2D, 1), "aten::mul": 1 + affine(node)}


def _rows() -> dict[str, dict[str, Rule]]:
    return {
        "paper": zeros("0: not a conv or linear MAC", normalize="", fourier_pos="", rmsnorm="",
                       rmsnorm_last=""),
        "fvcore": {"normalize": Rule(zero, "0: unsupported aten::linalg_vector_norm, clamp_min, "
                                     "expand_as, div, skipped", "unsupported", ", ".join(_NORMALIZE_ATEN),
                                     skipped=_normalize_skipped),
                   "fourier_pos": Rule(zero, "0: unsupported aten::sin, cos, div, mul, add, pow, "
                                       "repeat, skipped", "unsupported", ", ".join(_FOURIER_ATEN),
                                       skipped=_fourier_skipped),
                   "rmsnorm": Rule(zero, "0: unsupported aten::pow, mean, add, rsqrt, mul (×2 with γ), "
                                   "skipped", "unsupported", ", ".join(_RMS_2D), skipped=_rms_skipped),
                   **unsupported(rmsnorm_last="aten::rms_norm")},
        "thop": unsupported(normalize="NormalizeModule (F.normalize: no rule)",
                            fourier_pos="FourierPosition (no rule)", rmsnorm="RmsNorm2d (no rule)",
                            rmsnorm_last="nn.RMSNorm (no rule)"),
        "ptflops": unsupported(normalize="F.normalize (not patched; no hook)",
                               fourier_pos="sin, cos, arithmetic (not patched; no hook)",
                               rmsnorm="RmsNorm2d (no hook)", rmsnorm_last="nn.RMSNorm (no hook)"),
        "torchinfo": {**zeros("0: no parameters", normalize="", fourier_pos=""),
                      "rmsnorm": Rule(batch_params, "out.shape[0]·params (N·C with γ)", tool_op="RmsNorm2d"),
                      "rmsnorm_last": Rule(batch_params, "out.shape[0]·params (N·C with γ)",
                                           tool_op="RMSNorm")},
        "torch": zeros("0: not a matmul, conv or attention op", normalize="", fourier_pos="", rmsnorm="",
                       rmsnorm_last=""),
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(_rows())
"""convention name -> its rows for these kinds."""
