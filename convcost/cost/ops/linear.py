"""``linear``: a fully connected layer on a flat ``[N, F]`` input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError, SpecError

WIDTHS = ("scaled", "fixed", "grow")


@dataclass(frozen=True)
class Linear(Op):
    key: ClassVar[str] = "linear"
    in_features: int
    out_features: int
    bias: bool = True


def linear(op: Linear, x: Shape) -> LayerCost:
    # [N, F] -> [N, O]; MACs = N·F·O
    if len(x) != 2:
        raise ShapeError(f"linear needs a flat [N, F] input, got {list(x)}: add a flatten layer")
    n, f = x
    if f != op.in_features:
        raise ShapeError(f"linear expects {op.in_features} input features, got {f}")
    params = op.in_features * op.out_features + (op.out_features if op.bias else 0)
    return LayerCost(params, n * f * op.out_features, (n, op.out_features))


def _module(op: Linear, _: Shape) -> Any:
    from torch import nn

    return nn.Linear(op.in_features, op.out_features, op.bias)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Linear:
    if at.checks_inputs and f["in_features"] is not None and f["in_features"] != x[-1]:
        raise SpecError(f"must match the previous layer's {x[1]} output features, "
                        f"got {f['in_features']}", path=f"{at.path}.in_features")
    return Linear(x[1], at.channels("out_features"), f["bias"])


def _keys(op: Linear) -> tuple[str, ...]:
    return ("linear", "linear_bias") if op.bias else ("linear",)


SPEC = SpecKind(
    fields(
        out_features=Field("int", doc="output features"),
        bias=Field("bool", True),
        width=Field("choice", "fixed", WIDTHS),
        in_features=Field("int", None, nullable=True, doc="checked against the input"),
    ),
    "`nn.Linear`, needs flat input")

LINEAR = OpKind(Linear, linear, _module, {"linear": "linear", "linear_bias": "linear bias"},
                keys_of=_keys, learnable=True, weight_grad=True, spec=SPEC, lower=_lower)

KINDS = (LINEAR,)
