"""A ViT-style token block written as a spec (layernorm, nn.MultiheadAttention, qkv linear,
unbind, SDPA, q @ kᵀ, softmax, matmul): built in torch and cross-checked node by node against
fvcore and FlopCounterMode (math path), exactly."""

from __future__ import annotations

import yaml

from convcost.net.analysis import analyze
from convcost.runtime.verify import verify
from convcost.spec.loader import parse_spec

BLOCK = """\
name: vitblock
input: {shape: [2, 16, 32], layout: NLC}
layers:
  - {kind: layernorm, name: ln}
  - {kind: multihead_attention, name: mha, heads: 4}
  - {kind: linear, name: qkv, out_features: 96}
  - {kind: reshape, name: split_heads, shape: [16, 3, 4, 8]}
  - {kind: permute, name: perm, dims: [2, 0, 3, 1, 4]}
  - {kind: unbind, name: q, dim: 0, index: 0, from: perm}
  - {kind: unbind, name: k, dim: 0, index: 1, from: perm}
  - {kind: unbind, name: v, dim: 0, index: 2, from: perm}
  - {kind: attention, name: sdpa, from: [q, k, v]}
  - {kind: transpose, name: kt, dim0: 2, dim1: 3, from: k}
  - {kind: matmul, name: scores, from: [q, kt], fn: operator}
  - {kind: softmax, name: probs, form: method}
  - {kind: matmul, name: av, from: [probs, v]}
  - {kind: add, name: mix, from: [sdpa, av]}
"""


def test_token_attention_block_verifies_exactly() -> None:
    analysis = analyze(parse_spec(yaml.safe_load(BLOCK)))
    macs = {leaf.name: leaf.macs for leaf in analysis.leaves()}
    # mha: 4 projections 2·16·32·32 = 4·32,768 + q·kᵀ, a·v 2·(2·16·16·32) = 32,768: 163,840
    # qkv: 2·16·32·96 = 98,304; sdpa: 2·4·16·16·(8 + 8) = 32,768; scores, av: 16,384 each
    assert macs == {**dict.fromkeys(macs, 0), "mha": 163_840, "qkv": 98_304, "sdpa": 32_768,
                    "scores": 16_384, "av": 16_384}
    assert analysis.totals.params == 64 + 4 * 32 * 32 + 4 * 32 + 32 * 96 + 96  # 7,456
    result = verify(analysis)
    assert not result.mismatches(), result.mismatches()
    assert result.counter_flops == 2 * analysis.totals.macs == 655_360  # math path
