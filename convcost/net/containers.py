"""The generic containers: ``sequential``, ``residual``, ``parallel`` and ``split``.

Each becomes a block whose wires (:class:`convcost.cost.graph.Wire`) run its layers as a
graph of named tensors: a residual's body and shortcut read the block's input, a parallel's
branches too, a split's branch i reads chunk i of it; the last child, the merge (``add``,
``mul`` or ``concat``, a leaf of the registry), reads the branch outputs in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from convcost.cost.graph import INPUT, Node, Wire, sequence
from convcost.cost.value import Shape
from convcost.errors import SpecError
from convcost.spec.fields import join

if TYPE_CHECKING:
    from convcost.net.expand import Expander


class _Graph:
    """The children of one block and their wires, built up part by part."""

    def __init__(self) -> None:
        self.children: list[Node] = []
        self.wires: list[Wire] = []

    def add(self, part: tuple[list[Node], list[Wire]]) -> tuple[str, Shape]:
        """Append nodes wired among themselves; the name and shape of the last one's output."""
        nodes, wires = part
        wires = wires or list(sequence(nodes))  # a plain chain from the block input
        offset = len(self.children)
        self.wires.extend(replace(w, child=None if w.child is None else w.child + offset)
                          for w in wires)
        self.children.extend(nodes)
        return nodes[-1].name, nodes[-1].output_shape

    def merge(self, e: Expander, name: str, f: Mapping[str, Any], path: str,
              sources: Sequence[tuple[str, Shape]]) -> None:
        """The merge leaf ``<name>.<merge>`` reading every ``(tensor name, shape)``."""
        kind = f["merge"]
        node = e.kind(kind, f"{name}.{kind}", tuple(shape for _, shape in sources), {}, path,
                      via=join(path, "merge"))
        self.wires.append(Wire(len(self.children), tuple(n for n, _ in sources), (node.name,)))
        self.children.append(node)


def sequential(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    """A group of layers (a ``sequential``, or a block template's instance)."""
    children, wires = e.layers(f["layers"], x, prefix=f"{name}.")
    return e.block(name, f["block"] or "sequential", x, children, path, wires=wires)


def residual(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    """``merge(shortcut(x), body(x))``: body, shortcut (default: x itself), merge."""
    graph = _Graph()
    body = graph.add(e.layers(f["layers"], x, f"{name}."))
    side = graph.add(e.layers(f["shortcut"], x, f"{name}.")) if f["shortcut"] else (INPUT, x)
    graph.merge(e, name, f, path, [side, body])
    return e.block(name, "residual", x, graph.children, path, wires=graph.wires)


def _branches(e: Expander, name: str, f: Mapping[str, Any], path: str, graph: _Graph,
              inputs: Sequence[tuple[str, Shape]]) -> None:
    """Every branch on its ``(tensor name, shape)``, then the merge of their outputs."""
    ends = [graph.add(e.layers((spec,), shape, f"{name}.", source))
            for spec, (source, shape) in zip(f["branches"], inputs, strict=True)]
    graph.merge(e, name, f, path, ends)


def parallel(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    """Every branch on the input, then the merge of their outputs in order."""
    graph = _Graph()
    _branches(e, name, f, path, graph, [(INPUT, x)] * len(f["branches"]))
    return e.block(name, "parallel", x, graph.children, path, wires=graph.wires)


def split(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    """The input split along the channels; branch i on chunk i; the merge of their outputs."""
    sizes = _sizes(e, x[1], len(f["branches"]), f.get("sizes"), path)
    chunks = tuple(f"{name}@{i}" for i in range(len(sizes)))
    graph = _Graph()
    graph.wires.append(Wire(None, (INPUT,), chunks, sizes))
    _branches(e, name, f, path, graph, [(chunk, (x[0], size, *x[2:]))
                                        for chunk, size in zip(chunks, sizes, strict=True)])
    return e.block(name, "split", x, graph.children, path, wires=graph.wires)


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
