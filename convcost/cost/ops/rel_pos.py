"""``rel_pos``: MViT-V2's decomposed relative positions: the attention scores
``[B, H, c + Tq, c + Tk]`` plus, for the queries of ``q_size`` against the keys of ``k_size``
(after ``c`` = 1 class token when ``cls``), q·R_h and q·R_w (two einsums) and, over time,
q·R_t (a matmul), each R gathered from a learnt table of ``tables`` rows of C (a table of
another length than 2·max(q, k) − 1 is first resized linearly, as torchvision does: no MACs).
The sizes are [t, h, w] (torchvision's video MViT, ``_add_rel_pos``) or [h, w] (timm's
image MViT, ``mvitv2.cal_rel_pos_type``: no q·R_t).

It reads two tensors, the scores and q ``[B, H, c + Tq, C]``; or, with ``bias`` (SAM's
``get_decomposed_rel_pos_bias``, [h, w], no class token), q ``[B, Tq, C]`` alone, and returns
the bias ``[B, Tq, Tk]`` SAM's attention adds (its mask). Params (Lt + Lh + Lw)·C; MACs
B·H·Tq·C·(kh + kw + kt) (H = 1 with ``bias``), the sum of its parts (FlopCounterMode counts
the einsums as bmm): every convention counts it as its einsums and its matmul, each by its
own row.
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
    """The scores plus q·R_t, q·R_h, q·R_w; ``query`` is q's shape (its second input, or with
    ``bias`` its one input: q·R_h + q·R_w alone)."""

    key: ClassVar[str] = "rel_pos"
    query: Shape
    q_size: Sizes
    k_size: Sizes
    tables: Sizes
    cls: bool = True
    bias: bool = False


def _checked(op: RelPos, x: Shape) -> tuple[int, int, int, int]:
    """``(B, H, Tq, C)`` once the scores ``x`` and q fit the sizes; else a ShapeError."""
    sizes = (op.q_size, op.k_size, op.tables)
    if len({len(s) for s in sizes}) != 1 or len(op.q_size) not in (2, 3) or min(map(min, sizes)) < 1:
        raise ShapeError("rel_pos q_size, k_size and tables are 3 sizes each ([t, h, w]) or 2 "
                         "([h, w]), all >= 1")
    c, tq, tk = int(op.cls), math.prod(op.q_size), math.prod(op.k_size)
    if op.bias:
        return _checked_bias(op, x, tq)
    if len(op.query) != 4 or len(x) != 4 or op.query[2] != c + tq or x != (*op.query[:3], c + tk):
        raise ShapeError(f"rel_pos needs scores [B, H, {c} + {tq}, {c} + {tk}] and q [B, H, {c} + "
                         f"{tq}, C] (q_size {list(op.q_size)}, k_size {list(op.k_size)}), got "
                         f"{list(x)} and {list(op.query)}")
    return op.query[0], op.query[1], tq, op.query[3]


def _checked_bias(op: RelPos, x: Shape, tq: int) -> tuple[int, int, int, int]:
    """``(B, 1, Tq, C)`` once q ``x`` fits [h, w] with no class token; else a ShapeError."""
    if len(op.q_size) != 2 or op.cls or len(x) != 3 or x != op.query or x[1] != tq:
        raise ShapeError(f"rel_pos bias needs q [B, {tq}, C] (2 sizes [h, w], q_size "
                         f"{list(op.q_size)}, no class token), got {list(x)}")
    return x[0], 1, tq, x[2]


def equations(op: RelPos) -> tuple[str, str]:
    """The einsums of q·R_h and q·R_w: on q as [B, H, t, h, w, C] or [B, H, h, w, C]; with
    ``bias``, SAM's on q as [B, h, w, C]."""
    if op.bias:
        return "bhwc,hkc->bhwk", "bhwc,wkc->bhwk"
    t = "t" * (len(op.q_size) == 3)
    return f"by{t}hwc,hkc->by{t}hwk", f"by{t}hwc,wkc->by{t}hwk"


def rel_pos_parts(op: RelPos, x: Shape) -> tuple[Part, ...]:
    """q·R_h and q·R_w (einsums on q as [B, H, (t,) h, w, C]) and, over time, q·R_t (a matmul
    on q as [t, B·H·h·w, C]), each on the input shape it reads."""
    b, heads, _, c = _checked(op, x)
    (*qt, qh, qw), (*kt, kh, kw) = op.q_size, op.k_size
    r_q, (eq_h, eq_w) = (b, *(heads,) * (not op.bias), *op.q_size, c), equations(op)
    parts: tuple[Part, ...] = (("rel_h", Einsum(eq_h, (qh, kh, c)), r_q),
                               ("rel_w", Einsum(eq_w, (qw, kw, c)), r_q))
    if qt:
        parts += (("rel_t", Matmul((qt[0], c, kt[0])), (qt[0], b * heads * qh * qw, c)),)
    return parts


def rel_pos(op: RelPos, x: Shape) -> LayerCost:
    # scores [B, H, c + Tq, c + Tk], q [B, H, c + Tq, C] -> the scores' shape;
    # params (Lt + Lh + Lw)·C; MACs B·H·Tq·C·kh + B·H·Tq·C·kw (+ t·(B·H·h·w)·C·kt over time);
    # bias: q [B, Tq, C] -> [B, Tq, kh·kw], MACs B·Tq·C·(kh + kw)
    b, heads, tq, c = _checked(op, x)
    out = (b, tq, math.prod(op.k_size)) if op.bias else x
    return LayerCost(sum(op.tables) * c, b * heads * tq * c * sum(op.k_size), out)


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


def _over_time(r_q: Any, rel_h: Any, rel_w: Any, table_t: Any, q_size: Sizes,
               k_size: Sizes) -> Any:
    """torchvision's q·R_t (a matmul) and the three terms spread to [B, H, Tq, Tk]."""
    import torch

    (qt, qh, qw), (kt, kh, kw) = q_size, k_size
    b, heads, *_, dim = r_q.shape
    r_t = r_q.permute(2, 0, 1, 3, 4, 5).reshape(qt, b * heads * qh * qw, dim)
    rel_t = torch.matmul(r_t, table_t.transpose(1, 2)).transpose(0, 1)
    rel_t = rel_t.view(b, heads, qh, qw, qt, kt).permute(0, 1, 4, 2, 3, 5)
    return (rel_h[:, :, :, :, :, None, :, None] + rel_w[:, :, :, :, :, None, None, :]
            + rel_t[:, :, :, :, :, :, None, None]).reshape(b, heads, qt * qh * qw, kt * kh * kw)


@cache
def _rel_pos_class() -> type:
    import torch
    from torch import nn

    class RelPosModule(nn.Module):
        """torchvision's ``_add_rel_pos`` with its three tables ([t, h, w]), timm's
        ``cal_rel_pos_type`` with two ([h, w]), or SAM's ``get_decomposed_rel_pos_bias``
        (``bias``), op for op; the distances as buffers."""

        def __init__(self, op: RelPos) -> None:
            super().__init__()
            c, axes = op.query[-1], "thw"[-len(op.q_size):]
            self.cls, self.q_size, self.k_size, self.bias = int(op.cls), op.q_size, op.k_size, op.bias
            self.equations = equations(op)
            for axis, rows in zip(axes, op.tables, strict=True):
                setattr(self, f"rel_pos_{axis}", nn.Parameter(torch.zeros(rows, c)))
            for axis, q, k in zip(axes, op.q_size, op.k_size, strict=True):
                self.register_buffer(f"dist_{axis}", _distances(q, k), persistent=False)

        def table(self, axis: str) -> torch.Tensor:
            gathered: torch.Tensor = _gathered(getattr(self, f"rel_pos_{axis}"),
                                               getattr(self, f"dist_{axis}"))
            return gathered

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            if self.bias:
                return self.decomposed_bias(inputs[0])
            attn, q = inputs
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
            out[:, :, c:, c:] += _over_time(r_q, rel_h, rel_w, self.table("t"), self.q_size, self.k_size)
            return out

        def decomposed_bias(self, q: torch.Tensor) -> torch.Tensor:
            """SAM's q·R_h and q·R_w on q as [B, h, w, C], spread to [B, h·w, kh·kw]."""
            (qh, qw), (kh, kw) = self.q_size, self.k_size
            r_q = q.reshape(q.shape[0], qh, qw, q.shape[-1])
            rel_h = torch.einsum(self.equations[0], r_q, self.table("h"))
            rel_w = torch.einsum(self.equations[1], r_q, self.table("w"))
            return (rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]).reshape(-1, qh * qw, kh * kw)

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
    bias = f["bias"]
    if len(at.inputs) != 2 - bias:
        wants = "q alone (1 input, bias)" if bias else "the scores and q (2 inputs)"
        raise SpecError(f"rel_pos reads {wants}, got {len(at.inputs)}", path=at.inputs_path)
    op = RelPos(at.inputs[1 - bias], _sizes(f, "q_size", at), _sizes(f, "k_size", at),
                _sizes(f, "tables", at), f["cls"] and not bias, bias)
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


def traced(node: Traced) -> tuple[RelPos, Shape]:
    """The op of a traced rel_pos node (its attrs) and the shape of its first input."""
    bias, query = bool(node.attr("bias", False)), tuple(node.attr("query"))
    op = RelPos(query, tuple(node.attr("q_size")), tuple(node.attr("k_size")),
                tuple(node.attr("tables")), bool(node.attr("cls")), bias)
    return op, query if bias else node.shape


def _layers(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    """The scores and q (two tensors), or with ``bias`` q alone, their shapes the traced ones."""
    op, _ = traced(node)
    if len(shapes) != 2 - op.bias or tuple(shapes[-1]) != op.query:
        return None
    try:
        if rel_pos(op, tuple(shapes[0])).output_shape != node.shape:
            return None
    except ShapeError:
        return None
    flags = {"bias": True} if op.bias else {} if op.cls else {"cls": False}
    return [{"kind": "rel_pos", "q_size": list(op.q_size), "k_size": list(op.k_size),
             "tables": list(op.tables), **flags}]


_SIZES = "[t, h, w] or [h, w]"
REL_POS = OpKind(
    RelPos, rel_pos, _module, {"rel_pos": "attention"}, inputs=1, variadic=True, learnable=True,
    parts=rel_pos_parts,
    spec=SpecKind(fields(q_size=Field("ints", doc=f"the queries' {_SIZES}"),
                         k_size=Field("ints", doc=f"the keys' {_SIZES}"),
                         tables=Field("ints", doc="the learnt tables' rows [Lt, Lh, Lw] or [Lh, Lw] (of C)"),
                         cls=Field("bool", True, doc="a class token first (not offset; none with bias)"),
                         bias=Field("bool", False, doc="SAM's bias alone: `from:` q [B, Tq, C] (no "
                                    "scores), returns [B, Tq, Tk]")),
                  "MViT-V2's decomposed relative positions (`from:` the scores and q): the scores "
                  "plus q·R_h, q·R_w (einsums) and, over time, q·R_t (a matmul), "
                  "B·H·Tq·C·(kh + kw + kt) MACs; SAM's bias alone (`bias`, `from:` q)"),
    lower=_lower,
    imports=Imports(functions={"torchvision.models.video.mvit._add_rel_pos": _read,
                               "timm.models.mvitv2.cal_rel_pos_type": _read_timm},
                    emit=lambda node, x: _layers(node, [x]), merge=_layers))

KINDS = (REL_POS,)
