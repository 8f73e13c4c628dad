"""``pad``: zeros around the map, ``F.pad(x, (left, right, top, bottom))`` / ``nn.ZeroPad2d``
(TF-style asymmetric padding written apart from a conv). No params, no MACs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape, spatial
from convcost.cost.window import Windows, conv_window
from convcost.errors import SpecError


@dataclass(frozen=True)
class Pad(Op):
    """Zero padding: ``(left, right, top, bottom)`` pixels, as ``F.pad`` orders them."""

    key: ClassVar[str] = "pad"
    pad: tuple[int, int, int, int]


def pad(op: Pad, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, H + top + bottom, W + left + right]; no params, no MACs
    n, c, h, w = spatial(x, "pad")
    left, right, top, bottom = op.pad
    return LayerCost(0, 0, (n, c, h + top + bottom, w + left + right))


def _window(op: Pad, x: Shape) -> Windows:
    # output pixel o is input pixel o - top (o - left): a 1-pixel window padded before
    left, _, top, _ = op.pad
    return conv_window(1, 1, top), conv_window(1, 1, left)


def _module(op: Pad, _: Shape) -> Any:
    from torch import nn

    return nn.ZeroPad2d(op.pad)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Pad:
    amounts = f["pad"]
    if len(amounts) != 4:
        raise SpecError(f"give 4 sizes [left, right, top, bottom], got {len(amounts)}", path=f"{at.path}.pad")
    return Pad(tuple(amounts))


PAD = OpKind(
    Pad, pad, _module, {"pad": "flatten/dropout"}, window=_window,
    spec=SpecKind(fields(pad=Field("ints", minimum=0, doc="[left, right, top, bottom] zero pixels")),
                  "`F.pad(x, (left, right, top, bottom))`, `nn.ZeroPad2d`: zeros around the map"),
    lower=_lower,
)

KINDS = (PAD,)
