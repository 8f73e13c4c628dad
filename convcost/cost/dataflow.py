"""The leaves of a node tree in execution order, with the tensors each one reads and writes.

This is the one place that turns the block ``flow`` of :mod:`convcost.cost.graph` into a dataflow
trace; memory (liveness, traffic) and training (which inputs need a gradient) read it.
Execution order follows the flows as :mod:`convcost.runtime.build` runs them:

* ``seq``: the children in order.
* ``residual`` / ``dual``: the ``side`` children on x first (none: x itself), then the
  ``main`` children on x, then ``merge(side, main)``, then the ``post`` children.
* ``gate``: the ``main`` children on x, then ``merge(x, main)``, then ``post``.
* ``split``: ``x1, x2 = chunk(x, 2)`` (views of x: no new tensor), the ``main`` children
  on x2, then ``merge(x1, main)``, then ``post``.

Ops with the ``view`` trait (flatten, inference dropout) write no new tensor: their output
shares its input's storage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convcost.cost.graph import Node
from convcost.cost.opkind import OpKind
from convcost.cost.registry import op_kind
from convcost.cost.value import Shape


@dataclass(frozen=True)
class Tensor:
    """A tensor of ``shape`` stored in ``storage`` (views share their base's storage)."""

    storage: int
    shape: Shape

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Step:
    """One leaf run: the tensors it reads and the one it writes (``view``: no new storage)."""

    node: Node
    inputs: tuple[Tensor, ...]
    output: Tensor

    @property
    def kind(self) -> OpKind[Any]:
        """The declaration of the leaf's op (every step is a leaf)."""
        assert self.node.op is not None, "steps run leaves"
        return op_kind(self.node.op)

    @property
    def view(self) -> bool:
        return self.kind.view


@dataclass(frozen=True)
class Trace:
    """The whole pass: the model input, every step in order, and each storage's element count."""

    input: Tensor
    steps: tuple[Step, ...]
    storage_elements: tuple[int, ...]


class _Tracer:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.sizes: list[int] = []

    def new(self, shape: Shape) -> Tensor:
        self.sizes.append(math.prod(shape))
        return Tensor(len(self.sizes) - 1, shape)

    def run(self, node: Node, x: Tensor) -> Tensor:
        if node.is_leaf:
            return self.leaf(node, (x,))
        if node.flow == "seq":
            return self.chain(node.children, x)
        roles: dict[str, list[Node]] = {}
        for child in node.children:
            roles.setdefault(child.role, []).append(child)
        main_in, other = x, x
        if node.flow == "split":
            main_shape = roles["main"][0].input_shape
            main_in = Tensor(x.storage, main_shape)
            other = Tensor(x.storage, (x.shape[0], x.shape[1] - main_shape[1], *x.shape[2:]))
        elif node.flow in ("residual", "dual"):
            other = self.chain(roles.get("side", []), x)
        main = self.chain(roles.get("main", []), main_in)
        (merge,) = roles["merge"]
        return self.chain(roles.get("post", []), self.leaf(merge, (other, main)))

    def chain(self, nodes: Sequence[Node], x: Tensor) -> Tensor:
        for node in nodes:
            x = self.run(node, x)
        return x

    def leaf(self, node: Node, inputs: tuple[Tensor, ...]) -> Tensor:
        if node.op is not None and op_kind(node.op).view:
            out = Tensor(inputs[0].storage, node.output_shape)
        else:
            out = self.new(node.output_shape)
        self.steps.append(Step(node, inputs, out))
        return out


def trace(root: Node) -> Trace:
    """Every leaf under ``root`` in execution order, wired by tensor."""
    tracer = _Tracer()
    x = tracer.new(root.input_shape)
    tracer.run(root, x)
    return Trace(x, tuple(tracer.steps), tuple(tracer.sizes))
