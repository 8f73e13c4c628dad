"""Free shape ops on tensors of any rank: ``reshape``, ``view``, ``permute``, ``transpose``,
``unflatten``, ``unbind`` (one piece), ``roll``. No params, no MACs; exact shape rules.

Dims are torch's, the batch dimension included (``permute: [0, 2, 1]`` swaps tokens and
channels of ``[N, L, C]``); negative dims count from the end. ``reshape``/``view`` sizes are
those after the batch (one may be -1). ``permute``, ``transpose``, ``view``, ``unflatten`` and
``unbind`` return views of their input; ``reshape`` copies a non-contiguous input (after a
transpose) and ``roll`` always writes a new tensor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Signature, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.ops.token_imports import (
    emit_reshape,
    emit_roll,
    emit_transpose,
    emit_unbind,
    read_onnx_reshape,
    read_onnx_transpose,
    read_permute,
    read_reshape,
    read_resized,
    read_roll,
    read_select,
    read_transpose,
    read_unbind,
)
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError
from convcost.limits import MAX_INT


def axis(dim: int, rank: int) -> int:
    """``dim`` of a rank-``rank`` tensor as a non-negative index (torch's wrapping)."""
    if not -rank <= dim < rank:
        raise ShapeError(f"dim {dim} is out of range for a rank-{rank} tensor")
    return dim % rank


def infer(sizes: tuple[int, ...], numel: int, what: str) -> tuple[int, ...]:
    """``sizes`` holding ``numel`` elements, its one -1 inferred (as torch's reshape)."""
    if sizes.count(-1) > 1 or any(s < 1 and s != -1 for s in sizes):
        raise ShapeError(f"{what} sizes {list(sizes)} need positive sizes and at most one -1")
    known = math.prod(s for s in sizes if s != -1)
    if (-1 in sizes and numel % known) or (-1 not in sizes and known != numel):
        raise ShapeError(f"{what} sizes {list(sizes)} do not hold the {numel} elements")
    return tuple(numel // known if s == -1 else s for s in sizes)


@dataclass(frozen=True)
class Reshape(Op):
    """``x.reshape(N, *shape)``: a copy when the input is not contiguous; ``fold``/``unfold``:
    the batch becomes ``N·fold/unfold`` (MobileViT's patches: ``x.reshape(B·P, L, C)``)."""

    key: ClassVar[str] = "reshape"
    shape: tuple[int, ...]
    fold: int = 1
    unfold: int = 1


@dataclass(frozen=True)
class View(Op):
    """``x.view(N, *shape)``: always a view."""

    key: ClassVar[str] = "view"
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Permute(Op):
    key: ClassVar[str] = "permute"
    dims: tuple[int, ...]


@dataclass(frozen=True)
class Transpose(Op):
    key: ClassVar[str] = "transpose"
    dim0: int
    dim1: int


@dataclass(frozen=True)
class Unflatten(Op):
    key: ClassVar[str] = "unflatten"
    dim: int
    sizes: tuple[int, ...]


@dataclass(frozen=True)
class Unbind(Op):
    """``x.unbind(dim)[index]`` (``qkv[0]``, ``x[:, 0]``): one piece, ``dim`` removed."""

    key: ClassVar[str] = "unbind"
    dim: int
    index: int


@dataclass(frozen=True)
class Roll(Op):
    key: ClassVar[str] = "roll"
    shifts: tuple[int, ...]
    dims: tuple[int, ...]


def reshape(op: Reshape | View, x: Shape) -> LayerCost:
    # [N, ...] -> [N, *shape], the one -1 inferred; prod(shape) = prod(x[1:]); no params, no MACs;
    # a reshape's batch folds: [N, ...] -> [N·fold/unfold, *shape], the elements kept
    fold, unfold = (op.fold, op.unfold) if isinstance(op, Reshape) else (1, 1)
    if (x[0] * fold) % unfold:
        raise ShapeError(f"reshape cannot unfold a batch of {x[0] * fold} by {unfold}")
    batch = x[0] * fold // unfold
    numel = math.prod(x)
    if numel % batch:
        raise ShapeError(f"reshape cannot hold {list(x)} in a batch of {batch}")
    return LayerCost(0, 0, (batch, *infer(op.shape, numel // batch, op.key)))


def permute(op: Permute, x: Shape) -> LayerCost:
    # [d0, d1, ...] -> [d_dims[0], d_dims[1], ...]; dims a permutation of the rank
    order = [axis(d, len(x)) for d in op.dims]
    if sorted(order) != list(range(len(x))):
        raise ShapeError(f"permute dims {list(op.dims)} are not a permutation of {len(x)} dims")
    return LayerCost(0, 0, tuple(x[d] for d in order))


def transpose(op: Transpose, x: Shape) -> LayerCost:
    # [.., a, .., b, ..] -> [.., b, .., a, ..]
    a, b = axis(op.dim0, len(x)), axis(op.dim1, len(x))
    out = list(x)
    out[a], out[b] = x[b], x[a]
    return LayerCost(0, 0, tuple(out))


def unflatten(op: Unflatten, x: Shape) -> LayerCost:
    # [.., d, ..] -> [.., *sizes, ..], prod(sizes) = d (one -1 inferred)
    d = axis(op.dim, len(x))
    return LayerCost(0, 0, (*x[:d], *infer(op.sizes, x[d], "unflatten"), *x[d + 1:]))


def unbind(op: Unbind, x: Shape) -> LayerCost:
    # [.., d, ..] -> [.., ..]: piece `index` < d of dim `dim`
    d = axis(op.dim, len(x))
    if not 0 <= op.index < x[d]:
        raise ShapeError(f"unbind index {op.index} is outside dim {op.dim} of size {x[d]}")
    return LayerCost(0, 0, (*x[:d], *x[d + 1:]))


def roll(op: Roll, x: Shape) -> LayerCost:
    # [...] -> [...]: a cyclic shift along `dims` (a new tensor, no MACs)
    if len(op.shifts) != len(op.dims):
        raise ShapeError(f"roll needs one shift per dim, got {len(op.shifts)} and {len(op.dims)}")
    for d in op.dims:
        axis(d, len(x))
    return LayerCost(0, 0, x)


@cache
def tensor_method() -> type:
    """``getattr(x, method)(*args)`` as a module; ``batch``: the input's batch size first."""
    import torch
    from torch import nn

    class TensorMethod(nn.Module):
        def __init__(self, method: str, args: tuple[Any, ...], batch: bool = False,
                     index: int | None = None, fold: tuple[int, int] = (1, 1)) -> None:
            super().__init__()
            self.method, self.args, self.batch, self.index = method, args, batch, index
            self.fold = fold

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n: Any = x.shape[0]
            if self.fold != (1, 1):  # a batch that folds: -1 (no aten::mul for a tracer to see)
                n = -1 if -1 not in self.args else n * self.fold[0] // self.fold[1]
            args = (n, *self.args) if self.batch else self.args
            out: torch.Tensor = getattr(x, self.method)(*args)
            return out if self.index is None else out[self.index]

        def extra_repr(self) -> str:
            return f"{self.method}{self.args}"

    return TensorMethod


def _module(op: Op, _: Shape) -> Any:
    make = tensor_method()
    if isinstance(op, Reshape):
        return make(op.key, op.shape, batch=True, fold=(op.fold, op.unfold))
    if isinstance(op, View):
        return make(op.key, op.shape, batch=True)
    if isinstance(op, Permute):
        return make("permute", op.dims)
    if isinstance(op, Transpose):
        return make("transpose", (op.dim0, op.dim1))
    if isinstance(op, Unflatten):
        return make("unflatten", (op.dim, op.sizes))
    if isinstance(op, Unbind):
        return make("unbind", (op.dim,), index=op.index)
    assert isinstance(op, Roll)
    return make("roll", (op.shifts, op.dims))


_dim = Field("int", minimum=-64, doc="a dim, the batch's included (negative: from the end)")
_sizes = Field("ints", minimum=-1, doc="sizes after the batch; one may be -1")


def _lower_reshape(f: Mapping[str, Any], _: Shape, __: Lowering) -> Reshape:
    return Reshape(f["shape"], f["fold"], f["unfold"])


def _lower_view(f: Mapping[str, Any], _: Shape, __: Lowering) -> View:
    return View(f["shape"])


def _lower_permute(f: Mapping[str, Any], _: Shape, __: Lowering) -> Permute:
    return Permute(f["dims"])


def _lower_transpose(f: Mapping[str, Any], _: Shape, __: Lowering) -> Transpose:
    return Transpose(f["dim0"], f["dim1"])


def _lower_unflatten(f: Mapping[str, Any], _: Shape, __: Lowering) -> Unflatten:
    return Unflatten(f["dim"], f["sizes"])


def _lower_unbind(f: Mapping[str, Any], _: Shape, __: Lowering) -> Unbind:
    return Unbind(f["dim"], f["index"])


def _lower_roll(f: Mapping[str, Any], _: Shape, __: Lowering) -> Roll:
    return Roll(f["shifts"], f["dims"])


def channel_shuffle(node: Traced) -> Signature | None:
    """The transpose(1, 2) of a channel shuffle traced as view, transpose, view ([N, g, C/g, H, W])."""
    return ("shuffle",) if tuple(node.attr("dims", ())) == (1, 2) and len(node.shape) == 5 else None


def _swapped(op: Transpose, rank: int) -> tuple[int, ...]:
    order = list(range(rank))
    order[op.dim0], order[op.dim1] = order[op.dim1], order[op.dim0]
    return tuple(order)


_VIEWS = "views"
_MVIT = "torchvision.models.video.mvit"
RESHAPE = OpKind(Reshape, reshape, _module, {"reshape": _VIEWS},
                 spec=SpecKind(fields(shape=_sizes,
                                      fold=Field("int", 1, minimum=1, doc="the batch becomes N·fold"),
                                      unfold=Field("int", 1, minimum=1, doc="... divided by unfold")),
                               "`x.reshape(N·fold/unfold, *shape)` (copies a non-contiguous "
                               "input)"), lower=_lower_reshape,
                 imports=Imports(  # every reshape and view: the IR's reshape (emit_reshape)
                     functions={"torch.reshape": read_reshape, "Tensor.reshape": read_reshape,
                                "Tensor.view": read_reshape,
                                # x.reshape_as(y): y read for its shape only (LeViT's LinearNorm)
                                "Tensor.reshape_as": read_reshape, "Tensor.view_as": read_reshape,
                                **{f"{where}.{fn}": read_resized for where in ("torch", "Tensor")
                                   for fn in ("unsqueeze", "squeeze")},
                                # torchvision MViT's fx-wrapped (un)squeeze to rank 4 (its
                                # _unsqueeze returns (x, rank): the importer reads x)
                                **{f"{_MVIT}.{fn}": read_resized for fn in ("_unsqueeze", "_squeeze")}},
                     aten={"aten.view": read_reshape, "aten.reshape": read_reshape,
                           "aten._unsafe_view": read_reshape, "aten.unsqueeze": read_resized,
                           "aten.squeeze": read_resized},
                     onnx={"Reshape": read_onnx_reshape}, bookkeeping=True, emit=emit_reshape))
VIEW = OpKind(View, reshape, _module, {"view": _VIEWS}, view=True,
              spec=SpecKind(fields(shape=_sizes), "`x.view(N, *shape)`"), lower=_lower_view)
PERMUTE = OpKind(Permute, permute, _module, {"permute": _VIEWS}, view=True,
                 spec=SpecKind(fields(dims=Field("ints", minimum=-64, doc="every dim once, the "
                                                 "batch's included")),
                               "`x.permute(*dims)`"), lower=_lower_permute,
                 axes=lambda op, rank: op.dims if len(op.dims) == rank else None)
TRANSPOSE = OpKind(Transpose, transpose, _module, {"transpose": _VIEWS}, view=True,
                   spec=SpecKind(fields(dim0=_dim, dim1=_dim), "`x.transpose(dim0, dim1)`"),
                   lower=_lower_transpose, axes=_swapped,
                   imports=Imports(  # every transpose and permute: the IR's transpose
                       functions={"torch.transpose": read_transpose, "Tensor.transpose": read_transpose,
                                  "torch.swapaxes": read_transpose, "Tensor.swapaxes": read_transpose,
                                  "torch.permute": read_permute, "Tensor.permute": read_permute},
                       aten={"aten.transpose": read_transpose, "aten.permute": read_permute},
                       onnx={"Transpose": read_onnx_transpose}, signature=channel_shuffle,
                       emit=emit_transpose))
UNFLATTEN = OpKind(Unflatten, unflatten, _module, {"unflatten": _VIEWS}, view=True,
                   spec=SpecKind(fields(dim=_dim, sizes=Field("ints", minimum=-1, doc="its new "
                                                              "sizes; one may be -1")),
                                 "`x.unflatten(dim, sizes)`"), lower=_lower_unflatten)
UNBIND = OpKind(Unbind, unbind, _module, {"unbind": _VIEWS}, view=True,
                spec=SpecKind(fields(dim=_dim, index=Field("int", minimum=0, doc="the piece")),
                              "`x.unbind(dim)[index]` (`qkv[0]`, `x[:, 0]`): one piece, dim "
                              "removed"), lower=_lower_unbind,
                imports=Imports(functions={"torch.unbind": read_unbind, "Tensor.unbind": read_unbind},
                                aten={"aten.select": read_select, "aten.unbind": read_unbind},
                                emit=emit_unbind))
ROLL = OpKind(Roll, roll, _module, {"roll": _VIEWS},
              spec=SpecKind(fields(shifts=Field("ints", minimum=-MAX_INT, doc="one per dim"),
                                   dims=Field("ints", minimum=-64, doc="the dims rolled")),
                            "`torch.roll(x, shifts, dims)` (Swin's shifted windows)"),
              lower=_lower_roll,
              imports=Imports(functions={"torch.roll": read_roll, "Tensor.roll": read_roll},
                              aten={"aten.roll": read_roll}, emit=emit_roll))

KINDS = (RESHAPE, VIEW, PERMUTE, TRANSPOSE, UNFLATTEN, UNBIND, ROLL)
