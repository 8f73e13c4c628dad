"""``unfold`` (``nn.Unfold``, ``F.unfold``: im2col) and ``fold`` (``nn.Fold``, ``F.fold``:
col2im), as TNT's pixel embedding and VOLO's outlooker attention use them.

``unfold`` copies each ``kernel`` window of an ``[N, C, H, W]`` map into a column:
``[N, C·kh·kw, L]``, L the windows (as a conv of that kernel, stride, padding and dilation
places them). ``fold`` sums columns ``[N, C·kh·kw, L]`` back into an ``[N, C, H, W]`` map of
``output_size``. No params; no MACs (a copy; fold's overlap sums are additions, uncounted as
every elementwise add is, and FlopCounterMode counts neither).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, TorchCall, Traced, pair, spec_size
from convcost.cost.layout import dims
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.value import LayerCost, Pair, Shape, spatial
from convcost.errors import ShapeError


@dataclass(frozen=True)
class Unfold(Op):
    """``nn.Unfold(kernel, dilation, padding, stride)`` on ``[N, C, H, W]``."""

    key: ClassVar[str] = "unfold"
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)


@dataclass(frozen=True)
class Fold(Op):
    """``nn.Fold(output_size, kernel, dilation, padding, stride)`` on ``[N, C·kh·kw, L]``."""

    key: ClassVar[str] = "fold"
    output_size: Pair
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)


def _windows(op: Unfold | Fold, size: Pair) -> tuple[int, int]:
    """The window positions per axis: (size + 2·pad - dil·(k - 1) - 1) // stride + 1."""
    out = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, k, st, p, d in zip(
        size, op.kernel, op.stride, op.padding, op.dilation, strict=True))
    if min(out) < 1:
        raise ShapeError(f"the {list(op.kernel)} window does not fit the padded {list(size)} map")
    return out[0], out[1]


def unfold(op: Unfold, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C·kh·kw, Lh·Lw], L per axis (H + 2p - d(k - 1) - 1) // s + 1; no MACs
    n, c, h, w = spatial(x, "unfold")
    lh, lw = _windows(op, (h, w))
    return LayerCost(0, 0, (n, c * op.kernel[0] * op.kernel[1], lh * lw))


def fold(op: Fold, x: Shape) -> LayerCost:
    # [N, C·kh·kw, L] -> [N, C, oh, ow], L the windows of the [oh, ow] map; no MACs
    n, ck, (length,) = dims(x, "NCL", "fold")
    area = op.kernel[0] * op.kernel[1]
    lh, lw = _windows(op, op.output_size)
    if ck % area or length != lh * lw:
        raise ShapeError(f"fold of a {list(op.kernel)} kernel to {list(op.output_size)} needs "
                         f"[N, C·{area}, {lh * lw}], got {list(x)}")
    return LayerCost(0, 0, (n, ck // area, *op.output_size))


def _unfold_module(op: Unfold, _: Shape) -> Any:
    from torch import nn

    return nn.Unfold(op.kernel, op.dilation, op.padding, op.stride)


def _fold_module(op: Fold, _: Shape) -> Any:
    from torch import nn

    return nn.Fold(op.output_size, op.kernel, op.dilation, op.padding, op.stride)


def _windowing(f: Mapping[str, Any]) -> tuple[Pair, Pair, Pair, Pair]:
    return (pair(f["kernel_size"]), pair(f["stride"]), pair(f["padding"]), pair(f["dilation"]))


def _lower_unfold(f: Mapping[str, Any], x: Shape, at: Lowering) -> Unfold:
    return checked(unfold, Unfold(*_windowing(f)), x, f"{at.path}.kernel_size")


def _lower_fold(f: Mapping[str, Any], x: Shape, at: Lowering) -> Fold:
    return checked(fold, Fold(pair(f["output_size"]), *_windowing(f)), x, f"{at.path}.output_size")


# -- import ------------------------------------------------------------------------------

def _read_module(c: TorchCall) -> Fields:
    m = c.module
    fields = dict(kernel=pair(m.kernel_size), stride=pair(m.stride), padding=pair(m.padding),
                  dilation=pair(m.dilation))
    return {**fields, "output_size": pair(m.output_size)} if hasattr(m, "output_size") else fields


def _read_unfold(c: TorchCall) -> Fields:
    """``F.unfold(x, kernel_size, dilation=1, padding=0, stride=1)``."""
    return dict(kernel=pair(c.arg(1, "kernel_size")), dilation=pair(c.arg(2, "dilation", 1)),
                padding=pair(c.arg(3, "padding", 0)), stride=pair(c.arg(4, "stride", 1)))


def _read_fold(c: TorchCall) -> Fields:
    """``F.fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1)``."""
    return dict(output_size=pair(c.arg(1, "output_size")), kernel=pair(c.arg(2, "kernel_size")),
                dilation=pair(c.arg(3, "dilation", 1)), padding=pair(c.arg(4, "padding", 0)),
                stride=pair(c.arg(5, "stride", 1)))


def _windowed(node: Traced) -> Layer:
    layer: Layer = {"kernel_size": spec_size(node.attr("kernel"))}
    for key, default in (("stride", (1, 1)), ("padding", (0, 0)), ("dilation", (1, 1))):
        if tuple(node.attr(key)) != default:
            layer[key] = spec_size(node.attr(key))
    return layer


def _emit_unfold(node: Traced, x: Shape) -> list[Layer] | None:
    if len(x) != 4 or unfold(Unfold(*(tuple(node.attr(k)) for k in (
            "kernel", "stride", "padding", "dilation"))), x).output_shape != node.shape:
        return None
    return [{"kind": "unfold", **_windowed(node)}]


def _emit_fold(node: Traced, x: Shape) -> list[Layer] | None:
    if len(x) != 3 or len(node.shape) != 4:
        return None
    return [{"kind": "fold", "output_size": spec_size(node.attr("output_size")), **_windowed(node)}]


_WINDOW = fields(
    kernel_size=Field("pair", doc="the window, int or [h, w]"),
    stride=Field("pair", (1, 1), doc="int or [h, w]"),
    padding=Field("pair", (0, 0), minimum=0, doc="zeros around the map, int or [h, w]"),
    dilation=Field("pair", (1, 1), doc="int or [h, w]"))

UNFOLD = OpKind(
    Unfold, unfold, _unfold_module, {"unfold": "flatten/dropout"},
    spec=SpecKind(_WINDOW, "`nn.Unfold` (im2col): `[N, C, H, W]` -> `[N, C·kh·kw, L]`, no MACs"),
    lower=_lower_unfold,
    imports=Imports(modules={"torch.nn.Unfold": _read_module},
                    functions={"torch.nn.functional.unfold": _read_unfold},
                    aten={"aten.im2col": _read_unfold}, emit=_emit_unfold))
FOLD = OpKind(
    Fold, fold, _fold_module, {"fold": "flatten/dropout"},
    spec=SpecKind(fields(output_size=Field("pair", doc="the map's [h, w]"), **_WINDOW),
                  "`nn.Fold` (col2im): `[N, C·kh·kw, L]` -> `[N, C, h, w]`, the overlaps summed, "
                  "no MACs"),
    lower=_lower_fold,
    imports=Imports(modules={"torch.nn.Fold": _read_module},
                    functions={"torch.nn.functional.fold": _read_fold},
                    aten={"aten.col2im": _read_fold}, emit=_emit_fold))

KINDS = (UNFOLD, FOLD)
