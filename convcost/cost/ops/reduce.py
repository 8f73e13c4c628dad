"""``mean``: the functional global average ``x.mean([2, 3])``, not a pool module.

torchvision's ShuffleNetV2 and MNASNet write their global pooling this way; the tools see an
``aten::mean`` instead of an ``nn.AdaptiveAvgPool2d`` and count it differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, Read, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape, spatial


@dataclass(frozen=True)
class Mean(Op):
    """``x.mean([2, 3])``; ``keepdim`` keeps the ``[N, C, 1, 1]`` shape."""

    key: ClassVar[str] = "mean"
    keepdim: bool = False


def mean(op: Mean, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C] (keepdim: [N, C, 1, 1]); no params, paper MACs 0
    n, c, _, _ = spatial(x, "mean")
    return LayerCost(0, 0, (n, c, 1, 1) if op.keepdim else (n, c))


@cache
def _mean_class() -> type:
    import torch
    from torch import nn

    class Mean(nn.Module):
        """``x.mean([2, 3])``, as torchvision's ShuffleNetV2 and MNASNet write it."""

        def __init__(self, keepdim: bool) -> None:
            super().__init__()
            self.keepdim = keepdim

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean([2, 3], keepdim=self.keepdim)

    return Mean


def _module(op: Mean, _: Shape) -> Any:
    return _mean_class()(op.keepdim)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> Mean:
    return Mean(f["keepdim"])


def _window(_: Mean, __: Shape) -> None:
    return None  # the mean over H×W: every output unit sees the whole map


# -- import ------------------------------------------------------------------------------

def _read_call(c: TorchCall) -> Fields:
    """``torch.mean(x, dim, keepdim)``, ``x.mean(...)``, ``aten.mean``."""
    dims = c.arg(1, "dim", None)
    dims = (dims,) if isinstance(dims, int) else tuple(dims) if dims is not None else ()
    return dict(dims=dims, keepdim=bool(c.arg(2, "keepdim", False)))


def _read_dispatch(c: TorchCall) -> Fields:
    """``aten.mean.dim`` as the recorder sees it: negative dims counted from the end."""
    attrs, rank = _read_call(c), len(c.in_shapes[0])
    return {**attrs, "dims": tuple(sorted(d % rank for d in attrs["dims"]))}


def _read_onnx(c: OnnxCall) -> Read:
    """A mean; torch's exported ``nn.AdaptiveAvgPool2d(1)`` stays the module torch.fx sees."""
    axes = c.attrs.get("axes") or (c.constants[1] if len(c.constants) > 1 else None) or ()
    rank = len(c.in_shapes[0] or c.shape)
    dims = tuple(sorted(int(a) % rank for a in axes))
    keepdim = bool(c.attrs.get("keepdims", 1))
    if c.module_kind == "adaptive_pool" and dims == (2, 3) and keepdim:
        return "adaptive_pool", dict(kind="avg", output_size=(1, 1))
    if c.module_kind.startswith("adaptive_pool") and dims == tuple(range(2, rank)) and keepdim \
            and c.module_kind[-2:] == f"{rank - 2}d":  # nn.AdaptiveAvgPool3d(1)
        return c.module_kind, dict(mode="avg", output_size=(1,) * (rank - 2))
    return dict(dims=dims, keepdim=keepdim)


def _emit(node: Traced, _: Any) -> list[Layer] | None:
    """``x.mean([2, 3])``: the ``mean`` kind (tools count it unlike a pooling module)."""
    if tuple(node.attr("dims", ())) != (2, 3) or len(node.shape) not in (2, 4):
        return None
    return [{"kind": "mean", "keepdim": True} if node.attr("keepdim") else {"kind": "mean"}]


IMPORTS = Imports(functions={"torch.mean": _read_call, "Tensor.mean": _read_call},
                  aten={"aten.mean": _read_call}, dispatch={"aten.mean": _read_dispatch},
                  onnx={"ReduceMean": _read_onnx}, emit=_emit)

MEAN = OpKind(Mean, mean, _module, {"mean": "pooling"}, window=_window,
              spec=SpecKind(fields(keepdim=Field("bool", False, doc="keep [N, C, 1, 1]")),
                            "`x.mean([2, 3])` in forward (no module of torch's)"),
              lower=_lower, imports=IMPORTS)

KINDS = (MEAN,)
