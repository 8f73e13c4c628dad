"""The analysed network: a tree of nodes with shapes and exact costs, and how blocks are wired.

Leaves hold one op of the registry each. A block holds its children (in display order) and its
``wires``: the steps that run them, in execution order. A :class:`Wire` runs one child on named
tensors and names its output; the block's input is :data:`INPUT` and its output is the last
wire's. :func:`run_wires` is the one interpreter of this description: the torch builder
(:mod:`convcost.runtime.build`), the dataflow tracer (:mod:`convcost.cost.dataflow`, which
memory, training, separable pairs and the SE-gate explanation read) and the receptive field
(:mod:`convcost.cost.receptive`) all run blocks through it. Every block the spec kinds expand
to is such a list of wires (see ``flow_wires`` in :mod:`convcost.net.expand`), so a general
graph of named tensors needs no new interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any, TypeVar

from convcost.cost.opkind import Op
from convcost.cost.value import Cost, Shape

INPUT = "@in"
"""The name of a block's input tensor (not a valid layer name, so it never clashes)."""


def input_tensor(name: str) -> str:
    """The wire name of the model's named input ``name`` after the first (``inputs:``)."""
    return f"{INPUT}:{name}"


@dataclass(frozen=True)
class Wire:
    """One step of a block: run child ``child`` (an index into the block's children) on the
    tensors named ``inputs``, and name its output ``outputs[0]``. ``child`` None splits
    ``inputs[0]`` into ``len(outputs)`` channel chunks, views of it: of ``sizes`` channels
    (``torch.split``), or equal (``torch.chunk``) when ``sizes`` is empty."""

    child: int | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    sizes: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Node(Cost):
    """A leaf (``op`` set) or a block (``children`` and ``wires``), with exact params and MACs.

    ``label`` says what it is: an op's label (``conv``, ``dwconv``, ``relu``, ...), or the kind
    of block (``dsconv``, ``conv+bn+relu``, ``se``, ``model``, ...).
    """

    name: str
    label: str
    input_shape: Shape
    output_shape: Shape
    op: Op | None = None
    children: tuple[Node, ...] = ()
    wires: tuple[Wire, ...] = ()
    outputs: tuple[str, ...] = ()  # the model's outputs when several (wire output names)
    extra_inputs: tuple[tuple[str, Shape], ...] = ()  # the model's inputs after the first:
    # (wire name, shape) each, read by its wires as INPUT is (a spec's ``inputs:``)
    source: str = ""
    shares: str = ""  # the node whose weights it reuses (its own params are then 0)

    @property
    def is_leaf(self) -> bool:
        return self.op is not None

    @property
    def wiring(self) -> tuple[Wire, ...]:
        """The wires that run a block: ``wires``, or (none given) its children in sequence."""
        return self.wires or sequence(self.children)

    def leaves(self) -> Iterator[Node]:
        """Every leaf below (or at) this node, in the tree's (display) order."""
        stack = [self]  # iterative: a recursive generator costs a frame per level per leaf
        while stack:
            node = stack.pop()
            if node.op is not None:
                yield node
            stack.extend(reversed(node.children))

    def walk(self, max_depth: int | None = None, depth: int = 0) -> Iterator[tuple[int, Node]]:
        """``(depth, node)`` pairs, pre-order, down to ``max_depth`` (None: to the leaves)."""
        yield depth, self
        if max_depth is None or depth < max_depth:
            for child in self.children:
                yield from child.walk(max_depth, depth + 1)


_OPTIONAL = {f.name: f.default for f in fields(Node) if f.default is not MISSING}


def new_node(params: int, macs: int, name: str, label: str, input_shape: Shape,
             output_shape: Shape, **optional: Any) -> Node:
    """``Node(...)`` (equal to it) without the frozen dataclass's ``__init__``, a setattr per
    field: the expander makes every node of every analysis here. ``optional``: fields with a
    default."""
    if not optional.keys() <= _OPTIONAL.keys():
        raise TypeError(f"Node has no field {sorted(optional.keys() - _OPTIONAL.keys())}")
    node = object.__new__(Node)
    node.__dict__.update(_OPTIONAL, params=params, macs=macs, name=name, label=label,
                         input_shape=input_shape, output_shape=output_shape, **optional)
    return node


def sequence(children: Sequence[Node]) -> tuple[Wire, ...]:
    """The wires of children run one after the other, each on the previous one's output."""
    names = [INPUT, *(child.name for child in children)]
    return tuple(Wire(i, (names[i],), (names[i + 1],)) for i in range(len(children)))


T = TypeVar("T")


Parts = int | tuple[int, ...]
"""How a split cuts a value: into that many equal chunks, or chunks of those channel counts."""


def wire_values(wires: Sequence[Wire], x: T, call: Callable[[int, tuple[T, ...]], T],
                split: Callable[[T, Parts], tuple[T, ...]],
                extra: Mapping[str, T] | None = None) -> dict[str, T]:
    """Run a block's ``wires`` on its input ``x`` (and the model's other inputs, ``extra``, by
    wire name): every tensor name -> its value.

    ``call(child, inputs)`` runs one child on its input values; ``split(value, parts)`` cuts a
    value into channel chunks (:data:`Parts`). The values are whatever the caller computes
    with: torch tensors, traced tensors, receptive fields.
    """
    values: dict[str, T] = {INPUT: x, **(extra or {})}
    for wire in wires:
        args = tuple(values[name] for name in wire.inputs)
        outs = (split(args[0], wire.sizes or len(wire.outputs)) if wire.child is None
                else (call(wire.child, args),))
        values.update(zip(wire.outputs, outs, strict=True))
    return values


def run_wires(wires: Sequence[Wire], x: T, call: Callable[[int, tuple[T, ...]], T],
              split: Callable[[T, Parts], tuple[T, ...]]) -> T:
    """Run a block's ``wires`` on its input ``x`` (see :func:`wire_values`); its output is the
    last wire's."""
    return wire_values(wires, x, call, split)[wires[-1].outputs[0]]


def chunk_count(parts: Parts) -> int:
    """How many chunks a split of ``parts`` makes."""
    return parts if isinstance(parts, int) else len(parts)


def outputs(node: Node) -> tuple[str, ...]:
    """The tensor names a block returns: its ``outputs``, else its last wire's output."""
    return node.outputs or node.wiring[-1].outputs[:1]


def model_root(name: str, children: Sequence[Node], wires: Sequence[Wire] = (),
               returns: Sequence[str] = (), extra_inputs: Sequence[tuple[str, Shape]] = (),
               input_shape: Shape | None = None) -> Node:
    """The root of an analysed network, labelled ``model``: ``children`` wired by ``wires``
    (default: in sequence); ``returns``: its outputs when not the last child's;
    ``extra_inputs``: its inputs after the first, ``(wire name, shape)``."""
    first = next((c.output_shape for c in children if c.name == returns[0]), None) if returns \
        else None
    return Node(params=sum(c.params for c in children), macs=sum(c.macs for c in children),
                name=name, label="model", input_shape=input_shape or children[0].input_shape,
                output_shape=first or children[-1].output_shape, children=tuple(children),
                wires=tuple(wires), outputs=tuple(returns), extra_inputs=tuple(extra_inputs))
