"""Attention: ``softmax``, ``attention`` (scaled dot-product attention, SDPA) and
``multihead_attention`` (``nn.MultiheadAttention``: its in and out projections around SDPA).

Paper MACs of attention are its two matmuls, Q·Kᵀ and A·V, plus its projections; the softmax,
the scaling and a mask are not counted (as activations are not). That is FlopCounterMode's
count on the math SDPA backend with MHA's fast path off, the conditions of convcost's
cross-check (docs/conventions.md, "How attention is counted").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, Read, TorchCall, Traced
from convcost.cost.opkind import Field, KernelForm, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.ops.act import same_shape
from convcost.cost.ops.matmul import batch_broadcast
from convcost.cost.ops.mha import MultiheadAttention as MultiheadAttention
from convcost.cost.ops.mha import mha_backward, mha_dims, mha_kernel, multihead_attention
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError, SpecError

SOFTMAX_FORMS = ("module", "functional", "method")


@dataclass(frozen=True)
class Softmax(Op):
    """Softmax over ``dim``; ``form``: ``nn.Softmax``, ``F.softmax`` or ``x.softmax``."""

    key: ClassVar[str] = "softmax"
    dim: int = -1
    form: str = "module"


@dataclass(frozen=True)
class Attention(Op):
    """``F.scaled_dot_product_attention(q, k, v)``: q ``[..., Lq, E]`` (the input), k
    ``[..., Lk, E]``, v ``[..., Lk, Ev]``; ``mask``: the shape of an ``attn_mask`` input."""

    key: ClassVar[str] = "attention"
    key_shape: Shape
    value_shape: Shape
    causal: bool = False
    mask: Shape | None = None


def _check_dim(op: Softmax, x: Shape) -> None:
    if not -len(x) <= op.dim < len(x):
        raise ShapeError(f"softmax dim {op.dim} is out of range for {list(x)}")


def softmax(op: Softmax, x: Shape) -> LayerCost:
    # [...] -> [...]; paper MACs 0 (as an activation)
    _check_dim(op, x)
    return same_shape(op, x)


def attention_shape(op: Attention, q: Shape) -> Shape:
    """``[..., Lq, Ev]``, the batch dims of q, k and v broadcast; a ShapeError if they misfit."""
    k, v = op.key_shape, op.value_shape
    if min(len(q), len(k), len(v)) < 2:
        raise ShapeError("attention needs q, k and v of rank ≥ 2")
    if q[-1] != k[-1] or k[-2] != v[-2]:
        raise ShapeError(f"attention needs q·kᵀ and k, v of one length: q {list(q)}, "
                         f"k {list(k)}, v {list(v)}")
    batch = batch_broadcast(batch_broadcast(q[:-2], k[:-2]), v[:-2])
    return (*batch, q[-2], v[-1])


def attention_matmuls(op: Attention, q: Shape) -> tuple[int, int]:
    """The MACs of Q·Kᵀ (B·Lq·Lk·E) and of A·V (B·Lq·Lk·Ev), B = product of the batch dims."""
    out = attention_shape(op, q)
    scores = 1
    for size in out[:-1]:
        scores *= size
    lk = op.key_shape[-2]
    return scores * lk * q[-1], scores * lk * op.value_shape[-1]


def attention(op: Attention, q: Shape) -> LayerCost:
    # q [B.., Lq, E], k [B.., Lk, E], v [B.., Lk, Ev] -> [B.., Lq, Ev];
    # MACs = B·Lq·Lk·E (q·kᵀ) + B·Lq·Lk·Ev (a·v), B = product of the batch dims (N·heads)
    qk, av = attention_matmuls(op, q)
    return LayerCost(0, qk + av, attention_shape(op, q))


def attention_backward(op: Attention, q: Shape, needs: tuple[bool, ...]) -> tuple[int, int]:
    """S = Q·Kᵀ, P = softmax(S), O = P·V; ``needs``: q, k, v (a mask never needs one).
    dV = Pᵀ·dO and dP = dO·Vᵀ (A·V's MACs each), dQ = dS·K and dK = dSᵀ·Q (Q·Kᵀ's each), each
    when that input needs a gradient (dP when q or k does); the softmax's backward is not
    counted, as its forward is not. All grad-input: attention holds no parameter."""
    qk, av = attention_matmuls(op, q)
    fq, fk, fv = (tuple(needs) + (False,) * 3)[:3]
    return av * fv + av * (fq or fk) + qk * fq + qk * fk, 0


@cache
def _classes() -> SimpleNamespace:
    import torch
    from torch import nn
    from torch.nn import functional

    class SoftmaxModule(nn.Module):
        """``F.softmax(x, dim)`` or ``x.softmax(dim)`` in forward (no ``nn.Softmax``)."""

        def __init__(self, dim: int, method: bool) -> None:
            super().__init__()
            self.dim, self.method = dim, method

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.softmax(self.dim) if self.method else functional.softmax(x, self.dim)

    class AttentionModule(nn.Module):
        """``F.scaled_dot_product_attention(q, k, v[, attn_mask], is_causal=...)``."""

        def __init__(self, causal: bool) -> None:
            super().__init__()
            self.causal = causal

        def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                    mask: torch.Tensor | None = None) -> torch.Tensor:
            return functional.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                           is_causal=self.causal)

    return SimpleNamespace(softmax=SoftmaxModule, attention=AttentionModule)


def _softmax_module(op: Softmax, _: Shape) -> Any:
    from torch import nn

    if op.form == "module":
        return nn.Softmax(op.dim)
    return _classes().softmax(op.dim, op.form == "method")


def _attention_module(op: Attention, _: Shape) -> Any:
    return _classes().attention(op.causal)


def _mha_module(op: MultiheadAttention, _: Shape) -> Any:
    from torch import nn

    kdim, vdim = op.kv[1:] if op.kv else (None, None)
    return nn.MultiheadAttention(op.embed_dim, op.heads, bias=op.bias, add_bias_kv=op.bias_kv,
                                 add_zero_attn=op.zero_attn, kdim=kdim, vdim=vdim,
                                 batch_first=op.batch_first)


def _call_mha(op: MultiheadAttention, module: Any, xs: tuple[Any, ...]) -> Any:
    """``mha(q, k, v, need_weights=...)[0]``, as models call it; one input: ``mha(x, x, x)``."""
    q, k, v = xs if len(xs) == 3 else (xs[0],) * 3
    return module(q, k, v, need_weights=op.need_weights)[0]


def _lower_softmax(f: Mapping[str, Any], x: Shape, at: Lowering) -> Softmax:
    return checked(_check_dim, Softmax(f["dim"], f["form"]), x, f"{at.path}.dim")


def _lower_attention(f: Mapping[str, Any], x: Shape, at: Lowering) -> Attention:
    if len(at.inputs) > 4:
        raise SpecError("attention reads q, k, v and an optional mask (3 or 4 inputs), got "
                        f"{len(at.inputs)}", path=at.inputs_path)
    mask = at.inputs[3] if len(at.inputs) == 4 else None
    return checked(attention_shape, Attention(at.inputs[1], at.inputs[2], f["causal"], mask), x,
                   at.inputs_path)


def _lower_mha(f: Mapping[str, Any], x: Shape, at: Lowering) -> MultiheadAttention:
    ins = at.inputs
    if len(ins) not in (1, 3):
        raise SpecError(f"multihead_attention reads 1 input (self-attention) or 3 (query, key, "
                        f"value), got {len(ins)}", path=at.inputs_path)
    kv, first = None, f["batch_first"]
    if len(ins) == 3:
        k, v = ins[1], ins[2]
        if len(k) != 3 or len(v) != 3 or k[:2] != v[:2] or k[1 - first] != x[1 - first]:
            order = "[N, Lk, ·]" if first else "[Lk, N, ·]"
            raise SpecError(f"multihead_attention needs key and value {order} of the query's "
                            f"batch, got {list(k)} and {list(v)}", path=at.inputs_path)
        kv = (k[int(first)], k[2], v[2])
    op = MultiheadAttention(x[-1], f["heads"], f["bias"], kv, f["need_weights"], first,
                            f["bias_kv"], f["zero_attn"])
    return checked(mha_dims, op, x, at.inputs_path)


# -- import ------------------------------------------------------------------------------

def _read_softmax(form: str) -> Callable[[TorchCall], Fields]:
    """``F.softmax(x, dim)``, ``torch.softmax``, ``x.softmax(dim)``, ``aten._softmax``."""
    return lambda c: dict(dim=c.arg(1, "dim"), form=form)


def _read_onnx_softmax(c: OnnxCall) -> Fields:
    form = "module" if c.module_kind == "softmax" else "functional"
    return dict(dim=int(c.attrs.get("axis", -1)), form=form)


def _emit_softmax(node: Traced, x: Shape) -> list[Layer] | None:
    dim = node.attr("dim")
    if not isinstance(dim, int) or not -len(x) <= dim < len(x):
        return None  # nn.Softmax(dim=None): torch picks one
    return [{"kind": "softmax", "dim": dim, "form": node.attr("form")}]


def _read_sdpa(c: TorchCall) -> Read:
    """``F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)``."""
    if len(c.in_shapes) < 3:
        return "opaque", dict(shapes=c.shapes)  # q, k or v the same tensor
    q, k, v = c.in_shapes[:3]
    mask = c.in_shapes[3] if len(c.in_shapes) > 3 else None
    return dict(key_shape=k, value_shape=v, causal=bool(c.arg(5, "is_causal", False)), mask=mask,
                query_shape=q)


def _emit_attention(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    """q, k, v (and a mask) computed in the graph; a mask held as a buffer is not an input (it
    costs no MAC: the layer then runs without it). A mask made of learnt weights (BEiT's
    relative-position bias ``table[index]``) holds params the layer cannot: None (opaque); the
    importer's ``state_pass`` makes such a mask a ``param`` layer the attention reads first."""
    if len(shapes) not in (3, 4) or tuple(shapes[1]) != tuple(node.attr("key_shape")) \
            or node.params:
        return None
    op = Attention(tuple(shapes[1]), tuple(shapes[2]), bool(node.attr("causal")))
    try:
        attention_shape(op, tuple(shapes[0]))
    except ShapeError:
        return None
    layer: Layer = {"kind": "attention"}
    return [{**layer, "causal": True} if op.causal else layer]


def _read_mha(c: TorchCall) -> Read:
    m = c.module
    kv = None
    if len(c.in_shapes) == 3:
        k, v = c.in_shapes[1], c.in_shapes[2]
        kv = (k[int(m.batch_first)], k[2], v[2])
    return dict(embed_dim=m.embed_dim, heads=m.num_heads, bias=m.in_proj_bias is not None, kv=kv,
                need_weights=bool(c.arg(4, "need_weights", True)), batch_first=bool(m.batch_first),
                bias_kv=m.bias_k is not None, zero_attn=bool(m.add_zero_attn))


def _emit_mha(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    if len(shapes) not in (1, 3) or len(shapes[0]) != 3:
        return None  # key = value, unlike the query: not expressible
    layer: Layer = {"kind": "multihead_attention", "heads": node.attr("heads")}
    if not node.attr("bias"):
        layer["bias"] = False
    for flag in ("need_weights", "bias_kv", "zero_attn"):
        if node.attr(flag):
            layer[flag] = True
    if node.attr("batch_first") is False:
        layer["batch_first"] = False
    return [layer]


SOFTMAX_IMPORTS = Imports(
    modules={"torch.nn.Softmax": lambda c: dict(dim=c.module.dim, form="module")},
    functions={"torch.nn.functional.softmax": _read_softmax("functional"),
               "torch.softmax": _read_softmax("functional"),
               "Tensor.softmax": _read_softmax("method")},
    aten={"aten.softmax": _read_softmax("functional"), "aten._softmax": _read_softmax("functional")},
    onnx={"Softmax": _read_onnx_softmax}, emit=_emit_softmax)
ATTENTION_IMPORTS = Imports(
    functions={"torch.nn.functional.scaled_dot_product_attention": _read_sdpa},
    aten={"aten.scaled_dot_product_attention": _read_sdpa}, merge=_emit_attention)
MHA_IMPORTS = Imports(modules={"torch.nn.MultiheadAttention": _read_mha},
                      emit=lambda node, x: _emit_mha(node, (x,)), merge=_emit_mha)  # self or q, k, v


def _softmax_keys(op: Softmax) -> tuple[str, ...]:
    return ("softmax",) if op.form == "module" else (f"{op.form}_softmax",)


def _mha_keys(op: MultiheadAttention) -> tuple[str, ...]:
    return ("multihead_attention", "mha_weights") if op.need_weights else ("multihead_attention",)


def _attention_kernel(op: Attention, q: Shape) -> KernelForm:
    k, v = op.key_shape, op.value_shape  # reads q + k + v; scores B·heads·Lq·Lk
    return KernelForm("attention", reads=math.prod(q) + math.prod(k) + math.prod(v),
                      scores=math.prod(q[:-1]) * k[-2], heads=math.prod(q[1:-2]), head_width=q[-1])


SOFTMAX = OpKind(
    Softmax, softmax, _softmax_module, dict.fromkeys(
        ("softmax", "functional_softmax", "method_softmax"), "softmax"),
    keys_of=_softmax_keys, elementwise=False,
    spec=SpecKind(fields(dim=Field("int", -1, minimum=-8, doc="the axis (negative: from the "
                                   "end)"),
                         form=Field("choice", "module", SOFTMAX_FORMS,
                                    doc="nn.Softmax, F.softmax or x.softmax")),
                  "softmax over `dim`: 0 paper MACs (as an activation)"),
    lower=_lower_softmax, imports=SOFTMAX_IMPORTS)
ATTENTION = OpKind(
    Attention, attention, _attention_module, {"attention": "attention"}, inputs=3, variadic=True,
    backward=attention_backward, kernel=_attention_kernel,
    spec=SpecKind(fields(causal=Field("bool", False, doc="is_causal (same MACs: the math "
                                      "backend computes every score)")),
                  "`F.scaled_dot_product_attention(q, k, v[, mask])` (`from:` 3 or 4): "
                  "B·Lq·Lk·(E + Ev) MACs"),
    lower=_lower_attention, imports=ATTENTION_IMPORTS)
MULTIHEAD_ATTENTION = OpKind(
    MultiheadAttention, multihead_attention, _mha_module,
    {"multihead_attention": "attention", "mha_weights": "attention"}, call=_call_mha, keys_of=_mha_keys,
    inputs=1, variadic=True, learnable=True, weight_grad=True, backward=mha_backward,
    kernel=mha_kernel,
    spec=SpecKind(fields(heads=Field("int", doc="attention heads (divide the width E)"),
                         bias=Field("bool", True, doc="in_proj and out_proj biases"),
                         need_weights=Field("bool", False, doc="also return the attention "
                                            "weights (no SDPA: other tools count more)"),
                         batch_first=Field("bool", True, doc="tokens [N, L, E] (false: "
                                           "[L, N, E])"),
                         bias_kv=Field("bool", False, doc="add_bias_kv: learned bias_k, bias_v "
                                       "(E each) appended as one more key and value"),
                         zero_attn=Field("bool", False, doc="add_zero_attn: a zero key and "
                                         "value appended")),
                  "`nn.MultiheadAttention` on tokens `[N, L, E]` (`batch_first: false`: "
                  "`[L, N, E]`): `from:` 1 (self-attention) or 3 (query, key, value; kdim/vdim "
                  "from their widths)"),
    lower=_lower_mha, imports=MHA_IMPORTS)

KINDS = (SOFTMAX, ATTENTION, MULTIHEAD_ATTENTION)
