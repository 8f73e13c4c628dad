"""Receptive fields against the ground truth: the input gradient of one output pixel.

Every shipped spec is built in torch with constant weights (each conv, transposed conv and
linear averages its inputs, BN is the identity in eval mode, biases are 0), max pools swapped
for average pools of the same geometry (a max routes its gradient to one element only), and a
constant positive input of 1e-4 (every activation stays in its non-zero-gradient range: ReLU > 0, ReLU6 and
hard-sigmoid inside (-3, 6), no residual sum can grow past it). For the centre unit of every
top-level node and of the last conv, the non-zero input gradient of the sum over channels at
that unit spans exactly the analytic interval when it fits inside the input; otherwise it lies
inside the interval clipped to the input (the whole input when the field is ``whole``).
The width multiplier is 0.25 (ShuffleNet: 0.5) to keep the backward passes cheap: a field is independent of
the channel counts.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import kind_sample

import convcost
from convcost.cost.graph import Node
from convcost.cost.ops import AdaptivePool, Conv2d, Pool
from convcost.cost.ops.transpose import ConvTranspose2d
from convcost.cost.ops.upsample import Upsample
from convcost.cost.receptive import ModelRF, ReceptiveField, fits, receptive_fields
from convcost.net.analysis import Analysis
from convcost.report.model_view import frontier

SPECS = Path(__file__).resolve().parents[2] / "specs"
# the 2-D image specs (the field of a 1-D or 3-D conv net is checked per axis in
# tests/unit/test_layout.py and test_receptive.py; a ViT's tokens have no spatial field past the patch conv)
NOT_2D = {"m5_audio", "r3d_18", "vit_b_16", "mobilevit_xxs",  # MobileViT: patches fold
          "swin_t",  # Swin: windows, not a conv field (a known gap)
          "ssdlite320",  # SSDlite: the heads reshape to boxes, post-processing recorded
          "efficientformer_l1"}  # EfficientFormer: its last block runs on tokens
ALL = sorted(p.stem for p in SPECS.glob("*.yaml") if p.stem not in NOT_2D)


def averaged(node: Node) -> Node:
    """``node`` with every max pool made an average pool of the same geometry."""
    op = node.op
    if isinstance(op, Pool | AdaptivePool) and op.mode == "max":
        op = replace(op, mode="avg")
    return replace(node, op=op, children=tuple(averaged(c) for c in node.children))


def probe_model(analysis: Analysis) -> Any:
    """The built model with averaging weights, identity BN (eval mode) and identity LayerNorm.

    LayerNorm is pointwise in space, but with every channel equal (averaging weights) its
    output is 0, and so is the gradient of its sum over channels (ConvNeXt): it is skipped.
    """
    import torch
    from torch import nn

    from convcost.runtime.build import build

    model = build(analysis).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.LayerNorm):
                module.forward = lambda t: t  # type: ignore[method-assign]
            if isinstance(module, nn.Conv2d | nn.Linear | nn.ConvTranspose2d):
                # a transposed conv's weight is [Cin, Cout/g, kh, kw]: average its Cin·kh·kw
                fan_in = module.weight[:, 0].numel() if isinstance(
                    module, nn.ConvTranspose2d) else module.weight[0].numel()
                module.weight.fill_(1 / fan_in)
                if module.bias is not None:
                    module.bias.zero_()
    return model


def extent(grad: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """First and last row, first and last column of the non-zero entries of ``grad``."""
    rows = grad.abs().sum(dim=(0, 1, 3)).nonzero().flatten()
    cols = grad.abs().sum(dim=(0, 1, 2)).nonzero().flatten()
    return (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))


def expected(rf: ReceptiveField, unit: tuple[int, int], x: tuple[int, ...]) -> tuple[Any, Any]:
    """The analytic interval of ``unit`` per axis, clipped to the input."""
    if rf.whole:
        return (0, x[2] - 1), (0, x[3] - 1)
    out = []
    for axis, u, size in ((rf.h, unit[0], x[2]), (rf.w, unit[1], x[3])):
        lo, hi = axis.interval(u)
        out.append((max(lo, 0), min(hi, size - 1)))
    return out[0], out[1]


def centre(node: Node) -> tuple[int, int]:
    return (node.output_shape[2] // 2, node.output_shape[3] // 2)


def probes(analysis: Analysis, rfs: ModelRF) -> list[Node]:
    """Top-level nodes whose centre unit's field fits, the first that does not, the first
    whole one, and the last conv (the backward passes are the cost of this test)."""
    chosen, seen = [], set()
    for _, node in frontier(analysis.root, 1):
        if len(node.output_shape) < 4:
            continue
        rf = rfs.of(node)
        case = "whole" if rf.whole else "fits" if fits(rf, analysis.input_shape, centre(node)) else "out"
        if case == "fits" or case not in seen:
            chosen.append(node)
        seen.add(case)
    last_conv = next(n for n in reversed(analysis.leaves()) if isinstance(n.op, Conv2d))
    return [*chosen, last_conv]


def measure(analysis: Analysis, rfs: ModelRF,
            nodes: list[Node] | None = None) -> list[tuple[str, bool, Any, Any]]:
    """(node, fits, measured extent, analytic clipped interval) at each probe's centre unit."""
    import torch

    model = probe_model(analysis)
    modules = dict(model.named_modules())
    outputs: dict[str, Any] = {}
    nodes = probes(analysis, rfs) if nodes is None else nodes
    for node in nodes:
        modules[node.name].register_forward_hook(
            lambda _m, _i, out, name=node.name: outputs.__setitem__(name, out))
    x = torch.full(analysis.input_shape, 1e-4, requires_grad=True)
    model(x)
    rows = []
    for node in nodes:
        out = outputs[node.name]
        unit = centre(node)
        (grad,) = torch.autograd.grad(out[0, :, unit[0], unit[1]].sum(), x, retain_graph=True)
        rf = rfs.of(node)
        rows.append((node.name, fits(rf, analysis.input_shape, unit), extent(grad),
                     expected(rf, unit, analysis.input_shape)))
    return rows


# the segmentation nets and the deepest graphs at a smaller input, to keep their backward
# passes cheap
RESOLUTION = {"unet": 64, "deeplabv3_mobilenet_v3_large": 64, "densenet121": 112,
              "convnext_tiny": 112}


def _averaged(spec: str) -> Analysis:
    alpha = 0.5 if spec.startswith("shufflenet") else 0.25  # its units need even widths
    analysis = convcost.analyze(convcost.load_spec(SPECS / f"{spec}.yaml"), alpha=alpha,
                                resolution=RESOLUTION.get(spec))
    return replace(analysis, root=averaged(analysis.root))


def resampled(analysis: Analysis) -> set[str]:
    """The nodes from the first transposed conv or upsample on: which input pixels a unit
    reads then depends on its phase, and the analytic field bounds them (see
    test_fractional_jumps_bound_the_gradient)."""
    names: set[str] = set()
    for _, node in analysis.root.walk():
        if names or isinstance(node.op, ConvTranspose2d | Upsample):
            names.add(node.name)
    return names


# make test: the 2-D specs that together hold every layer kind; make test-all: all of them
@pytest.mark.parametrize("spec", kind_sample(ALL))
def test_gradient_extent_matches_the_analytic_field(spec: str) -> None:
    analysis = _averaged(spec)
    rows = measure(analysis, receptive_fields(analysis.root))
    bounded = resampled(analysis)
    for name, inside, got, want in rows:
        if inside and name not in bounded:
            assert got == want, name
        else:  # the padding hides the rest; what is seen lies inside the clipped interval
            for (g_lo, g_hi), (w_lo, w_hi) in zip(got, want, strict=True):
                assert w_lo <= g_lo and g_hi <= w_hi, name
    assert any(inside for _, inside, _, _ in rows)  # at least one exact comparison per spec


def test_mobilenet_v1_fits_at_stage4() -> None:
    analysis = _averaged("mobilenet_v1")
    rows = {name: (inside, got) for name, inside, got, _ in
            measure(analysis, receptive_fields(analysis.root))}
    # stage4.5 ends at r = 219, j = 16, padding 109: centre unit 7 of 14 sees
    # 7·16 - 109 = 3 .. 7·16 + 109 = 221, inside 0..223
    assert rows["stage4.5"] == (True, ((3, 221), (3, 221)))
    # the last conv, stage5.1 (r = 315), does not fit: it sees the whole 224×224 input
    assert rows["stage5.1.pw.conv"] == (False, ((0, 223), (0, 223)))


def test_fractional_jumps_bound_the_gradient(tmp_path: Path) -> None:
    """Through a transposed conv and an upsample the field is a continuous interval: the pixels
    a unit really reads depend on its phase, and lie inside it."""
    from helpers import DECODER  # hand-computed in tests/unit/test_receptive.py

    spec = tmp_path / "decoder.yaml"
    spec.write_text(DECODER, encoding="utf-8")
    analysis = convcost.analyze(convcost.load_spec(spec))
    rows = measure(analysis, receptive_fields(analysis.root), analysis.leaves())
    by_name = {name: (got, want) for name, _, got, want in rows}
    # the integer prefix is exact: down2's centre unit 4 sees 4·4 - 3 = 13 .. 4·4 + 3 = 19
    assert by_name["down2"] == (((13, 19), (13, 19)), ((13, 19), (13, 19)))
    for name, (got, want) in by_name.items():
        for (g_lo, g_hi), (w_lo, w_hi) in zip(got, want, strict=True):
            assert w_lo <= g_lo and g_hi <= w_hi, name
    # head's centre unit 16: analytic [16 - 3/2 - 7, 16 - 3/2 + 7] = [15/2, 43/2]; it reads 9..19
    assert by_name["head"][0] == ((9, 19), (9, 19))
