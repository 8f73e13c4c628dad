"""Elementwise arithmetic no other kind says: ``div``, ``a / b`` of two tensors, broadcasting
(EfficientViT's linear attention ``out[..., :-1] / (out[..., -1:] + eps)``; CSATv2's
``(x - mean) / std``, std a buffer: a ``param`` divided by), and ``shift``, ``x + value`` of one
tensor and a number (that ``+ eps``; CSATv2's ``0.564 · (b − y) + 128``).

No params; paper MACs 0: FlopCounterMode counts neither ``aten.div`` nor ``aten.add``, as it
counts no ``mul`` or ``add``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.ops.act import same_shape
from convcost.cost.ops.merge import broadcast, read_onnx_scalar, read_scalar
from convcost.cost.ops.token_imports import emit_weight_merge
from convcost.cost.value import LayerCost, Shape
from convcost.errors import SpecError


@dataclass(frozen=True)
class Div(Op):
    """``a / b``, broadcasting; ``other`` is b's shape."""

    key: ClassVar[str] = "div"
    other: Shape


@dataclass(frozen=True)
class Shift(Op):
    """``x + value``, a number (no parameter)."""

    key: ClassVar[str] = "shift"
    value: float


def div(op: Div, x: Shape) -> LayerCost:
    # [N, ...] / [N|1, ...|1] (same rank) -> the broadcast shape; no params, paper MACs 0
    shape = broadcast(x, op.other)
    assert shape is not None, "checked when lowered"
    return LayerCost(0, 0, shape)


@cache
def _classes() -> SimpleNamespace:
    import torch
    from torch import nn

    class DivModule(nn.Module):
        """``a / b`` with broadcasting."""

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a / b

    class ShiftModule(nn.Module):
        """``x + value``."""

        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.value

        def extra_repr(self) -> str:
            return f"value={self.value}"

    return SimpleNamespace(div=DivModule, shift=ShiftModule)


def _div_module(_: Div, __: Shape) -> Any:
    return _classes().div()


def _shift_module(op: Shift, _: Shape) -> Any:
    return _classes().shift(op.value)


def _lower_div(_: Mapping[str, Any], x: Shape, lowering: Lowering) -> Div:
    other = lowering.inputs[1]
    if broadcast(x, other) is None:
        raise SpecError(f"div needs shapes of one rank that broadcast (each size equal, or 1 in "
                        f"one of them), got {list(x[1:])} and {list(other[1:])}",
                        path=lowering.inputs_path)
    return Div(other)


def _lower_shift(f: Mapping[str, Any], _: Shape, __: Lowering) -> Shift:
    return Shift(float(f["value"]))


# -- import ------------------------------------------------------------------------------

def _merge_div(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    """``a / b`` of two computed tensors of one rank that broadcast to the traced output."""
    ok = (len(shapes) == 2 and "scalar" not in node.attrs and len(node.shape) >= 2
          and broadcast(tuple(shapes[0]), tuple(shapes[1])) == node.shape)
    return [{"kind": "div"}] if ok else None


def _emit_div(node: Traced, x: Shape) -> list[Layer] | None:
    """``x / w``, w a weight read alone (CSATv2's ``/ std``, a buffer): a ``param`` divided by;
    a number or a weight on the left: None (opaque)."""
    return None if node.attr("state_first") else emit_weight_merge(node, x, "div")


DIV_IMPORTS = Imports(
    functions=dict.fromkeys(("operator.truediv", "operator.itruediv", "torch.div", "Tensor.div",
                             "Tensor.div_"), read_scalar),
    aten={"aten.div": read_scalar, "aten.div_": read_scalar}, onnx={"Div": read_onnx_scalar},
    emit=_emit_div, merge=_merge_div)

DIV = OpKind(Div, div, _div_module, {"div": "residual adds"}, inputs=2,
             path=lambda shapes, out: tuple(i for i, s in enumerate(shapes) if s == out),
             spec=SpecKind(fields(), "`a / b`, broadcasting (`from:` 2 inputs of one rank): no "
                                     "params, paper MACs 0"),
             lower=_lower_div, imports=DIV_IMPORTS)
SHIFT = OpKind(Shift, same_shape, _shift_module, {"shift": "layer scale"}, elementwise=True,
               spec=SpecKind(fields(value=Field("number", doc="the number added (positive)")),
                             "`x + value`, a number (`+ eps`): no params, paper MACs 0"),
               lower=_lower_shift)

KINDS = (DIV, SHIFT)
