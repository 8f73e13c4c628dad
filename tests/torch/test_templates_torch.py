"""Blocks and sequential groups build in torch: nested names, default index names, repeats."""

from __future__ import annotations

import pytest
import yaml
from helpers import SQUEEZENET_BLOCKS

from convcost.errors import MissingDependencyError
from convcost.net.analysis import analyze
from convcost.runtime.importer.resolve import import_torchvision
from convcost.runtime.verify import verify
from convcost.spec.loader import parse_spec

NESTED = """\
input: {channels: 3, resolution: 16}
blocks:
  unit:
    args: [c]
    defaults: {stride: 1}
    layers:
      - {kind: conv, name: conv, out_channels: "${c}", stride: "${stride}", bn: true, act: relu}
      - {kind: inverted_residual, out_channels: "${c}", expand_ratio: 4,
         se: {reduction: 4}}
  stage:
    args: [c]
    layers:
      - {kind: unit, name: down, c: "${c}", stride: 2}
      - kind: sequential
        repeat: 2
        layers:
          - {kind: unit, c: "${c}"}
          - {kind: dsconv, out_channels: "${c * 2 // 2}"}
layers:
  - {kind: stage, name: s1, c: 8}
  - {kind: stage, name: s2, c: 16, repeat: 2}
  - {kind: pool, op: avg, global: true}
  - {kind: flatten}
  - {kind: linear, out_features: 10}
"""


def test_blocks_and_sequentials_verify_against_torch_and_fvcore() -> None:
    analysis = analyze(parse_spec(yaml.safe_load(NESTED)), alpha=0.75)
    result = verify(analysis)
    assert result.mismatches() == []
    assert result.ok
    assert len(result.layers) == sum(1 for level, _ in analysis.root.walk() if level)
    names = [node.name for _, node in analysis.root.walk()]
    assert "s2.1.1.0.0.conv.conv" in names  # stage copy 1, sequential copy 0, unit 0, conv
    assert result.counter_flops == 2 * analysis.totals.macs


def test_squeezenet_from_fire_blocks_equals_torchvision() -> None:
    """A block holding a parallel concat (SqueezeNet's Fire) against torchvision's own model."""
    try:
        torchvision = import_torchvision()
    except MissingDependencyError as err:
        pytest.skip(str(err))
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = torchvision.models.squeezenet1_1()
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 224, 224))
    analysis = analyze(parse_spec(yaml.safe_load(SQUEEZENET_BLOCKS)))
    params = sum(p.numel() for p in model.parameters())
    assert (analysis.totals.params, 2 * analysis.totals.macs) == (params,
                                                                  counter.get_total_flops())
    assert (params, counter.get_total_flops()) == (1_235_496, 2 * 349_151_936)
    result = verify(analysis)
    assert result.mismatches() == []
    assert result.ok
