"""``mean``: the functional global average ``x.mean([2, 3])``, not a pool module; over other
dims too (``dims``): a ViT's average of its tokens, ``x.mean(dim=1)`` on ``[N, L, C]``.

torchvision's ShuffleNetV2 and MNASNet write their global pooling this way; the tools see an
``aten::mean`` instead of an ``nn.AdaptiveAvgPool2d`` and count it differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, Read, Signature, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape, spatial
from convcost.errors import ShapeError

SPATIAL = (2, 3)


@dataclass(frozen=True)
class Mean(Op):
    """``x.mean(dims)`` (``[2, 3]``: over H×W); ``keepdim`` keeps each reduced dim as 1."""

    key: ClassVar[str] = "mean"
    keepdim: bool = False
    dims: tuple[int, ...] = SPATIAL


def mean(op: Mean, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C] (keepdim: [N, C, 1, 1]); other dims: [N, L, C] -> [N, C] for
    # dims [1]; no params, paper MACs 0
    if op.dims == SPATIAL:
        n, c, _, _ = spatial(x, "mean")
        return LayerCost(0, 0, (n, c, 1, 1) if op.keepdim else (n, c))
    if not all(0 < d < len(x) for d in op.dims):
        raise ShapeError(f"mean dims {list(op.dims)} must be dims after the batch of {list(x)}")
    out = tuple(1 if i in op.dims else s for i, s in enumerate(x) if op.keepdim or i not in op.dims)
    return LayerCost(0, 0, out)


@cache
def _mean_class() -> type:
    import torch
    from torch import nn

    class Mean(nn.Module):
        """``x.mean([2, 3])``, as torchvision's ShuffleNetV2 and MNASNet write it."""

        def __init__(self, keepdim: bool, dims: tuple[int, ...]) -> None:
            super().__init__()
            self.keepdim, self.dims = keepdim, list(dims)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(self.dims, keepdim=self.keepdim)

    return Mean


def _module(op: Mean, _: Shape) -> Any:
    return _mean_class()(op.keepdim, op.dims)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> Mean:
    return Mean(f["keepdim"], tuple(sorted(f["dims"])))


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


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    """``x.mean([2, 3])``: the ``mean`` kind (tools count it unlike a pooling module); over
    other dims after the batch (tokens: ``x.mean(1)``) with ``dims``."""
    dims = tuple(sorted({int(d) % len(x) for d in node.attr("dims", ())})) if len(x) > 1 else ()
    if not dims or 0 in dims or (dims == SPATIAL and len(node.shape) not in (2, 4)):
        return None
    layer: Layer = {"kind": "mean", "keepdim": True} if node.attr("keepdim") else {"kind": "mean"}
    return [layer if dims == SPATIAL else {**layer, "dims": list(dims)}]


def _squeeze(node: Traced) -> Signature | None:
    # an SE squeeze: mean over H×W kept (fvcore counts no aten::mean)
    return ("gmean",) if tuple(node.attr("dims", ())) == SPATIAL and node.attr("keepdim") else None


IMPORTS = Imports(functions={"torch.mean": _read_call, "Tensor.mean": _read_call},
                  aten={"aten.mean": _read_call}, dispatch={"aten.mean": _read_dispatch},
                  onnx={"ReduceMean": _read_onnx}, signature=_squeeze, emit=_emit)

MEAN = OpKind(Mean, mean, _module, {"mean": "pooling"}, window=_window,
              spec=SpecKind(fields(keepdim=Field("bool", False, doc="keep each reduced dim as 1"),
                                   dims=Field("ints", list(SPATIAL), doc="the dims averaged, after the "
                                              "batch ([1]: a ViT's tokens)")),
                            "`x.mean(dims)` in forward (no module of torch's; [2, 3]: over H×W)"),
              lower=_lower, imports=IMPORTS, signature=lambda op: ("gmean",) if op.keepdim else None)

KINDS = (MEAN,)
