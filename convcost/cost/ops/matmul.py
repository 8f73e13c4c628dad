"""Contractions: ``matmul`` (``torch.matmul``, ``a @ b``, ``torch.bmm``) and ``einsum``.

Both read two tensors (``from: [a, b]``); the op holds the second one's shape. MACs come from
the contraction: the product of the output's sizes and the contracted sizes, as torch runs
it (a batched matrix product) and FlopCounterMode counts it (FLOPs = 2 × MACs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, OnnxCall, Read, TorchCall, Traced, text
from convcost.cost.opkind import Field, KernelForm, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError

MATMUL_FNS = ("matmul", "operator", "bmm")


@dataclass(frozen=True)
class Matmul(Op):
    """``a @ b`` of two tensors of rank ≥ 2; ``other`` is ``b``'s shape; ``fn`` is how torch is
    called: ``torch.matmul``, the ``@`` operator or ``torch.bmm`` (the tools see them apart)."""

    key: ClassVar[str] = "matmul"
    other: Shape
    fn: str = "matmul"


@dataclass(frozen=True)
class Einsum(Op):
    """``torch.einsum(equation, a, b)``: two operands, one letter per axis (no ``...``)."""

    key: ClassVar[str] = "einsum"
    equation: str
    other: Shape


def batch_broadcast(a: Shape, b: Shape) -> Shape:
    """The broadcast of two batch shapes, aligned on the right (torch.matmul's rule)."""
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    if any(i != j and 1 not in (i, j) for i, j in zip(a, b, strict=True)):
        raise ShapeError(f"batch sizes {list(a)} and {list(b)} do not broadcast")
    return tuple(max(i, j) for i, j in zip(a, b, strict=True))


def matmul_shape(op: Matmul, x: Shape) -> Shape:
    """The output shape of ``x @ other``: broadcast batch, then ``(rows of x, cols of other)``."""
    b = op.other
    if len(x) < 2 or len(b) < 2:
        raise ShapeError(f"matmul needs operands of rank ≥ 2, got {list(x)} and {list(b)}")
    if x[-1] != b[-2]:
        raise ShapeError(f"matmul contracts {x[-1]} with {b[-2]}: {list(x)} @ {list(b)}")
    if op.fn == "bmm" and (len(x) != 3 or len(b) != 3 or x[0] != b[0]):
        raise ShapeError(f"bmm needs two [B, n, m] operands of one batch, got {list(x)} and "
                         f"{list(b)}")
    return (*batch_broadcast(x[:-2], b[:-2]), x[-2], b[-1])


def matmul(op: Matmul, x: Shape) -> LayerCost:
    # [..., n, k] @ [..., k, m] -> [broadcast(...), n, m]; MACs = numel(out)·k
    out = matmul_shape(op, x)
    return LayerCost(0, math.prod(out) * x[-1], out)


def parse_equation(equation: str) -> tuple[tuple[str, str], str]:
    """``"bij,bjk->bik"`` -> ``(("bij", "bjk"), "bik")``; a ShapeError for any other form."""
    text = equation.replace(" ", "")
    ins, arrow, out = text.partition("->")
    terms = tuple(ins.split(","))
    if not arrow or len(terms) != 2 or not all(t.isalpha() and t.isascii()
                                               for t in (*terms, out or "a")):
        raise ShapeError(f"einsum needs 'ab,bc->ac' with two operands, letters only: "
                         f"{equation!r}")
    if any(len(set(t)) != len(t) for t in (*terms, out)) or set(out) - set(terms[0] + terms[1]):
        raise ShapeError(f"einsum {equation!r}: a letter repeats in one term, or the output "
                         "has a letter no operand has")
    return (terms[0], terms[1]), out


def einsum_sizes(op: Einsum, x: Shape) -> dict[str, int]:
    """letter -> size, checked against both operands (a size of 1 broadcasts)."""
    (ta, tb), _ = parse_equation(op.equation)
    sizes: dict[str, int] = {}
    for term, shape in ((ta, x), (tb, op.other)):
        if len(term) != len(shape):
            raise ShapeError(f"einsum {op.equation!r}: {term!r} does not fit {list(shape)}")
        for letter, size in zip(term, shape, strict=True):
            seen = sizes.get(letter, size)
            if 1 not in (seen, size) and seen != size:
                raise ShapeError(f"einsum {op.equation!r}: {letter} is {seen} and {size}")
            sizes[letter] = max(seen, size)
    return sizes


def einsum(op: Einsum, x: Shape) -> LayerCost:
    # MACs = product of the sizes of every letter that survives torch's pre-sum (a letter of
    # one operand only, not in the output, is summed away first): out letters × contracted ones;
    # 0 when no letter is contracted (an outer or elementwise product: torch multiplies)
    (ta, tb), out = parse_equation(op.equation)
    sizes = einsum_sizes(op, x)
    kept = [c for c in sizes if c in out or (c in ta and c in tb)]
    contracted = any(c in ta and c in tb and c not in out for c in sizes)
    macs = math.prod(sizes[c] for c in kept) if contracted else 0
    return LayerCost(0, macs, tuple(sizes[c] for c in out))


def contraction_backward(macs: int, needs: tuple[bool, ...]) -> tuple[int, int]:
    """C = A·B: dA = dC·Bᵀ and dB = Aᵀ·dC, each the forward's MACs, for each operand that needs
    a gradient; grad-input only (neither operand is a parameter)."""
    return macs * sum(needs[:2]), 0


def _matmul_backward(op: Matmul, x: Shape, needs: tuple[bool, ...]) -> tuple[int, int]:
    return contraction_backward(matmul(op, x).macs, needs)


def _einsum_backward(op: Einsum, x: Shape, needs: tuple[bool, ...]) -> tuple[int, int]:
    # torch runs a contraction as one bmm (a letter of one operand only is summed first: its
    # backward an expand, 0 MACs); no contracted letter: a mul, whose backward is muls (0)
    return contraction_backward(einsum(op, x).macs, needs)


@cache
def _classes() -> SimpleNamespace:
    import torch
    from torch import nn

    class MatmulModule(nn.Module):
        """``torch.matmul(a, b)``, ``a @ b`` or ``torch.bmm(a, b)``."""

        def __init__(self, fn: str) -> None:
            super().__init__()
            self.fn = fn

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            if self.fn == "operator":
                return a @ b
            # looked up at each call: a tool (ptflops) may patch them
            return torch.bmm(a, b) if self.fn == "bmm" else torch.matmul(a, b)

    class EinsumModule(nn.Module):
        """``torch.einsum(equation, a, b)``."""

        def __init__(self, equation: str) -> None:
            super().__init__()
            self.equation = equation

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.einsum(self.equation, a, b)

    return SimpleNamespace(matmul=MatmulModule, einsum=EinsumModule)


def _matmul_module(op: Matmul, _: Shape) -> Any:
    return _classes().matmul(op.fn)


def _einsum_module(op: Einsum, _: Shape) -> Any:
    return _classes().einsum(op.equation)


def _lower_matmul(f: Mapping[str, Any], x: Shape, at: Lowering) -> Matmul:
    # a residual's merge (``x @ W``, W a param) gives no fields: torch.matmul
    return checked(matmul_shape, Matmul(at.inputs[1], f.get("fn", "matmul")), x, at.inputs_path)


def _lower_einsum(f: Mapping[str, Any], x: Shape, at: Lowering) -> Einsum:
    return checked(einsum, Einsum(f["equation"], at.inputs[1]), x, at.inputs_path)


# -- import ------------------------------------------------------------------------------

def _opaque(c: TorchCall | OnnxCall) -> Read:
    return "opaque", dict(shapes=c.shapes)


def read_matmul(fn: str) -> Callable[[TorchCall | OnnxCall], Read]:
    """``torch.matmul(a, b)``, ``a @ b``, ``torch.bmm`` (and their aten ops, ONNX ``MatMul`` of
    two computed tensors): ``other`` is b's shape."""
    def read(c: TorchCall | OnnxCall) -> Read:
        shapes = c.in_shapes
        if len(shapes) != 2 or shapes[1] is None:
            return _opaque(c)  # one tensor twice (x @ x): no two inputs to name
        return dict(other=tuple(shapes[1]), fn=fn)
    return read


def _read_einsum(c: TorchCall) -> Read:
    equation = c.arg(0, "equation")
    if not isinstance(equation, str) or len(c.in_shapes) != 2:
        return _opaque(c)
    return dict(equation=equation, other=c.in_shapes[1], first=c.in_shapes[0])


def _read_onnx_einsum(c: OnnxCall) -> Read:
    if len(c.in_shapes) != 2 or c.in_shapes[1] is None:
        return _opaque(c)
    return dict(equation=text(c.attrs.get("equation", "")), other=c.in_shapes[1],
                first=c.in_shapes[0])


def _emit_matmul(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    """Two computed tensors (a parameter operand is no input: opaque)."""
    if len(shapes) != 2 or tuple(shapes[1]) != tuple(node.attr("other")):
        return None
    try:
        matmul_shape(Matmul(tuple(shapes[1]), node.attr("fn")), tuple(shapes[0]))
    except ShapeError:
        return None
    return [{"kind": "matmul", "fn": node.attr("fn")}]


def _emit_weight_matmul(node: Traced, x: Shape) -> list[Layer] | None:
    """``x @ W`` of one computed tensor and a weight W (SwiftFormer's ``query @ self.w_g``, a
    ``[C, 1]`` parameter): a residual whose body is W as a ``param`` (expanded to ``[N, *W]``,
    a leading 1 of W dropped, 1s put before a W of lower rank: HaloNet's ``q @ rel_k.transpose(-1,
    -2)`` of [N, B, n, k] and [k, m] reads [N, 1, k, m]; ``params: 0`` a buffer, or W read
    again) and whose merge is the matmul; None for any other operand (a weight on the left, a
    partly counted table)."""
    if len(node.inputs) != 1:
        return None
    return weight_matmul(x, node.shape, tuple(node.attr("other") or ()), node.params)


def weight_matmul(x: Shape, out: Shape, other: Shape, params: int) -> list[Layer] | None:
    """``x @ W`` -> ``out``, W of shape ``other`` holding ``params`` parameters (0: a buffer, or a
    weight counted where it was read first): a residual of W as a ``param``, merged by matmul."""
    shape = other[1:] if len(other) >= len(x) and other and other[0] == 1 else other
    if not shape or params not in (0, math.prod(shape)):
        return None
    shape = (1,) * (len(x) - 1 - len(shape)) + shape  # [k, m] of an [N, B, n, k] x: [N, 1, k, m]
    try:
        if matmul_shape(Matmul((x[0], *shape)), x) != out:
            return None  # the weight was the left operand
    except ShapeError:
        return None
    param: Layer = {"kind": "param", "shape": list(shape)}
    return [{"kind": "residual", "layers": [param if params else {**param, "params": 0}],
             "merge": "matmul"}]


def _emit_einsum(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    if len(shapes) != 2:
        return None
    try:
        einsum(Einsum(node.attr("equation"), tuple(shapes[1])), tuple(shapes[0]))
    except ShapeError:
        return None  # three operands, '...', a repeated letter: not expressible
    return [{"kind": "einsum", "equation": node.attr("equation")}]


MATMUL_IMPORTS = Imports(
    functions={"torch.matmul": read_matmul("matmul"), "Tensor.matmul": read_matmul("matmul"),
               "torch.mm": read_matmul("matmul"), "Tensor.mm": read_matmul("matmul"),
               "operator.matmul": read_matmul("operator"), "torch.bmm": read_matmul("bmm"),
               "Tensor.bmm": read_matmul("bmm")},
    aten={"aten.matmul": read_matmul("matmul"), "aten.mm": read_matmul("matmul"),
          "aten.bmm": read_matmul("bmm")},
    emit=_emit_weight_matmul, merge=_emit_matmul)
# ONNX MatMul is the linear kind's: it redirects here without a weight
EINSUM_IMPORTS = Imports(functions={"torch.einsum": _read_einsum},
                         aten={"aten.einsum": _read_einsum},
                         onnx={"Einsum": _read_onnx_einsum}, merge=_emit_einsum)


def _matmul_keys(op: Matmul) -> tuple[str, ...]:
    return ("matmul_operator",) if op.fn == "operator" else ("matmul",)


def as_linear(_: Op, __: Shape) -> KernelForm:
    return KernelForm("linear")  # a matmul of two activations: MACs-bound, as a linear


MATMUL = OpKind(
    Matmul, matmul, _matmul_module, {"matmul": "matmul", "matmul_operator": "matmul"},
    keys_of=_matmul_keys, inputs=2, backward=_matmul_backward, kernel=as_linear,
    spec=SpecKind(fields(fn=Field("choice", "matmul", MATMUL_FNS,
                                  doc="torch.matmul, the `@` operator or torch.bmm")),
                  "`a @ b` (`from:` 2 inputs, rank ≥ 2, batch broadcast): numel(out)·k MACs"),
    lower=_lower_matmul, imports=MATMUL_IMPORTS)
EINSUM = OpKind(
    Einsum, einsum, _einsum_module, {"einsum": "matmul"}, inputs=2, backward=_einsum_backward,
    kernel=as_linear,
    spec=SpecKind(fields(equation=Field("text", doc="e.g. `bhqd,bhkd->bhqk`: two operands")),
                  "`torch.einsum` of two inputs (`from:` 2): MACs = product of the kept sizes"),
    lower=_lower_einsum, imports=EINSUM_IMPORTS)

KINDS = (MATMUL, EINSUM)
