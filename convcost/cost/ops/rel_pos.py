"""``rel_pos``: MViT-V2's decomposed relative positions (torchvision's ``_add_rel_pos``): the
attention scores ``[B, H, c + Tq, c + Tk]`` plus, for the queries of ``q_size`` [t, h, w]
against the keys of ``k_size`` (after ``c`` = 1 class token when ``cls``), q·R_h and q·R_w
(two einsums) and q·R_t (a matmul), each R gathered from a learnt table of ``tables``
[Lt, Lh, Lw] rows of C (a table of another length than 2·max(q, k) − 1 is first resized
linearly, as torchvision does: no MACs).

It reads two tensors, the scores and q ``[B, H, c + Tq, C]``. Params (Lt + Lh + Lw)·C; MACs
B·H·Tq·C·(kh + kw + kt), the sum of its parts (FlopCounterMode counts the einsums as bmm):
every convention counts it as its two einsums and its matmul, each by its own row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Read, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, Part, SpecKind, checked, fields
from convcost.cost.ops.matmul import Einsum, Matmul
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError, SpecError

Size3 = tuple[int, int, int]


@dataclass(frozen=True)
class RelPos(Op):
    """The scores plus q·R_t, q·R_h, q·R_w; ``query`` is q's shape (its second input)."""

    key: ClassVar[str] = "rel_pos"
    query: Shape
    q_size: Size3
    k_size: Size3
    tables: Size3
    cls: bool = True


def _checked(op: RelPos, x: Shape) -> tuple[int, int, int, int]:
    """``(B, H, Tq, C)`` once the scores ``x`` and q fit the sizes; else a ShapeError."""
    if any(len(s) != 3 or min(s) < 1 for s in (op.q_size, op.k_size, op.tables)):
        raise ShapeError("rel_pos q_size, k_size and tables are 3 sizes each ([t, h, w]), all >= 1")
    c, tq, tk = int(op.cls), math.prod(op.q_size), math.prod(op.k_size)
    if len(op.query) != 4 or len(x) != 4 or op.query[2] != c + tq or x != (*op.query[:3], c + tk):
        raise ShapeError(f"rel_pos needs scores [B, H, {c} + {tq}, {c} + {tk}] and q [B, H, {c} + "
                         f"{tq}, C] (q_size {list(op.q_size)}, k_size {list(op.k_size)}), got "
                         f"{list(x)} and {list(op.query)}")
    return op.query[0], op.query[1], tq, op.query[3]


def rel_pos_parts(op: RelPos, x: Shape) -> tuple[Part, ...]:
    """q·R_h and q·R_w (einsums on q as [B, H, t, h, w, C]) and q·R_t (a matmul on q as
    [t, B·H·h·w, C]), each on the input shape it reads."""
    b, heads, _, c = _checked(op, x)
    (qt, qh, qw), (kt, kh, kw) = op.q_size, op.k_size
    r_q = (b, heads, qt, qh, qw, c)
    return (("rel_h", Einsum("bythwc,hkc->bythwk", (qh, kh, c)), r_q),
            ("rel_w", Einsum("bythwc,wkc->bythwk", (qw, kw, c)), r_q),
            ("rel_t", Matmul((qt, c, kt)), (qt, b * heads * qh * qw, c)))


def rel_pos(op: RelPos, x: Shape) -> LayerCost:
    # scores [B, H, c + Tq, c + Tk], q [B, H, c + Tq, C] -> the scores' shape;
    # params (Lt + Lh + Lw)·C; MACs B·H·Tq·C·kh + B·H·Tq·C·kw + t·(B·H·h·w)·C·kt
    b, heads, tq, c = _checked(op, x)
    return LayerCost(sum(op.tables) * c, b * heads * tq * c * sum(op.k_size), x)


@cache
def _rel_pos_class() -> type:
    import torch
    from torch import nn
    from torch.nn import functional

    def distances(q: int, k: int) -> torch.Tensor:
        """torchvision's dist: the relative index of each (query, key) pair in the table."""
        q_ratio, k_ratio = max(k / q, 1.0), max(q / k, 1.0)
        dist = torch.arange(q)[:, None] * q_ratio - (torch.arange(k)[None, :] + (1.0 - k)) * k_ratio
        return dist.long()

    class RelPosModule(nn.Module):
        """torchvision's ``_add_rel_pos`` with its three tables, the distances as buffers."""

        def __init__(self, op: RelPos) -> None:
            super().__init__()
            c = op.query[3]
            self.cls, self.q_size, self.k_size = int(op.cls), op.q_size, op.k_size
            for axis, rows in zip("thw", op.tables, strict=True):
                setattr(self, f"rel_pos_{axis}", nn.Parameter(torch.zeros(rows, c)))
            for axis, q, k in zip("thw", op.q_size, op.k_size, strict=True):
                self.register_buffer(f"dist_{axis}", distances(q, k), persistent=False)

        def table(self, axis: str) -> torch.Tensor:
            table: torch.Tensor = getattr(self, f"rel_pos_{axis}")
            dist: torch.Tensor = getattr(self, f"dist_{axis}")
            rows = 2 * max(dist.shape) - 1
            if table.shape[0] != rows:  # resized linearly (no MACs)
                table = functional.interpolate(table.permute(1, 0).unsqueeze(0), size=rows,
                                               mode="linear").squeeze(0).permute(1, 0)
            return table[dist]

        def forward(self, attn: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
            (qt, qh, qw), (kt, kh, kw), c = self.q_size, self.k_size, self.cls
            b, heads, _, dim = q.shape
            r_q = q[:, :, c:].reshape(b, heads, qt, qh, qw, dim)
            rel_h = torch.einsum("bythwc,hkc->bythwk", r_q, self.table("h"))
            rel_w = torch.einsum("bythwc,wkc->bythwk", r_q, self.table("w"))
            r_t = r_q.permute(2, 0, 1, 3, 4, 5).reshape(qt, b * heads * qh * qw, dim)
            rel_t = torch.matmul(r_t, self.table("t").transpose(1, 2)).transpose(0, 1)
            rel_t = rel_t.view(b, heads, qh, qw, qt, kt).permute(0, 1, 4, 2, 3, 5)
            rel = (rel_h[:, :, :, :, :, None, :, None] + rel_w[:, :, :, :, :, None, None, :]
                   + rel_t[:, :, :, :, :, :, None, None]).reshape(b, heads, qt * qh * qw, kt * kh * kw)
            out = attn.clone()
            out[:, :, c:, c:] += rel
            return out

    return RelPosModule


def _module(op: RelPos, _: Shape) -> Any:
    return _rel_pos_class()(op)


def _sizes(f: Mapping[str, Any], key: str, at: Lowering) -> Size3:
    value = tuple(f[key])
    if len(value) != 3:
        raise SpecError(f"rel_pos {key} is 3 sizes [t, h, w], got {list(value)}", path=f"{at.path}.{key}")
    return value


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> RelPos:
    if len(at.inputs) != 2:
        raise SpecError(f"rel_pos reads the scores and q (2 inputs), got {len(at.inputs)}",
                        path=at.inputs_path)
    op = RelPos(at.inputs[1], _sizes(f, "q_size", at), _sizes(f, "k_size", at),
                _sizes(f, "tables", at), f["cls"])
    return checked(rel_pos, op, x, at.inputs_path)


# -- import ------------------------------------------------------------------------------

def _read(c: TorchCall) -> Read:
    """``_add_rel_pos(attn, q, q_thw, k_thw, rel_pos_h, rel_pos_w, rel_pos_t)`` (fx-wrapped: the
    sizes as the trace computed them): the sizes, the tables' rows, the class token."""
    q_thw, k_thw = c.arg(2, "q_thw"), c.arg(3, "k_thw")
    if len(c.in_shapes) != 5 or not all(isinstance(s, tuple | list) and len(s) == 3
                                        and all(type(v) is int for v in s) for s in (q_thw, k_thw)):
        return "opaque", dict(shapes=c.shapes)
    h, w, t = (s[0] for s in c.in_shapes[2:])
    return dict(query=c.in_shapes[1], q_size=tuple(q_thw), k_size=tuple(k_thw), tables=(t, h, w),
                cls=c.in_shapes[1][2] - math.prod(q_thw) == 1)


def _merge(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    """The scores and q (two tensors), their shapes the traced ones."""
    if len(shapes) != 2:
        return None
    op = RelPos(tuple(shapes[1]), tuple(node.attr("q_size")), tuple(node.attr("k_size")),
                tuple(node.attr("tables")), bool(node.attr("cls")))
    try:
        if rel_pos(op, tuple(shapes[0])).output_shape != node.shape:
            return None
    except ShapeError:
        return None
    return [{"kind": "rel_pos", "q_size": list(op.q_size), "k_size": list(op.k_size),
             "tables": list(op.tables), **({} if op.cls else {"cls": False})}]


_SIZES = "[t, h, w]"
REL_POS = OpKind(
    RelPos, rel_pos, _module, {"rel_pos": "attention"}, inputs=2, learnable=True,
    parts=rel_pos_parts,
    spec=SpecKind(fields(q_size=Field("ints", doc=f"the queries' {_SIZES}"),
                         k_size=Field("ints", doc=f"the keys' {_SIZES}"),
                         tables=Field("ints", doc="the learnt tables' rows [Lt, Lh, Lw] (of C)"),
                         cls=Field("bool", True, doc="a class token first (not offset)")),
                  "MViT-V2's decomposed relative positions (`from:` the scores and q): the scores "
                  "plus q·R_h, q·R_w (einsums) and q·R_t (a matmul), B·H·Tq·C·(kh + kw + kt) MACs"),
    lower=_lower,
    imports=Imports(functions={"torchvision.models.video.mvit._add_rel_pos": _read}, merge=_merge))

KINDS = (REL_POS,)
