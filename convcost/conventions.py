"""Counting conventions as data: what each tool counts for each kind of leaf layer.

A :class:`Convention` is one row of data: for every rule key (:func:`rule_key`) an integer
formula of the analysed leaf :class:`~convcost.graph.Node` (its op, input and output shape,
batch included), plus what the tool does with the op (counted, zero by design, or
unsupported and skipped). A new tool is a new row of :data:`CONVENTIONS`, not new code.
The rules come from docs/conventions-research.md, which measured each tool by running it.
Pure: no torch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from .analysis import Analysis
from .errors import ConvcostError
from .graph import Node
from .ops import ACTIVATIONS, Activation, AdaptivePool, BatchNorm, Conv2d, Op, Pool

RULE_KEYS: tuple[str, ...] = (
    "conv", "conv_same", "linear", "bn", *ACTIVATIONS, "max_pool", "avg_pool", "adaptive_avg_pool",
    "adaptive_max_pool", "flatten", "dropout", "add", "scale", "concat", "shuffle",
)

Status = Literal["counted", "zero", "unsupported"]


def rule_key(op: Op) -> str:
    """The key of ``op`` in a convention: its kind, activations by fn, pools by avg/max.

    A convolution with ``padding: same`` is ``conv_same``: torch runs it as another op
    (``aten::_convolution_mode``), which some tools do not know.
    """
    if isinstance(op, Conv2d) and op.padding == "same":
        return "conv_same"
    if isinstance(op, Pool):
        return f"{op.op}_pool"
    if isinstance(op, AdaptivePool):
        return f"adaptive_{op.op}_pool"
    return op.fn if isinstance(op, Activation) else op.kind


@dataclass(frozen=True)
class Rule:
    """How a tool counts one kind of leaf: ``formula(node) -> int`` and a one-line doc."""

    formula: Callable[[Node], int]
    doc: str
    status: Status = "counted"
    op: str = ""  # the tool's own name of the op, e.g. aten::hardswish


@dataclass(frozen=True)
class Convention:
    """One tool's counting rules, a rule per key of :data:`RULE_KEYS` (tests check all)."""

    name: str
    doc: str
    source: str  # the tool and version the rules were read from
    unit: Literal["MACs", "FLOPs"]
    rules: Mapping[str, Rule]

    def rule(self, node: Node) -> Rule:
        assert node.op is not None, "rules apply to leaves"
        return self.rules[rule_key(node.op)]

    def count(self, node: Node) -> int:
        """The tool's count for ``node``: a leaf's rule, or the sum over a block's leaves."""
        return sum(self.rule(leaf).formula(leaf) for leaf in node.leaves())

    def total(self, analysis: Analysis) -> int:
        return self.count(analysis.root)

    def unsupported(self, node: Node) -> Counter[str]:
        """The tool's names of the unsupported ops below ``node``, with their occurrences."""
        return Counter(r.op for r in map(self.rule, node.leaves()) if r.status == "unsupported")


# -- formulas shared by the rows ------------------------------------------------------------


def _numel_in(node: Node) -> int:
    return math.prod(node.input_shape)


def _paper(node: Node) -> int:
    """Conv and linear MACs of :mod:`convcost.formulas` (no bias)."""
    return node.macs


def _zero(node: Node) -> int:
    return 0


def _bn_eval(node: Node) -> int:
    # [N, C, ...]: numel · 2 (normalise + affine), numel · 1 without affine
    affine = isinstance(node.op, BatchNorm) and node.op.affine
    return _numel_in(node) * (2 if affine else 1)


def _zeros(doc: str, **ops: str) -> dict[str, Rule]:
    return {key: Rule(_zero, doc, "zero", op) for key, op in ops.items()}


def _unsupported(**ops: str) -> dict[str, Rule]:
    return {key: Rule(_zero, f"0: unsupported {op}, skipped", "unsupported", op)
            for key, op in ops.items()}


_NOT_COUNTED = {k: "" for k in RULE_KEYS if k not in ("conv", "conv_same", "linear")}

PAPER = Convention(
    "paper", "MACs of conv and linear layers only, no bias (= FlopCounterMode FLOPs / 2)",
    "MobileNet papers; torch 2.13.0 torch.utils.flop_counter", "MACs",
    MappingProxyType({
        "conv": Rule(_paper, "N·Cout·Ho·Wo·(Cin/g)·kh·kw, no bias"),
        "conv_same": Rule(_paper, "N·Cout·Ho·Wo·(Cin/g)·kh·kw, no bias"),
        "linear": Rule(_paper, "N·in·out, no bias"),
        **_zeros("0: not a conv or linear MAC", **_NOT_COUNTED),
    }),
)

FVCORE = Convention(
    "fvcore", "FlopCountAnalysis by_module() in eval: conv/linear MACs, BN, adaptive avg pool",
    "fvcore 0.1.5.post20221221 on torch 2.13.0", "MACs",
    MappingProxyType({
        "conv": Rule(_paper, "O·(Cin/g)·K, no bias (aten::_convolution)", op="aten::_convolution"),
        "linear": Rule(_paper, "I·out, no bias (aten::linear)", op="aten::linear"),
        "bn": Rule(_bn_eval, "eval: numel·2 affine, numel·1 not (aten::batch_norm)",
                   op="aten::batch_norm"),
        "adaptive_avg_pool": Rule(_numel_in, "numel of the input (aten::adaptive_avg_pool2d)",
                                  op="aten::adaptive_avg_pool2d"),
        **_zeros("0: ignored as free", relu="aten::relu", flatten="aten::flatten",
                 dropout="aten::dropout", concat="aten::cat", shuffle="aten::view"),
        **_unsupported(conv_same="aten::_convolution_mode", relu6="aten::hardtanh",
                       hardswish="aten::hardswish", hardsigmoid="aten::hardsigmoid",
                       sigmoid="aten::sigmoid", silu="aten::silu", max_pool="aten::max_pool2d",
                       avg_pool="aten::avg_pool2d", adaptive_max_pool="aten::adaptive_max_pool2d",
                       add="aten::add", scale="aten::mul"),
    }),
)

CONVENTIONS: Mapping[str, Convention] = MappingProxyType({c.name: c for c in (PAPER, FVCORE)})


def convention(name: str) -> Convention:
    """The convention called ``name``; an unknown name is bad input (exit 2)."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise ConvcostError(f"unknown convention {name!r}; known: {', '.join(CONVENTIONS)}") from None
