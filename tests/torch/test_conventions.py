"""Counting conventions (issue 6): each convention's total is, exactly, its tool's number.

Every test runs the real tool on a model freshly built from the spec (never a pasted number):
fvcore ``FlopCountAnalysis.total()``, ``thop.profile``, ``ptflops.get_model_complexity_info``
(its default backend), ``torchinfo.summary(...).total_mult_adds`` and ``FlopCounterMode``.
Each tool gets a model of its own, so thop's leftover ``total_ops`` buffers (a thop bug) and
ptflops' ``eval()`` never reach another tool. Models are built on the meta device and
materialised uninitialised (then zeroed): the counts depend on shapes only, and vgg16's 138 M
parameters then cost no random init. Torch and the tools are imported inside the tests only.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import io
import json
import math
import sys
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from helpers import FAST_SPECS, kind_sample, materialised
from helpers import blocked_env as _blocked_env
from helpers import run as _run
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.conventions.convention import Counting
from convcost.conventions.explain import explain
from convcost.conventions.rules import CONVENTIONS, FVCORE, PAPER, THOP, TORCH, counting
from convcost.cost.registry import RULE_KEYS, rule_keys
from convcost.net.analysis import Analysis, analyze
from convcost.net.layer_nodes import as_analysis, variant_nodes
from convcost.report.explain_view import explanation
from convcost.report.render import human
from convcost.spec.loader import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
TOOLS = ("fvcore", "thop", "ptflops", "torchinfo", "torch")

# Reduced resolutions keep the suite fast; vgg16's five max pools need 32 at least, Inception
# v3's unpadded convs and pools 75 (as torchvision's inception_v3: 75 -> 37 -> 35 ... -> 1).
# ViT: 197 tokens learnt; MobileViT: its patch folds hold 256's token counts
RESOLUTION = {"vgg16": 32, "inception_v3": 75, "m5_audio": 8000, "vit_b_16": 224, "mobilevit_xxs": 256,
              "ssdlite320": 320,  # SSDlite: recorded at 320, its shapes hold there only
              "efficientformer_l1": 224}  # its 49 tokens and their gathered attention bias

# Every rule key once or more: conv with and without bias, padding 'same' (dilated, grouped),
# BN with and without affine, BatchNorm1d, every activation (and F.relu), every pool (ceil mode, adaptive
# to a larger and a non-divisible size: thop's float rule; F.max_pool2d/F.avg_pool2d in
# forward), SE (add + scale), shuffle units (split, concat, shuffle), a ResNet block with a
# downsample, the graph's merges (a split, a residual gate of mul, a 3-way add, a 3-way
# concat, a broadcasting mul), identity, an imported opaque layer, flatten, dropout, both linears;
# the leaves of the open format: TF SAME padding (conv, depthwise), a grouped transposed conv,
# the upsamples (by a fractional scale, to a size, bicubic), both interpolates (to another tensor's size,
# F.interpolate in forward), GroupNorm, LayerNorm2d, InstanceNorm (with and without affine),
# layer scale, timm's RmsNorm2d, ConvNeXt-V2's GRN, an average (of two tensors), a linear per
# position, x.mean,
# a standalone SE, a standalone channel shuffle, unfold and fold (back), a pad of -inf, pads of
# every mode, an anti-aliasing blur, the activations gelu ... hardtanh, a Mobile MQA (strided
# keys/values) and a softmax over the channels; the token kinds (matmul, attention, ...) run on
# their own in test_attention_conventions.
ZOO = """\
name: zoo
input: {channels: 3, height: 33, width: 29}
layers:
  - {kind: conv, name: stem, out_channels: 12, stride: 2, bias: true, bn: true, act: hardswish}
  - {kind: conv, name: same, out_channels: 12, kernel_size: [3, 5], padding: same, dilation: 2,
     groups: 3, bias: true, act: silu}
  - {kind: bn, name: plain_bn, affine: false}
  - {kind: std_conv, name: std, out_channels: 12, bias: true, gain: true}
  - {kind: std_conv, name: std_same, out_channels: 12, kernel_size: [3, 5], padding: tf_same, groups: 3}
  - {kind: stack, name: stk, dim: 1, from: [std, std_same]}
  - {kind: sum, name: psum, dim: 1}
  - {kind: act, name: sig, fn: sigmoid}
  - {kind: act, name: frelu, fn: relu, functional: true}
  - {kind: pool, name: maxp, op: max, kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}
  - {kind: pool, name: fmaxp, op: max, kernel_size: 3, stride: 1, padding: 1, functional: true}
  - {kind: conv, name: tfs, out_channels: 12, stride: 2, padding: tf_same, bias: true}
  - {kind: conv_transpose, name: up_t, out_channels: 12, kernel_size: 3, stride: 2, padding: 1,
     output_padding: 1, groups: 3, bias: true}
  - {kind: groupnorm, name: gn, groups: 3}
  - {kind: act, name: gelu, fn: gelu}
  - {kind: instancenorm, name: inorm, affine: true}
  - {kind: act, name: prelu, fn: prelu, per_channel: true}
  - {kind: layernorm, name: ln}
  - {kind: rmsnorm, name: rms}
  - {kind: layer_scale, name: ls}
  - {kind: grn, name: grn}
  - {kind: sub, name: diff, from: [ls, grn]}
  - {kind: average, name: avg, from: [diff, grn]}
  - {kind: linear, name: lin_pos, out_features: 12, per_position: true}
  - {kind: act, name: leaky, fn: leaky_relu}
  - {kind: upsample, name: up_b, mode: bilinear, scale: 1.5}
  - {kind: act, name: elu, fn: elu}
  - {kind: dwconv, name: dw_tfs, kernel_size: 5, stride: 2, padding: tf_same}
  - {kind: act, name: tanh, fn: tanh}
  - {kind: upsample, name: up_n, size: [9, 8]}
  - {kind: upsample, name: up_c, mode: bicubic, size: [11, 10]}
  - {kind: interpolate, name: interp_b, mode: bilinear, align_corners: true, from: [up_c, stem]}
  - {kind: act, name: mish, fn: mish}
  - {kind: interpolate, name: interp_n, from: [mish, up_n]}
  - {kind: instancenorm, name: inorm2}
  - {kind: act, name: htanh, fn: hardtanh}
  - {kind: se, name: se_l, squeeze_channels: 4, act: gelu, gate: sigmoid}
  - {kind: inverted_residual, name: ir, out_channels: 12, expand_ratio: 2,
     se: {reduction: 4, act: relu, gate: hardsigmoid}}
  - {kind: inverted_residual, name: ir2, out_channels: 12, expand_ratio: 2, act: relu6,
     se: {base: input, divisor: null, act: silu, gate: sigmoid}}
  - {kind: shuffle_unit, name: shuf, out_channels: 12}
  - {kind: shuffle_unit, name: shuf2, out_channels: 24, stride: 2}
  - {kind: basic_block, name: res, out_channels: 32, stride: 2}
  - kind: split
    name: mix
    sizes: [8, 24]
    branches: [{kind: dwconv, kernel_size: 3}, {kind: dwconv, kernel_size: 5, bn: true}]
  - kind: residual
    name: gate
    merge: mul
    layers:
      - {kind: pool, op: avg, global: true}
      - {kind: conv, out_channels: 32, kernel_size: 1, bias: true, act: sigmoid}
  - kind: parallel
    name: rep
    merge: add
    branches:
      - {kind: conv, out_channels: 32, bn: true}
      - {kind: conv, out_channels: 32, kernel_size: 1, bn: true}
      - {kind: bn}
  - {kind: concat, name: cat3, from: [rep, gate, res]}
  - {kind: pool, name: pooled, op: avg, global: true, from: cat3}
  - {kind: mul, name: gated, from: [cat3, pooled]}
  - {kind: pwconv, name: squeeze, out_channels: 32}
  - {kind: mobile_mqa, name: mqa, heads: 2, key_dim: 8, kv_stride: 2, bias: true}
  - {kind: softmax, name: sm, dim: 1}
  - {kind: slice, name: sl, start: 4, end: 28}
  - {kind: pad, name: zpad, pad: [1, 0, 2, 1]}
  - {kind: unfold, name: im2col, kernel_size: 2, padding: 1}
  - {kind: fold, name: col2im, output_size: [6, 3], kernel_size: 2, padding: 1}
  - {kind: pad, name: rpad, pad: [1, 1, 1, 1], mode: reflect}
  - {kind: blur, name: aa}
  - {kind: pad, name: edge, pad: [1, 0, 0, 1], mode: replicate}
  - {kind: pad, name: wrap, pad: [0, 1, 1, 0], mode: circular}
  - {kind: shuffle, name: shuffle4, groups: 4}
  - {kind: opaque, name: opq, op: torch.cumsum ×1, output_shape: [32, 3, 2], params: 6}
  - {kind: unused, name: aux, params: 5}
  - {kind: pool, name: avgp, op: avg, kernel_size: 2, ceil_mode: true}
  - {kind: pool, name: favgp, op: avg, kernel_size: 3, stride: 1, padding: 1, functional: true}
  - {kind: pad, name: ninf, pad: [0, 1, 0, 1], value: "-inf"}
  - {kind: pool, name: amax, op: max, output_size: [3, 2]}
  - {kind: pool, name: aavg, op: avg, output_size: [2, 3]}
  - {kind: mean, name: gmean, keepdim: true}
  - {kind: identity, name: ident}
  - {kind: flatten, name: flat}
  - {kind: dropout, name: drop, p: 0.2}
  - {kind: linear, name: fc1, out_features: 20, bias: false}
  - {kind: bn, name: bn1d}
  - {kind: act, name: relu_fc, fn: relu}
  - {kind: linear, name: fc2, out_features: 7}
  - {kind: recorded, name: rec, op: "aten.topk ×1, aten.gather ×1", output_shape: [1, 3], params: 2}
"""

# The token and view kinds: a patch embedding, a class token and positional embedding (param,
# concat, add), a bias gathered from a table and a buffer (param with params), nn.LayerNorm
# and nn.Linear over tokens, the qkv reshape/permute/unbind,
# transpose, flatten, layer scale on tokens, F.normalize, nn.RMSNorm (no γ), XCiT's Fourier grid,
# x + a number, a / b, unflatten, roll,
# view, sliding windows, a repeat of the batch and a broadcast (x.unfold, x.repeat_interleave,
# x.expand), gather, MViT-V2's decomposed relative positions (rel_pos: [t, h, w], [h, w], SAM's bias);
# channels-last windows (window partition and reverse, Swin's shifted window attention and patch
# merging, a LayerNorm and a Linear over the last dim of [N, H, W, C]).
# Not here: a Linear on windows, whose leading dim is N·windows: ptflops divides its hook by
# the model's batch, the rule (per_image) by the leaf's leading dim (a known gap of the rows).
TOKEN_ZOO = """\
name: token_zoo
input: {channels: 3, resolution: 32}
outputs: [head, cl_lin, rnn, tokmax, rep, bcast, fpos, rp, rp2, rpb, rot2]
layers:
  - {kind: patch_embed, name: pe, out_channels: 16, patch: 8, norm: true}
  - {kind: param, name: cls, shape: [1, 16]}
  - {kind: concat, name: cat, from: [cls, pe]}
  - {kind: param, name: pos, shape: [17, 16]}
  - {kind: add, name: pos_add, from: [cat, pos]}
  - {kind: param, name: bias, shape: [17, 16], params: 5}
  - {kind: add, name: bias_add, from: [pos_add, bias]}
  - {kind: param, name: mask, shape: [17, 16], params: 0}
  - {kind: add, name: mask_add, from: [bias_add, mask]}
  - {kind: layernorm, name: ln}
  - {kind: linear, name: qkv, out_features: 48}
  - {kind: reshape, name: r, shape: [17, 3, 2, 8]}
  - {kind: permute, name: p, dims: [2, 0, 3, 1, 4]}
  - {kind: unbind, name: q, dim: 0, index: 0}
  - {kind: rope, name: rot}
  - {kind: transpose, name: t, dim0: 1, dim1: 2}
  - {kind: flatten, name: f, start_dim: 2}
  - {kind: layer_scale, name: ls}
  - {kind: normalize, name: l2, dim: -1}
  - {kind: rmsnorm, name: rms_tok, affine: false}
  - {kind: scalar, name: sc, value: 0.125}
  - {kind: shift, name: sh, value: 0.5}
  - {kind: div, name: dv, from: [sc, sh]}
  - {kind: scalar, name: rs, op: rsub, value: 1.0}
  - {kind: scalar, name: ss, op: sub, value: 0.5}
  - {kind: clamp, name: cl}
  - {kind: unflatten, name: uf, dim: 2, sizes: [4, -1]}
  - {kind: roll, name: rl, shifts: [1, -1], dims: [2, 3]}
  - {kind: view, name: v, shape: [17, 16]}
  - {kind: gather, name: g, size: 17}
  - {kind: unbind, name: tok, dim: 1, index: 0}
  - {kind: linear, name: head, out_features: 10}
  - {kind: view, name: grid, shape: [4, 4, 16], from: pe}
  - {kind: window_partition, name: wp, window: 2}
  - {kind: window_reverse, name: wr, window: 2, size: 4}
  - {kind: shifted_window_attention, name: swa, heads: 2, window: 2, shift: 1}
  - {kind: patch_merge, name: pm}
  - {kind: layernorm, name: cl_norm, last_dim: true}
  - {kind: layer_scale, name: cl_ls, last_dim: true}
  - {kind: linear, name: cl_lin, out_features: 8, last_dim: true}
  - {kind: lstm, name: rnn, from: ln, hidden: 6, layers: 2, bidirectional: true}
  - {kind: max, name: tokmax, from: v, dim: 1}
  - {kind: sliding, name: slide, from: v, dim: 1, size: 4, step: 3}
  - {kind: repeat_interleave, name: rep, repeats: 2, dim: 0}
  - {kind: view, name: row, from: tokmax, shape: [1, 16]}
  - {kind: expand, name: bcast, shape: [3, -1]}
  - {kind: view, name: q4, from: v, shape: [1, 17, 16]}
  - {kind: transpose, name: q4t, dim0: 2, dim1: 3}
  - {kind: matmul, name: scores, from: [q4, q4t]}
  - {kind: rope, name: rot2, from: [q4, scores]}  # reading a table made with MACs too
  - {kind: rel_pos, name: rp, from: [scores, q4], q_size: [1, 4, 4], k_size: [1, 4, 4], tables: [1, 7, 7]}
  - {kind: rel_pos, name: rp2, from: [scores, q4], q_size: [4, 4], k_size: [4, 4], tables: [7, 7]}
  - {kind: rel_pos, name: rpb, from: pe, q_size: [4, 4], k_size: [4, 4], tables: [7, 7], bias: true}
  - {kind: fourier_pos, name: fpos, from: pe, hidden: 4, size: [3, 2]}
"""
# The kinds over 1 or 3 spatial axes, each rule key of theirs once or more: a video (conv3d
# with bias, padding same, BatchNorm3d, every 3-D pool, a grouped transposed conv3d, adaptive
# pools to a non-divisible size: thop's float rule), and a 1-D signal (conv1d with bias,
# padding same, BatchNorm1d on [N, C, L], a grouped transposed conv1d).
ND_ZOOS = {"video_zoo": """\
name: video_zoo
input: {shape: [1, 3, 7, 22, 19]}
layers:
  - {kind: conv3d, name: stem, out_channels: 12, kernel_size: [3, 5, 5], stride: [1, 2, 2],
     bias: true}
  - {kind: bn, name: bn3d}
  - {kind: act, name: relu, fn: relu}
  - {kind: conv3d, name: same, out_channels: 12, kernel_size: 3, padding: same, dilation: [1, 2, 1],
     groups: 3}
  - {kind: pool3d, name: maxp, op: max, kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}
  - {kind: conv_transpose3d, name: up, out_channels: 6, kernel_size: [1, 3, 3], stride: [1, 2, 2],
     padding: [0, 1, 1], output_padding: [0, 1, 1], groups: 3, bias: true}
  - {kind: pool3d, name: avgp, op: avg, kernel_size: [1, 2, 2]}
  - {kind: pool3d, name: amax, op: max, output_size: [3, 2, 3]}
  - {kind: pool3d, name: aavg, op: avg, output_size: [2, 3, 2]}
  - {kind: pool3d, name: gap, op: avg, global: true}
  - {kind: flatten, name: flat}
  - {kind: linear, name: fc, out_features: 5}
""", "audio_zoo": """\
name: audio_zoo
input: {shape: [1, 2, 61]}
layers:
  - {kind: conv1d, name: stem, out_channels: 8, kernel_size: 9, stride: 3, bias: true}
  - {kind: bn, name: bn1d}
  - {kind: act, name: relu, fn: relu}
  - {kind: conv1d, name: same, out_channels: 8, kernel_size: 3, padding: same, dilation: 2,
     groups: 4}
  - {kind: conv_transpose1d, name: up, out_channels: 4, kernel_size: 4, stride: 2, padding: 1,
     groups: 2, bias: true}
  - {kind: pool1d, name: maxp, op: max, kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}
  - {kind: pool1d, name: avgp, op: avg, kernel_size: 2}
  - {kind: pool1d, name: amax, op: max, output_size: 5}
  - {kind: pool1d, name: aavg, op: avg, output_size: 3}
  - {kind: pool1d, name: gap, op: avg, global: true}
  - {kind: flatten, name: flat}
  - {kind: linear, name: fc, out_features: 3}
"""}
ZOOS = {"zoo": ZOO, "token_zoo": TOKEN_ZOO, **ND_ZOOS}


@cache
def _analysis(name: str, resolution: int | None = None, batch: int | None = None) -> Analysis:
    if name in ZOOS:
        import yaml

        return analyze(parse_spec(yaml.safe_load(ZOOS[name])), batch=batch)
    return analyze(load_spec(SPECS / f"{name}.yaml"), resolution=resolution, batch=batch)


# -- the tools, run for real -------------------------------------------------------------------


@contextlib.contextmanager
def _silent() -> Iterator[None]:
    """One thread, no grad, no warnings, no fvcore log lines, nothing printed; attention on
    the math path, as convcost's cross-check runs it (runtime/flop_count.py)."""
    from convcost.runtime.flop_count import math_attention
    from convcost.runtime.verify import quiet

    with quiet(), math_attention(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        yield


def _fvcore(analysis: Analysis) -> tuple[int, int | None]:
    from fvcore.nn import FlopCountAnalysis, parameter_count

    model, x = materialised(analysis), _input(analysis)
    counter = FlopCountAnalysis(model, (x,)).unsupported_ops_warnings(False)
    return counter.uncalled_modules_warnings(False).total(), parameter_count(model)[""]


def _thop(analysis: Analysis) -> tuple[int, int | None]:
    import thop

    macs, params = thop.profile(materialised(analysis), inputs=(_input(analysis),), verbose=False)
    assert float(macs).is_integer() and float(params).is_integer()  # floats holding integers
    return int(macs), int(params)


def _ptflops(analysis: Analysis) -> tuple[int, int | None]:
    """The default backend; batch 1 through ptflops' own input, else an input constructor."""
    import torch
    from ptflops import get_model_complexity_info

    shape = analysis.input_shape
    extra = {} if shape[0] == 1 else {"input_constructor": lambda res: torch.zeros(shape)}
    macs, params = get_model_complexity_info(materialised(analysis), tuple(shape[1:]), as_strings=False,
                                             print_per_layer_stat=False, **extra)
    return macs, params


def _torchinfo(analysis: Analysis) -> tuple[int, int | None]:
    import torchinfo

    stats = torchinfo.summary(materialised(analysis), input_data=_input(analysis), verbose=0)
    return stats.total_mult_adds, stats.total_params


def _torch(analysis: Analysis) -> tuple[int, int | None]:
    from torch.utils.flop_counter import FlopCounterMode

    model, x = materialised(analysis), _input(analysis)
    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops(), None


def _input(analysis: Analysis) -> Any:
    import torch

    return torch.zeros(analysis.input_shape)


RUN: dict[str, Callable[[Analysis], tuple[int, int | None]]] = {
    "fvcore": _fvcore, "thop": _thop, "ptflops": _ptflops, "torchinfo": _torchinfo, "torch": _torch}


def run_tool(tool: str, analysis: Analysis) -> tuple[int, int | None]:
    """``(count, params)`` as the tool reports them for the model built from ``analysis``."""
    with _silent():
        return RUN[tool](analysis)


def _assert_reproduced(tool: str, analysis: Analysis) -> None:
    count, params = run_tool(tool, analysis)
    row = CONVENTIONS[tool]
    assert row.total(analysis) == count, (tool, analysis.model)
    assert row.param_count(analysis.root) == params, (tool, analysis.model)
    if tool == "torch":  # the paper convention is FlopCounterMode's FLOPs / 2
        assert 2 * PAPER.total(analysis) == count


# -- every shipped spec, every convention --------------------------------------------------------


def test_every_shipped_spec_is_covered() -> None:
    """The parametrisation below globs specs/: a new spec is covered without an edit here."""
    names = {p.stem for p in SPECS.glob("*.yaml")}
    assert {"mobilenet_v2", "resnet50", "vgg16"} <= names and set(RESOLUTION) <= names


# (spec, tool) pairs a convention does not model yet: {pair: why}
TOOL_GAPS = {("mobilevit_xxs", "ptflops"): "ptflops' per-image count divides by the folded "
             "batch (N·4 patches) where ptflops divides by the model's batch N"}


# every rule key already meets every tool in test_every_rule_key_matches_the_tool: make test
# runs the shipped specs of the fast loop (a chain, a residual net, the graph format) through
# every tool, make test-all every shipped spec
@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", kind_sample(sorted(p.stem for p in SPECS.glob("*.yaml")), FAST_SPECS))
def test_shipped_spec_matches_the_tool(name: str, tool: str) -> None:
    if (name, tool) in TOOL_GAPS:
        pytest.xfail(TOOL_GAPS[name, tool])
    _assert_reproduced(tool, _analysis(name, RESOLUTION.get(name, 64)))


@pytest.mark.parametrize("tool", TOOLS)
def test_mobilenet_v2_at_224_matches_every_tool(tool: str) -> None:
    analysis = _analysis("mobilenet_v2")
    assert analysis.input_shape == (1, 3, 224, 224)
    _assert_reproduced(tool, analysis)


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", ["mobilenet_v3_small", "shufflenet_v2_x1_0", "efficientnet_b0"])
def test_batch_of_three(name: str, tool: str) -> None:
    """ptflops divides its module hooks by the batch but not its patched F.* calls."""
    _assert_reproduced(tool, _analysis(name, 48, batch=3))


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("batch", [1, 2])
def test_every_rule_key_matches_the_tool(tool: str, batch: int) -> None:
    from test_attention_conventions import CASES as ATTENTION  # attention ops: run there, on their own
    from test_grid_sample import CASES as GRID  # grid_sample reads a grid: run there on each tool
    from test_swin import V2_KEYS  # Swin V2's attention: run there (thop's params differ)
    from test_swin_v2 import CASES as COSINE  # timm's Swin V2 window attention: run there on each tool

    analyses = [_analysis(name, batch=batch) for name in ZOOS]
    keys = {key for analysis in analyses for leaf in analysis.leaves() for key in rule_keys(leaf.op)}  # type: ignore[arg-type]
    attention = {key for op, _, _ in ATTENTION.values() for key in rule_keys(op)}
    cosine = {key for op, _ in COSINE for key in rule_keys(op)}
    grid = {key for op, _, _ in GRID.values() for key in rule_keys(op)}
    assert keys | attention | set(V2_KEYS) | cosine | grid == set(RULE_KEYS)
    assert {"mobile_mqa", "softmax"} <= keys
    for analysis in analyses:
        _assert_reproduced(tool, analysis)


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", sorted(ND_ZOOS))
def test_nd_kinds_match_the_tool(name: str, tool: str) -> None:
    """The kinds over 1 or 3 spatial axes, at batch 2 (ptflops' hooks divide by it)."""
    _assert_reproduced(tool, _analysis(name, batch=2))


def test_thop_adaptive_pool_float_rule_truncates() -> None:
    """thop: int(((Hi/Ho)·(Wi/Wo) + 1)·numel(out)) in float64; 3×2 -> 2×3: 1.5·(2/3) + 1."""
    leaf = next(leaf for leaf in _analysis("zoo").leaves() if leaf.name == "aavg")
    assert (leaf.input_shape[2:], leaf.output_shape[2:]) == ((3, 2), (2, 3))
    numel = math.prod(leaf.output_shape)  # 1*32*2*3 = 192
    assert THOP.count(leaf) == int((3 / 2 * (2 / 3) + 1) * numel)


# -- per layer: the tools that report layers -------------------------------------------------------


def test_thop_and_torchinfo_per_leaf() -> None:
    """thop's ``ret_layer_info`` and torchinfo's leaf rows, module by module."""
    import thop
    import torchinfo

    analysis = _analysis("mobilenet_v3_small", 64)
    with _silent():
        _, _, layers = thop.profile(materialised(analysis), inputs=(_input(analysis),), verbose=False,
                                    ret_layer_info=True)
        model = materialised(analysis)
        rows = torchinfo.summary(model, input_data=_input(analysis), verbose=0).summary_list
    names = {id(module): name for name, module in model.named_modules()}
    torchinfo_macs = {names[id(row.module)]: row.macs for row in rows if row.is_leaf_layer}

    def thop_ops(path: str) -> float:
        entry: Any = (0, 0, layers)
        for part in path.split("."):
            entry = entry[2][part]
        return float(entry[0])

    for leaf in analysis.leaves():
        assert THOP.count(leaf) == thop_ops(leaf.name), leaf.name
        assert CONVENTIONS["torchinfo"].count(leaf) == torchinfo_macs[leaf.name], leaf.name


# -- small random networks, every tool ---------------------------------------------------------------


@st.composite
def _small_specs(draw: st.DrawFn) -> dict[str, Any]:
    kernel = draw(st.integers(1, 5))
    groups = draw(st.sampled_from([1, 2, 4]))
    layers: list[dict[str, Any]] = [
        {"kind": "conv", "out_channels": 4 * draw(st.integers(1, 3)), "kernel_size": kernel,
         "stride": draw(st.integers(1, 2)), "bias": draw(st.booleans()), "bn": draw(st.booleans()),
         "act": draw(st.sampled_from(["relu", "relu6", "silu", "hardswish"]))},
        {"kind": "conv", "out_channels": 8, "groups": groups, "kernel_size": kernel,
         "padding": draw(st.sampled_from(["auto", "same"])), "bias": draw(st.booleans())},
        {"kind": "pool", "op": draw(st.sampled_from(["avg", "max"])),
         **draw(st.sampled_from([{"global": True}, {"kernel_size": 2, "ceil_mode": True},
                                 {"output_size": [draw(st.integers(1, 4)), draw(st.integers(1, 4))]}]))},
        {"kind": "flatten"},
        {"kind": "linear", "out_features": draw(st.integers(1, 9)), "bias": draw(st.booleans())},
    ]
    # 2k + 4 keeps at least 2×2 for the pool after two k×k convs (stride ≤ 2, even k shrinks)
    size = draw(st.integers(2 * kernel + 4, 16))
    return {"input": {"channels": 4, "height": size, "width": draw(st.integers(2 * kernel + 4, 16)),
                      "batch": draw(st.integers(1, 3))}, "layers": layers}


@settings(max_examples=60, deadline=None)
@given(_small_specs())
def test_random_small_networks_match_every_tool(raw: dict[str, Any]) -> None:
    analysis = analyze(parse_spec(raw))
    for tool in TOOLS:
        _assert_reproduced(tool, analysis)


# -- the data itself -------------------------------------------------------------------------------


def test_counting_units() -> None:
    analysis = _analysis("mobilenet_v3_small", 64)
    thop_flops, torch_flops = counting("thop", flops=True), counting("torch", flops=True)
    assert thop_flops.unit == "FLOPs" and thop_flops.label == "FLOPs (thop)"
    assert thop_flops.count(analysis.root) == 2 * THOP.total(analysis)
    assert torch_flops.count(analysis.root) == TORCH.total(analysis)  # already FLOPs
    assert TORCH.macs(analysis.root) == PAPER.total(analysis)
    assert Counting(PAPER).default and Counting(PAPER).label == "MACs"


# -- `convcost conventions` ------------------------------------------------------------------------


def _bn_numel(analysis: Analysis) -> int:
    return sum(math.prod(leaf.input_shape) for leaf in analysis.leaves() if leaf.label == "bn")


def test_explanation_of_mobilenet_v2() -> None:
    analysis = _analysis("mobilenet_v2")
    exp = explain(analysis)
    assert [row.name for row in exp.rows] == list(CONVENTIONS)
    pool = next(leaf for leaf in analysis.leaves() if leaf.label == "adaptive_pool")
    fvcore = exp.rows[1]
    # fvcore: + numel·2 per affine BN + numel of the global pool's input (1*1280*7*7)
    assert fvcore.gaps == {"BN": 2 * _bn_numel(analysis), "pooling": math.prod(pool.input_shape)}
    assert explanation(fvcore) == (f"fvcore = paper + {human(2 * _bn_numel(analysis))} BN + "
                                   f"{human(1280 * 7 * 7)} pooling")
    for row in exp.rows:
        assert sum(row.counts.values()) == row.total == CONVENTIONS[row.name].total(analysis)
        assert row.paper + sum(row.gaps.values()) == row.total
    assert explanation(exp.rows[-1]) == "torch = 2 × paper"
    assert exp.uncounted() == ("residual adds", "flatten/dropout")


def test_conventions_command_fits_one_screen(runner: CliRunner) -> None:
    result = runner.invoke(app, ["conventions", str(SPECS / "mobilenet_v2.yaml")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.rstrip("\n").splitlines()
    assert len(lines) <= 32
    rows = [line.split() for line in lines]
    for row in explain(_analysis("mobilenet_v2")).rows:
        assert [row.name, row.convention.unit, *human(row.total).split()] in [r[:4] for r in rows]
        if row.name != "paper":
            assert explanation(row, len("torchinfo")) in lines


def test_conventions_json_is_exact(runner: CliRunner) -> None:
    """The JSON totals are the tools' own numbers (run here for thop and ptflops)."""
    spec = SPECS / "shufflenet_v2_x1_0.yaml"
    result = runner.invoke(app, ["conventions", str(spec), "--resolution", "64", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {row["name"]: row for row in data["conventions"]}
    assert list(rows) == list(CONVENTIONS)
    analysis = _analysis("shufflenet_v2_x1_0", 64)
    for tool in ("thop", "ptflops"):
        assert rows[tool]["total"] == run_tool(tool, analysis)[0]
    for row in rows.values():
        assert row["total"] == row["paper_total"] + row["gap"] == sum(row["by_class"].values())
        assert sum(row["gap_by_class"].values()) == row["gap"]
    assert rows["torch"]["paper_total"] == 2 * rows["paper"]["total"]


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_conventions_machine_formats(runner: CliRunner, fmt: str) -> None:
    result = runner.invoke(app, ["conventions", str(SPECS / "resnet18.yaml"), "--format", fmt])
    assert result.exit_code == 0, result.output
    total = CONVENTIONS["ptflops"].total(_analysis("resnet18"))
    assert str(total) in result.stdout  # exact integers, not "1.83 G"


def test_conventions_command_without_torch(tmp_path: Path) -> None:
    proc = _run([sys.executable, "-m", "convcost", "conventions", "specs/mobilenet_v2.yaml",
                 "--format", "json"], _blocked_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["conventions"][0]["total"] == _analysis("mobilenet_v2").totals.macs


# -- --convention / --flops on model, layer and check ---------------------------------------------


def test_model_convention_is_the_tools_number(runner: CliRunner) -> None:
    spec = SPECS / "mobilenet_v3_small.yaml"
    result = runner.invoke(app, ["model", str(spec), "--resolution", "64", "--no-verify",
                                 "--convention", "thop", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    thop_macs, _ = run_tool("thop", _analysis("mobilenet_v3_small", 64))
    assert data["convention"]["total"] == thop_macs and data["convention"]["unit"] == "MACs"
    assert sum(layer["count"] for layer in data["layers"]) == thop_macs
    assert data["totals"]["macs"] == PAPER.total(_analysis("mobilenet_v3_small", 64))


def test_model_flops_doubles_macs_conventions_only(runner: CliRunner) -> None:
    spec = str(SPECS / "mobilenet_v1.yaml")
    analysis = _analysis("mobilenet_v1")
    for name, factor in (("fvcore", 2), ("torch", 1)):
        result = runner.invoke(app, ["model", spec, "--no-verify", "--convention", name, "--flops",
                                     "--format", "json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)["convention"]
        assert (data["unit"], data["total"]) == ("FLOPs", factor * CONVENTIONS[name].total(analysis))
    table = runner.invoke(app, ["model", spec, "--no-verify", "--convention", "fvcore", "--flops"])
    assert "FLOPs (fvcore)" in table.stdout and "FLOPs, fvcore convention" in table.stdout


def test_layer_convention_is_fvcores_number(runner: CliRunner) -> None:
    """``layer --convention fvcore --bn``: each variant as fvcore counts its built module."""
    from convcost.cli.parsing import layer_config as _layer_config

    args = ["--cin", "8", "--cout", "16", "--k", "3", "--hw", "12", "--bn", "--bias"]
    result = runner.invoke(app, ["layer", *args, "--convention", "fvcore", "--format", "json"])
    assert result.exit_code == 0, result.output
    counts = {row["name"]: row["count"] for row in json.loads(result.stdout)["variants"]}
    config = _layer_config(8, 16, "3", 12, None, None, "1", "auto", "1", True, True, 1, 1.0, 1.0)
    for name, node in variant_nodes(config).items():
        assert counts[name] == run_tool("fvcore", as_analysis(name, node))[0], name
    table = runner.invoke(app, ["layer", *args, "--convention", "torch"])
    assert "FLOPs (torch)" in table.stdout and "FLOPs vs standard" in table.stdout


def test_check_applies_budgets_to_the_convention(runner: CliRunner, tmp_path: Path) -> None:
    """A MACs budget between paper and thop: paper passes, thop fails; baselines stay apart."""
    analysis = _analysis("mobilenet_v2")
    thop_macs, _ = run_tool("thop", analysis)
    paper = analysis.totals.macs
    text = (SPECS / "mobilenet_v2.yaml").read_text().replace("macs: 310M", f"macs: {paper}")
    spec = tmp_path / "m.yaml"
    spec.write_text(text)
    baseline = tmp_path / "base.json"
    ok = runner.invoke(app, ["check", str(spec), "--baseline", str(baseline), "--update-baseline"])
    assert ok.exit_code == 0, ok.output
    over = runner.invoke(app, ["check", str(spec), "--convention", "thop", "--format", "json"])
    assert over.exit_code == 1
    model = json.loads(over.stdout)["models"][0]
    macs = next(m for m in model["metrics"] if m["metric"] == "macs")
    assert (macs["value"], macs["limit"], model["convention"]) == (thop_macs, paper, "thop")
    assert model["name"] == "mobilenet_v2[convention=thop]"
    models = json.loads(baseline.read_text())["models"]
    assert list(models) == ["mobilenet_v2"]  # the paper run's key only
    entry = models["mobilenet_v2"]
    assert (entry["macs"], entry["params"]) == (paper, analysis.totals.params)
    assert sum(x["macs"] for x in entry["layers"]) == paper  # per layer: the paper count
    thop_base = tmp_path / "thop.json"
    runner.invoke(app, ["check", str(spec), "--convention", "thop", "--baseline", str(thop_base),
                        "--update-baseline"])
    layers = json.loads(thop_base.read_text())["models"]["mobilenet_v2[convention=thop]"]["layers"]
    assert sum(x["macs"] for x in layers) == thop_macs  # per layer: thop's count (BN, ReLU6 too)


@pytest.mark.parametrize("command", [["model", "specs/mobilenet_v1.yaml", "--no-verify"],
                                     ["layer", "--cin", "8", "--cout", "8", "--hw", "8"],
                                     ["check", "specs/mobilenet_v1.yaml"]])
def test_unknown_convention_exits_2(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--convention", "flops"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"convcost: error: {command[0]}: Invalid value for '--convention': 'flops' is not one of "
        "'paper', 'fvcore', 'thop', 'ptflops', 'torchinfo', 'torch'.")


# -- the tool bugs in docs/conventions.md, pinned ---------------------------------------------------


def test_ptflops_counts_relu_and_pools_twice_and_defaults_to_pytorch() -> None:
    import torch
    from ptflops import get_model_complexity_info
    from torch import nn

    def macs(model: Any, batch: int = 1, **options: Any) -> int:
        with _silent():
            count, _ = get_model_complexity_info(
                model, (6, 9, 9), as_strings=False, print_per_layer_stat=False,
                input_constructor=lambda res: torch.zeros(batch, *res), **options)
        return int(count)

    patched = (torch.add, torch.mul, torch.Tensor.add, torch.Tensor.mul)
    for module in (nn.ReLU(), nn.MaxPool2d(3), nn.AdaptiveAvgPool2d(1)):
        assert macs(nn.Sequential(module)) == 2 * 6 * 9 * 9, module  # numel(in) 486, twice
    # per image (hook) + per batch (F.relu): (1 + N)·486; a conv stays per image: 6*9*9*6
    assert [macs(nn.Sequential(nn.ReLU()), n) for n in (1, 2, 4)] == [(1 + n) * 486 for n in (1, 2, 4)]
    assert macs(nn.Sequential(nn.Conv2d(6, 6, 1, bias=False)), 4) == 6 * 9 * 9 * 6
    # the README says the default backend is aten; the code (and the count) say pytorch
    default = inspect.signature(get_model_complexity_info).parameters["backend"].default
    assert str(getattr(default, "value", default)) == "pytorch"
    readme = importlib.metadata.metadata("ptflops").get_payload()  # type: ignore[attr-defined]
    assert "The default backend is `aten`." in readme
    net = nn.Sequential(nn.Conv2d(6, 6, 3, bias=True), nn.ReLU())
    assert macs(net) == macs(net, backend="pytorch") != macs(net, backend="aten")
    assert (torch.add, torch.mul, torch.Tensor.add, torch.Tensor.mul) == patched  # restored


def test_flop_counter_grouped_conv_backward() -> None:
    """FlopCounterMode's grad-weight ignores groups: a depthwise backward is (g+1)/2 too high."""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    conv = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
    x = torch.randn(2, 16, 9, 9, requires_grad=True)
    y = conv(x)
    with FlopCounterMode(display=False) as counter:
        y.sum().backward()
    forward = 2 * 2 * 16 * 9 * 9 * 1 * 3 * 3  # 2·O·(Cin/g)·K = 46,656 FLOPs
    assert counter.get_total_flops() == forward * (1 + 16)  # grad-input + 16× grad-weight
    right = 2 * forward  # grad-input + grad-weight, each the forward's count
    assert Fraction(counter.get_total_flops(), right) == Fraction(16 + 1, 2)  # (g+1)/2


def test_thop_leaves_buffers_and_drops_params() -> None:
    import thop
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(6, 8, 3, bias=False)
            self.gn = nn.GroupNorm(2, 8)
            self.scale = nn.Parameter(torch.ones(8, 1, 1))

        def forward(self, x: Any) -> Any:
            return self.gn(self.conv(x)) * self.scale

    block = Block()
    _, params = thop.profile(block, inputs=(torch.randn(2, 6, 9, 9),), verbose=False)
    assert sum(p.numel() for p in block.parameters()) == 432 + 16 + 8
    assert params == 432  # GroupNorm's 16 and the root's 8 are dropped
    assert {"total_ops", "gn.total_ops"} <= set(block.state_dict())  # left behind

    class MyConv(nn.Conv2d):
        pass

    net = nn.Sequential(MyConv(3, 4, 3), nn.Conv2d(4, 4, 1))
    macs, params = thop.profile(net, inputs=(torch.zeros(1, 3, 8, 8),), verbose=False)
    assert (macs, params) == (1 * 4 * 6 * 6 * 4, 4 * 4 + 4)  # the subclass: 0 MACs, 0 params


def test_torchinfo_linear_on_3d_input_ignores_the_sequence() -> None:
    import torch
    import torchinfo
    from torch import nn

    model, x = nn.Sequential(nn.Linear(6, 11)), torch.zeros(2, 5, 6)
    with _silent():
        from fvcore.nn import FlopCountAnalysis  # its import warns about torch.jit

        stats = torchinfo.summary(model, input_data=x, verbose=0)
        fvcore = FlopCountAnalysis(model, (x,)).total()
    assert stats.total_mult_adds == 2 * (6 * 11 + 11)  # N·params: L = 5 ignored
    assert fvcore == 2 * 5 * 6 * 11  # every position


def test_fvcore_skips_padding_same() -> None:
    analysis = analyze(parse_spec({"input": {"channels": 4, "resolution": 8}, "layers": [
        {"kind": "conv", "out_channels": 4, "padding": "same"}]}))
    with _silent():
        from fvcore.nn import FlopCountAnalysis

        counter = FlopCountAnalysis(materialised(analysis), (_input(analysis),))
        assert counter.total() == FVCORE.total(analysis) == 0
        assert dict(counter.unsupported_ops()) == {"aten::_convolution_mode": 1}
    assert PAPER.total(analysis) == 1 * 4 * 8 * 8 * 4 * 3 * 3  # 9,216: every other tool counts it


@pytest.mark.parametrize("inputs", [2, 3, 4])
def test_n_ary_add_unsupported_calls_equal_fvcore(inputs: int) -> None:
    """The fvcore convention lists as many unsupported aten::add as fvcore meets on the build."""
    from fvcore.nn import FlopCountAnalysis

    names = [f"b{i}" for i in range(inputs)]
    spec = {"name": "adds", "input": {"channels": 4, "resolution": 6},
            "layers": [*({"kind": "pwconv", "name": n, "out_channels": 4, "from": "input"}
                         for n in names), {"kind": "add", "name": "s", "from": names}]}
    analysis = analyze(parse_spec(spec))
    with _silent():
        counter = FlopCountAnalysis(materialised(analysis), (_input(analysis),))
        counter.unsupported_ops_warnings(False).total()
        real = dict(counter.unsupported_ops())
    assert real == {"aten::add": inputs - 1}  # (a + b) + c ...: n − 1 calls
    assert CONVENTIONS["fvcore"].unsupported(analysis.root) == real
