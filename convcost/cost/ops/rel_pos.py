"""``rel_pos``: MViT-V2's decomposed relative positions: the attention scores
``[B, H, c + Tq, c + Tk]`` plus, for the queries of ``q_size`` against the keys of ``k_size``
(after ``c`` = 1 class token when ``cls``), q·R_h and q·R_w (two einsums) and, over time,
q·R_t (a matmul), each R gathered from a learnt table of ``tables`` rows of C (a table of
another length than 2·max(q, k) − 1 is first resized linearly, as torchvision does: no MACs).
The sizes are [t, h, w] (torchvision's video MViT, ``_add_rel_pos``) or [h, w] (timm's
image MViT, ``mvitv2.cal_rel_pos_type``: no q·R_t).

It reads two tensors, the scores and q ``[B, H, c + Tq, C]``. Params (Lt + Lh + Lw)·C; MACs
B·H·Tq·C·(kh + kw + kt), the sum of its parts (FlopCounterMode counts the einsums as bmm):
every convention counts it as its einsums and its matmul, each by its own row.
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

Sizes = tuple[int, ...]  # [t, h, w] or [h, w]


@dataclass(frozen=True)
class RelPos(Op):
    """The scores plus q·R_t, q·R_h, q·R_w; ``query`` is q's shape (its second input)."""

    key: ClassVar[str] = "rel_pos"
    query: Shape
    q_size: Sizes
    k_size: Sizes
    tables: Sizes
    cls: bool = True


def _checked(op: RelPos, x: Shape) -> tuple[int, int, int, int]:
    """``(B, H, Tq, C)`` once the scores ``x`` and q fit the sizes; else a ShapeError."""
    sizes = (op.q_size, op.k_size, op.tables)
    if len({len(s) for s in sizes}) != 1 or len(op.q_size) not in (2, 3) or min(map(min, sizes)) < 1:
        raise ShapeError("rel_pos q_size, k_size and tables are 3 sizes each ([t, h, w]) or 2 "
                         "([h, w]), all >= 1")
    c, tq, tk = int(op.cls), math.prod(op.q_size), math.prod(op.k_size)
    if len(op.query) != 4 or len(x) != 4 or op.query[2] != c + tq or x != (*op.query[:3], c + tk):
        raise ShapeError(f"rel_pos needs scores [B, H, {c} + {tq}, {c} + {tk}] and q [B, H, {c} + "
                         f"{tq}, C] (q_size {list(op.q_size)}, k_size {list(op.k_size)}), got "
                         f"{list(x)} and {list(op.query)}")
    return op.query[0], op.query[1], tq, op.query[3]


def equations(op: RelPos) -> tuple[str, str]:
    """The einsums of q·R_h and q·R_w: on q as [B, H, t, h, w, C], or [B, H, h, w, C]."""
    t = "t" * (len(op.q_size) == 3)
    return f"by{t}hwc,hkc->by{t}hwk", f"by{t}hwc,wkc->by{t}hwk"


def rel_pos_parts(op: RelPos, x: Shape) -> tuple[Part, ...]:
    """q·R_h and q·R_w (einsums on q as [B, H, (t,) h, w, C]) and, over time, q·R_t (a matmul
    on q as [t, B·H·h·w, C]), each on the input shape it reads."""
    b, heads, _, c = _checked(op, x)
    (*qt, qh, qw), (*kt, kh, kw) = op.q_size, op.k_size
    r_q, (eq_h, eq_w) = (b, heads, *op.q_size, c), equations(op)
    parts: tuple[Part, ...] = (("rel_h", Einsum(eq_h, (qh, kh, c)), r_q),
                               ("rel_w", Einsum(eq_w, (qw, kw, c)), r_q))
    if qt:
        parts += (("rel_t", Matmul((qt[0], c, kt[0])), (qt[0], b * heads * qh * qw, c)),)
    return parts


def rel_pos(op: RelPos, x: Shape) -> LayerCost:
    # scores [B, H, c + Tq, c + Tk], q [B, H, c + Tq, C] -> the scores' shape;
    # params (Lt + Lh + Lw)·C; MACs B·H·Tq·C·kh + B·H·Tq·C·kw (+ t·(B·H·h·w)·C·kt over time)
    b, heads, tq, c = _checked(op, x)
    return LayerCost(sum(op.tables) * c, b * heads * tq * c * sum(op.k_size), x)


def _distances(q: int, k: int) -> Any:
    """torchvision's (and timm's) dist: the relative index of each (query, key) pair in the table."""
    import torch

    q_ratio, k_ratio = max(k / q, 1.0), max(q / k, 1.0)
    dist = torch.arange(q)[:, None] * q_ratio - (torch.arange(k)[None, :] + (1.0 - k)) * k_ratio
    return dist.long()


def _gathered(table: Any, dist: Any) -> Any:
    """The table's rows of each pair, a table of another length than 2·max(q, k) − 1 first
    resized linearly (no MACs), as torchvision and SAM do."""
    from torch.nn import functional

    rows = 2 * max(dist.shape) - 1
    if table.shape[0] != rows:
        table = functional.interpolate(table.permute(1, 0).unsqueeze(0), size=rows,
                                       mode="linear").squeeze(0).permute(1, 0)
    return table[dist]


@cache
def _rel_pos_class() -> type:
    import torch
    from torch import nn

    class RelPosModule(nn.Module):
        """torchvision's ``_add_rel_pos`` with its three tables ([t, h, w]), or timm's
        ``cal_rel_pos_type`` with two ([h, w]), op for op; the distances as buffers."""

        def __init__(self, op: RelPos) -> None:
            super().__init__()
            c, axes = op.query[3], "thw"[-len(op.q_size):]
            self.cls, self.q_size, self.k_size = int(op.cls), op.q_size, op.k_size
            self.equations = equations(op)
            for axis, rows in zip(axes, op.tables, strict=True):
                setattr(self, f"rel_pos_{axis}", nn.Parameter(torch.zeros(rows, c)))
            for axis, q, k in zip(axes, op.q_size, op.k_size, strict=True):
                self.register_buffer(f"dist_{axis}", _distances(q, k), persistent=False)

        def table(self, axis: str) -> torch.Tensor:
            gathered: torch.Tensor = _gathered(getattr(self, f"rel_pos_{axis}"),
                                               getattr(self, f"dist_{axis}"))
            return gathered

        def forward(self, attn: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
            b, heads, _, dim = q.shape
            r_q = q[:, :, self.cls:].reshape(b, heads, *self.q_size, dim)
            rel_h = torch.einsum(self.equations[0], r_q, self.table("h"))
            rel_w = torch.einsum(self.equations[1], r_q, self.table("w"))
            out, c = attn.clone(), self.cls
            if len(self.q_size) == 2:  # timm: the scores as [B, H, h, w, kh, kw] plus both
                view = out[:, :, c:, c:].view(b, -1, *self.q_size, *self.k_size)
                out[:, :, c:, c:] = (view + rel_h.unsqueeze(-1) + rel_w.unsqueeze(-2)).view(
                    b, -1, math.prod(self.q_size), math.prod(self.k_size))
                return out
            out[:, :, c:, c:] += self.over_time(r_q, rel_h, rel_w)
            return out

        def over_time(self, r_q: torch.Tensor, rel_h: torch.Tensor,
                      rel_w: torch.Tensor) -> torch.Tensor:
            """torchvision's q·R_t (a matmul) and the three terms spread to [B, H, Tq, Tk]."""
            (qt, qh, qw), (kt, kh, kw) = self.q_size, self.k_size
            b, heads, *_, dim = r_q.shape
            r_t = r_q.permute(2, 0, 1, 3, 4, 5).reshape(qt, b * heads * qh * qw, dim)
            rel_t = torch.matmul(r_t, self.table("t").transpose(1, 2)).transpose(0, 1)
            rel_t = rel_t.view(b, heads, qh, qw, qt, kt).permute(0, 1, 4, 2, 3, 5)
            return (rel_h[:, :, :, :, :, None, :, None] + rel_w[:, :, :, :, :, None, None, :]
                    + rel_t[:, :, :, :, :, :, None, None]).reshape(b, heads, qt * qh * qw, kt * kh * kw)

    return RelPosModule


def _module(op: RelPos, _: Shape) -> Any:
    return _rel_pos_class()(op)


def _sizes(f: Mapping[str, Any], key: str, at: Lowering) -> Sizes:
    value = tuple(f[key])
    if len(value) not in (2, 3):
        raise SpecError(f"rel_pos {key} is 3 sizes [t, h, w] or 2 [h, w], got {list(value)}",
                        path=f"{at.path}.{key}")
    return value


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> RelPos:
    if len(at.inputs) != 2:
        raise SpecError(f"rel_pos reads the scores and q (2 inputs), got {len(at.inputs)}",
                        path=at.inputs_path)
    op = RelPos(at.inputs[1], _sizes(f, "q_size", at), _sizes(f, "k_size", at),
                _sizes(f, "tables", at), f["cls"])
    return checked(rel_pos, op, x, at.inputs_path)


# -- import ------------------------------------------------------------------------------

def _sized(c: TorchCall, q_size: Any, k_size: Any, rank: int) -> bool:
    """Both sizes ``rank`` ints (as the trace computed them) and a table of each axis read."""
    return len(c.in_shapes) == 2 + rank and all(
        isinstance(s, tuple | list) and len(s) == rank and all(type(v) is int for v in s)
        for s in (q_size, k_size))


def _fields(c: TorchCall, q_size: Sizes, k_size: Sizes, tables: Sizes) -> Read:
    """The sizes, the tables' rows, the class token (q one token longer than its grid)."""
    return dict(query=c.in_shapes[1], q_size=tuple(q_size), k_size=tuple(k_size),
                tables=tables, cls=c.in_shapes[1][2] - math.prod(q_size) == 1)


def _read(c: TorchCall) -> Read:
    """torchvision's fx-wrapped ``_add_rel_pos(attn, q, q_thw, k_thw, rel_pos_h, rel_pos_w,
    rel_pos_t)``, the sizes as the trace computed them."""
    q_thw, k_thw = c.arg(2, "q_thw"), c.arg(3, "k_thw")
    if not _sized(c, q_thw, k_thw, 3):
        return "opaque", dict(shapes=c.shapes)
    h, w, t = (s[0] for s in c.in_shapes[2:])
    return _fields(c, q_thw, k_thw, (t, h, w))


def _read_timm(c: TorchCall) -> Read:
    """timm's ``mvitv2.cal_rel_pos_type(attn, q, has_cls_token, q_size, k_size, rel_pos_h,
    rel_pos_w)`` (the fx tracer keeps it whole, a declared function of another package: fx
    cannot branch on its traced sizes), the sizes as the trace computed them."""
    q_hw, k_hw = c.arg(3, "q_size"), c.arg(4, "k_size")
    if not _sized(c, q_hw, k_hw, 2):
        return "opaque", dict(shapes=c.shapes)
    return _fields(c, q_hw, k_hw, tuple(s[0] for s in c.in_shapes[2:]))


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


_SIZES = "[t, h, w] or [h, w]"
REL_POS = OpKind(
    RelPos, rel_pos, _module, {"rel_pos": "attention"}, inputs=2, learnable=True,
    parts=rel_pos_parts,
    spec=SpecKind(fields(q_size=Field("ints", doc=f"the queries' {_SIZES}"),
                         k_size=Field("ints", doc=f"the keys' {_SIZES}"),
                         tables=Field("ints", doc="the learnt tables' rows [Lt, Lh, Lw] or [Lh, Lw] (of C)"),
                         cls=Field("bool", True, doc="a class token first (not offset)")),
                  "MViT-V2's decomposed relative positions (`from:` the scores and q): the scores "
                  "plus q·R_h, q·R_w (einsums) and, over time, q·R_t (a matmul), "
                  "B·H·Tq·C·(kh + kw + kt) MACs"),
    lower=_lower,
    imports=Imports(functions={"torchvision.models.video.mvit._add_rel_pos": _read,
                               "timm.models.mvitv2.cal_rel_pos_type": _read_timm}, merge=_merge))

KINDS = (REL_POS,)
