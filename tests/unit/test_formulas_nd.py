"""The kinds over 1 or 3 spatial axes: shape, params and MACs, the arithmetic in a comment."""

from __future__ import annotations

import pytest

from convcost.cost.ops.conv_nd import Conv1d, Conv3d, ConvTranspose1d, ConvTranspose3d
from convcost.cost.ops.norm import BatchNorm
from convcost.cost.ops.pool_nd import AdaptivePool1d, AdaptivePool3d, Pool1d, Pool3d
from convcost.cost.registry import cost
from convcost.cost.value import Shape
from convcost.errors import ShapeError

CASES = {
    # r3d_18's stem: [1, 3, 16, 112, 112] -> Do = (16+2-3)//1+1 = 16, Ho = (112+6-7)//2+1 = 56
    "conv3d stem": (Conv3d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), (1, 1, 1)),
                    (1, 3, 16, 112, 112), (1, 64, 16, 56, 56),
                    28_224,  # 64*3*3*7*7
                    1_416_167_424),  # 1*64*16*56*56 * 3*3*7*7
    "conv3d downsample": (Conv3d(64, 128, (1, 1, 1), (2, 2, 2), (0, 0, 0), (1, 1, 1), bias=True),
                          (2, 64, 16, 56, 56), (2, 128, 8, 28, 28),
                          8_320,  # 128*64 + 128 bias; Do = (16-1)//2+1 = 8
                          102_760_448),  # 2*128*8*28*28 * 64
    "conv3d same grouped": (Conv3d(12, 6, (3, 3, 3), (1, 1, 1), "same", (1, 2, 1), groups=3),
                            (1, 12, 5, 9, 7), (1, 6, 5, 9, 7),
                            648,  # 6*(12/3)*27
                            204_120),  # 1*6*5*9*7 * 4*27
    "conv_transpose3d": (ConvTranspose3d(8, 4, (1, 2, 2), (1, 2, 2), (0, 0, 0), (0, 0, 0),
                                         (1, 1, 1), bias=True),
                         (1, 8, 4, 7, 7), (1, 4, 4, 14, 14),  # Ho = (7-1)*2 + (2-1) + 1 = 14
                         132,  # 8*(4/1)*1*2*2 + 4 bias
                         25_088),  # 1*4*7*7 * 8 * 4*4 (each input meets Cout·∏k taps)
    # M5's first conv: [1, 1, 8000] -> Lo = (8000 - 80) // 4 + 1 = 1981
    "conv1d stride 4": (Conv1d(1, 128, (80,), (4,), (0,), (1,), bias=True), (1, 1, 8000),
                        (1, 128, 1981),
                        10_368,  # 128*1*80 + 128 bias
                        20_285_440),  # 1*128*1981 * 1*80
    "conv1d ECA gate": (Conv1d(1, 1, (5,), (1,), (2,), (1,)), (2, 1, 256), (2, 1, 256),
                        5,  # 1*1*5
                        2_560),  # 2*1*256 * 5: over the channels of a pooled map
    "conv_transpose1d": (ConvTranspose1d(4, 2, (3,), (2,), (1,), (1,), (1,)), (1, 4, 10),
                         (1, 2, 20),  # (10-1)*2 - 2 + 2 + 1 + 1 = 20
                         24,  # 4*2*3
                         240),  # 1*10 * 4 * 2*3
    "bn3d": (BatchNorm(64), (1, 64, 16, 56, 56), (1, 64, 16, 56, 56), 128, 0),  # 2*64
    "bn over a 1-D signal": (BatchNorm(32), (1, 32, 8000), (1, 32, 8000), 64, 0),  # 2*32
    "max_pool3d ceil": (Pool3d("max", (3, 3, 3), (2, 2, 2), (1, 1, 1), True),
                        (1, 4, 7, 22, 19), (1, 4, 4, 12, 10),  # (7+2-3+1)//2+1 = 4; (22+2-3+1)//2+1 = 12
                        0, 0),
    "avg_pool3d": (Pool3d("avg", (1, 2, 2), (1, 2, 2), (0, 0, 0)), (1, 4, 8, 9, 9),
                   (1, 4, 8, 4, 4), 0, 0),  # (9-2)//2+1 = 4
    "max_pool1d": (Pool1d("max", (4,), (4,), (0,)), (1, 128, 1981), (1, 128, 495), 0, 0),  # 1981//4
    "adaptive_pool1d": (AdaptivePool1d("avg", (3,)), (1, 8, 10), (1, 8, 3), 0, 0),
    "adaptive_pool3d global": (AdaptivePool3d("avg", (1, 1, 1)), (1, 512, 2, 7, 7),
                               (1, 512, 1, 1, 1), 0, 0),
}


@pytest.mark.parametrize(("op", "x", "shape", "params", "macs"), list(CASES.values()), ids=list(CASES))
def test_cost(op: object, x: Shape, shape: Shape, params: int, macs: int) -> None:
    result = cost(op, x)  # type: ignore[arg-type]
    assert (result.output_shape, result.params, result.macs) == (shape, params, macs)


@pytest.mark.parametrize(("op", "x", "message"), [
    (Conv3d(3, 8, (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)), (1, 3, 32, 32),
     r"conv3d needs a \[N, C, D, H, W\] input \(NCDHW\), got \[1, 3, 32, 32\] \(NCHW\)"),
    (Conv3d(3, 8, (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1)), (1, 4, 8, 8, 8),
     "conv3d expects 3 input channels, got 4"),
    (Conv3d(3, 8, (3, 3, 3), (2, 1, 1), "same", (1, 1, 1)), (1, 3, 8, 8, 8),
     "'same' needs stride 1"),
    (Pool3d("max", (2, 2, 2), (2, 2, 2), (0, 0, 0)), (1, 3, 8, 8),
     r"pool3d needs a \[N, C, D, H, W\] input \(NCDHW\)"),
])
def test_shape_errors_name_the_layout(op: object, x: Shape, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        cost(op, x)  # type: ignore[arg-type]


def _video_swin(**attention: object) -> dict[str, object]:
    return {"input": {"shape": [1, 3, 5, 5, 16], "layout": "NDHWC"}, "layers": [
        {"kind": "shifted_window_attention", "heads": 2, **attention}, {"kind": "patch_merge"}]}


def test_a_spec_writes_swin3d_windows_per_axis() -> None:
    """window [4, 2, 2] on a 3×5×5 map of 16 channels: the depth narrows to 3 frames (window
    12 tokens), H and W pad to 6: T = 3·6·6 = 108; params 4·16² + 4·16 + 7·3·3·2 = 1,214; MACs
    108·4·16² + 2·108·12·16 = 110,592 + 41,472; patch merging [1, 3, 5, 5, 16] -> [1, 3, 3, 3, 64]"""
    from convcost.net.analysis import analyze
    from convcost.spec.loader import parse_spec

    analysis = analyze(parse_spec(_video_swin(window=[4, 2, 2], shift=[2, 1, 1])))
    assert (analysis.totals.params, analysis.totals.macs) == (1_214, 152_064)
    assert analysis.root.output_shape == (1, 3, 3, 3, 64)
    same = analyze(parse_spec(_video_swin(window=2)))  # one size for every axis: 2×2×2 windows
    assert same.totals.params == 4 * 16 ** 2 + 4 * 16 + 3 * 3 * 3 * 2  # 1,142


def test_a_swin3d_window_of_two_sizes_names_its_field() -> None:
    from convcost.errors import SpecError
    from convcost.net.analysis import analyze
    from convcost.spec.loader import parse_spec

    with pytest.raises(SpecError, match=r"layers\[0\]\.window: must be an integer or a list of 3"):
        analyze(parse_spec(_video_swin(window=[2, 2])))
