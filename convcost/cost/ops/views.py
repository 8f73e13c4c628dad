"""Ops whose output is a view of their input (no new tensor): ``flatten``, ``dropout``, ``identity``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, TorchCall, Traced, fixed
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields, no_kernel
from convcost.cost.ops.act import same_shape
from convcost.cost.ops.reshape import axis
from convcost.cost.value import LayerCost, Shape
from convcost.cost.window import IDENTITY as IDENTITY_WINDOW
from convcost.cost.window import Windows
from convcost.errors import ShapeError


@dataclass(frozen=True)
class Flatten(Op):
    """``nn.Flatten(start_dim, end_dim)``: dims start to end into one (a view); by default every
    dim after the batch (``flatten(2)``: a patch embedding's [N, C, H, W] -> [N, C, H·W])."""

    key: ClassVar[str] = "flatten"
    start_dim: int = 1
    end_dim: int = -1


@dataclass(frozen=True)
class Dropout(Op):
    """Dropout; at inference a view of its input."""

    key: ClassVar[str] = "dropout"
    p: float = 0.5


def flatten(op: Flatten, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C·H·W]; [.., d_start, .., d_end, ..] -> [.., d_start·...·d_end, ..]
    start, end = axis(op.start_dim, len(x)), axis(op.end_dim, len(x))
    if start > end:
        raise ShapeError(f"flatten start_dim {op.start_dim} comes after end_dim {op.end_dim}")
    return LayerCost(0, 0, (*x[:start], math.prod(x[start:end + 1]), *x[end + 1:]))


def _flatten_window(op: Flatten, x: Shape) -> Windows | None:
    # flattening a map of more than one position mixes them all; a 1×1 map keeps its field
    # (one window per spatial axis: 2 of an image, 3 of a video, 1 of a signal)
    whole = math.prod(x[2:]) > 1 or (op.start_dim, op.end_dim) != (1, -1)
    return None if whole else (IDENTITY_WINDOW,) * len(x[2:])


def _flatten_module(op: Flatten, __: Shape) -> Any:
    from torch import nn

    return nn.Flatten(op.start_dim, op.end_dim)


def _dropout_module(op: Dropout, _: Shape) -> Any:
    from torch import nn

    return nn.Dropout(op.p)


def _lower_flatten(f: Mapping[str, Any], x: Shape, _: Lowering) -> Flatten:
    return Flatten(f["start_dim"], f["end_dim"])


def _lower_dropout(f: Mapping[str, Any], x: Shape, _: Lowering) -> Dropout:
    return Dropout(f["p"])


@dataclass(frozen=True)
class Identity(Op):
    """``nn.Identity``: its output is its input (a placeholder, or a skip path)."""

    key: ClassVar[str] = "identity"


def _identity_module(_: Identity, __: Shape) -> Any:
    from torch import nn

    return nn.Identity()


def _lower_identity(f: Mapping[str, Any], x: Shape, _: Lowering) -> Identity:
    return Identity()


# -- import ------------------------------------------------------------------------------

def _read_flatten(c: TorchCall) -> Fields:
    """``torch.flatten(x, start_dim, end_dim)``, ``x.flatten(...)``, ``aten.flatten``."""
    return dict(start_dim=int(c.arg(1, "start_dim", 0)), end_dim=int(c.arg(2, "end_dim", -1)))


def emit_flatten(node: Traced, x: Shape) -> list[Layer] | None:
    """flatten: a spec ``flatten`` ([N, C, ...] to [N, C·...]; ``start_dim``/``end_dim``: a
    patch embedding's ``flatten(2)``); the same shape: no layer."""
    if node.shape == x:
        return []
    if len(x) >= 3 and node.shape == (x[0], math.prod(x[1:])):
        return [{"kind": "flatten"}]
    start, end = node.attr("start_dim", 1), node.attr("end_dim", -1)
    if node.op == "flatten" and start % len(x) == 0 and len(node.shape) > 1 and x[0] \
            and not node.shape[0] % x[0]:
        # x.flatten(0, 1) (LeViT's BatchNorm1d over N·L token rows): the batch folds
        return [{"kind": "reshape", "shape": list(node.shape[1:]), "fold": node.shape[0] // x[0]}]
    if node.op != "flatten" or not -len(x) <= start < len(x) or start % len(x) == 0:
        return None  # the batch folded in: the spec's sizes follow the batch
    layer: Layer = {"kind": "flatten", "start_dim": start % len(x)}
    return [layer if end % len(x) == len(x) - 1 else {**layer, "end_dim": end % len(x)}]


FLATTEN_IMPORTS = Imports(
    modules={"torch.nn.Flatten": lambda c: dict(start_dim=c.module.start_dim, end_dim=c.module.end_dim)},
    functions={"torch.flatten": _read_flatten, "Tensor.flatten": _read_flatten},
    aten={"aten.flatten": _read_flatten},
    onnx={"Flatten": lambda c: dict(start_dim=int(c.attrs.get("axis", 1)), end_dim=-1)},
    bookkeeping=True, emit=emit_flatten)


def _read_p(c: TorchCall) -> Fields:
    return dict(p=float(c.arg(1, "p", 0.5)))


def _emit_dropout(node: Traced, _: Any) -> list[Layer]:
    """A dropout of known ``p`` (``nn.Dropout2d`` and ONNX give none: no layer)."""
    return [] if node.attr("p") is None else [{"kind": "dropout", "p": node.attr("p")}]


DROPOUT_IMPORTS = Imports(
    modules={"torch.nn.Dropout": lambda c: dict(p=float(c.module.p)), "torch.nn.Dropout2d": fixed()},
    functions={"torch.nn.functional.dropout": _read_p}, aten={"aten.dropout": _read_p},
    onnx={"Dropout": fixed()}, bookkeeping=True, emit=_emit_dropout)


def _no_layer(_: Traced, __: Any) -> list[Layer]:
    return []


IDENTITY_IMPORTS = Imports(
    modules={"torch.nn.Identity": fixed()}, functions={"Tensor.contiguous": fixed()},
    aten={"aten.contiguous": fixed(), "aten.clone": fixed(), "aten.alias": fixed()},
    onnx={"Identity": fixed()}, dispatch={"aten.detach": fixed(), "aten._to_copy": fixed()},
    bookkeeping=True, emit=_no_layer)


FLATTEN = OpKind(Flatten, flatten, _flatten_module, {"flatten": "flatten/dropout"}, view=True,
                 window=_flatten_window, kernel=no_kernel,
                 spec=SpecKind(fields(
                     start_dim=Field("int", 1, minimum=-64, doc="first dim flattened"),
                     end_dim=Field("int", -1, minimum=-64, doc="last dim flattened")),
                     "`nn.Flatten(start_dim, end_dim)`"), lower=_lower_flatten,
                 imports=FLATTEN_IMPORTS)
DROPOUT = OpKind(Dropout, same_shape, _dropout_module, {"dropout": "flatten/dropout"}, view=True,
                 elementwise=True, kernel=no_kernel,
                 spec=SpecKind(fields(p=Field("fraction", 0.5)), "`nn.Dropout`"),
                 lower=_lower_dropout, imports=DROPOUT_IMPORTS)

IDENTITY = OpKind(Identity, same_shape, _identity_module, {"identity": "flatten/dropout"}, view=True,
                  elementwise=True, kernel=no_kernel,
                  spec=SpecKind(fields(), "`nn.Identity`"), lower=_lower_identity, imports=IDENTITY_IMPORTS)

KINDS = (FLATTEN, DROPOUT, IDENTITY)
