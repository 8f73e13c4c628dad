"""Importing the kinds over 1 or 3 spatial axes: torch.fx and torch.export read them through
the declarations of their kinds (cost/ops/conv_nd.py, pool_nd.py), and the analysis equals the
module: params = sum(p.numel()), MACs = FlopCounterMode FLOPs / 2."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import convcost


def _reference(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(shape))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


class Signal(nn.Module):
    """A 1-D net: conv1d (bias, stride), BN1d, padding 'same', a transposed conv1d."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 8, 9, stride=3)
        self.bn = nn.BatchNorm1d(8)
        self.same = nn.Conv1d(8, 8, 3, padding="same", groups=4, bias=False)
        self.up = nn.ConvTranspose1d(8, 4, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.same(torch.relu(self.bn(self.conv(x)))))


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_conv1d_imports_exactly(tracer: str) -> None:
    model = Signal().eval()
    analysis = convcost.analyze(model, input_shape=(1, 2, 61), tracer=tracer)
    assert analysis.complete and analysis.layout == "NCL"
    assert [leaf.label for leaf in analysis.leaves()] == [
        "conv1d", "bn", "relu", "conv1d", "conv_transpose1d"]
    assert (analysis.totals.params, analysis.totals.macs) == _reference(model, (1, 2, 61))
