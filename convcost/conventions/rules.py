"""Counting conventions as data: what each tool counts for each kind of leaf layer.

A :class:`Convention` is one row of data: for every rule key an integer formula of the analysed
leaf :class:`~convcost.cost.graph.Node` (its op, input and output shape, batch included), plus
what the tool does with the op (counted, zero by design, or unsupported and skipped). Rule keys
are declared by the op kinds (:data:`convcost.cost.registry.RULE_KEYS`: an op's key, or its
variants such as ``conv_same``, ``conv_bias``, ``relu``); a test fails when a convention lacks
a row for one. A new tool is a new row of :data:`CONVENTIONS`, not new code.
Every rule was read from the tool's source at the version in :attr:`Convention.source` and
checked by running the tool (docs/conventions.md; tests/torch/test_conventions.py). Pure: no torch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from convcost.cost.graph import Node
from convcost.cost.ops.channel_norm import GroupNorm, InstanceNorm, LayerNorm
from convcost.cost.ops.linear import Linear
from convcost.cost.ops.merge import Add
from convcost.cost.ops.norm import BatchNorm
from convcost.cost.ops.transpose import ConvTranspose2d
from convcost.cost.ops.upsample import Upsample
from convcost.cost.registry import RULE_KEYS, rule_keys
from convcost.errors import ConvcostError
from convcost.limits import quote

if TYPE_CHECKING:  # the layer command needs no spec machinery
    from convcost.net.analysis import Analysis

Status = Literal["counted", "zero", "unsupported"]
Count = int | Fraction  # ptflops divides per-image hooks by the batch: a half can remain
Unit = Literal["MACs", "FLOPs"]
ParamsRule = Literal["all", "supported"]


@dataclass(frozen=True)
class Rule:
    """How a tool counts one kind of leaf: ``formula(node) -> int`` and a one-line doc.

    A formula may return a Fraction where the tool's own arithmetic is fractional (ptflops'
    upsample); :meth:`Convention.count` truncates the exact sum, as the tool does.
    """

    formula: Callable[[Node], Count]
    doc: str
    status: Status = "counted"
    tool_op: str = ""  # the tool's own name of the op, e.g. aten::hardswish or nn.Hardswish
    calls: Callable[[Node], int] | None = None  # the tool's op calls in one leaf (None: one)


@dataclass(frozen=True)
class Convention:
    """One tool's counting rules, a rule per rule key of the registry (tests check all).

    ``params`` says how the tool totals parameters: ``all`` of them, only those of the
    modules it has a rule for (``supported``), or None when it reports none.
    """

    name: str
    doc: str
    source: str  # the tool and version the rules were read from
    unit: Unit
    rules: Mapping[str, Rule]
    params: ParamsRule | None = None
    params_doc: str = ""
    tool: str = ""  # the tool and its version, short: ``fvcore 0.1.5`` ("" for paper)

    def rule(self, node: Node) -> Rule:
        """The rule of a leaf's op (its bias has a rule of its own, see :meth:`terms`)."""
        assert node.op is not None, "rules apply to leaves"
        return self.rules[rule_keys(node.op)[0]]

    def terms(self, leaf: Node) -> Iterator[tuple[str, Count]]:
        """``(rule key, count)`` for each part of a leaf: the op, then its bias if any."""
        assert leaf.op is not None, "rules apply to leaves"
        for key in rule_keys(leaf.op):
            yield key, self.rules[key].formula(leaf)

    def count(self, node: Node) -> int:
        """The tool's count for ``node`` in :attr:`unit`: a leaf, or the sum over a block."""
        return math.floor(sum(n for leaf in node.leaves() for _, n in self.terms(leaf)))

    def total(self, analysis: Analysis) -> int:
        return self.count(analysis.root)

    def macs(self, node: Node) -> int:
        """The count in MACs: a FLOPs convention counts 2 FLOPs per MAC of every op."""
        return self.count(node) // (2 if self.unit == "FLOPs" else 1)

    def param_count(self, node: Node) -> int | None:
        """The tool's parameter total below ``node`` (None: the tool reports none)."""
        if self.params is None:
            return None
        return sum(leaf.params for leaf in node.leaves()
                   if self.params == "all" or self.rule(leaf).status != "unsupported")

    def unsupported(self, node: Node) -> Counter[str]:
        """The tool's names of the unsupported ops below ``node`` (every term of each leaf,
        e.g. a tf_same conv's pad), with their occurrences."""
        found: Counter[str] = Counter()
        for leaf in node.leaves():
            for rule in (self.rules[key] for key in _keys(leaf)):
                if rule.status == "unsupported":
                    found[rule.tool_op] += 1 if rule.calls is None else rule.calls(leaf)
        return found


def _keys(leaf: Node) -> tuple[str, ...]:
    assert leaf.op is not None, "rules apply to leaves"
    return rule_keys(leaf.op)


@dataclass(frozen=True)
class Counting:
    """What a command shows: a convention's count, in FLOPs (``flops``) or its own unit."""

    convention: Convention
    flops: bool = False

    @property
    def unit(self) -> Unit:
        return "FLOPs" if self.flops else self.convention.unit

    @property
    def default(self) -> bool:
        """Paper MACs: the figures every command shows without ``--convention``/``--flops``."""
        return self.convention is PAPER and not self.flops

    @property
    def label(self) -> str:
        """The column header: ``MACs`` by default, else e.g. ``MACs (thop)``."""
        return self.unit if self.default else f"{self.unit} ({self.convention.name})"

    def count(self, node: Node) -> int:
        doubled = self.flops and self.convention.unit == "MACs"
        return self.convention.count(node) * (2 if doubled else 1)

    def describe(self) -> dict[str, str]:
        """What a count means, for JSON output: convention name, unit, source and doc."""
        c = self.convention
        return {"name": c.name, "unit": self.unit, "source": c.source, "doc": c.doc}


def counting(name: str = "paper", flops: bool = False) -> Counting:
    """The ``--convention NAME [--flops]`` of a command; an unknown name is bad input."""
    return Counting(convention(name), flops)


# -- formulas shared by the rows ------------------------------------------------------------


def _numel_in(node: Node) -> int:
    return math.prod(node.input_shape)


def _numel_out(node: Node) -> int:
    """numel(out): ``N·Cout·Ho·Wo`` for a conv, ``N·out`` for a linear layer (their bias)."""
    return math.prod(node.output_shape)


def _paper(node: Node) -> int:
    """Conv and linear MACs of the registry's formulas (no bias)."""
    return node.macs


def _twice_paper(node: Node) -> int:
    return node.flops


def _zero(node: Node) -> int:
    return 0


def _affine(node: Node) -> bool:
    """Whether a norm learns γ and β (BatchNorm, GroupNorm, LayerNorm, InstanceNorm)."""
    return isinstance(node.op, BatchNorm | GroupNorm | LayerNorm | InstanceNorm) and node.op.affine


def _bn_eval(node: Node) -> int:
    # [N, C, ...]: numel · 2 (normalise + affine), numel · 1 without affine
    return _numel_in(node) * (2 if _affine(node) else 1)


def _norm_fvcore(node: Node) -> int:
    # fvcore's norm_flop_counter (aten::group_norm, layer_norm, instance_norm): numel · 5 with a
    # weight, numel · 4 without ("a rough estimate", its source says)
    return _numel_in(node) * (5 if _affine(node) else 4)


def _at_output_positions(node: Node) -> int:
    # thop's count_convNd and torchinfo ('Conv' in the class name) on a transposed conv: taps per
    # *output* position, numel(out)·(Cin/g)·kh·kw, ≈ stride² × the true N·Hi·Wi·Cin·(Cout/g)·K
    op = node.op
    assert isinstance(op, ConvTranspose2d)
    return _numel_out(node) * (op.in_channels // op.groups) * op.kernel[0] * op.kernel[1]


def _ptflops_upsample(node: Node) -> Fraction:
    # hook: numel(output[0]) (the first image, read as if it were the batch), then / N again:
    # numel(out) / N²; plus the patched F.interpolate, per batch: numel(out) for a size, or
    # numel(in)·s² for a scale s, a float as ptflops computes it
    op = node.op
    assert isinstance(op, Upsample)
    n = node.input_shape[0]
    functional = (Fraction(_numel_out(node)) if op.scale is None
                  else Fraction(_numel_in(node) * op.scale ** 2))
    return Fraction(_numel_out(node), n * n) + functional


def _bn_thop(node: Node) -> int:
    # [N, C, ...]: numel · 4 affine, numel · 2 without (thop's calculate_norm, doubled)
    return 2 * _bn_eval(node)


def _batch_params(node: Node) -> int:
    # torchinfo, any non-conv module: out.shape[0] · its parameter count (BN: N·2·C)
    return node.output_shape[0] * node.params


def _thop_adaptive_avg(node: Node) -> int:
    # [N, C, Hi, Wi] -> [N, C, Ho, Wo]: int(((Hi/Ho)·(Wi/Wo) + 1) · numel(out)) in float64,
    # the order of operations of thop's count_adap_avgpool (exact for global pooling)
    _, _, hi, wi = node.input_shape
    _, _, ho, wo = node.output_shape
    return int(((hi / ho) * (wi / wo) + 1) * _numel_out(node))


def _batch_linear(node: Node) -> int:
    # torchinfo, a Linear: out.shape[0]·weight.numel() = N·in·out, on [N, F] or per position
    # ([N, H, W, F] -> out.shape[0] is N: the H·W positions are not counted)
    op = node.op
    assert isinstance(op, Linear)
    return node.output_shape[0] * op.in_features * op.out_features


def _batch_linear_bias(node: Node) -> int:
    # torchinfo: out.shape[0]·bias.numel() = N·out
    op = node.op
    assert isinstance(op, Linear)
    return node.output_shape[0] * op.out_features


def _add_calls(node: Node) -> int:
    assert isinstance(node.op, Add), "the add rule"
    return node.op.inputs - 1


def _binary_adds(tool_op: str) -> Rule:
    """An n-ary ``add`` unsupported by a tool that sees each of its n − 1 binary adds."""
    return Rule(_zero, f"0: unsupported {tool_op}, skipped (n − 1 calls for n inputs)",
                "unsupported", tool_op, _add_calls)


def _per_image(formula: Callable[[Node], int]) -> Callable[[Node], int]:
    """ptflops' module hooks: the batch count, divided by the batch (a multiple of it here)."""
    return lambda node: formula(node) // node.input_shape[0]


def _twice(formula: Callable[[Node], int]) -> Callable[[Node], int]:
    """ptflops' hooked module calling a patched ``F.*``: per image once, per batch again."""
    return lambda node: _per_image(formula)(node) + formula(node)


def _zeros(doc: str, **ops: str) -> dict[str, Rule]:
    return {key: Rule(_zero, doc, "zero", op) for key, op in ops.items()}


def _unsupported(**ops: str) -> dict[str, Rule]:
    return {key: Rule(_zero, f"0: unsupported {op}, skipped", "unsupported", op)
            for key, op in ops.items()}


def _no_bias(doc: str) -> dict[str, Rule]:
    return _zeros(doc, conv_bias="", linear_bias="")


_COUNTED = ("conv", "conv_same", "linear", "conv_transpose")
_NOT_COUNTED = {k: "" for k in RULE_KEYS if k not in _COUNTED}
# convcost's modules, no tool's rule
_CONVCOST_MODULES = {"add": "Add (a + b)", "scale": "Scale (x * gate)", "mul": "Mul (a * b)",
                     "concat": "Concat (cat)", "shuffle": "Shuffle (view)", "mean": "Mean (x.mean)",
                     "layer_scale": "LayerScale (x * gamma)",
                     "interpolate_nearest": "Interpolate (F.interpolate)",
                     "interpolate_bilinear": "Interpolate (F.interpolate)"}
_TRANSPOSED = "N·Hi·Wi·Cin·(Cout/g)·kh·kw, no bias"

PAPER = Convention(
    "paper", "MACs of conv and linear layers only, no bias (= FlopCounterMode FLOPs / 2)",
    "MobileNet papers; torch 2.13.0 torch.utils.flop_counter", "MACs",
    MappingProxyType({
        "conv": Rule(_paper, "N·Cout·Ho·Wo·(Cin/g)·kh·kw, no bias"),
        "conv_same": Rule(_paper, "N·Cout·Ho·Wo·(Cin/g)·kh·kw, no bias"),
        "linear": Rule(_paper, "N·in·out, no bias"),
        "conv_transpose": Rule(_paper, _TRANSPOSED),
        **_zeros("0: not a conv or linear MAC", **_NOT_COUNTED),
    }),
    "all", "every learnable element, BN affine included: sum(p.numel())",
)

FVCORE = Convention(
    "fvcore", "FlopCountAnalysis total() in eval: conv/linear MACs, BN, adaptive avg pool",
    "fvcore 0.1.5.post20221221 on torch 2.13.0", "MACs",
    MappingProxyType({
        "conv": Rule(_paper, "O·(Cin/g)·K, no bias (aten::_convolution)", tool_op="aten::_convolution"),
        "linear": Rule(_paper, "I·out, no bias (aten::linear)", tool_op="aten::linear"),
        **_no_bias("0: the bias is not counted"),
        "bn": Rule(_bn_eval, "eval: numel·2 affine, numel·1 not (aten::batch_norm)",
                   tool_op="aten::batch_norm"),
        "adaptive_avg_pool": Rule(_numel_in, "numel of the input (aten::adaptive_avg_pool2d)",
                                  tool_op="aten::adaptive_avg_pool2d"),
        "conv_transpose": Rule(_paper, f"{_TRANSPOSED} (aten::_convolution, transposed)",
                               tool_op="aten::_convolution"),
        "upsample_nearest": Rule(_numel_out, "numel of the output (aten::upsample_nearest2d)",
                                 tool_op="aten::upsample_nearest2d"),
        "upsample_bilinear": Rule(lambda node: 4 * _numel_out(node),
                                  "4·numel of the output (aten::upsample_bilinear2d)",
                                  tool_op="aten::upsample_bilinear2d"),
        "interpolate_nearest": Rule(_numel_out, "numel of the output (aten::upsample_nearest2d)",
                                    tool_op="aten::upsample_nearest2d"),
        "interpolate_bilinear": Rule(lambda node: 4 * _numel_out(node),
                                     "4·numel of the output (aten::upsample_bilinear2d)",
                                     tool_op="aten::upsample_bilinear2d"),
        **{key: Rule(_norm_fvcore, f"numel·5 affine, numel·4 not (aten::{key[:-4]}_norm)",
                     tool_op=f"aten::{key[:-4]}_norm")
           for key in ("groupnorm", "layernorm", "instancenorm")},
        **_zeros("0: ignored as free", relu="aten::relu", functional_relu="aten::relu",
                 flatten="aten::flatten",
                 dropout="aten::dropout", concat="aten::cat", shuffle="aten::view"),
        **_unsupported(conv_same="aten::_convolution_mode", relu6="aten::hardtanh",
                       hardswish="aten::hardswish", hardsigmoid="aten::hardsigmoid",
                       sigmoid="aten::sigmoid", silu="aten::silu", max_pool="aten::max_pool2d",
                       avg_pool="aten::avg_pool2d", adaptive_max_pool="aten::adaptive_max_pool2d",
                       functional_max_pool="aten::max_pool2d",
                       functional_avg_pool="aten::avg_pool2d", scale="aten::mul",
                       mul="aten::mul",
                       tf_same_pad="aten::pad",
                       **{fn: f"aten::{fn}" for fn in (
                           "gelu", "leaky_relu", "prelu", "elu", "tanh", "mish", "hardtanh")},
                       mean="aten::mean", layer_scale="aten::mul"),
        "add": _binary_adds("aten::add"),
        "identity": Rule(_zero, "0: traces no aten op (returns its input)", "zero"),
        **_zeros("0: an imported op convcost cannot express (opaque), not counted", opaque=""),
    }),
    "all", "fvcore.nn.parameter_count(model)['']: every parameter once",
    "fvcore 0.1.5",
)

THOP = Convention(
    "thop", "thop.profile macs: conv/linear MACs, BN ×4, avg pools; only nn types it knows",
    "thop 0.1.1.post2209072238 (thop.profile) on torch 2.13.0", "MACs",
    MappingProxyType({
        "conv": Rule(_paper, "O·(Cin/g)·K, bias ignored (count_convNd)", tool_op="nn.Conv2d"),
        "conv_same": Rule(_paper, "O·(Cin/g)·K, bias ignored (count_convNd)", tool_op="nn.Conv2d"),
        "linear": Rule(_paper, "in·numel(out), bias ignored (count_linear)", tool_op="nn.Linear"),
        **_no_bias("0: count_convNd / count_linear ignore the bias"),
        "bn": Rule(_bn_thop, "2·numel, ×2 when affine: numel·4 (count_normalization)",
                   tool_op="nn.BatchNorm2d"),
        "avg_pool": Rule(_numel_out, "numel of the output (count_avgpool)", tool_op="nn.AvgPool2d"),
        "adaptive_avg_pool": Rule(
            _thop_adaptive_avg, "int(((Hi/Ho)·(Wi/Wo) + 1)·numel(out)) in float64 "
            "(count_adap_avgpool)", tool_op="nn.AdaptiveAvgPool2d"),
        "conv_transpose": Rule(_at_output_positions, "numel(out)·(Cin/g)·K: output positions "
                               "(count_convNd)", tool_op="nn.ConvTranspose2d"),
        "upsample_nearest": Rule(_numel_out, "numel of the output (count_upsample)",
                                 tool_op="nn.Upsample"),
        "upsample_bilinear": Rule(lambda node: 11 * _numel_out(node),
                                  "11·numel of the output (count_upsample)", tool_op="nn.Upsample"),
        "instancenorm": Rule(_bn_thop, "2·numel, ×2 when affine (count_normalization)",
                             tool_op="nn.InstanceNorm2d"),
        "prelu": Rule(_numel_in, "numel of the input, in eval (count_prelu)", tool_op="nn.PReLU"),
        **_zeros("0: zero_ops", relu="nn.ReLU", relu6="nn.ReLU6", max_pool="nn.MaxPool2d",
                 adaptive_max_pool="nn.AdaptiveMaxPool2d", dropout="nn.Dropout",
                 tf_same_pad="nn.ZeroPad2d"),
        **_zeros("0: count_relu counts 0", leaky_relu="nn.LeakyReLU"),
        **_unsupported(hardswish="nn.Hardswish", hardsigmoid="nn.Hardsigmoid",
                       sigmoid="nn.Sigmoid", silu="nn.SiLU", flatten="nn.Flatten",
                       gelu="nn.GELU", elu="nn.ELU", tanh="nn.Tanh", mish="nn.Mish",
                       hardtanh="nn.Hardtanh", groupnorm="nn.GroupNorm",
                       layernorm="LayerNorm2d (a subclass of nn.LayerNorm)",
                       identity="nn.Identity", opaque="OpaqueModule (convcost's stand-in)",
                       functional_relu="F.relu (in forward: no module)",
                       functional_max_pool="F.max_pool2d (in forward: no module)",
                       functional_avg_pool="F.avg_pool2d (in forward: no module)",
                       **_CONVCOST_MODULES),
    }),
    "supported", "params of the modules whose exact type has a rule and that ran; "
    "others' params are dropped (GroupNorm, LayerNorm2d, layer scale, an opaque layer's stand-in)",
    "thop 0.1.1",
)

PTFLOPS = Convention(
    "ptflops", "default (pytorch) backend: module hooks per image + patched F.* per batch; "
    "nn.ReLU and pools counted twice",
    "ptflops 0.7.5 (get_model_complexity_info, backend=pytorch, its code default) on torch "
    "2.13.0", "MACs",
    MappingProxyType({
        "conv": Rule(_per_image(_paper), "hook: O·(Cin/g)·K / N", tool_op="nn.Conv2d"),
        "conv_same": Rule(_per_image(_paper), "hook: O·(Cin/g)·K / N", tool_op="nn.Conv2d"),
        "conv_bias": Rule(_per_image(_numel_out), "hook: numel(out) / N", tool_op="nn.Conv2d"),
        "linear": Rule(_per_image(_paper), "hook: in·out per image", tool_op="nn.Linear"),
        "linear_bias": Rule(_per_image(_numel_out), "hook: out per image", tool_op="nn.Linear"),
        "bn": Rule(_per_image(_bn_eval), "hook: numel·2 affine, numel·1 not; / N",
                   tool_op="nn.BatchNorm2d"),
        "relu": Rule(_twice(_numel_in), "hook numel / N, plus patched F.relu numel: twice",
                     tool_op="nn.ReLU"),
        "functional_relu": Rule(_numel_in, "patched F.relu only: numel, per batch (no hook)",
                                tool_op="F.relu"),
        "relu6": Rule(_per_image(_numel_in), "hook: numel / N (F.hardtanh is not patched)",
                      tool_op="nn.ReLU6"),
        "silu": Rule(_numel_in, "patched F.silu only: numel, per batch (no hook)", tool_op="F.silu"),
        **{fn: Rule(_twice(_numel_in), f"hook numel / N, plus patched F.{fn} numel: twice",
                    tool_op=f"nn.{name}")
           for fn, name in (("gelu", "GELU"), ("elu", "ELU"), ("prelu", "PReLU"))},
        "leaky_relu": Rule(_per_image(_numel_in), "hook: numel / N (F.leaky_relu is not patched)",
                           tool_op="nn.LeakyReLU"),
        "conv_transpose": Rule(_per_image(_paper), f"hook: {_TRANSPOSED} / N",
                               tool_op="nn.ConvTranspose2d"),
        **{key: Rule(_ptflops_upsample, "hook numel(out) / N², plus patched F.interpolate: "
                     "numel(out) by size, numel(in)·s² by scale (float)", tool_op="nn.Upsample")
           for key in ("upsample_nearest", "upsample_bilinear")},
        **{key: Rule(_numel_out, "patched F.interpolate only: numel(out) by size, per batch "
                     "(no hook)", tool_op="F.interpolate")
           for key in ("interpolate_nearest", "interpolate_bilinear")},
        **{key: Rule(_per_image(_bn_eval), "hook: numel·2 affine, numel·1 not; / N",
                     tool_op=f"nn.{name}")
           for key, name in (("groupnorm", "GroupNorm"), ("instancenorm", "InstanceNorm2d"))},
        **{key: Rule(_twice(_numel_in), "hook numel(in) / N, plus patched F.*pool* numel(in)",
                     tool_op=f"nn.{name}")
           for key, name in (("max_pool", "MaxPool2d"), ("avg_pool", "AvgPool2d"),
                             ("adaptive_avg_pool", "AdaptiveAvgPool2d"),
                             ("adaptive_max_pool", "AdaptiveMaxPool2d"))},
        **{f"functional_{mode}_pool": Rule(
            _numel_in, f"patched F.{mode}_pool2d only: numel(in), per batch (no hook)",
            tool_op=f"F.{mode}_pool2d") for mode in ("max", "avg")},
        **_unsupported(hardswish="nn.Hardswish", hardsigmoid="nn.Hardsigmoid",
                       sigmoid="nn.Sigmoid", flatten="nn.Flatten", dropout="nn.Dropout",
                       scale="x * gate (Tensor.__mul__ is not patched)",
                       mul="a * b (Tensor.__mul__ is not patched)",
                       concat="torch.cat", shuffle="view/transpose", tf_same_pad="nn.ZeroPad2d",
                       tanh="nn.Tanh", mish="nn.Mish", hardtanh="nn.Hardtanh",
                       layernorm="LayerNorm2d (a subclass of nn.LayerNorm)",
                       mean="x.mean (not patched)", layer_scale="x * gamma (not patched)",
                       identity="nn.Identity"),
        "add": _binary_adds("a + b (Tensor.__add__ is not patched)"),
        **_zeros("0: an imported op convcost cannot express (opaque), not counted", opaque=""),
    }),
    "all", "trainable params only: sum(p.numel() for p in model.parameters() if p.requires_grad)",
    "ptflops 0.7.5",
)

_TORCHINFO_PARAMS = {"groupnorm": "GroupNorm", "layernorm": "LayerNorm2d",
                     "instancenorm": "InstanceNorm2d", "prelu": "PReLU"}

TORCHINFO = Convention(
    "torchinfo", "summary().total_mult_adds: parameter counts × output positions, leaves only",
    "torchinfo 1.8.0 (summary(...).total_mult_adds) on torch 2.13.0", "MACs",
    MappingProxyType({
        "conv": Rule(_paper, "weight.numel()·N·Ho·Wo ('Conv' in the class name)", tool_op="Conv2d"),
        "conv_same": Rule(_paper, "weight.numel()·N·Ho·Wo ('Conv' in the class name)",
                          tool_op="Conv2d"),
        "conv_bias": Rule(_numel_out, "bias.numel()·N·Ho·Wo = numel(out)", tool_op="Conv2d"),
        "linear": Rule(_batch_linear, "out.shape[0]·weight.numel() = N·in·out", tool_op="Linear"),
        "linear_bias": Rule(_batch_linear_bias, "out.shape[0]·bias.numel() = N·out",
                            tool_op="Linear"),
        "bn": Rule(_batch_params, "out.shape[0]·params: N·2·C when affine, else 0",
                   tool_op="BatchNorm2d"),
        "conv_transpose": Rule(_at_output_positions, "weight.numel()·N·Ho·Wo: output positions "
                               "('Conv' in the class name)", tool_op="ConvTranspose2d"),
        **{key: Rule(_batch_params, "out.shape[0]·params (N·2·C when affine)", tool_op=name)
           for key, name in _TORCHINFO_PARAMS.items()},
        "layer_scale": Rule(_zero, "0: its parameter is named gamma, not weight or bias", "zero",
                            "LayerScale"),
        **_zeros("0: no parameters", **{k: "" for k in RULE_KEYS if k not in (
            *_COUNTED, "conv_bias", "linear_bias", "bn", "layer_scale", *_TORCHINFO_PARAMS)}),
    }),
    "all", "sum(p.numel() for p in model.parameters()), each once",
    "torchinfo 1.8.0",
)

TORCH = Convention(
    "torch", "torch.utils.flop_counter.FlopCounterMode FLOPs: 2 per conv/linear MAC, no bias",
    "torch 2.13.0 torch.utils.flop_counter.FlopCounterMode", "FLOPs",
    MappingProxyType({
        "conv": Rule(_twice_paper, "2·O·(Cin/g)·K, bias ignored", tool_op="aten::convolution"),
        "conv_same": Rule(_twice_paper, "2·O·(Cin/g)·K (aten::_convolution_mode decomposes)",
                          tool_op="aten::convolution"),
        "linear": Rule(_twice_paper, "2·N·in·out, bias ignored", tool_op="aten::addmm"),
        "conv_transpose": Rule(_twice_paper, f"2·{_TRANSPOSED}", tool_op="aten::convolution"),
        **_zeros("0: not a matmul, conv or attention op", **_NOT_COUNTED),
    }),
    tool="torch 2.13.0",
)

CONVENTIONS: Mapping[str, Convention] = MappingProxyType(
    {c.name: c for c in (PAPER, FVCORE, THOP, PTFLOPS, TORCHINFO, TORCH)})
PAPER_MACS = Counting(PAPER)  # what every command shows by default


def convention(name: str) -> Convention:
    """The convention called ``name``; an unknown name is bad input (exit 2)."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise ConvcostError(f"unknown convention {quote(name)}; known: {', '.join(CONVENTIONS)}") from None
