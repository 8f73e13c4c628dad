"""Single IR ops and conv units -> spec layer mappings (or None: not expressible as a leaf)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

from convcost.cost.ops import ACTIVATIONS
from convcost.cost.ops.conv import conv_fields
from convcost.cost.registry import OPS, emitter, merger
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


def _keeps_params(node: IRNode, layers: list[Layer] | None) -> list[Layer] | None:
    """``layers`` unless the node reads parameters and none of its layers may hold any (an
    attention whose mask is a bias gathered from a learnt table): None, an opaque layer that
    keeps them, never a spec short of them."""
    def learnable(layer: Layer) -> bool:
        kind = OPS.get(layer.get("kind", ""))  # a conv unit, a block: not an op kind, may
        return kind is None or kind.learnable or any(learnable(i) for i in layer.get("layers", ()))
    if layers is None or not node.params or any(learnable(layer) for layer in layers):
        return layers
    return None


def merge_layers(node: IRNode, shapes: Sequence[tuple[int, ...]]) -> list[Layer] | None:
    """An op on several tensors (``add``, ``concat``, ``mul``, ...): its kind's ``merge``."""
    merge = merger(node.op)
    return _keeps_params(node, merge(node, shapes)) if merge is not None else None


def leaf_layers(node: IRNode, input_shape: tuple[int, ...]) -> list[Layer] | None:
    """The spec layers of one op ([] for no-ops such as identity); None: not expressible.
    An op kind's is its ``emit`` (cost/ops); of the importer's own ops, only the first item of a
    module's (output, extra) tuple says anything (nothing)."""
    emit = emitter(node.op)
    if emit is not None:
        return _keeps_params(node, emit(node, input_shape))
    if node.op == "getitem" and node.attr("index") == 0 and node.shape == input_shape:
        return []  # the output of a module returning (output, extra): nn.MultiheadAttention
    return None
