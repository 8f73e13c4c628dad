"""``nn.MultiheadAttention`` as one op: its fields, shapes, params, MACs, backward and kernel
form (pure: no torch). The ``multihead_attention`` kind is declared in
:mod:`convcost.cost.ops.attention`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from convcost.cost.opkind import KernelForm, Op
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError


@dataclass(frozen=True)
class MultiheadAttention(Op):
    """``nn.MultiheadAttention(embed_dim, heads, bias, add_bias_kv, add_zero_attn, kdim, vdim,
    batch_first)`` on tokens ``[N, L, E]`` (``batch_first=False``: ``[L, N, E]``); ``kv`` is
    the key and value lengths and widths ``(Lk, kdim, vdim)`` of a cross-attention (None:
    self-attention, ``mha(x, x, x)``). ``bias_kv`` appends the learned ``bias_k``/``bias_v``
    (``[1, 1, E]`` each) to the projected keys and values, ``zero_attn`` a zero key and value:
    each attends to one more key."""

    key: ClassVar[str] = "multihead_attention"
    embed_dim: int
    heads: int
    bias: bool = True
    kv: tuple[int, int, int] | None = None
    need_weights: bool = False
    batch_first: bool = True
    bias_kv: bool = False
    zero_attn: bool = False


def mha_backward(op: MultiheadAttention, x: Shape, needs: tuple[bool, ...]) -> tuple[int, int]:
    """Its projections as linear layers (grad-weight = forward MACs each; grad-input of the
    q/k/v projections when their input needs one), its attention core back through both
    matmuls (4·N·Lq·Lk·E: every inner tensor needs a gradient) and the out projection's
    grad-input (N·Lq·E·E)."""
    n, lq, lk, kdim, vdim = mha_dims(op, x)
    e = op.embed_dim
    q, k, v, out = n * lq * e * e, n * lk * kdim * e, n * lk * vdim * e, n * lq * e * e
    inputs = (q + k + v) * any(needs) if len(needs) < 3 else q * needs[0] + k * needs[1] + v * needs[2]
    return inputs + 4 * n * lq * mha_keys(op, lk) * e + out, q + k + v + out


def mha_dims(op: MultiheadAttention, x: Shape) -> tuple[int, int, int, int, int]:
    """``(N, Lq, Lk, kdim, vdim)`` of ``op`` on tokens ``x`` (Lk: the key input's length,
    without the appended keys); a ShapeError if they misfit."""
    if len(x) != 3:
        order = "[N, L, E]" if op.batch_first else "[L, N, E] (batch_first=False)"
        raise ShapeError(f"multihead_attention needs tokens {order}, got {list(x)}")
    n, lq, e = x if op.batch_first else (x[1], x[0], x[2])
    if e != op.embed_dim:
        raise ShapeError(f"multihead_attention expects embed_dim {op.embed_dim}, got {e}")
    if op.embed_dim % op.heads:
        raise ShapeError(f"heads {op.heads} must divide embed_dim {op.embed_dim}")
    lk, kdim, vdim = op.kv or (lq, e, e)
    return n, lq, lk, kdim, vdim


def mha_keys(op: MultiheadAttention, lk: int) -> int:
    """The keys each query attends to: the ``lk`` projected ones, then ``bias_k`` and a zero key."""
    return lk + op.bias_kv + op.zero_attn


def mha_params(op: MultiheadAttention) -> int:
    """in_proj (q, k, v) + out_proj, with their biases, + bias_k and bias_v (E each):
    ``sum(p.numel())`` of the module."""
    e = op.embed_dim
    _, kdim, vdim = op.kv or (0, e, e)
    return e * (e + kdim + vdim) + e * e + (4 * e if op.bias else 0) + (2 * e if op.bias_kv else 0)


def multihead_attention(op: MultiheadAttention, x: Shape) -> LayerCost:
    # [N, Lq, E] (k [N, Lk, kdim], v [N, Lk, vdim]; batch_first=False: [L, N, ·]) -> x's shape;
    # MACs = N·Lq·E·E (q proj) + N·Lk·kdim·E (k) + N·Lk·vdim·E (v) + 2·N·Lq·K·E (q·kᵀ, a·v over
    # the heads: heads·(E/heads) = E; K = Lk + bias_kv + zero_attn keys) + N·Lq·E·E (out proj);
    # no bias MACs
    n, lq, lk, kdim, vdim = mha_dims(op, x)
    e = op.embed_dim
    macs = n * (2 * lq * e * e + lk * (kdim + vdim) * e + 2 * lq * mha_keys(op, lk) * e)
    return LayerCost(mha_params(op), macs, x)


def mha_kernel(op: MultiheadAttention, q: Shape) -> KernelForm:
    n, lq, lk, kdim, vdim = mha_dims(op, q)
    e = op.embed_dim
    return KernelForm("attention", reads=n * (lq * e + lk * (kdim + vdim)),
                      scores=n * op.heads * lq * mha_keys(op, lk), heads=op.heads,
                      head_width=e // op.heads)
