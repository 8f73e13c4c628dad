"""The torch builder runs the spec graph: verify agrees on every construct, per node."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from convcost.net.analysis import analyze
from convcost.runtime.build import build
from convcost.runtime.verify import verify
from convcost.spec.loader import parse_spec

GRAPH = """\
name: graph
input: {channels: 3, resolution: 32, batch: 2}
outputs: [head, aux]
layers:
  - {kind: conv, name: stem, out_channels: 16, kernel_size: 3, bn: true, act: relu}
  - {kind: conv, name: a, out_channels: 8, kernel_size: 1}
  - {kind: conv, name: b, out_channels: 8, kernel_size: 3, from: stem}
  - {kind: concat, name: cat, from: [a, b, stem]}
  - {kind: pwconv, name: aux, out_channels: 4, from: a}
  - {kind: pwconv, name: squeeze, out_channels: 16, from: cat}
  - {kind: add, name: sum, from: [squeeze, stem]}
  - kind: residual
    name: res
    layers:
      - {kind: conv, out_channels: 32, kernel_size: 3, stride: 2, bn: true, act: relu}
      - {kind: conv, out_channels: 32, kernel_size: 3, bn: true}
    shortcut:
      - {kind: conv, name: down, out_channels: 32, kernel_size: 1, stride: 2, bn: true}
  - kind: parallel
    name: inception
    branches:
      - {kind: conv, out_channels: 8, kernel_size: 1}
      - kind: sequential
        name: deep
        layers:
          - {kind: conv, out_channels: 8, kernel_size: 1}
          - {kind: conv, out_channels: 8, kernel_size: 3}
      - {kind: pool, op: max, kernel_size: 3, stride: 1, padding: 1}
  - kind: split
    name: mix
    sizes: [8, 16, 24]
    branches:
      - {kind: dwconv, kernel_size: 3}
      - {kind: dwconv, kernel_size: 5}
      - {kind: dwconv, kernel_size: 7, bn: true}
  - kind: residual
    name: se
    merge: mul
    layers:
      - {kind: pool, op: avg, global: true}
      - {kind: conv, out_channels: 12, kernel_size: 1, bias: true, act: relu}
      - {kind: conv, out_channels: 48, kernel_size: 1, bias: true, act: hardsigmoid}
  - {kind: residual, name: dense, merge: concat, layers: [{kind: pwconv, out_channels: 16}]}
  - {kind: pool, name: gap, op: avg, global: true}
  - {kind: mul, name: gated, from: [dense, gap]}
  - {kind: pool, op: avg, global: true}
  - {kind: flatten}
  - {kind: linear, name: head, out_features: 10}
"""


def _graph() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(GRAPH)
    return data


def test_every_construct_verifies_node_by_node() -> None:
    analysis = analyze(parse_spec(_graph()))
    result = verify(analysis)
    assert result.mismatches() == []
    assert len(result.layers) == sum(1 for level, _ in analysis.root.walk() if level)
    assert result.counter_flops == 2 * analysis.totals.macs
    assert result.torch_params == analysis.totals.params


def test_the_model_returns_every_output() -> None:
    import torch

    analysis = analyze(parse_spec(_graph()))
    with torch.no_grad():
        head, aux = build(analysis).eval()(torch.zeros(analysis.input_shape))
    assert tuple(head.shape) == (2, 10) and tuple(aux.shape) == (2, 4, 32, 32)


@pytest.mark.parametrize("merge", ["add", "concat", "mul"])
def test_parallel_merges_verify(merge: str) -> None:
    branches = [{"kind": "conv", "out_channels": 6, "kernel_size": k} for k in (1, 3)]
    spec = {"input": {"channels": 3, "resolution": 9},
            "layers": [{"kind": "parallel", "merge": merge, "branches": branches}]}
    assert verify(analyze(parse_spec(spec))).ok
