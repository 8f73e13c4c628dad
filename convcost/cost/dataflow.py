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

* ``seq`` with ``inputs`` (a graph, the spec's ``from:``): the children in order, each on the
  tensors it names; a split block's chunks are views of its input.

Ops with the ``view`` trait (flatten, inference dropout) write no new tensor: their output
shares its input's storage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convcost.cost.graph import BLOCK_INPUT, Node, chunk_ref
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
    """The whole pass: the model input, every step in order, each storage's element count and
    the model's output tensor(s)."""

    input: Tensor
    steps: tuple[Step, ...]
    storage_elements: tuple[int, ...]
    outputs: tuple[Tensor, ...]


class _Tracer:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.sizes: list[int] = []

    def new(self, shape: Shape) -> Tensor:
        self.sizes.append(math.prod(shape))
        return Tensor(len(self.sizes) - 1, shape)

    def run(self, node: Node, xs: tuple[Tensor, ...]) -> Tensor:
        if node.is_leaf:
            return self.leaf(node, xs)
        if node.flow == "seq":
            env = self.graph(node, xs)
            return env[node.children[-1].name][0]
        (x,) = xs
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

    def graph(self, node: Node, xs: tuple[Tensor, ...]) -> dict[str, tuple[Tensor, ...]]:
        """Run a ``seq`` block's children as a graph: every reference -> its tensor(s)."""
        env: dict[str, tuple[Tensor, ...]] = {BLOCK_INPUT: xs}
        if node.chunks:
            x = xs[0]
            for i, size in enumerate(node.chunks):
                env[chunk_ref(i)] = (Tensor(x.storage, (x.shape[0], size, *x.shape[2:])),)
        previous: tuple[Tensor, ...] = xs
        for child in node.children:
            if child.inputs:
                previous = tuple(t for ref in child.inputs for t in env[ref])
            previous = env[child.name] = (self.run(child, previous),)
        return env

    def chain(self, nodes: Sequence[Node], x: Tensor) -> Tensor:
        for node in nodes:
            x = self.run(node, (x,))
        return x

    def leaf(self, node: Node, inputs: tuple[Tensor, ...]) -> Tensor:
        if node.op is not None and op_kind(node.op).view:
            out = Tensor(inputs[0].storage, node.output_shape)
        else:
            out = self.new(node.output_shape)
        self.steps.append(Step(node, inputs, out))
        return out


def outputs(root: Node) -> tuple[str, ...]:
    """The names of the children whose outputs are ``root``'s outputs."""
    return root.outputs or (root.children[-1].name,)


def trace(root: Node) -> Trace:
    """Every leaf under ``root`` in execution order, wired by tensor."""
    tracer = _Tracer()
    x = tracer.new(root.input_shape)
    out: tuple[Tensor, ...]
    if root.is_leaf or root.flow != "seq":
        out = (tracer.run(root, (x,)),)
    else:
        env = tracer.graph(root, (x,))
        out = tuple(env[name][0] for name in outputs(root))
    return Trace(x, tuple(tracer.steps), tuple(tracer.sizes), out)
