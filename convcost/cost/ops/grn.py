"""``grn``: ConvNeXt-V2's Global Response Normalisation (timm's ``GlobalResponseNorm``).

``g = ‖x‖₂ over H×W`` per channel, ``n = g / (mean of g over C + eps)``, then
``x + (γ · (x · n) + β)``: γ and β per channel, 2·C params; no conv or linear MACs. Its
statistics span the whole map, like a squeeze-excitation's pooling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced
from convcost.cost.opkind import Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape, spatial
from convcost.errors import ShapeError


@dataclass(frozen=True)
class GlobalResponseNorm(Op):
    key: ClassVar[str] = "grn"
    channels: int


def grn(op: GlobalResponseNorm, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, H, W]; params 2·C (γ, β per channel); paper MACs 0
    _, c, _, _ = spatial(x, "grn")
    if c != op.channels:
        raise ShapeError(f"grn expects {op.channels} channels, got {c}")
    return LayerCost(2 * c, 0, x)


@cache
def _grn_class() -> type:
    import torch
    from torch import nn

    class GlobalResponseNorm(nn.Module):
        """timm's ``GlobalResponseNorm`` on NCHW, the same aten ops (norm, mean, div, addcmul)."""

        def __init__(self, channels: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(channels))
            self.bias = nn.Parameter(torch.zeros(channels))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x_g = x.norm(p=2, dim=(2, 3), keepdim=True)
            x_n = x_g / (x_g.mean(dim=1, keepdim=True) + 1e-6)
            shape = (1, -1, 1, 1)
            return x + torch.addcmul(self.bias.view(shape), self.weight.view(shape), x * x_n)

    return GlobalResponseNorm


def _module(op: GlobalResponseNorm, _: Shape) -> Any:
    return _grn_class()(op.channels)


def _lower(_: Mapping[str, Any], x: Shape, __: Lowering) -> GlobalResponseNorm:
    return GlobalResponseNorm(x[1])


def _window(_: GlobalResponseNorm, __: Shape) -> None:
    return None  # the norm over H×W: every output unit sees the whole map


def _whole(nodes: Sequence[Traced], shape: Shape, nhwc: bool) -> list[Layer] | None:
    """A call of the module, whatever it traces to (a norm, a mean, a division, an addcmul no
    leaf kind says one by one): one ``grn`` when its mean runs over the channels (the last axis
    of a channels-last view, timm's ConvNeXt-V2 MLP; axis 1 on NCHW) and it holds 2·C params."""
    if len(shape) != 4:
        return None
    means = [n for n in nodes if n.op == "mean"]
    channel_axis = 3 if nhwc else 1
    if len(means) != 1 or [d % 4 for d in means[0].attr("dims", ())] != [channel_axis]:
        return None
    same = nodes[-1].shape == ((shape[0], *shape[2:], shape[1]) if nhwc else shape)
    return [{"kind": "grn"}] if same and sum(n.params for n in nodes) == 2 * shape[1] else None


GRN = OpKind(GlobalResponseNorm, grn, _module, {"grn": "norm"}, learnable=True, window=_window, layout="NCHW",
             spec=SpecKind(fields(), "ConvNeXt-V2's Global Response Norm (timm `GlobalResponseNorm`): "
                                     "γ, β per channel"),
             lower=_lower,  # timm's class, and the ConvNeXt-V2 repository's
             imports=Imports(classes={"GlobalResponseNorm": _whole, "GRN": _whole}))

KINDS = (GRN,)
