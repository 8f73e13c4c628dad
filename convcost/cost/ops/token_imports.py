"""How the token and view kinds are imported: readers of the traced calls and the emitters
that turn IR nodes into spec layers (the ``imports`` of reshape, transpose, unbind, roll, param,
and the token forms of linear and layernorm; :mod:`convcost.cost.imports`).

An IR ``reshape`` node is any reshape or view (its traced output shape; the emitter says
``view`` for a ``.view`` call); an IR ``transpose`` node any transpose or permute (``dims``, and
``permute`` when every dim is named).
"""

from __future__ import annotations

import math
from typing import Any

from convcost.cost.imports import Fields, Layer, OnnxCall, Read, TorchCall, Traced
from convcost.cost.value import Shape


def tokens_linear(node: Traced, x: tuple[int, ...]) -> list[Layer] | None:
    """``nn.Linear`` over the last dim of tokens (rank 3, 5, ...) or of a rank-4 tensor that is
    channels-last already (the spec says ``last_dim``)."""
    if len(x) < 3 or x[-1] != node.attr("in_features"):
        return None
    layer: Layer = {"kind": "linear", "out_features": node.attr("out_features")}
    if not node.attr("bias"):
        layer["bias"] = False
    return [{**layer, "last_dim": True} if len(x) == 4 else layer]


def emit_layernorm(node: Traced, x: tuple[int, ...]) -> list[Layer] | None:
    """``nn.LayerNorm(C)`` / ``F.layer_norm`` over the last dim (not a ``LayerNorm2d``, which
    normalises the channels of [N, C, H, W]: emit/blocks.py and emit/nhwc.py say those)."""
    if len(x) < 2 or tuple(node.attr("normalized", ())) != (x[-1],) or "2d" in node.target.lower():
        return None
    layer: Layer = {"kind": "layernorm"}
    if not node.attr("affine", True):
        layer["affine"] = False
    return [{**layer, "last_dim": True} if len(x) == 4 else layer]


def read_reshape(c: TorchCall) -> Fields:
    """``x.reshape(...)``, ``x.view(...)``, ``torch.reshape``: the traced output shape (sizes
    computed from ``x.size()`` never need evaluating), and where the call wrote -1 (``free``)."""
    sizes = c.args[1:] if len(c.args) > 2 or isinstance(c.arg(1, "shape"), int) else c.arg(1, "shape")
    return dict(shape=c.shape, free=inferred_at(sizes, c.shape))


def inferred_at(sizes: Any, shape: Shape) -> int | None:
    """The index (after the batch) of the one -1 in a reshape's ``sizes`` of ``shape``: the size
    torch infers, which follows the width multiplier as the user's code does (ECA's
    ``y.view(N, 1, -1)``); None where the sizes are not a literal list with one -1 after the batch."""
    if not isinstance(sizes, list | tuple) or len(sizes) != len(shape):
        return None
    free = [i for i, s in enumerate(sizes) if isinstance(s, int) and s == -1]
    return free[0] if len(free) == 1 and free[0] > 0 else None


def read_transpose(c: TorchCall) -> Fields:
    return dict(dims=(int(c.arg(1, "dim0")), int(c.arg(2, "dim1"))))


def read_permute(c: TorchCall) -> Fields:
    """``x.permute(0, 2, 1)``, ``x.permute((0, 2, 1))``, ``torch.permute(x, dims)``."""
    dims = c.args[1:] if len(c.args) > 2 or isinstance(c.arg(1, "dims"), int) else c.arg(1, "dims")
    return dict(dims=tuple(int(d) for d in dims), permute=True)


def read_onnx_reshape(c: OnnxCall) -> Read:
    """A Reshape; torch's exported ``nn.Flatten`` stays a flatten, as torch.fx gives it."""
    source = c.in_shapes[0]
    start = len(c.shape) - 1
    if (source and c.module_kind == "flatten" and source[:start] == c.shape[:start]
            and math.prod(source[start:]) == c.shape[-1]):
        return "flatten", dict(start_dim=start, end_dim=-1)
    return dict(shape=c.shape, free=inferred_at(c.constants[1] if len(c.constants) > 1 else None, c.shape))


def read_onnx_transpose(c: OnnxCall) -> Fields:
    """A permutation; one that swaps two axes is ``x.transpose(i, j)``, as torch.fx gives it."""
    perm = tuple(int(p) for p in c.attrs.get("perm") or range(len(c.shape))[::-1])
    moved = [i for i, p in enumerate(perm) if i != p]
    if len(moved) == 2 and perm[moved[0]] == moved[1]:
        return dict(dims=tuple(moved))
    return dict(dims=perm, permute=True)


def emit_reshape(node: Traced, x: tuple[int, ...]) -> list[Layer] | None:
    """A reshape or view: none for the same shape, ``flatten`` from [N, C, H, W] to [N, C·H·W],
    else ``reshape`` (``view``) to the traced sizes, the batch kept first; -1 where the call
    wrote it, or for the one size that is not 1 (it holds every element at any width)."""
    if node.shape == x:
        return []
    if len(x) == 4 and node.shape == (x[0], x[1] * x[2] * x[3]):
        return [{"kind": "flatten"}]
    if not 2 <= len(node.shape) <= 9 or not x or not x[0] or not node.shape[0]:
        return None
    if node.shape[0] != x[0]:  # the batch folds (MobileViT's patches): N·fold or N/unfold
        big, small = max(node.shape[0], x[0]), min(node.shape[0], x[0])
        if big % small:
            return None
        key = "fold" if node.shape[0] > x[0] else "unfold"
        return [{"kind": "reshape", "shape": list(node.shape[1:]), key: big // small}]
    free, sizes = node.attr("free"), list(node.shape[1:])
    if not (isinstance(free, int) and free > 0) and sum(size != 1 for size in sizes) == 1:
        free = 1 + next(i for i, size in enumerate(sizes) if size != 1)  # SE's view(b, c, 1, 1)
    if isinstance(free, int) and 0 < free < len(node.shape):
        sizes[free - 1] = -1  # as the user wrote it, or the one size not 1: follows α
    return [{"kind": "view" if node.target.endswith(".view") else "reshape", "shape": sizes}]


def read_resized(c: TorchCall) -> Fields:
    """``x.unsqueeze(d)``, ``x.squeeze(d)``: a size-1 dim added or removed, the importer's
    ``reshape`` to the traced shape (:func:`emit_reshape`)."""
    return dict(shape=c.shape)


def emit_transpose(node: Traced, x: tuple[int, ...]) -> list[Layer] | None:
    """The importer's ``transpose``: ``permute`` (every dim named) or ``transpose`` (two)."""
    dims = tuple(node.attr("dims", ()))
    if node.attr("permute"):
        return [{"kind": "permute", "dims": list(dims)}] if len(dims) == len(x) else None
    return [{"kind": "transpose", "dim0": dims[0], "dim1": dims[1]}] if len(dims) == 2 else None


def read_unbind(c: TorchCall) -> Fields:
    """``x.unbind(dim)``: a tuple; each piece read (getitem) is an ``unbind`` of one index."""
    return dict(dim=int(c.arg(1, "dim", 0)) % (len(c.shape) + 1), shapes=c.shapes)


def read_select(c: TorchCall) -> Fields:
    """``aten.select(x, dim, index)`` (torch.export's ``qkv[0]``, ``x[:, 0]``): one piece."""
    rank = len(c.in_shapes[0]) if c.in_shapes else len(c.shape) + 1
    dim = int(c.arg(1, "dim")) % rank
    size = c.in_shapes[0][dim] if c.in_shapes else None
    index = int(c.arg(2, "index"))
    return dict(dim=dim, index=index % size if size else index)


def emit_unbind(node: Traced, _: Any) -> list[Layer] | None:
    """One piece: ``unbind`` of its index; the tuple itself writes no layer."""
    index = node.attr("index")
    return [] if index is None else [{"kind": "unbind", "dim": node.attr("dim"), "index": index}]


def _ints(value: Any) -> tuple[int, ...]:
    return (int(value),) if isinstance(value, int) else tuple(int(i) for i in value)


def read_roll(c: TorchCall) -> Any:
    """``torch.roll(x, shifts, dims)``; without dims (a roll of the flattened tensor): opaque."""
    dims = c.arg(2, "dims", None)
    if dims is None:
        return "opaque", dict(shapes=c.shapes)
    return dict(shifts=_ints(c.arg(1, "shifts")), dims=_ints(dims))


def emit_roll(node: Traced, _: Any) -> list[Layer]:
    return [{"kind": "roll", "shifts": list(node.attr("shifts")), "dims": list(node.attr("dims"))}]


def is_param(node: Traced) -> bool:
    """Whether ``node`` reads one parameter of its own shape (after the batch)."""
    return bool(node.params) and node.params == math.prod(node.shape[1:])


def emit_param(node: Traced, x: Any) -> list[Layer] | None:
    """``cls_token.expand(N, -1, -1)``: a parameter read with no tensor input, or one it reads for
    its batch only (``batch_only``: TinyViT's gathered mask at its query's batch) (a ``param``);
    ``x + pos_embed``: x plus a ``param`` (a residual container), ``x + table[index]`` and
    ``x + mask`` and ``x + resize(pos_embed)`` too (with the table's ``params``; 0: a buffer); a
    buffer read alone, marked ``buffer`` by the tracer (ConViT's relative positions), a ``param``
    of 0 params; ``0 + x``: no layer. Any other expand: None."""
    param: Layer = {"kind": "param", "shape": list(node.shape[1:])}
    alone = not node.inputs or (len(node.inputs) == 1 and node.attr("batch_only"))
    if node.op == "param" and not node.inputs and node.attr("expand") is False:  # run on once
        return [{**param, **({} if is_param(node) else {"params": node.params}), "expand": False}]
    if node.op == "param" and alone and is_param(node):
        return [param]
    if node.op == "param" and not node.inputs and not node.params and node.attr("buffer"):
        return [{**param, "params": 0}]  # a buffer, or a constant the model computes (ConViT's)
    if node.op == "param" and alone and 0 < node.params < math.prod(node.shape[1:]):
        return [{**param, "params": node.params}]  # table[index].expand(N, ...): gathered
    if node.op == "add" and node.attr("scalar") == 0 and node.shape == x and not node.params:
        return []  # ctx_all = 0; ctx_all = ctx_all + ctx (FocalNet): x itself, no layer
    if node.op != "add" or len(node.inputs) != 1 or "scalar" in node.attrs:
        return None
    if not is_param(node):  # x + table[index] (a gathered bias), x + a buffer (a mask); more
        # params than it reads only resized (SAM's 64×64 positions at a 14×14 grid)
        more = node.params > math.prod(node.shape[1:]) and not node.attr("resized")
        if not node.attr("state") or node.shape != x or more:
            return None
        param["params"] = node.params
    return [{"kind": "residual", "layers": [param], "merge": "add"}]


def emit_weight_merge(node: Traced, x: Shape, merge: str) -> list[Layer] | None:
    """``x * w`` (``merge``) of one tensor and a weight read alone (its traced shape the node's ``state``):
    EfficientViM's gate ``sigmoid(alpha)[i] * y`` (a [C, 1, 1] piece of a [4, C] table, counted at
    its first read), ``h * D`` (a [1] parameter), CSATv2's ``x.mul(std)`` (a buffer): a residual
    whose body is the weight as a ``param`` of x's rank (its params as read: 0 for a buffer or a
    weight read again) and whose merge is ``merge``; None unless it broadcasts to x."""
    state: tuple[Shape, ...] = tuple(node.attr("state") or ())
    if len(node.inputs) != 1 or len(state) != 1 or node.shape != x or "scalar" in node.attrs:
        return None
    size = tuple(state[0])
    if len(size) > len(x) or (len(size) == len(x) and size[:1] != (1,)):
        return None
    shape = size[1:] if len(size) == len(x) else (1,) * (len(x) - 1 - len(size)) + size
    if any(s not in (1, d) for s, d in zip(shape, x[1:], strict=True)):
        return None
    param: Layer = {"kind": "param", "shape": list(shape)}
    if node.params != math.prod(shape):
        param["params"] = node.params
    return [{"kind": "residual", "layers": [param], "merge": merge}]
