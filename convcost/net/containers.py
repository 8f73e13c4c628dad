"""The generic containers: ``sequential``, ``residual``, ``parallel`` and ``split``.

Each becomes a ``seq`` block whose children are wired by tensor references
(:mod:`convcost.cost.graph`): a residual's body and shortcut read the block's input, a
parallel's branches too, a split's branch i reads chunk i; the last child, the merge
(``add``, ``mul`` or ``concat``, a leaf of the registry), reads the branch outputs in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from convcost.cost.graph import BLOCK_INPUT, Node, chunk_ref
from convcost.errors import SpecError
from convcost.spec.fields import join

if TYPE_CHECKING:
    from convcost.net.expand import Expander, Inputs


def sequential(e: Expander, name: str, xs: Inputs, f: Mapping[str, Any], path: str) -> Node:
    """A group of layers (a ``sequential``, or a block template's instance); the first layer
    reads every input of the group."""
    children = e.layers(f["layers"], xs, prefix=f"{name}.")
    return e.block(name, f["block"] or "sequential", xs[0], children, path)


def _reads(node: Node, ref: str) -> Node:
    """``node`` reading ``ref`` (its block's input, a chunk), unless it names its inputs."""
    return node if node.inputs else replace(node, inputs=(ref,))


def _merge(e: Expander, name: str, f: Mapping[str, Any], path: str,
           sources: Sequence[tuple[str, Any]]) -> Node:
    """The merge leaf ``<name>.<merge>`` reading ``(reference, shape)`` of every source."""
    kind = f["merge"]
    node = e.kind(kind, f"{name}.{kind}", tuple(shape for _, shape in sources), {}, path,
                  inputs_path=join(path, "merge"))
    return replace(node, inputs=tuple(ref for ref, _ in sources))


def residual(e: Expander, name: str, xs: Inputs, f: Mapping[str, Any], path: str) -> Node:
    """``merge(shortcut(x), body(x))``: body, shortcut (default: x itself), merge."""
    prefix = f"{name}."
    body = e.layers(f["layers"], xs, prefix)
    shortcut = e.layers(f["shortcut"], xs, prefix) if f["shortcut"] else []
    if shortcut:
        shortcut[0] = _reads(shortcut[0], BLOCK_INPUT)
        side = (shortcut[-1].name, shortcut[-1].output_shape)
    else:
        side = (BLOCK_INPUT, xs[0])
    merge = _merge(e, name, f, path, [side, (body[-1].name, body[-1].output_shape)])
    return e.block(name, "residual", xs[0], [*body, *shortcut, merge], path)


def _branches(e: Expander, name: str, f: Mapping[str, Any], path: str,
              inputs: Sequence[tuple[str, Inputs]]) -> list[Node]:
    """Every branch on its ``(reference, shapes)``, then the merge of their outputs."""
    children: list[Node] = []
    ends: list[tuple[str, Any]] = []
    for spec, (ref, shapes) in zip(f["branches"], inputs, strict=True):
        produced = e.layers((spec,), shapes, f"{name}.")
        produced[0] = _reads(produced[0], ref)
        children.extend(produced)
        ends.append((produced[-1].name, produced[-1].output_shape))
    children.append(_merge(e, name, f, path, ends))
    return children


def parallel(e: Expander, name: str, xs: Inputs, f: Mapping[str, Any], path: str) -> Node:
    """Every branch on the input, then the merge of their outputs in order."""
    children = _branches(e, name, f, path, [(BLOCK_INPUT, xs)] * len(f["branches"]))
    return e.block(name, "parallel", xs[0], children, path)


def split(e: Expander, name: str, xs: Inputs, f: Mapping[str, Any], path: str) -> Node:
    """The input split along the channels; branch i on chunk i; the merge of their outputs."""
    x = xs[0]
    sizes = _sizes(e, x[1], len(f["branches"]), f.get("sizes"), path)
    inputs = [(chunk_ref(i), ((x[0], size, *x[2:]),)) for i, size in enumerate(sizes)]
    children = _branches(e, name, f, path, inputs)
    return e.block(name, "split", x, children, path, chunks=sizes)


def _sizes(e: Expander, channels: int, count: int, sizes: Sequence[int] | None,
           path: str) -> tuple[int, ...]:
    """The chunk sizes: as given (scaled by α), or ``count`` equal chunks."""
    if sizes is None:
        if channels % count:
            raise SpecError(f"{channels} input channels do not split into {count} equal chunks; "
                            "give sizes", path=join(path, "branches"))
        return (channels // count,) * count
    scaled = tuple(e.scaling.channels(size, "scaled", join(join(path, "sizes"), i))
                   for i, size in enumerate(sizes))
    if sum(scaled) != channels:
        raise SpecError(f"sizes sum to {sum(scaled)}, the input has {channels} channels",
                        path=join(path, "sizes"))
    return scaled
