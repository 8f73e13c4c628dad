"""``opaque``: what an imported model does that no kind expresses (written by ``convcost import``).

Its output shape and parameters were measured on the model; its MACs are never counted, under
any convention, and every report shows the layer as ``opaque``. It reads every tensor the
original ops read (``from:`` a list). Its ``op`` text lists the ops it stands for as
``name ×count, ...`` (:func:`describe`); :func:`uncounted` reads them back, so that every
command can name the work its totals leave out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape

CLASS = "opaque (imported, not counted)"
TEXT_LIMIT = 200  # characters of the ``op`` text (spec/fields.py: MAX_TEXT)
_TIMES = " ×"


@dataclass(frozen=True)
class Opaque(Op):
    """The measured output shape (batch excluded) and parameters of an inexpressible op."""

    key: ClassVar[str] = "opaque"
    op: str
    shape: tuple[int, ...]
    params: int = 0


def describe(ops: Mapping[str, int], limit: int = TEXT_LIMIT) -> str:
    """``linear ×48, layernorm ×25, ...``; past ``limit`` characters the tail is summed up as
    ``other ops ×N``, so that :func:`uncounted` still gives the total count."""
    items = [f"{op}{_TIMES}{count}" for op, count in ops.items()]
    counts = list(ops.values())
    for keep in range(len(items), -1, -1):
        rest = sum(counts[keep:])
        text = ", ".join(items[:keep] + ([f"other ops{_TIMES}{rest}"] if rest else []))
        if len(text) <= limit:
            return text
    return f"ops{_TIMES}{sum(counts)}"


def uncounted(text: str) -> Counter[str]:
    """The ops an ``op`` text names with their counts (:func:`describe`'s inverse); a text
    not in that form is one op."""
    ops: Counter[str] = Counter()
    for item in text.split(", "):
        name, times, count = item.rpartition(_TIMES)
        if times and name and count.isdigit():
            ops[name] += int(count)
        else:
            ops[item] += 1
    return ops


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

        def forward(self, x: torch.Tensor, *others: torch.Tensor) -> torch.Tensor:
            return x.new_zeros((x.shape[0], *self.shape))

    return OpaqueModule


def _module(op: Opaque, _: Shape) -> Any:
    return _opaque_class()(op.params, op.shape)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> Opaque:
    return Opaque(f["op"], tuple(f["output_shape"]), f["params"])


OPAQUE = OpKind(
    Opaque, opaque, _module, {"opaque": CLASS}, learnable=True, variadic=True,
    spec=SpecKind(fields(
        op=Field("text", doc="what the imported model does here"),
        output_shape=Field("shape", doc="measured output shape, batch excluded: [C, H, W] or [F]"),
        params=Field("int", 0, minimum=0, doc="measured parameters"),
    ), "written by `convcost import` where no kind fits: the measured shape and params, **no MACs "
       "under any convention** (every command says so on stderr; `--strict` refuses it); reads "
       "every tensor the original ops read (`from:` one or more layers); built as a stand-in "
       "holding `params` parameters"),
    lower=_lower,
)

KINDS = (OPAQUE,)
