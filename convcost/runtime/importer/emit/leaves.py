"""Single IR ops and conv units -> spec layer mappings (or None: not expressible as a leaf)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

from convcost.cost.imports import spec_size as size
from convcost.cost.ops import ACTIVATIONS
from convcost.cost.ops.conv import conv_fields
from convcost.cost.ops.views import emit_flatten
from convcost.cost.registry import emitter
from convcost.runtime.importer.ir import IRNode
from convcost.spec.loader import RESERVED_NAMES
from convcost.spec.wiring import INPUT

Layer = dict[str, Any]
_UNSAFE = re.compile(r"[^A-Za-z0-9_.]+")


MAX_NAME = 160  # characters of a layer name: the loader's 200, less room for suffixes


def layer_name(text: str) -> str:
    """A spec name from a module path or tensor name: dotted words of letters, digits and _,
    none a name the loader reserves (``forward`` -> ``forward_``), at most :data:`MAX_NAME`."""
    parts = [_word(p) for p in text.split(".") if p]
    bounded = ".".join(parts)[:MAX_NAME].split(".")
    return ".".join(f"{p}_" if p in RESERVED_NAMES or p == INPUT else p for p in bounded if p) or "layer"


def _word(part: str) -> str:
    """One dotted word, safe; a word of no safe character (``'"``, ``_``) a stable token of
    its own, so that it never merges into its parent's name."""
    safe = _UNSAFE.sub("_", part).lstrip("_")
    return safe or f"x{zlib.crc32(part.encode('utf-8', 'replace')):08x}"


def conv_unit(nodes: Sequence[IRNode]) -> Layer | None:
    """``conv [bn] [act]`` as one conv layer with ``bn``/``act``; None when it is not one."""
    if not nodes or nodes[0].op != "conv" or len(nodes) > 3:
        return None
    fields = conv_fields(nodes[0])
    rest = list(nodes[1:])
    if fields is None:
        return None
    if rest and rest[0].op == "bn" and rest[0].attr("affine", True):
        fields["bn"] = True
        rest.pop(0)
    if rest and rest[0].op == "act" and rest[0].attr("fn") in ACTIVATIONS:
        fields["act"] = rest[0].attr("fn")
        rest.pop(0)
    return None if rest else fields


def _mean(node: IRNode) -> list[Layer] | None:
    """``x.mean([2, 3])``: the ``mean`` kind (tools count it unlike a pooling module)."""
    if tuple(node.attr("dims", ())) != (2, 3) or len(node.shape) not in (2, 4):
        return None
    return [{"kind": "mean", "keepdim": True} if node.attr("keepdim") else {"kind": "mean"}]


def _upsample(node: IRNode) -> list[Layer] | None:
    mode = {"linear": "bilinear"}.get(node.attr("mode"), node.attr("mode"))  # ONNX Resize's name
    if mode not in ("nearest", "bilinear") or node.attr("align_corners"):
        return None
    if len(node.shape) != 4:
        return None
    scale = node.attr("scale")  # a factor keeps the layer resolution-free (a neck sweeps ρ)
    layer: Layer = {"kind": "upsample", **({"scale": scale} if scale else
                                           {"size": size((node.shape[2], node.shape[3]))})}
    return [layer if mode == "nearest" else {**layer, "mode": mode}]


def _norm(node: IRNode) -> list[Layer] | None:
    if node.op == "groupnorm" and node.attr("groups"):
        layer: Layer = {"kind": "groupnorm", "groups": node.attr("groups")}
        return [layer if node.attr("affine", True) else {**layer, "affine": False}]
    if node.op == "instancenorm":
        affine = {"affine": True} if node.attr("affine") else {}
        return [{"kind": "instancenorm", **affine}]
    return None


FUNCTIONAL_RELU = frozenset({"torch.nn.functional.relu", "torch.relu", "Tensor.relu"})  # fx targets


def _act(node: IRNode) -> list[Layer]:
    layer: Layer = {"kind": "act", "fn": node.attr("fn")}
    if node.target in FUNCTIONAL_RELU:  # F.relu in forward: tools that hook modules miss it
        layer["functional"] = True
    return [{**layer, "per_channel": True} if node.attr("fn") == "prelu" and node.params > 1 else layer]


def _pool(node: IRNode) -> list[Layer] | None:
    if tuple(node.attr("dilation", (1, 1))) != (1, 1) or len(node.attr("padding")) != 2:
        return None
    layer: Layer = {"kind": "pool", "op": node.attr("kind"), "kernel_size": size(node.attr("kernel")),
                    "stride": size(node.attr("stride"))}
    if tuple(node.attr("padding")) != (0, 0):
        layer["padding"] = size(node.attr("padding"))
    if node.attr("ceil_mode"):
        layer["ceil_mode"] = True
    return [layer]


def _adaptive(node: IRNode) -> list[Layer]:
    out = tuple(node.attr("output_size"))
    layer: Layer = {"kind": "pool", "op": node.attr("kind")}
    layer.update({"global": True} if out == (1, 1) else {"output_size": size(out)})
    return [layer]


def merge_layers(node: IRNode, shapes: Sequence[tuple[int, ...]]) -> list[Layer] | None:
    """An op on several tensors: ``add`` (equal shapes), ``concat`` (channels), ``mul``."""
    emit = emitter(node.op)
    if emit is not None:
        return emit(node, shapes)
    rank = len(node.shape)  # any rank (a video's [N, C, D, H, W] too), every input alike
    if "scalar" in node.attrs or rank < 2 or any(len(s) != rank for s in shapes):
        return None
    if node.op == "add" and all(s == node.shape for s in shapes):
        return [{"kind": "add"}]
    if node.op == "cat" and node.attr("dim") == 1 and sum(s[1] for s in shapes) == node.shape[1]:
        return [{"kind": "concat"}]
    if node.op == "mul" and len(shapes) == 2 and tuple(map(max, *shapes)) == node.shape:
        return [{"kind": "mul"}]
    if node.op == "interpolate" and rank == 4 and len(shapes) == 2 and shapes[1][2:] == node.shape[2:]:
        layer: Layer = {"kind": "interpolate", "mode": node.attr("mode")}  # to ref's size
        return [{**layer, "align_corners": True} if node.attr("align_corners") else layer]
    return None


def leaf_layers(node: IRNode, input_shape: tuple[int, ...]) -> list[Layer] | None:
    """The spec layers of one op ([] for no-ops such as identity); None: not expressible."""
    emit = emitter(node.op)
    if emit is not None:  # the op kind's own (cost/ops)
        return emit(node, (input_shape,))
    op = node.op
    if op == "cat" and node.shape == input_shape:  # torch.cat of one tensor (DenseNet's first)
        return []
    if op == "getitem" and node.attr("index") == 0 and node.shape == input_shape:
        return []  # the output of a module returning (output, extra): nn.MultiheadAttention
    if op == "act" and node.attr("fn") in ACTIVATIONS:
        return _act(node)
    if op == "mul" and len(node.inputs) == 1 and len(input_shape) == 4 and node.params == input_shape[1]:
        return [{"kind": "layer_scale"}]  # x · γ, γ a [C, 1, 1] parameter
    if op in ("groupnorm", "instancenorm"):
        return _norm(node)
    if op == "mean":
        return _mean(node)
    if op == "interpolate":
        return _upsample(node)
    if op == "shuffle" and len(input_shape) == 4:
        return [{"kind": "shuffle", "groups": node.attr("groups")}]
    if op == "pool":
        return _pool(node)
    if op == "adaptive_pool":
        return _adaptive(node)
    if op == "slice":
        return _slice(node, input_shape)
    if op == "pad":
        return _pad(node, input_shape)
    return emit_flatten(node, (input_shape,)) if op == "reshape" else None


def _pad(node: IRNode, input_shape: tuple[int, ...]) -> list[Layer] | None:
    """``F.pad`` with zeros on W and H (4 sizes, none negative) of an [N, C, H, W] map."""
    amounts = tuple(node.attr("pad", ()))
    if node.attr("mode", "constant") != "constant" or node.attr("value", 0) or len(input_shape) != 4:
        return None
    if len(amounts) != 4 or min(amounts) < 0:
        return None
    return [{"kind": "pad", "pad": list(amounts)}] if any(amounts) else []


def _slice(node: IRNode, input_shape: tuple[int, ...]) -> list[Layer] | None:
    """``x[:, a:b]``: a ``slice`` of channels (the whole tensor: no layer)."""
    start, end = node.attr("start"), node.attr("end")
    if node.attr("dim") != 1 or node.attr("step", 1) != 1 or start is None or len(input_shape) < 2:
        return None
    if (start, end) == (0, input_shape[1]):
        return []
    layer: Layer = {"kind": "slice", "start": start}
    return [layer if end == input_shape[1] else {**layer, "end": end}]
