"""Receptive fields against torchscan (a peer tool): where it agrees, and where and why not.

torchscan (0.2.0) reports, per module call, a *local* triple (receptive field, effective
stride, effective padding): the kernel span, stride and padding of that module alone. It
has no network-level field: accumulating its triples in module-call order is all a
module-hook crawler can do without the graph. docs/receptive-field.md explains the
differences this test pins down.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from helpers import kind_sample

import convcost
from convcost.cost.ops import Conv2d, Pool
from convcost.cost.receptive import receptive_fields
from convcost.cost.registry import op_kind

torchscan = pytest.importorskip("torchscan")

SPECS = Path(__file__).resolve().parents[2] / "specs"
# the 2-D image specs (the field of a 1-D or 3-D conv net is checked per axis in
# tests/unit/test_layout.py and test_receptive.py; a ViT's tokens have no spatial field past the patch conv)
NOT_2D = {"m5_audio", "r3d_18", "vit_b_16", "mobilevit_xxs",  # MobileViT: patches fold
          "swin_t",  # Swin: windows, not a conv field (a known gap)
          "ssdlite320",  # SSDlite: the heads reshape to boxes, post-processing recorded
          "efficientformer_l1"}  # EfficientFormer: its last block runs on tokens
ALL = sorted(p.stem for p in SPECS.glob("*.yaml") if p.stem not in NOT_2D)
# make test: the 2-D specs that together hold every layer kind; make test-all: all of them
SAMPLE = kind_sample(ALL)


# the segmentation nets at smaller inputs, to keep torchscan's crawl cheap; Inception v3 at its
# smallest (75, as torchvision's): windows do not depend on the input size
RESOLUTION = {"deeplabv3_mobilenet_v3_large": 128, "unet": 64, "inception_v3": 75}


@cache
def torchscan_layers(spec: str) -> tuple[Any, list[tuple[str, tuple[float, float, float]]]]:
    """The analysis at α = 0.5 (and RESOLUTION) and torchscan's (rf, stride, padding) per
    module, in call order."""
    from convcost.runtime.build import build

    analysis = convcost.analyze(convcost.load_spec(SPECS / f"{spec}.yaml"), alpha=0.5,
                                resolution=RESOLUTION.get(spec))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # modules it does not know (add, scale, concat, shuffle)
        report = torchscan.crawl_module(build(analysis), tuple(analysis.input_shape[1:]))
    rows = []
    for layer in report["layers"]:
        metrics = layer["metrics"]
        if "receptive_field" in metrics and metrics["receptive_field"]["status"] == "complete":
            rows.append((layer["path"], tuple(metrics[k]["value"] for k in (
                "receptive_field", "effective_stride", "effective_padding"))))
    return analysis, rows


def accumulate(triples: list[tuple[float, float, float]]) -> tuple[Fraction, Fraction]:
    """Size and jump of a plain chain of the triples: r += (k-1)·j, j *= s."""
    size, jump = Fraction(1), Fraction(1)
    for k, s, _ in triples:
        size += (Fraction(k) - 1) * jump
        jump *= Fraction(s)
    return size, jump


@pytest.mark.parametrize("spec", SAMPLE)
def test_local_triples_equal_our_windows(spec: str) -> None:
    analysis, rows = torchscan_layers(spec)
    theirs = dict(rows)
    for leaf in analysis.leaves():
        if isinstance(leaf.op, Pool) and leaf.op.functional:
            # F.max_pool2d / F.avg_pool2d in forward: a module crawler sees no pool there
            assert leaf.name not in theirs, leaf.name
        elif isinstance(leaf.op, Conv2d | Pool):
            declared = op_kind(leaf.op).window
            assert declared is not None
            windows = declared(leaf.op, leaf.input_shape)
            assert windows is not None
            window = windows[0]
            assert theirs[leaf.name] == (window.span, window.stride, window.pad), leaf.name


# spec -> does the chain of torchscan's triples up to the last conv give our size and jump?
AGREES = {
    "mobilenet_block": True, "standard_cnn": True, "vgg16": True, "mobilenet_v1": True,
    "mobilenet_v2": True,  # identity shortcuts: the main path is the larger field
    "resnet18": False, "resnet50": False,  # the 1×1 s2 downsample is chained before the main path
    "shufflenet_v2_x1_0": False,  # so is the stride-2 side branch of every downsampling unit
    "mobilenet_v3_small": False, "mobilenet_v3_large": False,  # SE: a global pool in the chain
    "efficientnet_b0": False,
    "squeezenet1_1": True,  # the 1×1 and 3×3 expand branches: the 3×3 is the larger field
    "efficientnet_v2_s": False,  # SE
    "regnet_y_400mf": False,  # the stride-2 downsample is chained before the main path, and SE
    "convnext_tiny": True,  # identity shortcuts around each block: the main path is the larger field
    "densenet121": True,  # each dense layer's input skips it by the concat: the chain is the longest path
    "googlenet": False,  # an Inception module's four branches are chained one after another
    "inception_v3": False,  # the same, and its functional pools are not seen at all
    "deeplabv3_mobilenet_v3_large": False,  # SE and ASPP's pooling branch: global pools chained
    "unet": False,  # torchscan's transposed-conv triple has a negative size (rf = -k, below)
}


@pytest.mark.parametrize("spec", SAMPLE)
def test_chained_triples_agree_only_on_chains(spec: str) -> None:
    analysis, rows = torchscan_layers(spec)
    last = next(n for n in reversed(analysis.leaves()) if isinstance(n.op, Conv2d))
    names = [name for name, _ in rows]
    chained = accumulate([t for _, t in rows[:names.index(last.name) + 1]])
    ours = receptive_fields(analysis.root).of(last)
    assert (chained == (ours.h.size, ours.h.jump)) == AGREES[spec], (spec, chained, ours.h)


def test_adaptive_pool_and_transposed_conv_triples() -> None:
    """The two formulas of torchscan 0.2.0 that differ from ours, on torch modules directly."""
    import torch
    from torch import nn
    from torchscan.modules import module_rf

    x = torch.zeros(1, 8, 7, 7)
    pool = nn.AdaptiveAvgPool2d(1)
    # kernel = stride = ceil(7/1) = 7, padding = (7 - 7·7)/2 = -21; ours: span 7, pad 0, whole
    assert module_rf(pool, x, pool(x)) == (7, 7, -21.0)
    up = nn.ConvTranspose2d(8, 8, 4, 2, 1)
    # rf = -k (a negative size), stride 1/s, padding 0; ours: span 3/2 + 1 = 5/2, pad 1
    assert module_rf(up, x, up(x)) == (-4, 0.5, 0.0)
