"""Issue 12 item 5: options on the built-in composites (dilation, se, expand: always) and the
fused_mbconv kind: params, MACs and shapes, with the arithmetic next to each figure."""

from __future__ import annotations

from typing import Any

import pytest

from convcost.cost.ops import Conv2d
from convcost.net.analysis import Analysis, analyze
from convcost.spec.loader import parse_spec

SE_INPUT = {"reduction": 4, "base": "input", "divisor": None, "gate": "sigmoid"}


def _analysis(layer: dict[str, Any], channels: int = 8, res: int = 16) -> Analysis:
    return analyze(parse_spec({"input": {"channels": channels, "resolution": res},
                               "layers": [layer]}))


# (case, layer on a 1×C×16×16 input, C, output shape, params, MACs, node names)
CASES: list[tuple[str, dict[str, Any], int, tuple[int, ...], int, int, tuple[str, ...]]] = [
    ("inverted_residual dilation 2",
     {"kind": "inverted_residual", "out_channels": 8, "expand_ratio": 2, "dilation": 2}, 8,
     (1, 8, 16, 16),  # padding auto = 2 keeps 16×16
     160 + 176 + 144,  # expand 8·16 + bn 32; dw 16·9 + bn 32; project 16·8 + bn 16
     256 * (128 + 144 + 128),  # 102,400
     ("expand", "dw", "project", "add")),
    ("inverted_residual expand always at ratio 1",
     {"kind": "inverted_residual", "out_channels": 8, "expand_ratio": 1, "expand": "always"}, 8,
     (1, 8, 16, 16), 80 + 88 + 80,  # expand 64 + 16; dw 72 + 16; project 64 + 16 = 248
     256 * (64 + 72 + 64),  # 51,200
     ("expand", "dw", "project", "add")),
    ("inverted_residual ratio 1 without expand (unchanged)",
     {"kind": "inverted_residual", "out_channels": 8, "expand_ratio": 1}, 8,
     (1, 8, 16, 16), 88 + 80, 256 * (72 + 64),  # 168 params, 34,816 MACs
     ("dw", "project", "add")),
    ("fused_mbconv ratio 4, stride 1, in = out",
     {"kind": "fused_mbconv", "out_channels": 8, "expand_ratio": 4}, 8,
     (1, 8, 16, 16), 2368 + 272,  # expand 32·8·9 + bn 64; project 32·8 + bn 16 = 2,640
     256 * (2304 + 256),  # 655,360
     ("expand", "project", "add")),
    ("fused_mbconv ratio 1: one conv, residual",
     {"kind": "fused_mbconv", "out_channels": 8}, 8,
     (1, 8, 16, 16), 576 + 16, 256 * 576,  # 8·8·9 + bn 16 = 592; 147,456 MACs
     ("expand", "add")),
    ("fused_mbconv ratio 4, stride 2, 8 -> 16",
     {"kind": "fused_mbconv", "out_channels": 16, "expand_ratio": 4, "stride": 2}, 8,
     (1, 16, 8, 8), 2368 + 544,  # expand 2,304 + 64; project 32·16 + bn 32 = 2,912
     64 * (2304 + 512),  # 8×8 out: 180,224
     ("expand", "project")),
    ("fused_mbconv ratio 1, 8 -> 16: no residual",
     {"kind": "fused_mbconv", "out_channels": 16}, 8,
     (1, 16, 16, 16), 1152 + 32, 256 * 1152,  # 16·8·9 + bn 32 = 1,184; 294,912 MACs
     ("expand",)),
    ("bottleneck with SE (RegNetY)",
     {"kind": "bottleneck", "out_channels": 16, "mid_channels": 8, "groups": 2, "se": SE_INPUT},
     8, (1, 16, 16, 16),
     # conv1 64 + 16; conv2 8·4·9 + 16; se 8//4 = 2: fc1 16 + 2, fc2 16 + 8; conv3 128 + 32;
     # downsample 128 + 32 = 746
     80 + 304 + 42 + 160 + 160,
     256 * 64 + 256 * 288 + 16 + 16 + 256 * 128 + 256 * 128,  # 155,680
     ("conv1", "conv2", "se", "conv3", "downsample", "add", "act")),
    ("bottleneck dilation 2",
     {"kind": "bottleneck", "out_channels": 32, "dilation": 2}, 32,
     (1, 32, 16, 16), 272 + 592 + 320,  # conv1 32·8 + 16; conv2 8·8·9 + 16; conv3 8·32 + 64
     256 * (256 + 576 + 256),  # 278,528
     ("conv1", "conv2", "conv3", "add", "act")),
    ("basic_block dilation 2",
     {"kind": "basic_block", "out_channels": 8, "dilation": 2}, 8,
     (1, 8, 16, 16), 2 * (576 + 16), 2 * 256 * 576,  # 1,184 params; 294,912 MACs
     ("conv1", "conv2", "add", "act")),
    ("dsconv with SE",
     {"kind": "dsconv", "out_channels": 16, "se": {"reduction": 4, "divisor": None}}, 8,
     (1, 16, 16, 16), 88 + 42 + 160,  # dw 72 + 16; se 8//4 = 2: 18 + 24; pw 128 + 32 = 290
     256 * 72 + 32 + 256 * 128,  # 51,232
     ("dw", "se", "pw")),
]


@pytest.mark.parametrize(("case", "layer", "channels", "shape", "params", "macs", "children"),
                         CASES, ids=[c[0] for c in CASES])
def test_composite_option_costs(case: str, layer: dict[str, Any], channels: int,
                                shape: tuple[int, ...], params: int, macs: int,
                                children: tuple[str, ...]) -> None:
    analysis = _analysis(layer, channels)
    (block,) = analysis.root.children
    assert block.output_shape == shape
    assert (analysis.totals.params, analysis.totals.macs) == (params, macs)
    assert tuple(child.name.rsplit(".", 1)[-1] for child in block.children) == children


@pytest.mark.parametrize(("layer", "conv", "dilation", "padding"), [
    ({"kind": "inverted_residual", "out_channels": 8, "expand_ratio": 2, "dilation": 2},
     "dw", (2, 2), (2, 2)),  # ((3 − 1) // 2) · 2
    ({"kind": "inverted_residual", "out_channels": 8, "expand_ratio": 2, "kernel_size": 5,
      "dilation": 3}, "dw", (3, 3), (6, 6)),  # ((5 − 1) // 2) · 3
    ({"kind": "bottleneck", "out_channels": 32, "dilation": 4}, "conv2", (4, 4), (4, 4)),
    ({"kind": "basic_block", "out_channels": 8, "dilation": 2}, "conv1", (2, 2), (2, 2)),
    ({"kind": "basic_block", "out_channels": 8, "dilation": 2}, "conv2", (2, 2), (2, 2)),
])
def test_dilation_reaches_the_conv(layer: dict[str, Any], conv: str, dilation: tuple[int, int],
                                   padding: tuple[int, int]) -> None:
    analysis = _analysis(layer, 8 if layer["kind"] != "bottleneck" else 32)
    (block,) = analysis.root.children
    (unit,) = [c for c in block.children if c.name.endswith(f".{conv}")]
    op = unit.children[0].op
    assert isinstance(op, Conv2d)
    assert (op.dilation, op.padding) == (dilation, padding)
