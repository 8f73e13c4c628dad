"""``fourier_pos``: the sine-cosine grid of XCiT's and EdgeNeXt's ``PositionalEncodingFourier``
before its 1×1 ``token_projection`` conv: for each of the H×W positions, ``hidden`` sines and
cosines of its row and ``hidden`` of its column, ``[N, 2·hidden, H, W]``.

The grid depends on the sizes only, never on the values of the tensor it reads (for its batch):
no params and no MACs (sines, cosines, divisions, a cumulative sum or an ``arange``; FlopCounterMode
counts none, fvcore skips them). The importer reads timm's module by its class: this grid, then
a ``pwconv`` for its ``token_projection``, whose MACs are counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError

TEMPERATURE = 10000.0  # timm's default (both models)


@dataclass(frozen=True)
class FourierPosition(Op):
    """The grid of ``size`` (H, W) positions, ``hidden`` sines and cosines per axis."""

    key: ClassVar[str] = "fourier_pos"
    hidden: int
    size: tuple[int, int]


def fourier_pos(op: FourierPosition, x: Shape) -> LayerCost:
    # reads [N, ...] for N only -> [N, 2·hidden, H, W]; no params, no MACs
    if op.hidden < 2 or op.hidden % 2:
        raise ShapeError(f"fourier_pos needs an even hidden size of 2 or more, got {op.hidden}")
    return LayerCost(0, 0, (x[0], 2 * op.hidden, *op.size))


@cache
def _fourier_class() -> type:
    import torch
    from torch import nn

    class FourierPosition(nn.Module):
        """timm XCiT's ``PositionalEncodingFourier.forward`` up to its ``token_projection``,
        expanded to the batch of the tensor it is given."""

        def __init__(self, hidden: int, size: tuple[int, int]) -> None:
            super().__init__()
            self.hidden, self.size = hidden, size

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, w = self.size
            y_embed = torch.arange(1, h + 1).to(torch.float32).unsqueeze(1).repeat(1, 1, w)
            x_embed = torch.arange(1, w + 1).to(torch.float32).repeat(1, h, 1)
            y_embed = y_embed / (y_embed[:, -1:, :] + 1e-6) * (2 * math.pi)
            x_embed = x_embed / (x_embed[:, :, -1:] + 1e-6) * (2 * math.pi)
            dim_t = torch.arange(self.hidden).to(torch.float32)
            dim_t = TEMPERATURE ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / self.hidden)
            pos_x = x_embed[:, :, :, None] / dim_t
            pos_y = y_embed[:, :, :, None] / dim_t
            pos_x = torch.stack([pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()], dim=4).flatten(3)
            pos_y = torch.stack([pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()], dim=4).flatten(3)
            pos = torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)
            return pos.expand(x.shape[0], -1, -1, -1)

        def extra_repr(self) -> str:
            return f"hidden={self.hidden}, size={self.size}"

    return FourierPosition


def _module(op: FourierPosition, _: Shape) -> Any:
    return _fourier_class()(op.hidden, op.size)


def _lower(f: Mapping[str, Any], _: Shape, __: Lowering) -> FourierPosition:
    size = f["size"]
    return FourierPosition(f["hidden"], (size, size) if isinstance(size, int) else tuple(size))


def _window(_: FourierPosition, __: Shape) -> None:
    return None  # of the sizes only: no spatial footprint of its input


def _whole(nodes: Sequence[Traced], shape: Shape, _: bool) -> list[Layer] | None:
    """timm's ``PositionalEncodingFourier`` (XCiT, EdgeNeXt): sines and cosines of the sizes
    alone, then its one 1×1 ``token_projection``: the grid and a ``pwconv``. None when the conv
    runs on another batch than the model's (XCiT's grid of batch 1 repeated to B > 1)."""
    convs = [n for n in nodes if n.op == "conv"]
    if len(convs) != 1 or sum(n.params for n in nodes) != convs[0].params \
            or not {"Tensor.sin", "Tensor.cos"} <= {n.target for n in nodes}:
        return None
    conv = convs[0]
    channels, out = conv.attr("in_channels"), conv.shape
    if conv.attr("kernel") != (1, 1) or conv.attr("groups") != 1 or channels % 4 \
            or len(out) != 4 or out[0] != shape[0] or nodes[-1].shape != out:
        return None
    grid: Layer = {"kind": "fourier_pos", "hidden": channels // 2, "size": list(out[2:])}
    proj: Layer = {"kind": "pwconv", "out_channels": out[1]}
    return [grid, {**proj, "bias": True} if conv.attr("bias") else proj]


FOURIER_POS = OpKind(
    FourierPosition, fourier_pos, _module, {"fourier_pos": "parameters"}, window=_window,
    spec=SpecKind(fields(hidden=Field("int", doc="sines and cosines per axis (even)"),
                         size=Field("pair", doc="the grid's H and W")),
                  "XCiT's Fourier positional grid, `[N, 2·hidden, H, W]` of sines and cosines of "
                  "the positions (reads its input for the batch only): no params, no MACs"),
    lower=_lower, imports=Imports(classes={"PositionalEncodingFourier": _whole}))

KINDS = (FOURIER_POS,)
