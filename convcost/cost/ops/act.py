"""``act``: an elementwise activation function; ``functional: true`` (relu only) is ``F.relu``
called in ``forward``, as torchvision's GoogLeNet and Inception v3 ``BasicConv2d`` write it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, TorchCall, Traced, first, fixed
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


# -- import ------------------------------------------------------------------------------

# functions fx and export read as an activation (more than the spec's fns: softplus, selu, ...
# stay opaque in the spec, but an IR act all the same; softmax is a kind of its own)
FUNCTIONS = ("relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu", "gelu", "tanh",
             "leaky_relu", "elu", "mish", "softplus", "log_softmax", "selu")
_MODULES = {**{cls: fn for fn, cls in MODULES.items() if fn != "hardtanh"},
            "Softplus": "softplus", "SELU": "selu"}
_ONNX = {"Relu": "relu", "HardSwish": "hardswish", "HardSigmoid": "hardsigmoid", "Sigmoid": "sigmoid",
         "Tanh": "tanh", "LeakyRelu": "leaky_relu", "Elu": "elu", "Gelu": "gelu", "Mish": "mish",
         "PRelu": "prelu"}
_OUT_OF_PLACE = ("log_softmax", "softplus")  # no aten in-place op
_FUNCTIONAL_RELU = ("torch.nn.functional.relu", "torch.relu", "Tensor.relu")  # fx targets


def _hardtanh(lo: float, hi: float) -> Fields:
    return dict(fn="relu6" if (lo, hi) == (0.0, 6.0) else "hardtanh", min=lo, max=hi)


def _read_hardtanh(c: TorchCall) -> Fields:
    """``F.hardtanh(x, min_val, max_val)`` (and ``aten.hardtanh``)."""
    return _hardtanh(float(c.arg(1, "min_val", -1.0)), float(c.arg(2, "max_val", 1.0)))


def _read_clip(c: OnnxCall) -> Fields:
    lo = c.attrs.get("min", first(c.constants[1] if len(c.constants) > 1 else None))
    hi = c.attrs.get("max", first(c.constants[2] if len(c.constants) > 2 else None))
    if lo == 0 and hi is None:
        return dict(fn="relu")
    if (lo, hi) == (0, 6):
        return dict(fn="relu6")  # as torch.fx gives nn.ReLU6
    return dict(fn="hardtanh", min=lo, max=hi)


def _emit(node: Traced, _: Any) -> list[Layer] | None:
    if node.attr("fn") not in ACTIVATIONS:
        return None
    layer: Layer = {"kind": "act", "fn": node.attr("fn")}
    if node.target in _FUNCTIONAL_RELU:  # F.relu in forward: tools that hook modules miss it
        layer["functional"] = True
    return [{**layer, "per_channel": True} if node.attr("fn") == "prelu" and node.params > 1 else layer]


def _functions() -> dict[str, Any]:
    names = {**{f"torch.nn.functional.{fn}": fn for fn in FUNCTIONS},
             **{f"torch.{fn}": fn for fn in ("relu", "sigmoid", "tanh")},
             **{f"torch.{fn}_": fn for fn in ("relu", "sigmoid", "tanh")},  # in place
             "torch.nn.functional.elu_": "elu",  # F.relu_ is torch.relu_
             **{f"Tensor.{fn}{place}": fn for fn in ("relu", "sigmoid", "tanh") for place in ("", "_")}}
    return {**{name: fixed(fn=fn) for name, fn in names.items()},
            "torch.nn.functional.hardtanh": _read_hardtanh}


IMPORTS = Imports(
    modules={**{f"torch.nn.{cls}": fixed(fn=fn) for cls, fn in _MODULES.items()},
             "torch.nn.Hardtanh": lambda c: _hardtanh(c.module.min_val, c.module.max_val)},
    functions=_functions(),
    aten={**{f"aten.{fn}": fixed(fn=fn) for fn in (*FUNCTIONS, "prelu")},
          **{f"aten.{fn}_": fixed(fn=fn) for fn in FUNCTIONS if fn not in _OUT_OF_PLACE},  # in place
          "aten.hardtanh": _read_hardtanh},
    onnx={**{op: fixed(fn=fn) for op, fn in _ONNX.items()}, "Clip": _read_clip},
    onnx_weights={"PRelu": (1,)}, signature=lambda node: ("act", node.attrs["fn"]), emit=_emit)

ACT = OpKind(Activation, activation, _module,
             dict.fromkeys((*ACTIVATIONS, "functional_relu"), "activations"),
             keys_of=_fn, label=_label, learnable=True, elementwise=True,  # PReLU: learnable
             spec=SpecKind(fields(fn=Field("choice", choices=ACTIVATIONS),
                                  per_channel=Field("bool", False, doc="prelu: one slope per "
                                                    "channel (default: one shared slope)"),
                                  functional=Field("bool", False, doc="relu: `F.relu` in "
                                                   "forward, no module")),
                           "the matching `nn` module; `functional`: `F.relu`", _check),
             lower=_lower, imports=IMPORTS, fusion="epilogue", signature=lambda op: ("act", op.fn))

KINDS = (ACT,)
