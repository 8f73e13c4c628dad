"""The shipped 1-D audio spec (specs/m5_audio.yaml) equals its own torch reference, written here
independently of convcost's builder: params = sum(p.numel()), MACs = FlopCounterMode FLOPs / 2,
and the spec's layers are the reference's, one by one."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convcost.net.analysis import analyze
from convcost.spec.loader import load_spec


class M5(nn.Module):
    """Dai et al.'s M5 on raw 8 kHz audio (as torchaudio's tutorial writes it, 128 channels)."""

    def __init__(self, n_input: int = 1, n_output: int = 35, n_channel: int = 128) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=80, stride=4)
        self.bn1 = nn.BatchNorm1d(n_channel)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
        self.bn2 = nn.BatchNorm1d(n_channel)
        self.pool2 = nn.MaxPool1d(4)
        self.conv3 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
        self.bn3 = nn.BatchNorm1d(2 * n_channel)
        self.pool3 = nn.MaxPool1d(4)
        self.conv4 = nn.Conv1d(2 * n_channel, 4 * n_channel, kernel_size=3)
        self.bn4 = nn.BatchNorm1d(4 * n_channel)
        self.pool4 = nn.MaxPool1d(4)
        self.fc = nn.Linear(4 * n_channel, n_output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(F.relu(self.bn1(self.conv1(x))))
        x = self.pool2(F.relu(self.bn2(self.conv2(x))))
        x = self.pool3(F.relu(self.bn3(self.conv3(x))))
        x = self.pool4(F.relu(self.bn4(self.conv4(x))))
        x = F.avg_pool1d(x, x.shape[-1])
        return self.fc(x.flatten(1))


def test_m5_spec_equals_its_torch_reference() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    model = M5().eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = model(torch.zeros(1, 1, 8000))
    analysis = analyze(load_spec("m5_audio"))
    assert analysis.input_shape == (1, 1, 8000) and analysis.layout == "NCL"
    assert analysis.totals.params == sum(p.numel() for p in model.parameters()) == 571_939
    assert 2 * analysis.totals.macs == counter.get_total_flops() == 2 * 67_440_128
    assert analysis.root.output_shape == tuple(out.shape)
    convs = [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0])
             for m in model.modules() if isinstance(m, nn.Conv1d)]
    assert [(leaf.op.in_channels, leaf.op.out_channels, leaf.op.kernel[0], leaf.op.stride[0])
            for leaf in analysis.leaves() if leaf.label == "conv1d"] == convs  # type: ignore[union-attr]
