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

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.arith_rules import ROWS as ARITH_ROWS
from convcost.conventions.attention_rules import ROWS
from convcost.conventions.convention import Convention, Counting, Rule
from convcost.conventions.formulas import (
    at_output_positions,
    average_fvcore_skipped,
    batch_linear,
    batch_linear_bias,
    batch_params,
    binary_adds,
    bn_eval,
    bn_thop,
    conv_with_bias,
    no_bias,
    norm_fvcore,
    numel_in,
    numel_out,
    paper,
    per_image,
    ptflops_upsample,
    std_conv_fvcore,
    thop_adaptive_avg,
    twice,
    twice_paper,
    unsupported,
    zero,
    zeros,
)
from convcost.conventions.gather_rules import ROWS as GATHER_ROWS
from convcost.conventions.nd_rules import ROWS as ND_ROWS
from convcost.conventions.norm_rules import ROWS as NORM_ROWS
from convcost.conventions.recurrent_rules import ROWS as RNN_ROWS
from convcost.conventions.swin_rules import ROWS as SWIN_ROWS
from convcost.conventions.vit_rules import ROWS as VIT_ROWS
from convcost.cost.registry import RULE_KEYS
from convcost.errors import ConvcostError
from convcost.limits import quote

_COUNTED = ("conv", "conv_same", "linear", "conv_transpose", "std_conv", "blur")
_NOT_COUNTED = {k: "" for k in RULE_KEYS if k not in _COUNTED}
# convcost's modules, no tool's rule
_CONVCOST_MODULES = {"add": "Add (a + b)", "average": "Average ((a + b) / n)", "scale": "Scale (x * gate)",
                     "mul": "Mul (a * b)", "sub": "Sub (a - b)",
                     "concat": "Concat (cat)", "shuffle": "Shuffle (view)", "mean": "Mean (x.mean)",
                     "slice": "SliceModule (x[:, a:b])",
                     "layer_scale": "LayerScale (x * gamma)", "scalar": "ScalarMul (x * value)",
                     "interpolate_nearest": "Interpolate (F.interpolate)",
                     "interpolate_bilinear": "Interpolate (F.interpolate)",
                     **{key: f"TensorMethod (x.{key})" for key in (
                         "reshape", "view", "permute", "transpose", "unflatten", "unbind", "roll")},
                     "window_partition": "WindowPartitionModule (view, permute, reshape)",
                     "window_reverse": "WindowReverseModule (view, permute, reshape)",
                     "stack": "StackModule (torch.stack)", "sum": "SumModule (x.sum)",
                     "param": "Param (parameter.expand)"}
_TRANSPOSED = "N·Hi·Wi·Cin·(Cout/g)·kh·kw, no bias"
_STD = "N·Cout·Ho·Wo·(Cin/g)·kh·kw, no bias"
_STD_CLASS = "StdConv (a subclass of nn.Conv2d: no rule for its exact type)"
_BLUR = "N·C·Ho·Wo·kh·kw (a depthwise conv of a fixed filter, a buffer)"
_BLUR_CLASS = "BlurFilter (F.conv2d on a buffer in forward: no conv module)"
_TOKEN_OPS = ("reshape", "view", "permute", "transpose", "unflatten", "unbind", "roll",
              "window_partition", "window_reverse", "param")

PAPER = Convention(
    "paper", "MACs of conv and linear layers only, no bias (= FlopCounterMode FLOPs / 2)",
    "MobileNet papers; torch 2.13.0 torch.utils.flop_counter", "MACs",
    MappingProxyType({
        "conv": Rule(paper, "N·Cout·Ho·Wo·(Cin/g)·kh·kw, no bias"),
        "conv_same": Rule(paper, "N·Cout·Ho·Wo·(Cin/g)·kh·kw, no bias"),
        "linear": Rule(paper, "N·in·out, no bias"),
        "conv_transpose": Rule(paper, _TRANSPOSED),
        "std_conv": Rule(paper, f"{_STD}; the standardisation of the weight is not counted"),
        "blur": Rule(paper, _BLUR),
        **zeros("0: not a conv or linear MAC", **_NOT_COUNTED),
        **ROWS["paper"],
        **ND_ROWS["paper"],
        **SWIN_ROWS["paper"],
        **VIT_ROWS["paper"],
        **RNN_ROWS["paper"],
        **NORM_ROWS["paper"],
        **GATHER_ROWS["paper"],
        **ARITH_ROWS["paper"],
    }),
    "all", "every learnable element, BN affine included: sum(p.numel())",
)

FVCORE = Convention(
    "fvcore", "FlopCountAnalysis total() in eval: conv/linear MACs, BN, adaptive avg pool",
    "fvcore 0.1.5.post20221221 on torch 2.13.0", "MACs",
    MappingProxyType({
        "conv": Rule(paper, "O·(Cin/g)·K, no bias (aten::_convolution)", tool_op="aten::_convolution"),
        "linear": Rule(paper, "I·out, no bias (aten::linear)", tool_op="aten::linear"),
        **no_bias("0: the bias is not counted"),
        "bn": Rule(bn_eval, "eval: numel·2 affine, numel·1 not (aten::batch_norm)",
                   tool_op="aten::batch_norm"),
        "adaptive_avg_pool": Rule(numel_in, "numel of the input (aten::adaptive_avg_pool2d)",
                                  tool_op="aten::adaptive_avg_pool2d"),
        "conv_transpose": Rule(paper, f"{_TRANSPOSED} (aten::_convolution, transposed)",
                               tool_op="aten::_convolution"),
        "std_conv": Rule(std_conv_fvcore, "O·(Cin/g)·K (aten::_convolution) + the weight's numel·5 "
                         "with a gain, ·4 without (aten::batch_norm in training mode)",
                         tool_op="aten::_convolution, aten::batch_norm"),
        "blur": Rule(paper, f"{_BLUR} (aten::_convolution)", tool_op="aten::_convolution"),
        "upsample_nearest": Rule(numel_out, "numel of the output (aten::upsample_nearest2d)",
                                 tool_op="aten::upsample_nearest2d"),
        "upsample_bilinear": Rule(lambda node: 4 * numel_out(node),
                                  "4·numel of the output (aten::upsample_bilinear2d)",
                                  tool_op="aten::upsample_bilinear2d"),
        "interpolate_nearest": Rule(numel_out, "numel of the output (aten::upsample_nearest2d)",
                                    tool_op="aten::upsample_nearest2d"),
        "interpolate_bilinear": Rule(lambda node: 4 * numel_out(node),
                                     "4·numel of the output (aten::upsample_bilinear2d)",
                                     tool_op="aten::upsample_bilinear2d"),
        **{key: Rule(norm_fvcore, f"numel·5 affine, numel·4 not (aten::{key[:-4]}_norm)",
                     tool_op=f"aten::{key[:-4]}_norm")
           for key in ("groupnorm", "layernorm", "instancenorm")},
        "layernorm_last": Rule(norm_fvcore, "numel·5 affine, numel·4 not (aten::layer_norm)",
                               tool_op="aten::layer_norm"),
        **zeros("0: ignored as free", reshape="aten::reshape", view="aten::view",
                 permute="aten::permute", transpose="aten::transpose", unbind="aten::unbind",
                 roll="aten::roll", window_partition="aten::view/permute/reshape",
                 window_reverse="aten::view/permute/reshape", param="aten::expand"),
        **zeros("0: ignored as free", relu="aten::relu", functional_relu="aten::relu",
                 flatten="aten::flatten",
                 dropout="aten::dropout", concat="aten::cat", stack="aten::stack",
                 shuffle="aten::view",
                 slice="aten::slice"),
        **unsupported(conv_same="aten::_convolution_mode", relu6="aten::hardtanh",
                       hardswish="aten::hardswish", hardsigmoid="aten::hardsigmoid",
                       sigmoid="aten::sigmoid", silu="aten::silu", max_pool="aten::max_pool2d",
                       avg_pool="aten::avg_pool2d", adaptive_max_pool="aten::adaptive_max_pool2d",
                       functional_max_pool="aten::max_pool2d",
                       functional_avg_pool="aten::avg_pool2d", scale="aten::mul",
                       mul="aten::mul", sub="aten::sub",
                       tf_same_pad="aten::pad", pad="aten::pad",
                       **{fn: f"aten::{fn}" for fn in (
                           "gelu", "leaky_relu", "prelu", "elu", "tanh", "mish", "hardtanh")},
                       sum="aten::sum",
                       mean="aten::mean", layer_scale="aten::mul", scalar="aten::mul",
                       unflatten="aten::unflatten",
                       grn="aten::linalg_vector_norm, aten::addcmul"),
        "average": Rule(zero, "0: unsupported aten::add (n − 1 calls) and aten::div, skipped",
                        "unsupported", "aten::add, aten::div", skipped=average_fvcore_skipped),
        "add": binary_adds("aten::add"),
        "identity": Rule(zero, "0: traces no aten op (returns its input)", "zero"),
        "unused": Rule(zero, "0: a module the forward never runs traces no aten op", "zero"),
        **zeros("0: an imported op convcost cannot express (opaque), not counted", opaque=""),
        **ROWS["fvcore"],
        **zeros("0: recorded ops hold no MAC (the stand-in runs none)", recorded=""),
        **ND_ROWS["fvcore"],
        **SWIN_ROWS["fvcore"],
        **VIT_ROWS["fvcore"],
        **RNN_ROWS["fvcore"],
        **NORM_ROWS["fvcore"],
        **GATHER_ROWS["fvcore"],
        **ARITH_ROWS["fvcore"],
    }),
    "all", "fvcore.nn.parameter_count(model)['']: every parameter once",
    "fvcore 0.1.5",
)

THOP = Convention(
    "thop", "thop.profile macs: conv/linear MACs, BN ×4, avg pools; only nn types it knows",
    "thop 0.1.1.post2209072238 (thop.profile) on torch 2.13.0", "MACs",
    MappingProxyType({
        "conv": Rule(paper, "O·(Cin/g)·K, bias ignored (count_convNd)", tool_op="nn.Conv2d"),
        "conv_same": Rule(paper, "O·(Cin/g)·K, bias ignored (count_convNd)", tool_op="nn.Conv2d"),
        "linear": Rule(paper, "in·numel(out), bias ignored (count_linear)", tool_op="nn.Linear"),
        **no_bias("0: count_convNd / count_linear ignore the bias"),
        "bn": Rule(bn_thop, "2·numel, ×2 when affine: numel·4 (count_normalization)",
                   tool_op="nn.BatchNorm2d"),
        "avg_pool": Rule(numel_out, "numel of the output (count_avgpool)", tool_op="nn.AvgPool2d"),
        "adaptive_avg_pool": Rule(
            thop_adaptive_avg, "int(((Hi/Ho)·(Wi/Wo) + 1)·numel(out)) in float64 "
            "(count_adap_avgpool)", tool_op="nn.AdaptiveAvgPool2d"),
        "conv_transpose": Rule(at_output_positions, "numel(out)·(Cin/g)·K: output positions "
                               "(count_convNd)", tool_op="nn.ConvTranspose2d"),
        "upsample_nearest": Rule(numel_out, "numel of the output (count_upsample)",
                                 tool_op="nn.Upsample"),
        "upsample_bilinear": Rule(lambda node: 11 * numel_out(node),
                                  "11·numel of the output (count_upsample)", tool_op="nn.Upsample"),
        "instancenorm": Rule(bn_thop, "2·numel, ×2 when affine (count_normalization)",
                             tool_op="nn.InstanceNorm2d"),
        "layernorm_last": Rule(bn_thop, "2·numel, ×2 when elementwise_affine "
                               "(count_normalization)", tool_op="nn.LayerNorm"),
        "prelu": Rule(numel_in, "numel of the input, in eval (count_prelu)", tool_op="nn.PReLU"),
        **zeros("0: zero_ops", relu="nn.ReLU", relu6="nn.ReLU6", max_pool="nn.MaxPool2d",
                 adaptive_max_pool="nn.AdaptiveMaxPool2d", dropout="nn.Dropout",
                 tf_same_pad="nn.ZeroPad2d", pad="nn.ZeroPad2d"),
        **zeros("0: count_relu counts 0", leaky_relu="nn.LeakyReLU"),
        **unsupported(hardswish="nn.Hardswish", hardsigmoid="nn.Hardsigmoid",
                       sigmoid="nn.Sigmoid", silu="nn.SiLU", flatten="nn.Flatten",
                       gelu="nn.GELU", elu="nn.ELU", tanh="nn.Tanh", mish="nn.Mish",
                       hardtanh="nn.Hardtanh", groupnorm="nn.GroupNorm",
                       layernorm="LayerNorm2d (a subclass of nn.LayerNorm)",
                       identity="nn.Identity", opaque="OpaqueModule (convcost's stand-in)",
                       unused="UnusedModule (convcost's stand-in; the module never runs)",
                       std_conv=_STD_CLASS, blur=_BLUR_CLASS,
                       recorded="RecordedModule (convcost's stand-in)",
                       functional_relu="F.relu (in forward: no module)",
                       functional_max_pool="F.max_pool2d (in forward: no module)",
                       functional_avg_pool="F.avg_pool2d (in forward: no module)",
                       grn="GlobalResponseNorm (no rule)", **_CONVCOST_MODULES),
        **ROWS["thop"],
        **ND_ROWS["thop"],
        **SWIN_ROWS["thop"],
        **VIT_ROWS["thop"],
        **RNN_ROWS["thop"],
        **NORM_ROWS["thop"],
        **GATHER_ROWS["thop"],
        **ARITH_ROWS["thop"],
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
        "conv": Rule(per_image(paper), "hook: O·(Cin/g)·K / N", tool_op="nn.Conv2d"),
        "conv_same": Rule(per_image(paper), "hook: O·(Cin/g)·K / N", tool_op="nn.Conv2d"),
        "conv_bias": Rule(per_image(numel_out), "hook: numel(out) / N", tool_op="nn.Conv2d"),
        "linear": Rule(per_image(paper), "hook: in·out per image", tool_op="nn.Linear"),
        "linear_bias": Rule(per_image(numel_out), "hook: out per image", tool_op="nn.Linear"),
        "bn": Rule(per_image(bn_eval), "hook: numel·2 affine, numel·1 not; / N",
                   tool_op="nn.BatchNorm2d"),
        "relu": Rule(twice(numel_in), "hook numel / N, plus patched F.relu numel: twice",
                     tool_op="nn.ReLU"),
        "functional_relu": Rule(numel_in, "patched F.relu only: numel, per batch (no hook)",
                                tool_op="F.relu"),
        "relu6": Rule(per_image(numel_in), "hook: numel / N (F.hardtanh is not patched)",
                      tool_op="nn.ReLU6"),
        "silu": Rule(numel_in, "patched F.silu only: numel, per batch (no hook)", tool_op="F.silu"),
        **{fn: Rule(twice(numel_in), f"hook numel / N, plus patched F.{fn} numel: twice",
                    tool_op=f"nn.{name}")
           for fn, name in (("gelu", "GELU"), ("elu", "ELU"), ("prelu", "PReLU"))},
        "leaky_relu": Rule(per_image(numel_in), "hook: numel / N (F.leaky_relu is not patched)",
                           tool_op="nn.LeakyReLU"),
        "conv_transpose": Rule(per_image(paper), f"hook: {_TRANSPOSED} / N",
                               tool_op="nn.ConvTranspose2d"),
        **{key: Rule(ptflops_upsample, "hook numel(out) / N², plus patched F.interpolate: "
                     "numel(out) by size, numel(in)·s² by scale (float)", tool_op="nn.Upsample")
           for key in ("upsample_nearest", "upsample_bilinear")},
        **{key: Rule(numel_out, "patched F.interpolate only: numel(out) by size, per batch "
                     "(no hook)", tool_op="F.interpolate")
           for key in ("interpolate_nearest", "interpolate_bilinear")},
        **{key: Rule(per_image(bn_eval), "hook: numel·2 affine, numel·1 not; / N",
                     tool_op=f"nn.{name}")
           for key, name in (("groupnorm", "GroupNorm"), ("instancenorm", "InstanceNorm2d"))},
        "layernorm_last": Rule(per_image(numel_in), "hook: numel / N (bn hook; nn.LayerNorm has "
                               "no `affine`, so never ×2)", tool_op="nn.LayerNorm"),
        **{key: Rule(twice(numel_in), "hook numel(in) / N, plus patched F.*pool* numel(in)",
                     tool_op=f"nn.{name}")
           for key, name in (("max_pool", "MaxPool2d"), ("avg_pool", "AvgPool2d"),
                             ("adaptive_avg_pool", "AdaptiveAvgPool2d"),
                             ("adaptive_max_pool", "AdaptiveMaxPool2d"))},
        **{f"functional_{mode}_pool": Rule(
            numel_in, f"patched F.{mode}_pool2d only: numel(in), per batch (no hook)",
            tool_op=f"F.{mode}_pool2d") for mode in ("max", "avg")},
        **unsupported(hardswish="nn.Hardswish", hardsigmoid="nn.Hardsigmoid",
                       sigmoid="nn.Sigmoid", flatten="nn.Flatten", dropout="nn.Dropout",
                       scale="x * gate (Tensor.__mul__ is not patched)",
                       mul="a * b (Tensor.__mul__ is not patched)",
                       sub="a - b (Tensor.__sub__ is not patched)",
                       concat="torch.cat", shuffle="view/transpose", tf_same_pad="nn.ZeroPad2d",
                       pad="nn.ZeroPad2d",
                       tanh="nn.Tanh", mish="nn.Mish", hardtanh="nn.Hardtanh",
                       layernorm="LayerNorm2d (a subclass of nn.LayerNorm)",
                       mean="x.mean (not patched)", layer_scale="x * gamma (not patched)",
                       stack="torch.stack (not patched)", sum="x.sum (not patched)",
                       scalar="x * value (Tensor.__mul__ is not patched)",
                       slice="x[:, a:b] (not patched)",
                       identity="nn.Identity", grn="GlobalResponseNorm (no hook; norm not patched)",
                       std_conv=f"{_STD_CLASS}; F.conv2d is not patched",
                       blur=f"{_BLUR_CLASS}; F.conv2d is not patched",
                       average="(a + b) / n (Tensor.__add__, __truediv__ not patched)",
                       **{key: op for key, op in _CONVCOST_MODULES.items() if key in _TOKEN_OPS}),
        "add": binary_adds("a + b (Tensor.__add__ is not patched)"),
        **zeros("0: an imported op convcost cannot express (opaque), not counted", opaque=""),
        **zeros("0: a module the forward never runs (no hook fires)", unused=""),
        **ROWS["ptflops"],
        **zeros("0: recorded ops hold no MAC (the stand-in runs none)", recorded=""),
        **ND_ROWS["ptflops"],
        **SWIN_ROWS["ptflops"],
        **VIT_ROWS["ptflops"],
        **RNN_ROWS["ptflops"],
        **NORM_ROWS["ptflops"],
        **GATHER_ROWS["ptflops"],
        **ARITH_ROWS["ptflops"],
    }),
    "all", "trainable params only: sum(p.numel() for p in model.parameters() if p.requires_grad)",
    "ptflops 0.7.5",
)

_TORCHINFO_PARAMS = {"groupnorm": "GroupNorm", "layernorm": "LayerNorm2d", "layernorm_last": "LayerNorm",
                     "instancenorm": "InstanceNorm2d", "prelu": "PReLU",
                     "grn": "GlobalResponseNorm"}

TORCHINFO = Convention(
    "torchinfo", "summary().total_mult_adds: parameter counts × output positions, leaves only",
    "torchinfo 1.8.0 (summary(...).total_mult_adds) on torch 2.13.0", "MACs",
    MappingProxyType({
        "conv": Rule(paper, "weight.numel()·N·Ho·Wo ('Conv' in the class name)", tool_op="Conv2d"),
        "conv_same": Rule(paper, "weight.numel()·N·Ho·Wo ('Conv' in the class name)",
                          tool_op="Conv2d"),
        "conv_bias": Rule(numel_out, "bias.numel()·N·Ho·Wo = numel(out)", tool_op="Conv2d"),
        "linear": Rule(batch_linear, "out.shape[0]·weight.numel() = N·in·out", tool_op="Linear"),
        "linear_bias": Rule(batch_linear_bias, "out.shape[0]·bias.numel() = N·out",
                            tool_op="Linear"),
        "bn": Rule(batch_params, "out.shape[0]·params: N·2·C when affine, else 0",
                   tool_op="BatchNorm2d"),
        "conv_transpose": Rule(at_output_positions, "weight.numel()·N·Ho·Wo: output positions "
                               "('Conv' in the class name)", tool_op="ConvTranspose2d"),
        **{key: Rule(batch_params, "out.shape[0]·params (N·2·C when affine)", tool_op=name)
           for key, name in _TORCHINFO_PARAMS.items()},
        "layer_scale": Rule(zero, "0: its parameter is named gamma, not weight or bias", "zero",
                            "LayerScale"),
        "param": Rule(zero, "0: its parameter is not named weight or bias", "zero", "Param"),
        "std_conv": Rule(conv_with_bias, "(weight + bias).numel()·N·Ho·Wo ('Conv' in the class "
                         "name); the gain is not named weight or bias", tool_op="StdConv"),
        "unused": Rule(zero, "0: a module the forward never runs", "zero", "UnusedModule"),
        "blur": Rule(zero, "0: no parameters (its filter is a buffer)", "zero", "BlurFilter"),
        **zeros("0: no parameters", **{k: "" for k in RULE_KEYS if k not in (
            *_COUNTED, "conv_bias", "linear_bias", "bn", "layer_scale", "param", "unused",
            *_TORCHINFO_PARAMS)}),
        **ROWS["torchinfo"],
        **ND_ROWS["torchinfo"],
        **SWIN_ROWS["torchinfo"],
        **VIT_ROWS["torchinfo"],
        **RNN_ROWS["torchinfo"],
        **NORM_ROWS["torchinfo"],
        **GATHER_ROWS["torchinfo"],
        **ARITH_ROWS["torchinfo"],
    }),
    "all", "sum(p.numel() for p in model.parameters()), each once",
    "torchinfo 1.8.0",
)

TORCH = Convention(
    "torch", "torch.utils.flop_counter.FlopCounterMode FLOPs: 2 per conv/linear MAC, no bias",
    "torch 2.13.0 torch.utils.flop_counter.FlopCounterMode", "FLOPs",
    MappingProxyType({
        "conv": Rule(twice_paper, "2·O·(Cin/g)·K, bias ignored", tool_op="aten::convolution"),
        "conv_same": Rule(twice_paper, "2·O·(Cin/g)·K (aten::_convolution_mode decomposes)",
                          tool_op="aten::convolution"),
        "linear": Rule(twice_paper, "2·N·in·out, bias ignored", tool_op="aten::addmm"),
        "conv_transpose": Rule(twice_paper, f"2·{_TRANSPOSED}", tool_op="aten::convolution"),
        "std_conv": Rule(twice_paper, f"2·{_STD} (the batch norm on the weight is not counted)",
                         tool_op="aten::convolution"),
        "blur": Rule(twice_paper, f"2·{_BLUR}", tool_op="aten::convolution"),
        **zeros("0: not a matmul, conv or attention op", **_NOT_COUNTED),
        **ROWS["torch"],
        **ND_ROWS["torch"],
        **SWIN_ROWS["torch"],
        **VIT_ROWS["torch"],
        **RNN_ROWS["torch"],
        **NORM_ROWS["torch"],
        **GATHER_ROWS["torch"],
        **ARITH_ROWS["torch"],
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


def counting(name: str = "paper", flops: bool = False) -> Counting:
    """The ``--convention NAME [--flops]`` of a command; an unknown name is bad input."""
    return Counting(convention(name), flops)
