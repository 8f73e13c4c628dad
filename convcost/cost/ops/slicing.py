"""``slice``: a run of channels, ``x[:, start:end]`` (also ``narrow``, and one piece of
``torch.split`` / ``chunk`` read on its own): GhostNet's ``out[:, :c]``, ReXNet's partial
residual, DPN's dual path, CSP stages; on another ``dim`` after the batch, a run of it (a
GLU's ``x.chunk(2, dim=-1)`` on tokens: gMLP-Mixer); with a ``step``, every step-th index
(LeViT's subsample ``x[:, ::2, ::2]``, one slice per axis). A view of its input: no params, no MACs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError


@dataclass(frozen=True)
class Slice(Op):
    """Channels ``start`` to ``end`` (exclusive) of an ``[N, C, ...]`` tensor; of another
    ``dim`` after the batch (counted from 0) when ``dim`` is not 1; every ``step``-th of them."""

    key: ClassVar[str] = "slice"
    start: int
    end: int
    dim: int = 1
    step: int = 1


def slice_channels(op: Slice, x: Shape) -> LayerCost:
    # [N, C, ...] -> [N, end - start, ...]; 0 <= start < end <= C; no params, no MACs;
    # dim d: [..., S_d, ...] -> [..., end - start, ...]; step s: ⌈(end - start) / s⌉ of them
    size = x[op.dim] if 0 < op.dim < len(x) else 0
    if not 0 <= op.start < op.end <= size:
        what = "channels" if op.dim == 1 else f"indices of dim {op.dim}"
        raise ShapeError(f"{what} {op.start}:{op.end} are not inside the input's {size} {what.split()[0]}")
    if op.step < 1:
        raise ShapeError(f"slice step must be positive, got {op.step}")
    kept = -(-(op.end - op.start) // op.step)
    return LayerCost(0, 0, (*x[:op.dim], kept, *x[op.dim + 1:]))


@cache
def _slice_class() -> type:
    import torch
    from torch import nn

    class SliceModule(nn.Module):
        """``x[:, start:end]`` (``dim`` 1), ``x.narrow(dim, start, end - start)``; with a step,
        ``x[:, :, start:end:step]`` (LeViT's subsample)."""

        def __init__(self, start: int, end: int, dim: int, step: int) -> None:
            super().__init__()
            self.start, self.end, self.dim, self.step = start, end, dim, step

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.step != 1:
                return x[(slice(None),) * self.dim + (slice(self.start, self.end, self.step),)]
            if self.dim == 1:
                return x[:, self.start:self.end]
            return x.narrow(self.dim, self.start, self.end - self.start)

    return SliceModule


def _module(op: Slice, _: Shape) -> Any:
    return _slice_class()(op.start, op.end, op.dim, op.step)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Slice:
    # channel positions scale with α as channel counts do (0 stays 0; no end: the last channel);
    # another dim's positions are fixed (no end: its last index)
    dim, step = f.get("dim", 1), f.get("step", 1)
    if dim != 1:
        end = f["end"] if f["end"] is not None else x[dim] if dim < len(x) else 0
        return Slice(f["start"], end, dim, step)
    start = at.channels("start") if f["start"] else 0
    end = at.channels("end") if f["end"] is not None else x[1]
    return Slice(start, end, 1, step)


# -- import ------------------------------------------------------------------------------

def _read_narrow(c: TorchCall) -> Fields:
    """``x.narrow(dim, start, length)``."""
    dim, start, length = (int(c.arg(i, n)) for i, n in ((1, "dim"), (2, "start"), (3, "length")))
    return dict(dim=dim % len(c.shape), start=start, end=start + length, step=1)


def _read_aten(c: TorchCall) -> Fields:
    """``aten.slice(x, dim, start, end, step)``."""
    source = c.in_shapes[0]
    dim = int(c.arg(1, "dim", 0)) % len(source)
    start, end, step = slice(c.arg(2, "start"), c.arg(3, "end"), c.arg(4, "step", 1)).indices(source[dim])
    return dict(dim=dim, start=start, end=end, step=step)


def _read_onnx(c: OnnxCall) -> Fields:
    """``x[..., start:end:step]`` along one axis, when its bounds are constants."""
    starts, ends, axes, steps = (c.constants[i] if len(c.constants) > i else None for i in (1, 2, 3, 4))
    source = c.in_shapes[0]
    if not (source and starts and ends and len(starts) == len(ends) == 1):
        return {}
    dim = int(axes[0]) % len(source) if axes else 0
    step = int(steps[0]) if steps else 1
    start, end, _ = slice(int(starts[0]), int(ends[0]), step).indices(source[dim])
    return dict(dim=dim, start=start, end=end, step=step)


def emit_slice(node: Traced, x: Shape) -> list[Layer] | None:
    """``x[:, a:b]``: a ``slice`` of channels; on another dim after the batch, with ``dim``
    (the whole tensor: no layer); with a ``step``; ``x[:, ::2, ::2]`` (``axes``, several dims):
    a slice per dim, in order."""
    axes = node.attr("axes")
    if axes is not None:
        layers = [emit_axis(dim, start, end, step, x) for dim, start, end, step in axes]
        return None if any(one is None for one in layers) else [lay for one in layers if one for lay in one]
    return emit_axis(node.attr("dim"), node.attr("start"), node.attr("end"), node.attr("step", 1), x)


def emit_axis(dim: Any, start: Any, end: Any, step: Any, x: Shape) -> list[Layer] | None:
    """One dim's slice of ``x`` (its size along ``dim`` is kept: each axis of several slices
    reads the one before's output, whose other sizes are ``x``'s)."""
    if not isinstance(dim, int) or not 0 < dim < len(x) or not isinstance(step, int) or step < 1 \
            or not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= x[dim]:
        return None  # an empty slice (q[:, :, :0]) too: no layer says it
    if (start, end, step) == (0, x[dim], 1):
        return []
    layer: Layer = {"kind": "slice", "start": start}
    if dim != 1:
        layer["dim"] = dim
    if step != 1:
        layer["step"] = step
    return [layer if end == x[dim] else {**layer, "end": end}]


IMPORTS = Imports(functions={"torch.narrow": _read_narrow, "Tensor.narrow": _read_narrow},
                  aten={"aten.narrow": _read_narrow, "aten.slice": _read_aten},
                  onnx={"Slice": _read_onnx}, emit=emit_slice)

SLICE = OpKind(
    Slice, slice_channels, _module, {"slice": "flatten/dropout"}, view=True,
    spec=SpecKind(fields(
        start=Field("int", 0, minimum=0, doc="first channel"),
        end=Field("int", None, nullable=True, doc="one past the last channel; none: to the last"),
        width=Field("choice", "scaled", ("scaled", "fixed", "grow")),
        dim=Field("int", 1, doc="the dim sliced, after the batch (1: the channels; another: its "
                                "positions, not scaled by the width)"),
        step=Field("int", 1, doc="every step-th index (LeViT's x[:, ::2, ::2]: one slice per dim)"),
    ), "`x[:, start:end:step]` (channels; also `narrow`, a piece of `split`/`chunk`; `dim`: "
       "another axis): a view, no MACs"),
    lower=_lower, imports=IMPORTS,
)

KINDS = (SLICE,)
