"""Backward MACs of contractions and attention (issue 20): the arithmetic of each rule, and a
training figure that leaves a leaf out says it is a lower bound (table, JSON, stderr, --strict).
tests/torch/test_training_torch.py checks the same rules against FlopCounterMode."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.cost import registry
from convcost.cost.opkind import Op
from convcost.cost.ops.attention import Attention, MultiheadAttention
from convcost.cost.ops.matmul import Einsum, Matmul
from convcost.cost.ops.mqa import MobileMQA
from convcost.cost.training import op_backward, training
from convcost.cost.value import Shape
from convcost.net.analysis import analyze
from convcost.spec.loader import parse_spec

T, F = True, False
# op, input shape, which inputs need a gradient -> (grad-input, grad-weight) MACs
RULES: dict[str, tuple[Op, Shape, tuple[bool, ...], tuple[int, int]]] = {
    # [2,3,5] @ [2,5,7]: forward 2·3·7·5 = 210; dA = dC·Bᵀ 210, dB = Aᵀ·dC 210
    "matmul both": (Matmul((2, 5, 7)), (2, 3, 5), (T, T), (420, 0)),
    "matmul a only": (Matmul((2, 5, 7)), (2, 3, 5), (T, F), (210, 0)),
    "matmul b only": (Matmul((2, 5, 7)), (2, 3, 5), (F, T), (210, 0)),
    "matmul neither": (Matmul((2, 5, 7)), (2, 3, 5), (F, F), (0, 0)),
    # [2,4,3,5] @ [5,7] broadcast: 2·4·3·7·5 = 840 each way
    "matmul broadcast": (Matmul((5, 7)), (2, 4, 3, 5), (T, T), (1_680, 0)),
    # q·kᵀ by einsum: b2 h3 q5 k6 d4: 2·3·5·6·4 = 720 each way
    "einsum scores": (Einsum("bhqd,bhkd->bhqk", (2, 3, 6, 4)), (2, 3, 5, 4), (T, T), (1_440, 0)),
    # k is summed out of b first (an expand backward): kept b2 i3 j4 = 24
    "einsum pre-summed": (Einsum("bij,bjk->bi", (2, 4, 6)), (2, 3, 4), (F, T), (24, 0)),
    # an outer product: no contraction, a mul; its backward muls: 0
    "einsum outer": (Einsum("ij,kl->ijkl", (4, 6)), (3, 4), (T, T), (0, 0)),
    # q [2,3,5,4], k [2,3,6,4], v [2,3,6,5]: Q·Kᵀ 2·3·5·6·4 = 720, A·V 2·3·5·6·5 = 900
    # all: dV 900 + dP 900 + dQ 720 + dK 720 = 3,240
    "attention all": (Attention((2, 3, 6, 4), (2, 3, 6, 5)), (2, 3, 5, 4), (T, T, T), (3_240, 0)),
    "attention q": (Attention((2, 3, 6, 4), (2, 3, 6, 5)), (2, 3, 5, 4), (T, F, F), (1_620, 0)),
    "attention v": (Attention((2, 3, 6, 4), (2, 3, 6, 5)), (2, 3, 5, 4), (F, F, T), (900, 0)),
    "attention k, v": (Attention((2, 3, 6, 4), (2, 3, 6, 5)), (2, 3, 5, 4), (F, T, T), (2_520, 0)),
    "attention none": (Attention((2, 3, 6, 4), (2, 3, 6, 5)), (2, 3, 5, 4), (F, F, F), (0, 0)),
    # E 8, N 2, L 4: q, k, v, out projections 2·4·8·8 = 512 each; core 4·2·4·4·8 = 1,024
    # grad-weight 4·512 = 2,048; grad-input: out 512 + core 1,024 (+ q, k, v 1,536 when needed)
    "mha self, input grad": (MultiheadAttention(8, 2), (2, 4, 8), (T,), (3_072, 2_048)),
    "mha self, no input grad": (MultiheadAttention(8, 2), (2, 4, 8), (F,), (1_536, 2_048)),
    # cross: Lk 6, kdim 5, vdim 3: q 512, k 2·6·5·8 = 480, v 2·6·3·8 = 288, out 512;
    # core 4·2·4·6·8 = 1,536; only k needs a gradient: 480 + 1,536 + 512 = 2,528
    "mha cross, k grad": (MultiheadAttention(8, 2, True, (6, 5, 3)), (2, 4, 8), (F, T, F),
                          (2_528, 1_792)),
    # C 8 -> 12, 2 heads, kd 4, vd 6 on 2×8×4×4 (16 positions): query 2·16·8·8 = 2,048, key
    # 2·16·8·4 = 1,024, value 2·16·8·6 = 1,536, output 2·16·12·12 = 4,608 (grad-weight 9,216);
    # attention 2·2·16·16·(4 + 6) = 10,240, back: 2·10,240 = 20,480; grad-input also output
    # 4,608 (+ query, key, value 4,608 when the input needs one)
    "mqa, no input grad": (MobileMQA(8, 12, 2, 4, 6), (2, 8, 4, 4), (F,), (25_088, 9_216)),
    "mqa, input grad": (MobileMQA(8, 12, 2, 4, 6), (2, 8, 4, 4), (T,), (29_696, 9_216)),
}


@pytest.mark.parametrize("name", list(RULES))
def test_backward_rule(name: str) -> None:
    op, x, needs, expected = RULES[name]
    assert op_backward(op, x, needs) == expected


BLOCK = """\
name: tokens
input: {shape: [2, 16, 32], layout: NLC}
layers:
  - {kind: linear, name: qkv, out_features: 96}
  - {kind: reshape, name: heads, shape: [16, 3, 4, 8]}
  - {kind: permute, name: perm, dims: [2, 0, 3, 1, 4]}
  - {kind: unbind, name: q, dim: 0, index: 0, from: perm}
  - {kind: unbind, name: k, dim: 0, index: 1, from: perm}
  - {kind: unbind, name: v, dim: 0, index: 2, from: perm}
  - {kind: attention, name: sdpa, from: [q, k, v]}
"""


def test_a_token_block_counts_its_attention_backward() -> None:
    result = training(analyze(parse_spec(yaml.safe_load(BLOCK))).root)
    # qkv 2·16·32·96 = 98,304 (no grad-input: the model input); sdpa 2·4·16·16·(8 + 8) =
    # 32,768, its q, k, v from qkv's weight: back 2·32,768
    assert (result.forward_macs, result.grad_input_macs, result.grad_weight_macs) == (
        98_304 + 32_768, 65_536, 98_304)
    assert result.complete and not result.no_backward_rule


@pytest.fixture
def no_attention_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """The attention kind as if it had no backward rule."""
    ops = dict(registry.OPS)
    ops["attention"] = dataclasses.replace(ops["attention"], backward=None)
    monkeypatch.setattr(registry, "OPS", ops)


@pytest.mark.usefixtures("no_attention_rule")
def test_a_kind_without_a_backward_rule_is_a_lower_bound() -> None:
    result = training(analyze(parse_spec(yaml.safe_load(BLOCK))).root)
    assert result.backward_macs == 98_304  # qkv's grad-weight only: sdpa left out
    assert not result.complete and result.no_backward_rule == {"attention": 1}


@pytest.mark.usefixtures("no_attention_rule")
def test_model_training_says_lower_bound(runner: CliRunner, write_spec: Any) -> None:
    spec = str(write_spec(BLOCK))
    result = runner.invoke(app, ["model", spec, "--no-verify", "--training", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ("convcost: warning: LOWER BOUND: the training MACs leave out the "
                             "backward of attention ×1 (no backward rule, or an opaque layer)\n")
    training_json = json.loads(result.stdout)["training"]
    assert (training_json["complete"], training_json["no_backward_rule"]) == (False, {"attention": 1})
    table = runner.invoke(app, ["model", spec, "--no-verify", "--training"])
    assert "LOWER BOUND" in table.stdout
    strict = runner.invoke(app, ["model", spec, "--no-verify", "--training", "--strict"])
    assert strict.exit_code == 2 and "--strict: LOWER BOUND" in strict.stderr


def test_an_opaque_layer_makes_training_a_lower_bound(runner: CliRunner, write_spec: Any) -> None:
    opaque = "  - {kind: opaque, name: mix, op: 'linear ×1', output_shape: [4, 16, 8]}\n"
    spec = str(write_spec(BLOCK + opaque))
    result = runner.invoke(app, ["model", spec, "--no-verify", "--training", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["training"]["no_backward_rule"] == {"opaque": 1}
    assert "the backward of opaque ×1" in result.stderr


def test_a_complete_training_figure_is_quiet(runner: CliRunner, write_spec: Any) -> None:
    result = runner.invoke(app, ["model", str(write_spec(BLOCK)), "--no-verify", "--training",
                                 "-f", "json"])
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout)["training"]["complete"] is True
