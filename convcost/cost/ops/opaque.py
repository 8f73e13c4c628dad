"""``opaque``: what an imported model does that no kind expresses (written by ``convcost import``).

Its output shape and parameters were measured on the model; its MACs are never counted, under
any convention, and every report shows the layer as ``opaque``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape

CLASS = "opaque (imported, not counted)"


@dataclass(frozen=True)
class Opaque(Op):
    """The measured output shape (batch excluded) and parameters of an inexpressible op."""

    key: ClassVar[str] = "opaque"
    op: str
    shape: tuple[int, ...]
    params: int = 0


def opaque(op: Opaque, x: Shape) -> LayerCost:
    # [N, ...] -> [N, *shape]: the measured shape and params; MACs not counted
    return LayerCost(op.params, 0, (x[0], *op.shape))


@cache
def _opaque_class() -> type:
    import torch
    from torch import nn

    class OpaqueModule(nn.Module):
        """Stands in for an op convcost cannot express: its params, zeros of its output shape."""

        def __init__(self, params: int, shape: tuple[int, ...]) -> None:
            super().__init__()
            self.opaque_params = nn.Parameter(torch.zeros(params))
            self.shape = shape

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.new_zeros((x.shape[0], *self.shape))

    return OpaqueModule


def _module(op: Opaque, _: Shape) -> Any:
    return _opaque_class()(op.params, op.shape)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> Opaque:
    return Opaque(f["op"], tuple(f["output_shape"]), f["params"])


OPAQUE = OpKind(
    Opaque, opaque, _module, {"opaque": CLASS}, learnable=True,
    spec=SpecKind(fields(
        op=Field("text", doc="what the imported model does here"),
        output_shape=Field("shape", doc="measured output shape, batch excluded: [C, H, W] or [F]"),
        params=Field("int", 0, minimum=0, doc="measured parameters"),
    ), "written by `convcost import` where no kind fits: the measured shape and params, **no MACs "
       "under any convention**; built as a stand-in holding `params` parameters"),
    lower=_lower,
)

KINDS = (OPAQUE,)
