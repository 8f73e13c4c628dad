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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from convcost.cost.graph import Node, Parts, outputs, run_wires, wire_values
from convcost.cost.layout import default_layout
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
    extra_inputs: tuple[Tensor, ...] = ()  # the model's inputs after the first (``inputs:``)

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        """Every input of the model, the first first."""
        return (self.input, *self.extra_inputs)


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

    def root(self, node: Node, x: Tensor, extra: Mapping[str, Tensor]) -> tuple[Tensor, ...]:
        """Run the model node on its inputs; its output tensor(s)."""
        if node.is_leaf:
            return (self.leaf(node, (x,)),)
        values = wire_values(node.wiring, x, lambda i, args: self.run(node.children[i], args),
                             _chunks, extra)
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
    extra = {name: tracer.new(shape) for name, shape in root.extra_inputs}
    out = tracer.root(root, x, extra)
    return Trace(x, tuple(tracer.steps), tuple(tracer.sizes), out, tuple(extra.values()))


def _layout_after(op: Any, read: str | None, rank: int) -> str:
    """The layout of a leaf's output of ``rank`` axes, its first input read as ``read``: a
    permute or transpose moves the axis letters; a kind that reads a layout of that rank (a
    conv, a pool) writes it; an op that keeps the rank keeps the layout; any other output
    (flatten, reshape) is channels-first by its rank."""
    moves = op_kind(op).axes if op is not None else None
    order = moves(op, rank) if moves is not None and read is not None and len(read) == rank else None
    if order is not None and read is not None:
        return "".join(read[d] for d in order)
    declared = op_kind(op).layout if op is not None else None
    if declared is not None and len(declared) == rank:
        return declared
    return read if read is not None and len(read) == rank else default_layout(rank)


def layouts(root: Node, inputs: Sequence[str]) -> dict[int, str]:
    """The layout of every node's output (by ``id``), the model's inputs read as ``inputs``
    (the first first): each leaf's from the tensor it reads (:func:`_layout_after`), a
    block's from the last leaf inside it that writes its output shape."""
    tr = trace(root)
    of_tensor = {id(t): layout for t, layout in zip(tr.inputs, inputs, strict=False)}
    of_storage = {t.storage: layout for t, layout in zip(tr.inputs, inputs, strict=False)}
    found: dict[int, str] = {}
    for step in tr.steps:
        x = step.inputs[0] if step.inputs else None  # a chunk of a split: its storage's
        read = None if x is None else of_tensor.get(id(x), of_storage.get(x.storage))
        layout = _layout_after(step.node.op, read, len(step.node.output_shape))
        of_tensor[id(step.output)] = of_storage[step.output.storage] = found[id(step.node)] = layout
    order = {id(step.node): i for i, step in enumerate(tr.steps)}
    for _, node in root.walk():
        if not node.is_leaf:
            last = max((leaf for leaf in node.leaves() if leaf.output_shape == node.output_shape
                        and id(leaf) in order), key=lambda leaf: order[id(leaf)], default=None)
            found[id(node)] = found[id(last)] if last is not None else \
                default_layout(len(node.output_shape))
    return found
