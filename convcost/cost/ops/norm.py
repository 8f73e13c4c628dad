"""``bn``: BatchNorm over the channels of any rank, one formula: ``BatchNorm1d`` on ``[N, C]``
or ``[N, C, L]``, ``2d`` on ``[N, C, H, W]``, ``3d`` on ``[N, C, D, H, W]``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields, learns_affine
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError


@dataclass(frozen=True)
class BatchNorm(Op):
    key: ClassVar[str] = "bn"
    channels: int
    affine: bool = True


def batchnorm(op: BatchNorm, x: Shape) -> LayerCost:
    # [N, C, ...] -> [N, C, ...]; params 2·C (γ, β) when affine; paper MACs 0
    if x[1] != op.channels:
        raise ShapeError(f"bn expects {op.channels} channels, got {x[1]}")
    return LayerCost(2 * op.channels if op.affine else 0, 0, x)


def _module(op: BatchNorm, x: Shape) -> Any:
    from torch import nn

    # [N, C] and [N, C, L]: BatchNorm1d; [N, C, H, W]: 2d; [N, C, D, H, W]: 3d
    norm = {4: nn.BatchNorm2d, 5: nn.BatchNorm3d}.get(len(x), nn.BatchNorm1d)
    return norm(op.channels, affine=op.affine)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> BatchNorm:
    return BatchNorm(x[1], f["affine"])


def _read_call(c: TorchCall) -> Fields:
    """``F.batch_norm(x, mean, var, weight, bias, ...)``: the channels from its output."""
    return dict(channels=c.shape[1], affine=c.arg(3, "weight") is not None)


def _read_aten(c: TorchCall) -> Fields:
    """``aten.batch_norm(x, weight, bias, mean, var, ...)`` (and the no-training op)."""
    return dict(channels=c.in_shapes[0][1], affine=c.arg(1, "weight") is not None)


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    if not 2 <= len(x) <= 5:
        return None
    return [{"kind": "bn"} if node.attr("affine", True) else {"kind": "bn", "affine": False}]


def _read_module(c: TorchCall) -> Fields:
    return dict(channels=c.module.num_features, affine=c.module.affine)


IMPORTS = Imports(
    modules=dict.fromkeys(("torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d", "torch.nn.BatchNorm3d"),
                          _read_module),
    functions={"torch.nn.functional.batch_norm": _read_call},
    aten={"aten.batch_norm": _read_aten, "aten._native_batch_norm_legit_no_training": _read_aten},
    onnx={"BatchNormalization": lambda c: dict(channels=c.shape[1], affine=True)},
    onnx_weights={"BatchNormalization": (1, 2)},  # scale and bias (mean and var are buffers)
    signature=lambda node: ("bn", node.shape[1]), emit=_emit)

BN = OpKind(BatchNorm, batchnorm, _module, {"bn": "BN"}, learnable=True, folds=True, elementwise=True,
            spec=SpecKind(fields(affine=Field("bool", True)),
                          "`nn.BatchNorm2d`; `BatchNorm1d` on [N, C] or [N, C, L], `3d` on [N, C, D, H, W]"),
            lower=_lower, imports=IMPORTS, fusion="epilogue", affine=learns_affine,
            signature=lambda op: ("bn", op.channels))

KINDS = (BN,)
