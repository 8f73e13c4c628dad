"""Ops whose output is a view of their input (no new tensor): ``flatten``, ``dropout``, ``identity``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.ops.act import same_shape
from convcost.cost.value import LayerCost, Shape
from convcost.cost.window import IDENTITY as IDENTITY_WINDOW
from convcost.cost.window import Windows


@dataclass(frozen=True)
class Flatten(Op):
    """``nn.Flatten``: every dimension after the batch into one (a view)."""

    key: ClassVar[str] = "flatten"


@dataclass(frozen=True)
class Dropout(Op):
    """Dropout; at inference a view of its input."""

    key: ClassVar[str] = "dropout"
    p: float = 0.5


def flatten(_: Flatten, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C·H·W]
    return LayerCost(0, 0, (x[0], math.prod(x[1:])))


def _flatten_window(_: Flatten, x: Shape) -> Windows | None:
    # flattening a map of more than one position mixes them all; a 1×1 map keeps its field
    return None if len(x) == 4 and x[2] * x[3] > 1 else (IDENTITY_WINDOW, IDENTITY_WINDOW)


def _flatten_module(_: Flatten, __: Shape) -> Any:
    from torch import nn

    return nn.Flatten()


def _dropout_module(op: Dropout, _: Shape) -> Any:
    from torch import nn

    return nn.Dropout(op.p)


def _lower_flatten(f: Mapping[str, Any], x: Shape, _: Lowering) -> Flatten:
    return Flatten()


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


FLATTEN = OpKind(Flatten, flatten, _flatten_module, {"flatten": "flatten/dropout"}, view=True,
                 window=_flatten_window,
                 spec=SpecKind(fields(), "`nn.Flatten`"), lower=_lower_flatten)
DROPOUT = OpKind(Dropout, same_shape, _dropout_module, {"dropout": "flatten/dropout"}, view=True,
                 elementwise=True,
                 spec=SpecKind(fields(p=Field("fraction", 0.5)), "`nn.Dropout`"),
                 lower=_lower_dropout)

IDENTITY = OpKind(Identity, same_shape, _identity_module, {"identity": "flatten/dropout"}, view=True,
                  elementwise=True,
                  spec=SpecKind(fields(), "`nn.Identity`"), lower=_lower_identity)

KINDS = (FLATTEN, DROPOUT, IDENTITY)
