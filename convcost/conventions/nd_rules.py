"""The conventions' rows for the convolutions and pools over 1 or 3 spatial axes (``conv3d``,
``conv_transpose3d``, ``max_pool3d`` ...), one dict per convention name.

The tools count these as their 2-D forms, axis for axis: every rule here was read from the
tool's source (thop's ``count_convNd``/``count_adap_avgpool``, ptflops' hooks and patched
``F.*pool{1,3}d``, torchinfo's ``'Conv' in the class name``, fvcore's
``aten::_convolution`` handle and its list of supported ops) and checked by running the tool
(tests/torch/test_conventions.py, the video and audio zoos). Pure: no torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import (
    numel_in,
    numel_out,
    paper,
    per_image,
    twice,
    twice_paper,
    unsupported,
    zeros,
)
from convcost.cost.graph import Node
from convcost.cost.ops.conv_nd import ConvTransposeNd
from convcost.cost.registry import RULE_KEYS

SUFFIXES = ("3d", "1d")
"""The N-d kinds' suffixes: a rule key is e.g. ``conv3d``, ``max_pool1d`` (the rows of a key
that no kind declares are left out)."""


def at_output_positions_nd(node: Node) -> int:
    # thop's count_convNd and torchinfo on a transposed conv: numel(out)·(Cin/g)·∏k, the taps
    # per *output* position (≈ ∏stride × the true N·∏S·Cin·(Cout/g)·∏k)
    op = node.op
    assert isinstance(op, ConvTransposeNd)
    return numel_out(node) * (op.in_channels // op.groups) * math.prod(op.kernel)


def thop_adaptive_avg_nd(node: Node) -> int:
    # [N, C, *Si] -> [N, C, *So]: int((∏(Si/So) + 1)·numel(out)) in float64, thop's
    # count_adap_avgpool (kernel = Si/So per axis, its product + 1 op per output element)
    kernel = 1.0
    for si, so in zip(node.input_shape[2:], node.output_shape[2:], strict=True):
        kernel *= si / so
    return int((kernel + 1) * numel_out(node))


def _same(d: str, rows: dict[str, Rule]) -> dict[str, Rule]:
    """``conv{d}_same`` (padding 'same': aten::_convolution_mode) as ``conv{d}``."""
    return {**rows, f"conv{d}_same": rows[f"conv{d}"]}


def _paper(d: str) -> dict[str, Rule]:
    return {f"conv{d}": Rule(paper, "N·Cout·∏So·(Cin/g)·∏k, no bias"),
            f"conv{d}_same": Rule(paper, "N·Cout·∏So·(Cin/g)·∏k, no bias"),
            f"conv_transpose{d}": Rule(paper, "N·∏Si·Cin·(Cout/g)·∏k, no bias")}


def _fvcore(d: str) -> dict[str, Rule]:
    return {
        f"conv{d}": Rule(paper, "O·(Cin/g)·∏k, no bias (aten::_convolution)",
                         tool_op="aten::_convolution"),
        f"conv_transpose{d}": Rule(paper, "N·∏Si·Cin·(Cout/g)·∏k (aten::_convolution, "
                                   "transposed)", tool_op="aten::_convolution"),
        **unsupported(**{f"conv{d}_same": "aten::_convolution_mode"},
                      **{f"{mode}_pool{d}": f"aten::{mode}_pool{d}" for mode in ("max", "avg")},
                      **{f"adaptive_{mode}_pool{d}": f"aten::adaptive_{mode}_pool{d}"
                         for mode in ("max", "avg")}),
    }


def _thop(d: str) -> dict[str, Rule]:
    return _same(d, {
        f"conv{d}": Rule(paper, "O·(Cin/g)·∏k, bias ignored (count_convNd)", tool_op=f"nn.Conv{d}"),
        f"conv_transpose{d}": Rule(at_output_positions_nd, "numel(out)·(Cin/g)·∏k: output "
                                   "positions (count_convNd)", tool_op=f"nn.ConvTranspose{d}"),
        f"avg_pool{d}": Rule(numel_out, "numel of the output (count_avgpool)",
                             tool_op=f"nn.AvgPool{d}"),
        f"adaptive_avg_pool{d}": Rule(thop_adaptive_avg_nd, "int((∏(Si/So) + 1)·numel(out)) in "
                                      "float64 (count_adap_avgpool)",
                                      tool_op=f"nn.AdaptiveAvgPool{d}"),
        **zeros("0: zero_ops", **{f"max_pool{d}": f"nn.MaxPool{d}",
                                  f"adaptive_max_pool{d}": f"nn.AdaptiveMaxPool{d}"}),
    })


def _ptflops(d: str) -> dict[str, Rule]:
    return _same(d, {
        f"conv{d}": Rule(per_image(paper), "hook: O·(Cin/g)·∏k / N", tool_op=f"nn.Conv{d}"),
        f"conv_transpose{d}": Rule(per_image(paper), "hook: N·∏Si·Cin·(Cout/g)·∏k / N",
                                   tool_op=f"nn.ConvTranspose{d}"),
        **{f"{key}{d}": Rule(twice(numel_in), f"hook numel(in) / N, plus patched F.*pool{d} "
                             "numel(in)", tool_op=f"nn.{name}{d}")
           for key, name in (("max_pool", "MaxPool"), ("avg_pool", "AvgPool"),
                             ("adaptive_avg_pool", "AdaptiveAvgPool"),
                             ("adaptive_max_pool", "AdaptiveMaxPool"))},
    })


def _torchinfo(d: str) -> dict[str, Rule]:
    return _same(d, {
        f"conv{d}": Rule(paper, "weight.numel()·N·∏So ('Conv' in the class name)",
                         tool_op=f"Conv{d}"),
        f"conv_transpose{d}": Rule(at_output_positions_nd, "weight.numel()·N·∏So: output "
                                   "positions ('Conv' in the class name)",
                                   tool_op=f"ConvTranspose{d}"),
    })


def _torch(d: str) -> dict[str, Rule]:
    return {key: Rule(twice_paper, "2·paper, bias ignored", tool_op="aten::convolution")
            for key in (f"conv{d}", f"conv{d}_same", f"conv_transpose{d}")}


_BY_TOOL = {"paper": _paper, "fvcore": _fvcore, "thop": _thop, "ptflops": _ptflops,
            "torchinfo": _torchinfo, "torch": _torch}

ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType({
    name: MappingProxyType({key: rule for d in SUFFIXES for key, rule in rows(d).items()
                            if key in RULE_KEYS})
    for name, rows in _BY_TOOL.items()})
"""convention name -> its rows for the N-d kinds (rows of the pools that a convention counts as
0 come from its default zeros)."""
