"""``clamp``: ``torch.clamp(x, min, max)`` of one tensor, elementwise (timm's
``Gemma4ClippableLinear`` clamps a linear's input and output between buffers).

Its bounds (numbers, or tensors the model holds) change neither the shape nor any count, so the
kind keeps none: no params; paper MACs 0 (FlopCounterMode counts no ``aten.clamp``; fvcore
ignores ``aten::clamp`` as free). ONNX ``Clip`` stays the ``act`` kind's (``hardtanh``/``relu6``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced, fixed
from convcost.cost.opkind import Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.ops.act import same_shape
from convcost.cost.value import Shape


@dataclass(frozen=True)
class Clamp(Op):
    """``torch.clamp(x, min, max)``: the bounds are not kept (they change no count)."""

    key: ClassVar[str] = "clamp"


@cache
def _clamp_class() -> type:
    import torch
    from torch import nn

    class Clamp(nn.Module):
        """``torch.clamp(x, min, max)``, the bounds tensors as in timm's Gemma4 (±inf: no-op)."""

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("lo", torch.tensor(-float("inf")), persistent=False)
            self.register_buffer("hi", torch.tensor(float("inf")), persistent=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.clamp(x, self.get_buffer("lo"), self.get_buffer("hi"))

    return Clamp


def _module(_: Clamp, __: Shape) -> Any:
    return _clamp_class()()


def _lower(_: Mapping[str, Any], __: Shape, ___: Lowering) -> Clamp:
    return Clamp()


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    """One tensor clamped, its shape kept (bounds numbers or the model's buffers)."""
    return [{"kind": "clamp"}] if len(node.inputs) == 1 and node.shape == x else None


_NAMES = ("clamp", "clip")
IMPORTS = Imports(
    functions={f"{owner}.{name}{place}": fixed() for owner in ("torch", "Tensor") for name in _NAMES
               for place in ("", "_")},
    aten={f"aten.{name}{place}": fixed() for name in _NAMES for place in ("", "_")},
    emit=_emit)

CLAMP = OpKind(Clamp, same_shape, _module, {"clamp": "activations"}, elementwise=True,
               spec=SpecKind(fields(), "`torch.clamp(x, min, max)`: elementwise, its bounds "
                                       "(numbers or buffers) not kept; no params, paper MACs 0"),
               lower=_lower, imports=IMPORTS)

KINDS = (CLAMP,)
