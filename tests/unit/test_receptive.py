"""Receptive fields: hand-computed windows and chains, merges, and MobileNet V1 end to end.

Each chain starts from one input pixel (size 1, jump 1, centre 0) and applies, per window of
span K = d·(k-1)+1, stride s and left padding p (all in the window's input units):
r' = r + (K-1)·j, j' = j·s, c' = c + ((K-1)/2 - p)·j; effective padding = (r-1)/2 - c.
"""

from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import pytest
from helpers import DECODER, every_spec

import convcost
from convcost.cost.ops import AdaptivePool, Conv2d, Flatten, Pool
from convcost.cost.receptive import ReceptiveField, fits, leaf_rf, merge, receptive_fields
from convcost.cost.window import (
    Axis,
    Window,
    adaptive_window,
    conv_window,
    transposed_window,
    upsample_window,
)

SPECS = Path(__file__).resolve().parents[2] / "specs"


def chain(*windows: Window) -> Axis:
    axis = Axis()
    for window in windows:
        axis = window.apply(axis)
    return axis


# (case, windows, size, jump, centre of unit 0, effective padding)
CHAINS = [
    # conv 3, s1, p1: r = 1 + 2·1 = 3; c = 0 + (1 - 1)·1 = 0; pad = 1 - 0 = 1
    ("conv3", [conv_window(3, 1, 1)], 3, 1, 0, 1),
    # conv 3, s1, p0: r = 3; c = 0 + (1 - 0) = 1 (valid conv: unit 0 is centred on pixel 1)
    ("conv3 valid", [conv_window(3)], 3, 1, 1, 0),
    # dilated conv k3 d2 p2: span 2·2+1 = 5: r = 5; c = 0 + (2 - 2) = 0; pad = 2
    ("dilated k3 d2", [conv_window(3, 1, 2, 2)], 5, 1, 0, 2),
    # dilated k3 d4 p0: span 9: r = 9, c = 4, pad 0
    ("dilated k3 d4 valid", [conv_window(3, 1, 0, 4)], 9, 1, 4, 0),
    # pool 2, s2: r = 2, j = 2, c = 1/2 (between pixels 0 and 1), pad = 1/2 - 1/2 = 0
    ("pool2 s2", [conv_window(2, 2)], 2, 2, F(1, 2), 0),
    # two valid 3×3 s2: r = 3, j = 2, c = 1; then r = 3 + 2·2 = 7, j = 4, c = 1 + 1·2 = 3, pad 0
    ("stride chain s2 s2", [conv_window(3, 2), conv_window(3, 2)], 7, 4, 3, 0),
    # ResNet stem conv 7 s2 p3: r = 7, j = 2, c = 0; maxpool 3 s2 p1: r = 7 + 2·2 = 11, j = 4,
    # c = 0 + (1 - 1)·2 = 0; pad = (11 - 1)/2 = 5
    ("resnet stem", [conv_window(7, 2, 3), conv_window(3, 2, 1)], 11, 4, 0, 5),
    # VGG block: conv3 p1, conv3 p1, pool2 s2: r = 3, 5, then 5 + 1·1 = 6; j = 2;
    # c = 0, 0, then 0 + 1/2 = 1/2; pad = 5/2 - 1/2 = 2
    ("vgg block", [conv_window(3, 1, 1), conv_window(3, 1, 1), conv_window(2, 2)], 6, 2, F(1, 2), 2),
    # stride then dilation: conv3 s2 p1 (r 3, j 2, c 0), then k3 d2 p2 (span 5):
    # r = 3 + 4·2 = 11, j = 2, c = 0 + (2 - 2)·2 = 0, pad 5
    ("stride then dilated", [conv_window(3, 2, 1), conv_window(3, 1, 2, 2)], 11, 2, 0, 5),
    # transposed conv k4 s2 p1: output o sees inputs i with 2i = o + 1 - t, t in 0..3, so unit 0
    # spans the continuous [(1-3)/2, 1/2] = [-1, 1/2]: r = 3/2 + 1 = 5/2, j = 1/2, c = -1/4
    ("conv_transpose k4 s2 p1", [transposed_window(4, 2, 1)], F(5, 2), F(1, 2), F(-1, 4), F(1, 1)),
    # upsample ×2 nearest: pixel centre of output 0 is (0 + 1/2)/2 - 1/2 = -1/4; r = 1, j = 1/2
    ("upsample x2", [upsample_window(2)], 1, F(1, 2), F(-1, 4), F(1, 4)),
    # conv3 s2 p1 then upsample ×2 then conv3 p1 (a tiny encoder-decoder):
    # r = 3, j = 2, c = 0; upsample: r = 3, j = 1, c = 0 + (0 - 1/4)·2 = -1/2;
    # conv3 p1: r = 3 + 2·1 = 5, j = 1, c = -1/2; pad = 2 + 1/2 = 5/2
    ("down-up", [conv_window(3, 2, 1), upsample_window(2), conv_window(3, 1, 1)], 5, 1, F(-1, 2), F(5, 2)),
    # bilinear ×2 (two taps): r = 1 + 1·1 = 2, j = 1/2, c = 0 + (1/2 - 1/4) = 1/4
    ("upsample x2 bilinear", [upsample_window(2, "bilinear")], 2, F(1, 2), F(1, 4), F(1, 4)),
    # bicubic ×2 (four taps, one more each side): r = 1 + 3·1 = 4, j = 1/2, the same centre
    # c = 1/4; pad = 3/2 - 1/4 = 5/4
    ("upsample x2 bicubic", [upsample_window(2, "bicubic")], 4, F(1, 2), F(1, 4), F(5, 4)),
]


@pytest.mark.parametrize(("case", "windows", "size", "jump", "centre", "padding"), CHAINS,
                         ids=[c[0] for c in CHAINS])
def test_chains(case: str, windows: list[Window], size: F, jump: F, centre: F, padding: F) -> None:
    axis = chain(*windows)
    assert (axis.size, axis.jump, axis.start, axis.padding) == (size, jump, centre, padding)


def test_adaptive_window_is_torch_windows() -> None:
    # size 7 -> 3: windows [0, 3), [2, 5), [4, 7): widest 3, stride 7/3
    assert adaptive_window(7, 3) == Window(F(3), F(7, 3), F(0))
    # size 8 -> 2: [0, 4), [4, 8): span 4, stride 4 (an ordinary pool)
    assert adaptive_window(8, 2) == Window(F(4), F(4), F(0))


def test_ops_non_square_and_global() -> None:
    rf = ReceptiveField()
    # conv k 1×7, pad 0×3: h unchanged (r 1), w r = 7
    rf = leaf_rf(Conv2d(8, 8, (1, 7), padding=(0, 3)), (1, 8, 10, 10), rf)
    assert rf.size == (1, 7) and rf.padding == (0, 3)
    # 'same' pads d(k-1) = 3 in total, 3 // 2 = 1 on the left: c = 0 + (3/2 - 1) = 1/2
    same = leaf_rf(Conv2d(8, 8, (4, 4), padding="same"), (1, 8, 10, 10), ReceptiveField())
    assert same.size == (4, 4) and same.start == (F(1, 2), F(1, 2))
    # max pool 3 s2 p1 after it: r = 7 + 2·1 = 9 on w, j = 2
    rf = leaf_rf(Pool("max", (3, 3), (2, 2), (1, 1)), (1, 8, 10, 10), rf)
    assert rf.size == (3, 9) and rf.jump == (2, 2)
    # global pool over a 5×5 map of jump 2: r = r + (5 - 1)·2 = +8 on each axis; whole;
    # the jump stays 2 (one unit left: a broadcast gate must not change its map's jump)
    pooled = leaf_rf(AdaptivePool("avg", (1, 1)), (1, 8, 5, 5), rf)
    assert pooled.size == (11, 17) and pooled.whole and pooled.jump == (2, 2)
    # flatten of a 5×5 map: whole too; of a 1×1 map: unchanged
    assert leaf_rf(Flatten(), (1, 8, 5, 5), rf).whole
    assert leaf_rf(Flatten(), (1, 8, 1, 1), pooled) == pooled


def test_merges_take_the_union() -> None:
    conv3 = Axis(F(3), F(2), F(0))  # 3×3 s2 p1 on the input
    skip = Axis(F(1), F(2), F(0))  # ResNet's 1×1 s2 downsample
    shifted = Axis(F(3), F(2), F(1))  # a valid 3×3 s2: centred on pixel 1
    merged = merge([ReceptiveField((conv3, conv3)), ReceptiveField((skip, skip))])
    assert merged.size == (3, 3) and merged.start == (0, 0)  # max(3, 1); same centre
    # [-1, 1] ∪ [0, 2] = [-1, 2]: size 4, centre 1/2 (more than the max when centres differ)
    union = merge([ReceptiveField((conv3, conv3)), ReceptiveField((shifted, shifted))])
    assert union.size == (4, 4) and union.start == (F(1, 2), F(1, 2))
    # a whole (broadcast) gate makes the merge whole but keeps the map's jump
    gate = ReceptiveField((Axis(F(9), F(2), F(3)), Axis(F(9), F(2), F(3))), whole=True)
    gated = merge([ReceptiveField((conv3, conv3)), gate])
    assert gated.whole and gated.jump == (2, 2) and gated.size == (9, 9)


def test_mobilenet_v1_last_conv() -> None:
    analysis = convcost.analyze(convcost.load_spec(SPECS / "mobilenet_v1.yaml"))
    rfs = receptive_fields(analysis.root)
    last = next(n for n in reversed(analysis.leaves()) if isinstance(n.op, Conv2d))
    assert last.name == "stage5.1.pw.conv"
    rf = rfs.of(last)
    # 3×3 convs, pad 1, strides: stem 2; dw 1, 2, 1, 2, 1, 2, 1×5, 2, 1 (1×1 convs add nothing)
    # r = 1 + 2·1 (stem, j→2) + 2·2 (s1) + 2·2 (s2, j→4) + 2·4 + 2·4 (j→8) + 2·8
    #     + 2·8 (j→16) + 5·2·16 + 2·16 (j→32) + 2·32 = 315
    # padding = Σ p·(jump before) = 1 + 2 + 2 + 4 + 4 + 8 + 8 + 5·16 + 16 + 32 = 157 = (315-1)/2
    assert rf.size == (315, 315) and rf.jump == (32, 32) and rf.padding == (157, 157)
    assert rf.start == (0, 0) and not rf.whole
    assert rfs.output.whole  # the global pool and fc see everything
    # 315 > 224: not even the centre unit 3 of the 7×7 map fits; 32·3 - 157 = -61 < 0
    assert not fits(rf, analysis.input_shape, (3, 3))


@pytest.mark.parametrize("spec", every_spec(sorted(p.stem for p in SPECS.glob("*.yaml"))))
def test_every_node_has_a_field(spec: str) -> None:
    analysis = convcost.analyze(convcost.load_spec(SPECS / f"{spec}.yaml"))
    rfs = receptive_fields(analysis.root)
    kernels = {tuple(getattr(leaf.op, "kernel", (1, 1))) for leaf in analysis.leaves()}
    square = all(len(set(kernel)) == 1 for kernel in kernels)
    for level, node in analysis.root.walk():
        rf = rfs.of(node)
        # cubic inputs and kernels: equal fields on every axis; Inception v3's 1×7 and 7×1
        # convs give rectangular ones inside its blocks (each block's output is square again),
        # r3d_18's 3×7×7 stem a field deeper in time than in space
        assert len(set(rf.axes)) == 1 or (not square and level > 1), node.name
        assert all(axis.size >= 1 and axis.jump > 0 for axis in rf.axes)
    # a block's field is its last child's output field
    for _, node in analysis.root.walk():
        if node.children:
            merge_or_last = node.children[-1]
            assert rfs.of(node) == rfs.of(merge_or_last)


def test_model_json_always_has_fields_and_rf_adds_columns() -> None:
    import json

    from typer.testing import CliRunner

    from convcost.cli.app import app

    v1 = str(SPECS / "mobilenet_v1.yaml")
    runner = CliRunner()
    data = json.loads(runner.invoke(app, ["model", v1, "--no-verify", "-f", "json"]).stdout)
    by_name = {layer["name"]: layer["receptive_field"] for layer in data["layers"]}
    # the MobileNet V1 figures above, as JSON: [h, w] pairs
    assert by_name["stage5.1.pw.conv"] == {"size": [315, 315], "jump": [32, 32],
                                           "padding": [157, 157], "whole": False}
    assert data["receptive_field"]["whole"] and by_name["fc"]["whole"]
    csv = runner.invoke(app, ["model", v1, "--no-verify", "--rf", "-f", "csv"]).stdout
    header, stem = csv.splitlines()[:2]
    assert header.endswith("rf_size_h,rf_size_w,rf_jump_h,rf_jump_w,rf_padding_h,rf_padding_w")
    assert stem.endswith(",3,3,2,2,1,1")  # 3×3 s2 p1 stem
    table = runner.invoke(app, ["model", v1, "--no-verify", "--rf", "--depth", "1",
                                "--memory"]).stdout
    assert "RF pad" in table and "mem access" in table  # --rf keeps its table beside --memory
    row = [line for line in table.splitlines() if line.strip().startswith("stage5.1 ")][-1]
    assert row.split()[-3:] == ["315", "32", "157"]




def test_decoder_through_the_registry(tmp_path: Path) -> None:
    spec = tmp_path / "decoder.yaml"
    spec.write_text(DECODER, encoding="utf-8")
    analysis = convcost.analyze(convcost.load_spec(spec))
    rfs = receptive_fields(analysis.root)
    got = {n.name: (rfs.of(n).h.size, rfs.of(n).h.jump, rfs.of(n).h.start) for n in analysis.leaves()}
    assert got == {
        "down": (3, 2, 0),  # 3×3 s2 p1: r 3, j 2, c 0
        "down2": (7, 4, 0),  # r = 3 + 2·2 = 7, j 4
        # conv_transpose k4 s2 p1, window span 3/2 + 1, stride 1/2, pad (3 - 1)/2 = 1:
        # r = 7 + (3/2)·4 = 13, j = 4/2 = 2, c = 0 + (3/4 - 1)·4 = -1
        "up": (13, 2, -1),
        # nearest ×2, span 1, stride 1/2, pad 1/4: r 13, j 1, c = -1 + (0 - 1/4)·2 = -3/2
        "up2": (13, 1, F(-3, 2)),
        # 3×3 p1: r = 13 + 2·1 = 15; effective padding (15 - 1)/2 + 3/2 = 17/2
        "head": (15, 1, F(-3, 2)),
    }
    assert rfs.output.padding == (F(17, 2), F(17, 2))
