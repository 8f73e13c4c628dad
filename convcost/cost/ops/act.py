"""``act``: an elementwise activation function; ``functional: true`` (relu only) is ``F.relu``
called in ``forward``, as torchvision's GoogLeNet and Inception v3 ``BasicConv2d`` write it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError, SpecError

# Activation fn -> torch.nn class name; the spec's `fn` choices, in this order.
MODULES: Mapping[str, str] = MappingProxyType({
    "relu": "ReLU", "relu6": "ReLU6", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid",
    "sigmoid": "Sigmoid", "silu": "SiLU", "gelu": "GELU", "leaky_relu": "LeakyReLU",
    "prelu": "PReLU", "elu": "ELU", "tanh": "Tanh", "mish": "Mish", "hardtanh": "Hardtanh",
})
ACTIVATIONS = tuple(MODULES)


@dataclass(frozen=True)
class Activation(Op):
    """An elementwise activation; PReLU learns ``slopes`` negative slopes (1, or one per channel)."""

    key: ClassVar[str] = "act"
    fn: str
    slopes: int = 1  # prelu only: nn.PReLU(num_parameters=slopes)
    functional: bool = False  # relu only: F.relu in forward, no nn.ReLU


def same_shape(_: Op, x: Shape) -> LayerCost:
    # [N, ...] -> [N, ...]; no params, paper MACs 0
    return LayerCost(0, 0, x)


def activation(op: Activation, x: Shape) -> LayerCost:
    # [N, C, ...] -> [N, C, ...]; params: PReLU's slopes (1 or C), else 0; paper MACs 0
    if op.fn != "prelu":
        return LayerCost(0, 0, x)
    if op.slopes not in (1, x[1]):
        raise ShapeError(f"prelu has {op.slopes} slopes: needs 1 or the {x[1]} channels")
    return LayerCost(op.slopes, 0, x)


@cache
def _functional_relu_class() -> type:
    import torch
    from torch import nn
    from torch.nn import functional

    class FunctionalReLU(nn.Module):
        """``F.relu`` in forward, as torchvision's ``BasicConv2d`` (GoogLeNet, Inception v3)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return functional.relu(x)  # looked up at each call: a tool may patch it

    return FunctionalReLU


def _module(op: Activation, _: Shape) -> Any:
    from torch import nn

    if op.functional:
        return _functional_relu_class()()
    if op.fn == "prelu":
        return nn.PReLU(op.slopes)
    return getattr(nn, MODULES[op.fn])()


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> Activation:
    return Activation(f["fn"], x[1] if f["per_channel"] else 1, f["functional"])


def _check(f: Mapping[str, Any], path: str) -> None:
    if f["per_channel"] and f["fn"] != "prelu":
        raise SpecError("per_channel needs fn prelu", path=f"{path}.per_channel")
    if f["functional"] and f["fn"] != "relu":
        raise SpecError("functional needs fn relu", path=f"{path}.functional")


def _fn(op: Activation) -> tuple[str, ...]:
    return ("functional_relu",) if op.functional else (op.fn,)


def _label(op: Activation) -> str:
    return op.fn


ACT = OpKind(Activation, activation, _module,
             dict.fromkeys((*ACTIVATIONS, "functional_relu"), "activations"),
             keys_of=_fn, label=_label, learnable=True, elementwise=True,  # PReLU: learnable
             spec=SpecKind(fields(fn=Field("choice", choices=ACTIVATIONS),
                                  per_channel=Field("bool", False, doc="prelu: one slope per "
                                                    "channel (default: one shared slope)"),
                                  functional=Field("bool", False, doc="relu: `F.relu` in "
                                                   "forward, no module")),
                           "the matching `nn` module; `functional`: `F.relu`", _check),
             lower=_lower)

KINDS = (ACT,)
