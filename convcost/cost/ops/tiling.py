"""Windows, repeats and broadcasts, any rank: ``sliding`` (``x.unfold(dim, size, step)``, a
view: HaloNet's overlapping key/value blocks), ``repeat_interleave``
(``x.repeat_interleave(repeats, dim)``, a copy: GC ViT's global query, one per window) and
``expand`` (``x.expand(N, *shape)``, a view: HaloNet's relative logits tiled over a window). No
params, no MACs (FlopCounterMode counts none; fvcore reports ``aten::unfold`` and
``aten::repeat_interleave`` unsupported and ignores ``aten::expand``).

Dims are torch's, the batch's included (``dim: 0`` repeats the batch); negative dims count from
the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Read, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.ops.reshape import axis, tensor_method
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError


@dataclass(frozen=True)
class Sliding(Op):
    """``x.unfold(dim, size, step)``: every ``size`` window along ``dim``, ``step`` apart."""

    key: ClassVar[str] = "sliding"
    dim: int
    size: int
    step: int


@dataclass(frozen=True)
class RepeatInterleave(Op):
    """``x.repeat_interleave(repeats, dim)``: each slice along ``dim`` ``repeats`` times."""

    key: ClassVar[str] = "repeat_interleave"
    repeats: int
    dim: int


@dataclass(frozen=True)
class Expand(Op):
    """``x.expand(N, *shape)``: its dims of size 1 broadcast to ``shape`` (-1: kept)."""

    key: ClassVar[str] = "expand"
    shape: tuple[int, ...]


def sliding(op: Sliding, x: Shape) -> LayerCost:
    # [.., D, ..] -> [.., (D − size) // step + 1, .., size]: the windows, each at the end (a view)
    d = axis(op.dim, len(x))
    if not 0 < op.size <= x[d] or op.step < 1:
        raise ShapeError(f"sliding windows of {op.size} (step {op.step}) do not fit dim {op.dim} "
                         f"of size {x[d]}")
    out = list(x)
    out[d] = (x[d] - op.size) // op.step + 1
    return LayerCost(0, 0, (*out, op.size))


def repeat_interleave(op: RepeatInterleave, x: Shape) -> LayerCost:
    # [.., D, ..] -> [.., D·repeats, ..]: a copy
    d = axis(op.dim, len(x))
    if op.repeats < 1:
        raise ShapeError(f"repeat_interleave needs repeats >= 1, got {op.repeats}")
    return LayerCost(0, 0, tuple(s * op.repeats if i == d else s for i, s in enumerate(x)))


def expand(op: Expand, x: Shape) -> LayerCost:
    # [N, d1, .., dk] -> [N, s1, .., sk]: si = di where -1 or di, else di = 1 broadcast (a view)
    if len(op.shape) != len(x) - 1 or any(s not in (-1, d) and (d != 1 or s < 1)
                                          for s, d in zip(op.shape, x[1:], strict=True)):
        raise ShapeError(f"expand sizes {list(op.shape)} do not broadcast {list(x)} (its sizes "
                         "after the batch, -1 or the size itself where it is not 1)")
    return LayerCost(0, 0, (x[0], *(d if s == -1 else s for s, d in zip(op.shape, x[1:], strict=True))))


def _module(op: Sliding | RepeatInterleave | Expand, _: Shape) -> Any:
    if isinstance(op, Sliding):
        return tensor_method()("unfold", (op.dim, op.size, op.step))
    if isinstance(op, Expand):
        return tensor_method()("expand", op.shape, batch=True)
    return tensor_method()("repeat_interleave", (op.repeats, op.dim))


def _lower_sliding(f: Mapping[str, Any], x: Shape, at: Lowering) -> Sliding:
    return checked(sliding, Sliding(f["dim"], f["size"], f["step"]), x, f"{at.path}.size")


def _lower_expand(f: Mapping[str, Any], x: Shape, at: Lowering) -> Expand:
    return checked(expand, Expand(f["shape"]), x, f"{at.path}.shape")


def _lower_repeat(f: Mapping[str, Any], x: Shape, at: Lowering) -> RepeatInterleave:
    return checked(repeat_interleave, RepeatInterleave(f["repeats"], f["dim"]), x, f"{at.path}.dim")


# -- import ------------------------------------------------------------------------------

def _read_sliding(c: TorchCall) -> Read:
    """``x.unfold(dimension, size, step)``, ``aten.unfold``."""
    dim, size, step = c.arg(1, "dimension"), c.arg(2, "size"), c.arg(3, "step")
    if not all(isinstance(v, int) for v in (dim, size, step)) or len(c.in_shapes) != 1:
        return "opaque", dict(shapes=c.shapes)
    return dict(dim=dim % len(c.in_shapes[0]), size=size, step=step)


def _read_repeat(c: TorchCall) -> Read:
    """``x.repeat_interleave(repeats, dim)`` with one ``repeats`` for every slice, computed in
    the trace or not (GC ViT's ``B // q_global.shape[0]``): the output's size over the input's;
    a tensor of repeats (a second tensor input) or no ``dim`` (the flattened tensor): opaque."""
    dim = c.arg(2, "dim")
    if len(c.in_shapes) != 1 or not isinstance(dim, int):
        return "opaque", dict(shapes=c.shapes)
    x, d = c.in_shapes[0], dim % len(c.in_shapes[0])
    if len(c.shape) != len(x) or c.shape[d] % x[d] or any(
            a != b for i, (a, b) in enumerate(zip(x, c.shape, strict=True)) if i != d):
        return "opaque", dict(shapes=c.shapes)
    return dict(repeats=c.shape[d] // x[d], dim=d)


def _emit_sliding(node: Traced, x: Shape) -> list[Layer] | None:
    op = Sliding(node.attr("dim"), node.attr("size"), node.attr("step"))
    try:
        if sliding(op, x).output_shape != node.shape:
            return None
    except ShapeError:
        return None
    return [{"kind": "sliding", "dim": op.dim, "size": op.size, "step": op.step}]


def _emit_repeat(node: Traced, x: Shape) -> list[Layer] | None:
    op = RepeatInterleave(node.attr("repeats"), node.attr("dim"))
    try:
        if repeat_interleave(op, x).output_shape != node.shape:
            return None
    except ShapeError:
        return None
    return [{"kind": "repeat_interleave", "repeats": op.repeats, "dim": op.dim}]


def emit_expand(node: Traced, x: Shape) -> list[Layer] | None:
    """``x.expand(...)`` of a traced tensor of the same rank, its batch kept: -1 where a size
    stays (it follows the widths), the new size where a 1 broadcasts; else None."""
    if len(node.shape) != len(x) or node.shape[0] != x[0]:
        return None
    shape = [-1 if s == d else s for s, d in zip(node.shape[1:], x[1:], strict=True)]
    try:
        expand(Expand(tuple(shape)), x)
    except ShapeError:
        return None
    return [{"kind": "expand", "shape": shape}]


_DIM = Field("int", minimum=-64, doc="a dim, the batch's included (negative: from the end)")

SLIDING = OpKind(
    Sliding, sliding, _module, {"sliding": "views"}, view=True,
    spec=SpecKind(fields(dim=_DIM, size=Field("int", minimum=1, doc="the window's length"),
                         step=Field("int", minimum=1, doc="between window starts")),
                  "`x.unfold(dim, size, step)`: the windows along a dim (a view; HaloNet's "
                  "key/value blocks), `[.., D, ..]` -> `[.., (D − size) // step + 1, .., size]`, "
                  "no MACs"),
    lower=_lower_sliding,
    imports=Imports(functions={"Tensor.unfold": _read_sliding}, aten={"aten.unfold": _read_sliding},
                    emit=_emit_sliding))
REPEAT_INTERLEAVE = OpKind(
    RepeatInterleave, repeat_interleave, _module, {"repeat_interleave": "views"},
    spec=SpecKind(fields(repeats=Field("int", minimum=1, doc="copies of each slice"),
                         dim=_DIM),
                  "`x.repeat_interleave(repeats, dim)`: each slice along a dim repeated (a copy; "
                  "GC ViT's global query per window), no MACs"),
    lower=_lower_repeat,
    imports=Imports(functions={"torch.repeat_interleave": _read_repeat,
                               "Tensor.repeat_interleave": _read_repeat},
                    aten={"aten.repeat_interleave": _read_repeat}, emit=_emit_repeat))
EXPAND = OpKind(
    Expand, expand, _module, {"expand": "views"}, view=True,
    spec=SpecKind(fields(shape=Field("ints", minimum=-1, doc="sizes after the batch: -1 keeps one, "
                                     "a size broadcasts a 1")),
                  "`x.expand(N, *shape)` of a tensor the model computed: its sizes of 1 broadcast "
                  "(a view; a parameter expanded is a `param`), no MACs"),
    lower=_lower_expand)  # read as the param kind's expand, emitted by emit_expand

KINDS = (SLIDING, REPEAT_INTERLEAVE, EXPAND)
