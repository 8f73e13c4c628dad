"""``rope``: a rotary position embedding applied to queries or keys, ``x·cos + rotate(x)·sin``
(EVA, DINOv3, Qwen3-VL and DeepSeek vision encoders). The sin/cos tables are no parameters:
they are computed from the token grid (or held in buffers), so the op holds none.

``rotate`` is ``rotate_half`` (``cat([-x2, x1])`` of the last dim's halves, ``half``) or the
interleaved pairs (``[-x1, x0, -x3, x2, ...]``). Its multiplies and adds are elementwise, no
conv or linear MAC: the paper count (FlopCounterMode) counts none of them. The importer
recognises the pattern (``runtime/importer/rope_pass.py``); the names of the negation it reads
are declared here (:data:`NEGATIONS`).

A rope may read more tensors after ``x`` (``from: [x, angles, ...]``): the tables its sin/cos
are computed from when computing them costs MACs (Gemma4's angles ``inv_freq @ positions``, a
matmul FlopCounterMode counts), so that they are counted; they change no figure of the rope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError

NEGATIONS = frozenset({"operator.neg", "Tensor.neg", "torch.neg", "aten.neg"})
"""The fx and aten names of ``-x``, the negated half of ``rotate_half`` (opaque IR ops)."""


@dataclass(frozen=True)
class Rope(Op):
    """``x·cos + rotate(x)·sin`` over the last dim (the head dim) of ``x``."""

    key: ClassVar[str] = "rope"
    half: bool = True  # rotate_half: cat([-x2, x1]); else the interleaved pairs


def rope(op: Rope, x: Shape) -> LayerCost:
    # [N, ..., L, D] -> [N, ..., L, D], D even (pairs of channels rotate); params 0 (sin/cos
    # are buffers); paper MACs 0: two elementwise multiplies and an add, no conv or linear
    if len(x) < 3 or x[-1] % 2:
        raise ShapeError(f"rope expects [N, ..., L, D] with an even head dim D, got {list(x)}")
    return LayerCost(0, 0, x)


@cache
def _rope_class() -> type:
    import torch
    from torch import nn

    class Rotary(nn.Module):
        """``x * cos + rotate(x) * sin``, the tables buffers of shape [L, D] (base 10000)."""

        def __init__(self, positions: int, dim: int, half: bool) -> None:
            super().__init__()
            self.halves = half
            inv = 1.0 / 10000 ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
            angles = torch.arange(positions, dtype=torch.float32)[:, None] * inv
            angles = torch.cat([angles, angles], -1) if half else angles.repeat_interleave(2, -1)
            self.register_buffer("sin", angles.sin(), persistent=False)
            self.register_buffer("cos", angles.cos(), persistent=False)

        def forward(self, x: torch.Tensor, *tables: torch.Tensor) -> torch.Tensor:
            # tables: what the model's sin/cos come from, read (their cost is theirs), not used
            if self.halves:
                x1, x2 = x.chunk(2, dim=-1)
                turned = torch.cat([-x2, x1], dim=-1)
            else:
                turned = torch.stack([-x[..., 1::2], x[..., ::2]], -1).reshape(x.shape)
            cos, sin = self.get_buffer("cos"), self.get_buffer("sin")
            return x * cos + turned * sin

        def extra_repr(self) -> str:
            return f"half={self.halves}"

    return Rotary


def _module(op: Rope, x: Shape) -> Any:
    return _rope_class()(x[-2], x[-1], op.half)


def _lower(f: Mapping[str, Any], _: Shape, __: Lowering) -> Rope:
    return Rope(bool(f["half"]))


def _layers(node: Traced, x: Shape) -> list[Layer] | None:
    if node.shape != x or len(x) < 3 or x[-1] % 2:
        return None
    return [{"kind": "rope"} if node.attr("half", True) else {"kind": "rope", "half": False}]


def emit_rope(node: Traced, x: Shape) -> list[Layer] | None:
    """The importer's ``rope`` node (one input, its shape kept): a ``rope`` layer."""
    return _layers(node, x) if len(node.inputs) == 1 else None


def merge_rope(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    """A ``rope`` node reading x and the tables its sin/cos were computed from with MACs."""
    return _layers(node, tuple(shapes[0])) if len(shapes) > 1 else None


ROPE = OpKind(Rope, rope, _module, {"rope": "attention"}, inputs=1, variadic=True,
              path=lambda shapes, out: (0,),  # the data path runs through x, not the tables
              spec=SpecKind(fields(half=Field("bool", True, doc="rotate_half (cat([-x2, x1]) of "
                                               "the halves); false: interleaved pairs")),
                            "rotary position embedding `x·cos + rotate(x)·sin` over the last dim "
                            "(queries, keys): sin/cos are buffers, no params; paper MACs 0 "
                            "(`from: [x, angles, ...]`: also reads the tables its sin/cos come "
                            "from, when the model computes them with MACs: Gemma4's)"),
              lower=_lower, imports=Imports(emit=emit_rope, merge=merge_rope))

KINDS = (ROPE,)
