"""specs/unet.yaml equals a U-Net written here in torch, independently of convcost's builder:
milesial/Pytorch-UNet's ``UNet(3, 2, bilinear=False)`` (unet/unet_parts.py), stage by stage."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import analysis_of

from convcost.net.analysis import Analysis

# 1x3x256x256. Per stage: (params, FlopCounterMode MACs), each written out; k² = 9, a BN 2·C.
STAGES = {
    # 3·64·9 + 2·64 + 64·64·9 + 2·64 = 38,848; 256²·(3·64·9 + 64·64·9) = 2,529,165,312
    "inc": (38_848, 2_529_165_312),
    # 64·128·9 + 128·128·9 + 4·128 = 221,696; 128²·(64·128·9 + 128·128·9) = 3,623,878,656
    "down1": (221_696, 3_623_878_656),
    # 128·256·9 + 256·256·9 + 4·256 = 885,760; 64²·(128·256·9 + 256·256·9) = 3,623,878,656
    "down2": (885_760, 3_623_878_656),
    # 256·512·9 + 512·512·9 + 4·512 = 3,540,992; 32²·(256·512·9 + 512·512·9) = 3,623,878,656
    "down3": (3_540_992, 3_623_878_656),
    # 512·1024·9 + 1024·1024·9 + 4·1024 = 14,159,872; 16²·(512·1024·9 + 1024·1024·9)
    # = 3,623,878,656
    "down4": (14_159_872, 3_623_878_656),
    # up: 1024·512·4 + 512 = 2,097,664; conv: 1024·512·9 + 512·512·9 + 4·512 = 7,079,936;
    # MACs 16²·1024·512·4 (every input pixel) + 32²·(1024·512·9 + 512·512·9) = 7,784,628,224
    "up1": (9_177_600, 7_784_628_224),
    # up: 512·256·4 + 256 = 524,544; conv: 512·256·9 + 256·256·9 + 4·256 = 1,770,496;
    # MACs 32²·512·256·4 + 64²·(512·256·9 + 256·256·9) = 7,784,628,224
    "up2": (2_295_040, 7_784_628_224),
    # up: 256·128·4 + 128 = 131,200; conv: 256·128·9 + 128·128·9 + 4·128 = 442,880;
    # MACs 64²·256·128·4 + 128²·(256·128·9 + 128·128·9) = 7,784,628,224
    "up3": (574_080, 7_784_628_224),
    # up: 128·64·4 + 64 = 32,832; conv: 128·64·9 + 64·64·9 + 4·64 = 110,848;
    # MACs 128²·128·64·4 + 256²·(128·64·9 + 64·64·9) = 7,784,628,224
    "up4": (143_680, 7_784_628_224),
    # 64·2 + 2 = 130; 256²·64·2 = 8,388,608
    "outc": (130, 8_388_608),
}
# Σ: 31,037,698 params; 2,529,165,312 + 4·3,623,878,656 + 4·7,784,628,224 + 8,388,608
# = 48,171,581,440 MACs
PARAMS, MACS = 31_037_698, 48_171_581_440


def _unet() -> Any:
    """milesial's UNet(n_channels=3, n_classes=2, bilinear=False), module for module."""
    import torch
    from torch import nn

    class DoubleConv(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.double_conv = nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(True), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU(True))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.double_conv(x)  # type: ignore[no-any-return]

    class Down(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(cin, cout))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.maxpool_conv(x)  # type: ignore[no-any-return]

    class Up(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(cin, cout)

        def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
            x1 = self.up(x1)
            dy, dx = x2.size(2) - x1.size(2), x2.size(3) - x1.size(3)
            x1 = nn.functional.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
            return self.conv(torch.cat([x2, x1], dim=1))  # type: ignore[no-any-return]

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inc = DoubleConv(3, 64)
            self.down1, self.down2 = Down(64, 128), Down(128, 256)
            self.down3, self.down4 = Down(256, 512), Down(512, 1024)
            self.up1, self.up2 = Up(1024, 512), Up(512, 256)
            self.up3, self.up4 = Up(256, 128), Up(128, 64)
            self.outc = nn.Conv2d(64, 2, kernel_size=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x1 = self.inc(x)
            x2 = self.down1(x1)
            x3 = self.down2(x2)
            x4 = self.down3(x3)
            x = self.up1(self.down4(x4), x4)
            x = self.up4(self.up3(self.up2(x, x3), x2), x1)
            return self.outc(x)  # type: ignore[no-any-return]

    return UNet().eval()


def _spec_stage(analysis: Analysis, stage: str) -> tuple[int, int]:
    """Params and MACs of the spec's top-level layers ``stage`` and ``stage.*``."""
    nodes = [n for n in analysis.root.children if n.name == stage or n.name.startswith(f"{stage}.")]
    return sum(n.params for n in nodes), sum(n.macs for n in nodes)


def test_reference_stages_equal_the_written_figures() -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = _unet()
        counter = FlopCounterMode(display=False)
        with counter:
            out = model(torch.empty(1, 3, 256, 256))
    assert tuple(out.shape) == (1, 2, 256, 256)
    flops = counter.get_flop_counts()
    for stage, (params, macs) in STAGES.items():
        module = getattr(model, stage)
        assert sum(p.numel() for p in module.parameters()) == params, stage
        assert sum(flops[f"UNet.{stage}"].values()) == 2 * macs, stage
    assert sum(p.numel() for p in model.parameters()) == PARAMS
    assert counter.get_total_flops() == 2 * MACS


@pytest.mark.parametrize("stage", list(STAGES))
def test_spec_stage_equals_the_reference(stage: str) -> None:
    assert _spec_stage(analysis_of("unet"), stage) == STAGES[stage]


def test_spec_totals_and_convolutions_equal_the_reference() -> None:
    import torch
    from torch import nn

    from convcost.cost.ops import Conv2d
    from convcost.cost.ops.transpose import ConvTranspose2d

    analysis = analysis_of("unet")
    assert analysis.input_shape == (1, 3, 256, 256)
    assert (analysis.totals.params, analysis.totals.macs) == (PARAMS, MACS)
    assert analysis.root.output_shape == (1, 2, 256, 256)
    with torch.device("meta"):
        model = _unet()
    reference = [(type(m).__name__, m.in_channels, m.out_channels, m.kernel_size, m.stride,
                  m.padding, m.bias is not None)
                 for m in model.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    spec = [("Conv2d" if isinstance(n.op, Conv2d) else "ConvTranspose2d", n.op.in_channels,
             n.op.out_channels, n.op.kernel, n.op.stride, n.op.padding, n.op.bias)
            for n in analysis.leaves() if isinstance(n.op, Conv2d | ConvTranspose2d)]
    assert spec == reference  # the same convolutions in the same order
