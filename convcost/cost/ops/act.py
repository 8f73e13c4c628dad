"""``act``: an elementwise activation function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape

# Activation fn -> torch.nn class name; the spec's `fn` choices, in this order.
MODULES: Mapping[str, str] = MappingProxyType({
    "relu": "ReLU", "relu6": "ReLU6", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid",
    "sigmoid": "Sigmoid", "silu": "SiLU",
})
ACTIVATIONS = tuple(MODULES)


@dataclass(frozen=True)
class Activation(Op):
    key: ClassVar[str] = "act"
    fn: str


def same_shape(_: Op, x: Shape) -> LayerCost:
    # [N, ...] -> [N, ...]; no params, paper MACs 0
    return LayerCost(0, 0, x)


def _module(op: Activation, _: Shape) -> Any:
    from torch import nn

    return getattr(nn, MODULES[op.fn])()


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> Activation:
    return Activation(f["fn"])


def _fn(op: Activation) -> tuple[str, ...]:
    return (op.fn,)


def _label(op: Activation) -> str:
    return op.fn


ACT = OpKind(Activation, same_shape, _module, dict.fromkeys(ACTIVATIONS, "activations"),
             keys_of=_fn, label=_label,
             spec=SpecKind(fields(fn=Field("choice", choices=ACTIVATIONS)),
                           "the matching `nn` module"),
             lower=_lower)

KINDS = (ACT,)
