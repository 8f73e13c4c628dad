"""``normalize``: ``F.normalize(x, p, dim)``, each vector along ``dim`` divided by its p-norm
(XCiT's and EdgeNeXt's cross-covariance attention normalise q and k over the tokens; Swin V2-CR's
cosine attention). Nothing learnt and no conv or linear MAC: paper MACs 0, as a norm.

torch has no ATen op of its own for it (``aten.linalg_vector_norm``, ``clamp_min``,
``expand_as`` and ``div``: fvcore skips all four as unsupported); ONNX's ``LpNormalization`` is
the same op (``axis``, ``p`` 1 or 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError
from convcost.limits import MAX_FLOAT


@dataclass(frozen=True)
class Normalize(Op):
    """``F.normalize(x, p, dim)``: ``x / max(‖x‖_p over dim, eps)``."""

    key: ClassVar[str] = "normalize"
    dim: int = 1
    p: float = 2.0


def normalize(op: Normalize, x: Shape) -> LayerCost:
    # [N, ...] -> [N, ...] (the same shape); no params; paper MACs 0 (a norm)
    if not -len(x) < op.dim < len(x) or op.dim % len(x) == 0:
        raise ShapeError(f"normalize dim {op.dim} must be a dim after the batch of {list(x)}")
    return LayerCost(0, 0, x)


@cache
def _normalize_class() -> type:
    import torch
    from torch import nn
    from torch.nn import functional

    class NormalizeModule(nn.Module):
        """``F.normalize(x, p, dim)`` in forward."""

        def __init__(self, p: float, dim: int) -> None:
            super().__init__()
            self.p, self.dim = p, dim

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return functional.normalize(x, p=self.p, dim=self.dim)

        def extra_repr(self) -> str:
            return f"p={self.p}, dim={self.dim}"

    return NormalizeModule


def _module(op: Normalize, _: Shape) -> Any:
    return _normalize_class()(op.p, op.dim)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Normalize:
    return checked(normalize, Normalize(f["dim"], float(f["p"])), x, f"{at.path}.dim")


# -- import ------------------------------------------------------------------------------

def _read_call(c: TorchCall) -> Fields:
    """``F.normalize(x, p=2.0, dim=1, eps=1e-12)``."""
    return dict(p=c.arg(1, "p", 2.0), dim=c.arg(2, "dim", 1))


def _read_onnx(c: OnnxCall) -> Fields:
    """``LpNormalization``: ``axis`` (default -1), ``p`` (default 2)."""
    return dict(p=int(c.attrs.get("p", 2)), dim=int(c.attrs.get("axis", -1)))


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    dim, p = node.attr("dim"), node.attr("p")
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p < MAX_FLOAT \
            or not isinstance(dim, int) or not -len(x) < dim < len(x) or dim % len(x) == 0:
        return None  # p = inf, a tensor p, the batch dim: no field says it
    return [{"kind": "normalize", "dim": dim, **({} if p == 2 else {"p": float(p)})}]


NORMALIZE = OpKind(
    Normalize, normalize, _module, {"normalize": "norm"},
    spec=SpecKind(fields(dim=Field("int", 1, minimum=-8, doc="the axis normalised (negative: from "
                                   "the end; not the batch)"),
                         p=Field("number", 2.0, doc="the norm's exponent")),
                  "`F.normalize(x, p, dim)`: each vector along `dim` over its p-norm; no params, "
                  "paper MACs 0"),
    lower=_lower,
    imports=Imports(functions={"torch.nn.functional.normalize": _read_call},
                    onnx={"LpNormalization": _read_onnx}, emit=_emit))

KINDS = (NORMALIZE,)
