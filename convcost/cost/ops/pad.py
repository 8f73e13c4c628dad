"""``pad``: pixels around the map, ``F.pad(x, (left, right, top, bottom), mode, value)``: a
constant (``nn.ZeroPad2d``, TF-style asymmetric padding written apart from a conv), whose
``value`` is zero, ``-inf`` (timm's ``MaxPool2dSame`` pads before its max pool) or one
(EfficientViT's linear attention pads v with a column of ones: ``F.pad(v, (0, 1), value=1)``); or the map's
own pixels, ``mode`` reflect, replicate or circular (timm's ``BlurPool2d`` pads by reflection).
No params, no MACs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, TorchCall, Traced, text
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape, spatial
from convcost.cost.window import Windows, conv_window
from convcost.errors import SpecError

PAD_VALUES = ("zero", "-inf", "one")
_FILLS = {0: "zero", -math.inf: "-inf", 1: "one"}  # F.pad's value -> the field's
PAD_MODES = ("constant", "reflect", "replicate", "circular")  # F.pad's modes


@dataclass(frozen=True)
class Pad(Op):
    """Padding: ``(left, right, top, bottom)`` pixels, as ``F.pad`` orders them, of zeros or
    ``-inf`` (mode constant), or of the map's own pixels (reflect, replicate, circular)."""

    key: ClassVar[str] = "pad"
    pad: tuple[int, int, int, int]
    value: str = "zero"
    mode: str = "constant"


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

    if op.mode != "constant":
        modes = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d,
                 "circular": nn.CircularPad2d}
        return modes[op.mode](op.pad)
    if op.value == "zero":
        return nn.ZeroPad2d(op.pad)
    return nn.ConstantPad2d(op.pad, next(v for v, name in _FILLS.items() if name == op.value))


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Pad:
    amounts = f["pad"]
    if len(amounts) != 4:
        raise SpecError(f"give 4 sizes [left, right, top, bottom], got {len(amounts)}", path=f"{at.path}.pad")
    if f["mode"] != "constant" and f["value"] != "zero":
        raise SpecError("a value pads in mode constant only", path=f"{at.path}.value")
    return Pad(tuple(amounts), f["value"], f["mode"])


# -- import ------------------------------------------------------------------------------

def _read_call(c: TorchCall) -> Fields:
    """``F.pad(x, pad, mode, value)`` and ``aten.constant_pad_nd(x, pad, value)``."""
    third = c.arg(2, "mode", "constant")
    mode = third if isinstance(third, str) else "constant"
    value = third if isinstance(third, int | float) else c.arg(3, "value", 0)
    amounts = solved(tuple(c.arg(1, "pad")), c.in_shapes[0] if c.in_shapes else (), c.shape)
    if amounts is None:  # two sizes of one dim computed in the trace
        return dict(mode=mode, value=float(value or 0))
    return dict(pad=amounts, mode=mode, value=float(value or 0))


def solved(amounts: tuple[Any, ...], x: Shape, out: Shape) -> tuple[int, ...] | None:
    """``F.pad`` sizes, one of a dim's two computed in the trace (HaloNet's ``F.pad(x, [0,
    rel_size - W])``, Twins' ``(0, 0, 0, pad_r, 0, pad_b)``) solved from the traced shapes: the
    dim grew by both; None when both of a dim's are computed (or the shapes do not say)."""
    if all(isinstance(p, int) for p in amounts):
        return tuple(amounts)
    if len(amounts) % 2 or len(amounts) // 2 > len(x) or len(x) != len(out):
        return None
    sizes = list(amounts)
    for pair in range(len(amounts) // 2):
        grown = out[-1 - pair] - x[-1 - pair]
        known = [isinstance(p, int) for p in sizes[2 * pair:2 * pair + 2]]
        if known == [True, False]:
            sizes[2 * pair + 1] = grown - sizes[2 * pair]
        elif known == [False, True]:
            sizes[2 * pair] = grown - sizes[2 * pair + 1]
        elif known == [False, False]:
            return None
    return tuple(int(p) for p in sizes)


def _read_padding_op(mode: str) -> Any:
    """``aten.reflection_pad2d(x, pad)`` (and replication): what ``F.pad`` of ``mode`` dispatches."""
    return lambda c: dict(pad=tuple(int(p) for p in c.arg(1, "padding")), mode=mode, value=0.0)


def _read_onnx(c: OnnxCall) -> Fields:
    """ONNX pads (every axis's begins, then its ends) -> torch's ``F.pad`` order, last axis first."""
    pads = c.attrs.get("pads") or (c.constants[1] if len(c.constants) > 1 else None)
    attrs: Fields = dict(mode=text(c.attrs.get("mode", b"constant")))
    if pads and len(pads) % 2 == 0:
        rank = len(pads) // 2
        order = [(int(pads[axis]), int(pads[axis + rank])) for axis in reversed(range(rank))]
        while order and order[-1] == (0, 0):  # F.pad leaves the leading axes out
            order.pop()
        attrs["pad"] = tuple(p for pair in order for p in pair)
    return attrs


def _keys(op: Pad) -> tuple[str, ...]:
    if op.mode != "constant":
        return ("pad_mode",)
    return ("pad",) if op.value == "zero" else ("pad_value",)


def _last_two(amounts: tuple[int, ...]) -> tuple[int, ...]:
    """``F.pad`` sizes as the 4 of the last two dims, when the dims before them are not padded."""
    while len(amounts) > 4 and amounts[-2:] == (0, 0):
        amounts = amounts[:-2]
    return (*amounts, 0, 0) if len(amounts) == 2 else amounts


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    """``F.pad`` on W and H (4 sizes, none negative) of an [N, C, H, W] map: of zeros or ``-inf``,
    or of the map's own pixels (reflect, replicate, circular); a pad that adds nothing (its traced
    output is its input's shape: Twins' windows already whole) is none. Of any 4-D tensor, the
    last two dims: CoaT's ``F.pad(ev, (0, 0, 1, 0, 0, 0))`` on [B, heads, N, C] puts back the
    class token's row (zero pairs of the dims before them left out, the last dim's alone
    completed). On W and H of an [N, H, W, C] map (SAM's windows: ``F.pad(x, (0, 0, 0, pw, 0,
    ph))``), the pad between two permutes, to NCHW and back (no MACs either). Of a rank-3 or
    rank-2 tensor, constant: the pad between two reshapes, to [N, 1, A, B] (or [N, 1, 1, B]) and
    back (HaloNet's relative logits, ``F.pad(x, [0, 1])`` of [N, W, 2·win - 1])."""
    amounts = _last_two(tuple(node.attr("pad", ())))
    if node.shape == x:
        return []
    value, mode = node.attr("value", 0), node.attr("mode", "constant")
    if len(x) in (2, 3) and mode == "constant" and value in _FILLS:
        return _low_rank(amounts, x, node.shape, value)
    if mode not in PAD_MODES or (mode == "constant" and value not in _FILLS) or len(x) != 4:
        return None
    if len(amounts) == 6 and amounts[:2] == (0, 0) and min(amounts) >= 0:  # channels last
        return [{"kind": "permute", "dims": [0, 3, 1, 2]}, _layer(amounts[2:], value, mode),
                {"kind": "permute", "dims": [0, 2, 3, 1]}]
    if len(amounts) != 4 or min(amounts) < 0:
        return None
    return [_layer(amounts, value, mode)]


def _low_rank(amounts: tuple[int, ...], x: Shape, out: Shape, value: float) -> list[Layer] | None:
    """A constant pad of the last dim (or two) of [N, A, B] or [N, B], as one of [N, 1, A, B]."""
    if len(amounts) != 4 or min(amounts) < 0 or (len(x) == 2 and amounts[2:] != (0, 0)):
        return None
    as_map = [1] * (4 - len(x)) + list(x[1:])
    return [{"kind": "reshape", "shape": as_map}, _layer(amounts, value, "constant"),
            {"kind": "reshape", "shape": list(out[1:])}]


def _layer(amounts: tuple[int, ...], value: float, mode: str) -> Layer:
    layer: Layer = {"kind": "pad", "pad": list(amounts)}
    if mode != "constant":
        return {**layer, "mode": mode}
    return layer if value == 0 else {**layer, "value": _FILLS[value]}


IMPORTS = Imports(functions={"torch.nn.functional.pad": _read_call},
                  aten={"aten.pad": _read_call, "aten.constant_pad_nd": _read_call,
                        "aten.reflection_pad2d": _read_padding_op("reflect"),
                        "aten.replication_pad2d": _read_padding_op("replicate")},
                  onnx={"Pad": _read_onnx}, emit=_emit)

PAD = OpKind(
    Pad, pad, _module, dict.fromkeys(("pad", "pad_value", "pad_mode"), "flatten/dropout"),
    keys_of=_keys, window=_window,
    spec=SpecKind(fields(pad=Field("ints", minimum=0, doc="[left, right, top, bottom] pixels"),
                         value=Field("choice", "zero", PAD_VALUES,
                                     doc="what is padded: zeros, -inf before a max pool, or ones"),
                         mode=Field("choice", "constant", PAD_MODES,
                                    doc="constant (the value), or the map's own pixels")),
                  "`F.pad(x, (left, right, top, bottom), mode, value)`, `nn.ZeroPad2d`, "
                  "`nn.ReflectionPad2d`...: zeros, `-inf` or the map's pixels around the map"),
    lower=_lower, imports=IMPORTS,
)

KINDS = (PAD,)
