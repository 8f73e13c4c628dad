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

from convcost.cost.ops import Activation, BatchNorm, Conv2d, Linear, Op, Shape


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


def leaf_kind(op: Op) -> str:
    """Kind name of a leaf: convolutions by role (conv, dwconv, pwconv, gconv), activations by fn."""
    if isinstance(op, Activation):
        return op.fn
    if isinstance(op, Conv2d):
        return {"standard": "conv", "depthwise": "dwconv", "pointwise": "pwconv"}.get(
            op.role, "gconv"
        )
    return op.kind


def layer_class(op: Op | None) -> str:
    """MobileNet Table 2 class: a conv's role, ``fully connected`` or ``other``."""
    if isinstance(op, Conv2d):
        return op.role
    return "fully connected" if isinstance(op, Linear) else "other"


def fused_groups(node: Node) -> Iterator[Node]:
    """The leaves of ``node`` with each conv/linear + BN + activation unit as one node.

    A unit is a ``seq`` block of a conv or linear leaf followed only by BN and activation
    leaves: what a deployment runtime fuses into one kernel. Every leaf is in exactly one group.
    """
    if node.is_leaf or _is_unit(node):
        yield node
        return
    for child in node.children:
        yield from fused_groups(child)


def _is_unit(node: Node) -> bool:
    head, *rest = node.children or (None,)
    return (node.flow == "seq" and head is not None and isinstance(head.op, Conv2d | Linear)
            and all(isinstance(c.op, BatchNorm | Activation) for c in rest))


def group_class(node: Node) -> str:
    """The layer class of a fused group: its first leaf's."""
    return layer_class(next(node.leaves()).op)
