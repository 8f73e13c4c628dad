"""``opaque``: what an imported model does that no kind expresses (written by ``convcost import``).

Its output shape and parameters were measured on the model; its MACs are never counted, under
any convention, and every report shows the layer as ``opaque``. It reads every tensor the
original ops read (``from:`` a list). Its ``op`` text lists the ops it stands for as
``name ×count, ...`` (:func:`describe`); :func:`uncounted` reads them back, so that every
command can name the work its totals leave out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape

CLASS = "opaque (imported, not counted)"
TEXT_LIMIT = 200  # characters of the ``op`` text (spec/fields.py: MAX_TEXT)
_TIMES = " ×"


@dataclass(frozen=True)
class StandIn(Op):
    """Ops convcost does not count one by one, imported as measured: the ops they stand for
    (``name ×count, ...``), the measured output shape and parameters (``opaque``, and the
    recorder's ``recorded``)."""

    batch_first: ClassVar[bool]  # ``shape`` leaves the batch out (the input's comes first)
    op: str
    shape: tuple[int, ...]
    params: int = 0


@dataclass(frozen=True)
class Opaque(StandIn):
    """An inexpressible op: its output shape is measured batch excluded."""

    key: ClassVar[str] = "opaque"
    batch_first: ClassVar[bool] = True


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
def stand_in_class(key: str, batch: bool) -> type:
    """The torch module that stands in for a ``key`` layer (``OpaqueModule``, ``RecordedModule``):
    its params (``{key}_params``), zeros of its output shape (after the input's batch when
    ``batch``)."""
    import torch
    from torch import nn

    class StandInModule(nn.Module):
        def __init__(self, params: int, shape: tuple[int, ...]) -> None:
            super().__init__()
            self.register_parameter(f"{key}_params", nn.Parameter(torch.zeros(params)))
            self.shape = shape

        def forward(self, x: torch.Tensor, *others: torch.Tensor) -> torch.Tensor:
            shape = (x.shape[0], *self.shape) if batch else self.shape
            if others:  # empty slices of every input feed the zeros: a tracer (fvcore's
                # torch.jit) keeps the layers that made each input, not only the first's
                x = torch.cat([t.flatten()[:0] for t in (x, *others)])
            return x.new_zeros(shape)

    StandInModule.__name__ = StandInModule.__qualname__ = f"{key.capitalize()}Module"
    StandInModule.__doc__ = f"Stands in for a ``{key}`` layer: its params, zeros of its output shape."
    return StandInModule


def stand_in(op: StandIn, _: Shape) -> Any:
    """The torch factory of a stand-in kind."""
    return stand_in_class(op.key, op.batch_first)(op.params, op.shape)


def lower_stand_in(kind: type[StandIn]) -> Callable[[Mapping[str, Any], Shape, Lowering], StandIn]:
    """The spec fields ``op``, ``output_shape``, ``params`` -> the op."""
    return lambda f, _, __: kind(f["op"], tuple(f["output_shape"]), f["params"])


OPAQUE = OpKind(
    Opaque, opaque, stand_in, {"opaque": CLASS}, learnable=True, variadic=True,
    uncounted=lambda op: op.op,
    spec=SpecKind(fields(
        op=Field("text", doc="what the imported model does here"),
        output_shape=Field("shape", doc="measured output shape, batch excluded: [C, H, W] or [F]"),
        params=Field("int", 0, minimum=0, doc="measured parameters"),
    ), "written by `convcost import` where no kind fits: the measured shape and params, **no MACs "
       "under any convention** (every command says so on stderr; `--strict` refuses it); reads "
       "every tensor the original ops read (`from:` one or more layers); built as a stand-in "
       "holding `params` parameters"),
    lower=lower_stand_in(Opaque),
)

KINDS = (OPAQUE,)
