"""The conventions' rows for ``lstm`` (``nn.LSTM``, its output sequence), one dict per convention.

Each row was read from the tool's source (thop's ``count_lstm``, ptflops' ``rnn_flops``,
torchinfo's ``calculate_macs``) and checked by running the tool on the kind's torch module
(tests/torch/test_conventions.py, the zoo). With H the hidden size, D the directions, in_l a
layer's input features and N·L the steps of the batch. Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import paper, per_image, twice_paper, unsupported
from convcost.cost.graph import Node
from convcost.cost.ops.recurrent import GATES, Lstm


def _sizes(node: Node) -> tuple[Lstm, int, tuple[int, ...]]:
    """The op, its steps N·L and each layer's input features."""
    op = node.op
    assert isinstance(op, Lstm)
    n, steps, features = node.input_shape
    return op, n * steps, op.inputs(features)


def thop_lstm(node: Node) -> int:
    # thop's _count_lstm_cell per layer and direction: 4·((in + H)·H + H + 2H bias) + 3H + H
    op, steps, inputs = _sizes(node)
    h = op.hidden
    cell = [GATES * ((i + h) * h + h + (2 * h if op.bias else 0)) + 4 * h for i in inputs]
    return steps * op.directions * sum(cell)


def ptflops_lstm(node: Node) -> int:
    # ptflops' rnn_flops per layer: numel(W_ih) + numel(W_hh) + 4H + 3H + 3H (+ both biases'
    # 8H), times the steps, times D
    op, steps, inputs = _sizes(node)
    h = op.hidden
    per_layer = [GATES * h * (i + h) + 10 * h + (2 * GATES * h if op.bias else 0) for i in inputs]
    return steps * op.directions * sum(per_layer)


def torchinfo_lstm(node: Node) -> int:
    # torchinfo: every weight_*/bias_* parameter times prod(output_size[:2]) = N·L
    _, steps, _ = _sizes(node)
    return steps * node.params


def _rows() -> dict[str, dict[str, Rule]]:
    return {
        "paper": {"lstm": Rule(paper, "N·L·Σ_l D·4H·(in_l + H): the gates' matmuls, no bias")},
        "fvcore": unsupported(lstm="aten::lstm"),
        "thop": {"lstm": Rule(thop_lstm, "N·L·Σ_l D·(4·((in_l + H)·H + H + 2H) + 4H) (count_lstm)",
                              tool_op="nn.LSTM")},
        "ptflops": {"lstm": Rule(per_image(ptflops_lstm), "hook: L·D·Σ_l (4H·(in_l + H) + 10H + 8H "
                                 "bias) per image (rnn_flops)", tool_op="nn.LSTM")},
        "torchinfo": {"lstm": Rule(torchinfo_lstm, "N·L·params (its weight_ih_l0, ... rule)",
                                   tool_op="nn.LSTM")},
        "torch": {"lstm": Rule(twice_paper, "its aten::mm and aten::addmm, oneDNN off (convcost's "
                               "cross-check): 2·N·L·Σ_l D·4H·(in_l + H)")},
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(_rows())
"""convention name -> its rows for the recurrent kinds."""
