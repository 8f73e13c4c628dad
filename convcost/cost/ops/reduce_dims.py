"""Reductions over several dims at once, shared by ``sum`` and ``max``: ``x.sum((2, 3))``,
``x.amax((2, 3), keepdim=True)`` (a global sum or max over H×W in a hand-written net), written
``dims: [2, 3]`` in a spec instead of one ``dim``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from convcost.cost.imports import Layer, OnnxCall, Read, Traced
from convcost.cost.opkind import Field, Lowering
from convcost.cost.value import Shape
from convcost.errors import ShapeError, SpecError

DIMS = Field("ints", None, nullable=True, doc="several dims at once, instead of `dim` ([2, 3]: "
             "over H×W)")


def reduced(dims: tuple[int, ...], keepdim: bool, x: Shape, what: str) -> Shape:
    """``x`` with ``dims`` (after the batch) reduced: removed, or kept as 1 (``keepdim``)."""
    # [N, C, H, W] over [2, 3] -> [N, C] (keepdim: [N, C, 1, 1])
    if not all(0 < d < len(x) for d in dims) or len(set(dims)) != len(dims):
        raise ShapeError(f"{what} dims {list(dims)} must be distinct dims after the batch of {list(x)}")
    if not keepdim and len(x) - len(dims) < 2:
        raise ShapeError(f"{what} over dims {list(dims)} of {list(x)} leaves no dim after the batch")
    return tuple(1 if i in dims else s for i, s in enumerate(x) if keepdim or i not in dims)


def read_dims(value: Any, in_shapes: Sequence[Shape]) -> tuple[int, ...] | None:
    """A traced call's ``dim`` argument (an int, or a list or tuple of them), each counted from
    the front and sorted; None for a reduction of everything or a dim the trace did not fix."""
    items = [value] if isinstance(value, int) else value
    if not isinstance(items, list | tuple) or not items or len(in_shapes) != 1 \
            or not all(isinstance(d, int) and not isinstance(d, bool) for d in items):
        return None
    rank = len(in_shapes[0])
    if not all(-rank <= d < rank for d in items):
        return None
    return tuple(sorted({d % rank for d in items}))


def read_onnx_dims(c: OnnxCall) -> Read:
    """ONNX ``ReduceSum``/``ReduceMax``: ``axes`` an attribute (old opsets) or a constant input."""
    axes = c.attrs.get("axes") or (c.constants[1] if len(c.constants) > 1 else None)
    dims = read_dims([int(a) for a in axes] if axes else None, (c.in_shapes[0] or c.shape,))
    if dims is None:
        return "opaque", dict(shapes=c.shapes)
    return dict(dims=dims, keepdim=bool(c.attrs.get("keepdims", 1)))


def emit_dims(kind: str, node: Traced, x: Shape) -> Layer | None:
    """The layer of a reduction node read by :func:`read_dims`: ``dim`` for one dim, ``dims``
    for several; None where no spec layer holds it (the batch reduced, nothing left)."""
    dims, keepdim = node.attr("dims"), bool(node.attr("keepdim"))
    if not dims:
        return None
    try:
        reduced(tuple(dims), keepdim, x, kind)
    except ShapeError:
        return None
    layer: Layer = {"kind": kind, **({"dim": dims[0]} if len(dims) == 1 else {"dims": list(dims)})}
    return {**layer, "keepdim": True} if keepdim else layer


def dim_or_dims(required: bool) -> Callable[[Mapping[str, Any], str], None]:
    """The spec check: ``dim`` or ``dims``, not both (one of them if ``required``)."""
    def check(f: Mapping[str, Any], path: str) -> None:
        if f["dim"] is not None and f["dims"] is not None:
            raise SpecError("give dim or dims, not both", path=f"{path}.dims")
        if required and f["dim"] is None and f["dims"] is None:
            raise SpecError("missing required field (dim, or dims)", path=f"{path}.dim")
    return check


def lower_dims(f: Mapping[str, Any], x: Shape, at: Lowering, what: str,
               default: int = 1) -> tuple[int, tuple[int, ...]]:
    """(dim, dims) of a spec layer; ``dims`` checked against the input ``x``."""
    if f["dims"] is None:
        return (default if f["dim"] is None else f["dim"]), ()
    dims = tuple(sorted(f["dims"]))
    try:
        reduced(dims, bool(f.get("keepdim")), x, what)
    except ShapeError as err:
        raise SpecError(str(err), path=f"{at.path}.dims") from None
    return dims[0], dims
