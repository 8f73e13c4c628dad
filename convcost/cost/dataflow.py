"""The leaves of a node tree in execution order, with the tensors each one reads and writes.

The tracer runs every block's wires through :func:`convcost.cost.graph.run_wires`, the one
interpreter of block wiring, so the order is the torch builder's. Memory (liveness, traffic),
training (which inputs need a gradient), separable pairs (the data path) and the SE-gate
explanation read the trace. A channel split makes views of its input (no new tensor), and so
do ops with the ``view`` trait (flatten, inference dropout, identity): their output shares
its input's storage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from convcost.cost.graph import Node, Parts, outputs, run_wires, wire_values
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
    def op_kind(self) -> OpKind[Any]:
        """The declaration of the leaf's op (every step is a leaf)."""
        assert self.node.op is not None, "steps run leaves"
        return op_kind(self.node.op)

    @property
    def view(self) -> bool:
        return self.op_kind.view

    @property
    def data(self) -> tuple[Tensor, ...]:
        """The inputs whose elements it reads: all but a ``reference`` op's size source."""
        return self.inputs[:-1] if self.op_kind.reference else self.inputs


@dataclass(frozen=True)
class Trace:
    """The whole pass: the model input, every step in order, and each storage's element count."""

    input: Tensor
    steps: tuple[Step, ...]
    storage_elements: tuple[int, ...]
    outputs: tuple[Tensor, ...]  # the model's output(s)


class _Tracer:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.sizes: list[int] = []

    def new(self, shape: Shape) -> Tensor:
        self.sizes.append(math.prod(shape))
        return Tensor(len(self.sizes) - 1, shape)

    def run(self, node: Node, inputs: tuple[Tensor, ...]) -> Tensor:
        if node.is_leaf:
            return self.leaf(node, inputs)
        return run_wires(node.wiring, inputs[0], lambda i, args: self.run(node.children[i], args),
                         _chunks)

    def root(self, node: Node, x: Tensor) -> tuple[Tensor, ...]:
        """Run the model node; its output tensor(s)."""
        if node.is_leaf:
            return (self.leaf(node, (x,)),)
        values = wire_values(node.wiring, x, lambda i, args: self.run(node.children[i], args),
                             _chunks)
        return tuple(values[name] for name in outputs(node))

    def leaf(self, node: Node, inputs: tuple[Tensor, ...]) -> Tensor:
        if node.op is not None and op_kind(node.op).view:
            out = Tensor(inputs[0].storage, node.output_shape)
        else:
            out = self.new(node.output_shape)
        self.steps.append(Step(node, inputs, out))
        return out


def _chunks(x: Tensor, parts: Parts) -> tuple[Tensor, ...]:
    """``torch.chunk(x, parts, 1)``: views of ``ceil(C / parts)`` channels (the last: the
    rest); or ``torch.split(x, parts, 1)``: views of those channel counts."""
    if isinstance(parts, int):
        size = -(-x.shape[1] // parts)
        bounds = [min(i * size, x.shape[1]) for i in range(parts + 1)]
    else:
        bounds = [sum(parts[:i]) for i in range(len(parts) + 1)]
    return tuple(Tensor(x.storage, (x.shape[0], hi - lo, *x.shape[2:]))
                 for lo, hi in pairwise(bounds))


def trace(root: Node) -> Trace:
    """Every leaf under ``root`` in execution order, wired by tensor."""
    tracer = _Tracer()
    x = tracer.new(root.input_shape)
    out = tracer.root(root, x)
    return Trace(x, tuple(tracer.steps), tuple(tracer.sizes), out)
