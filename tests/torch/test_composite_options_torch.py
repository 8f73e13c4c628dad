"""Issue 12 item 5 against torch: each composite option equals an independent torch module
(written here, after torchvision's blocks) in params, FlopCounterMode MACs and output shape,
and ``verify`` passes node by node."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from convcost.net.analysis import analyze
from convcost.runtime.verify import verify
from convcost.spec.loader import parse_spec


def _cna(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, dilation: int = 1,
         act: Any = "relu") -> Any:
    """torchvision's Conv2dNormActivation: conv (no bias) + BN (+ act)."""
    from torch import nn

    conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2 * dilation, dilation, groups, bias=False)
    acts = {"relu": nn.ReLU, "silu": nn.SiLU, "relu6": nn.ReLU6}
    return nn.Sequential(conv, nn.BatchNorm2d(cout), *([acts[act]()] if act else []))


def _se(channels: int, squeeze: int) -> Any:
    """torchvision's SqueezeExcitation (ReLU, sigmoid)."""
    from torch import nn

    class SE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Conv2d(channels, squeeze, 1), nn.Conv2d(squeeze, channels, 1)

        def forward(self, x: Any) -> Any:
            s = x.mean((2, 3), keepdim=True)
            return x * self.fc2(self.fc1(s).relu()).sigmoid()

    return SE()


def _residual(body: Any, shortcut: Any = None, post: bool = False) -> Any:
    from torch import nn

    class Res(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body, self.shortcut = body, shortcut or nn.Identity()

        def forward(self, x: Any) -> Any:
            y = self.body(x) + self.shortcut(x)
            return y.relu() if post else y

    return Res()


def _regnet_block() -> Any:  # RegNetY ResBottleneckBlock 8 -> 16, group width 4, se 0.25
    from torch import nn

    body = nn.Sequential(_cna(8, 16, 1), _cna(16, 16, 3, 2, groups=4), _se(16, 2),
                         _cna(16, 16, 1, act=None))
    return _residual(body, _cna(8, 16, 1, 2, act=None), post=True)


def _fused(cin: int, cout: int, ratio: int, stride: int) -> Any:  # torchvision FusedMBConv
    from torch import nn

    hidden = cin * ratio
    if hidden == cin:
        body = _cna(cin, cout, 3, stride, act="silu")
    else:
        body = nn.Sequential(_cna(cin, hidden, 3, stride, act="silu"),
                             _cna(hidden, cout, 1, act=None))
    return _residual(body) if stride == 1 and cin == cout else body


def _dilated_ir() -> Any:  # MobileNetV3 InvertedResidual, dilated, expand kept at ratio 1
    from torch import nn

    body = nn.Sequential(_cna(8, 8, 1, act="relu6"), _cna(8, 8, 3, groups=8, dilation=2,
                                                           act="relu6"),
                         _cna(8, 8, 1, act=None))
    return _residual(body)


def _dilated_bottleneck() -> Any:  # torchvision Bottleneck(32, 8, dilation=2)
    from torch import nn

    body = nn.Sequential(_cna(32, 8, 1), _cna(8, 8, 3, dilation=2), _cna(8, 32, 1, act=None))
    return _residual(body, post=True)


def _dilated_basic() -> Any:
    from torch import nn

    return _residual(nn.Sequential(_cna(8, 8, 3, dilation=2), _cna(8, 8, 3, dilation=2,
                                                                  act=None)), post=True)


def _dsconv_se() -> Any:
    from torch import nn

    return nn.Sequential(_cna(8, 8, 3, groups=8), _se(8, 2), _cna(8, 16, 1))


SE_INPUT = {"reduction": 4, "base": "input", "divisor": None, "gate": "sigmoid"}

# (case, layer on a 1×C×16×16 input, C, the reference module)
CASES: list[tuple[str, dict[str, Any], int, Callable[[], Any]]] = [
    ("bottleneck se (RegNetY)", {"kind": "bottleneck", "out_channels": 16, "mid_channels": 16,
                                 "groups": 4, "stride": 2, "se": SE_INPUT}, 8, _regnet_block),
    ("bottleneck dilation", {"kind": "bottleneck", "out_channels": 32, "dilation": 2}, 32,
     _dilated_bottleneck),
    ("basic_block dilation", {"kind": "basic_block", "out_channels": 8, "dilation": 2}, 8,
     _dilated_basic),
    ("inverted_residual dilation, expand always",
     {"kind": "inverted_residual", "out_channels": 8, "expand_ratio": 1, "expand": "always",
      "dilation": 2}, 8, _dilated_ir),
    ("fused_mbconv 4, stride 1", {"kind": "fused_mbconv", "out_channels": 8, "expand_ratio": 4},
     8, lambda: _fused(8, 8, 4, 1)),
    ("fused_mbconv 4, stride 2", {"kind": "fused_mbconv", "out_channels": 16, "expand_ratio": 4,
                                  "stride": 2}, 8, lambda: _fused(8, 16, 4, 2)),
    ("fused_mbconv 1", {"kind": "fused_mbconv", "out_channels": 8}, 8,
     lambda: _fused(8, 8, 1, 1)),
    ("dsconv se", {"kind": "dsconv", "out_channels": 16, "se": {"reduction": 4, "divisor": None,
                                                                "gate": "sigmoid"}}, 8,
     _dsconv_se),
]


@pytest.mark.parametrize(("case", "layer", "channels", "reference"), CASES,
                         ids=[c[0] for c in CASES])
def test_composite_option_equals_torch(case: str, layer: dict[str, Any], channels: int,
                                       reference: Callable[[], Any]) -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    analysis = analyze(parse_spec({"input": {"channels": channels, "resolution": 16},
                                   "layers": [layer]}))
    module = reference().eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = module(torch.zeros(1, channels, 16, 16))
    assert analysis.totals.params == sum(p.numel() for p in module.parameters())
    assert 2 * analysis.totals.macs == counter.get_total_flops()
    assert tuple(out.shape) == analysis.root.output_shape
    assert verify(analysis).mismatches() == []
