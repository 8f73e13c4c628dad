"""The analysed network: a tree of nodes with shapes and exact costs.

Leaves hold one :mod:`convcost.cost.ops` op each; blocks hold children and a ``flow`` that says
how the children are wired, which is all the torch builder needs:

* ``seq``: children in order.
* ``residual``: ``merge(side(x) or x, main(x))`` then ``post`` children (x + f(x)).
* ``gate``: ``merge(x, main(x))`` (squeeze-excitation: x · gate).
* ``split``: ``x1, x2 = chunk(x, 2)``; ``merge(x1, main(x2))`` then ``post`` (ShuffleNetV2, stride 1).
* ``dual``: ``merge(side(x), main(x))`` then ``post`` (ShuffleNetV2, stride 2).

Each child's ``role`` (main, side, merge, post) places it in its parent's flow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from convcost.cost.opkind import Op
from convcost.cost.value import Shape


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int
    op: Op | None = None
    children: tuple[Node, ...] = ()
    flow: str = "seq"
    role: str = "main"
    source: str = ""

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def is_leaf(self) -> bool:
        return self.op is not None

    def leaves(self) -> Iterator[Node]:
        """Every leaf below (or at) this node, in execution order of the spec."""
        if self.is_leaf:
            yield self
        for child in self.children:
            yield from child.leaves()

    def walk(self, max_depth: int | None = None, depth: int = 0) -> Iterator[tuple[int, Node]]:
        """``(depth, node)`` pairs, pre-order, down to ``max_depth`` (None: to the leaves)."""
        yield depth, self
        if max_depth is None or depth < max_depth:
            for child in self.children:
                yield from child.walk(max_depth, depth + 1)

