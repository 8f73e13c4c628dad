"""``lstm``: ``nn.LSTM`` over tokens ``[N, L, C]`` (``batch_first``), its output sequence only
(Sequencer's BiLSTM2D runs one along the rows and one along the columns).

Each layer l and direction learns ``W_ih`` (4H × in_l), ``W_hh`` (4H × H) and, with ``bias``,
``b_ih`` and ``b_hh`` (4H each); ``in_0 = C``, ``in_l = D·H`` after (D = 2 directions when
``bidirectional``). Paper MACs are its matmuls at each of the N·L steps, ``4H·(in_l + H)`` per
layer and direction, biases not counted: FlopCounterMode's count with oneDNN off (convcost's
cross-check runs it so, :mod:`convcost.runtime.flop_count`); on CPU its fused
``mkldnn_rnn_layer`` is invisible to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError

GATES = 4  # input, forget, cell and output gates


@dataclass(frozen=True)
class Lstm(Op):
    """``nn.LSTM(C, hidden, layers, bias, batch_first=True, bidirectional)`` on ``[N, L, C]``."""

    key: ClassVar[str] = "lstm"
    hidden: int
    layers: int = 1
    bidirectional: bool = False
    bias: bool = True

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def inputs(self, features: int) -> tuple[int, ...]:
        """Each layer's input features: C, then D·H."""
        return (features, *(self.directions * self.hidden,) * (self.layers - 1))


def lstm(op: Lstm, x: Shape) -> LayerCost:
    # [N, L, C] -> [N, L, D·H]; params Σ_l D·(4H·(in_l + H) + 8H bias); MACs N·L·Σ_l D·4H·(in_l + H)
    if len(x) != 3:
        raise ShapeError(f"lstm needs tokens [N, L, C] (batch first), got {list(x)}")
    n, steps, features = x
    h, d = op.hidden, op.directions
    params = sum(d * (GATES * h * (i + h) + (2 * GATES * h if op.bias else 0)) for i in op.inputs(features))
    macs = n * steps * sum(d * GATES * h * (i + h) for i in op.inputs(features))
    return LayerCost(params, macs, (n, steps, d * h))


@cache
def _lstm_class() -> type:
    import torch
    from torch import nn

    class LstmOutput(nn.Module):
        """``nn.LSTM(batch_first=True)``, its output sequence (not the last states)."""

        def __init__(self, features: int, op: Lstm) -> None:
            super().__init__()
            self.lstm = nn.LSTM(features, op.hidden, op.layers, bias=op.bias, batch_first=True,
                                bidirectional=op.bidirectional)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.lstm(x)[0]
            return out

    return LstmOutput


def _module(op: Lstm, x: Shape) -> Any:
    return _lstm_class()(x[-1], op)


def _lower(f: Mapping[str, Any], _: Shape, __: Lowering) -> Lstm:
    return Lstm(f["hidden"], f["layers"], f["bidirectional"], f["bias"])


# -- import ------------------------------------------------------------------------------

def _read_module(c: TorchCall) -> Fields:
    m = c.module
    return dict(features=m.input_size, hidden=m.hidden_size, layers=m.num_layers,
                bidirectional=bool(m.bidirectional), bias=bool(m.bias),
                batch_first=bool(m.batch_first), proj_size=int(m.proj_size))


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    """An LSTM on batch-first tokens without projections; its first output (the sequence)."""
    if len(x) != 3 or not node.attr("batch_first") or node.attr("proj_size") \
            or node.attr("hidden") is None:
        return None
    layer: Layer = {"kind": "lstm", "hidden": node.attr("hidden")}
    for key, default in (("layers", 1), ("bidirectional", False), ("bias", True)):
        if node.attr(key) != default:
            layer[key] = node.attr(key)
    return [layer]


LSTM = OpKind(
    Lstm, lstm, _module, {"lstm": "linear"}, learnable=True, layout="NLC",
    layer_class=lambda _: "fully connected",
    spec=SpecKind(fields(hidden=Field("int", doc="hidden size H (each direction's output features)"),
                         layers=Field("int", 1, doc="stacked layers"),
                         bidirectional=Field("bool", False, doc="a second direction: output 2·H"),
                         bias=Field("bool", True, doc="b_ih and b_hh (4H each) per layer and direction")),
                  "`nn.LSTM(C, hidden, layers, batch_first=True)` on tokens `[N, L, C]`: its output "
                  "sequence `[N, L, D·H]`"),
    lower=_lower, imports=Imports(modules={"torch.nn.LSTM": _read_module}, emit=_emit))

KINDS = (LSTM,)
