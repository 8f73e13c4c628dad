"""The importer's intermediate representation: a graph of named tensors. Pure data, no torch.

Each :class:`IRNode` produces one tensor (``name``) from the tensors it reads (``inputs``).
``op`` is one of :data:`OPS`: an op key of the registry, or one of the importer's own
:data:`OWN_OPS`; ``attrs`` hold its hyper-parameters as plain ints, floats,
strings and tuples. ``params`` counts each parameter once, at its first use; a module called
several times is ``shared`` at every call (params at the first, MACs at each).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from convcost.cost.registry import OPS as REGISTRY

Shape = tuple[int, ...]

# Ops the importer needs that no op kind is: the model's input, a tuple's item, the splits
# that make tuples.
# Reshapes and views are the reshape kind's, transposes and permutes the transpose kind's.
OWN_OPS = frozenset({"input", "getitem", "chunk", "split"})
OPS = frozenset(REGISTRY) | OWN_OPS
"""Every IR op: the registry's op keys and :data:`OWN_OPS`."""


def frozen(attrs: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy of ``attrs`` with lists turned into tuples."""
    def fix(value: Any) -> Any:
        return tuple(fix(v) for v in value) if isinstance(value, list | tuple) else value
    return MappingProxyType({key: fix(value) for key, value in attrs.items()})


@dataclass(frozen=True)
class IRNode:
    """One op: its tensor, its module path, its hyper-parameters and measured figures."""

    name: str  # the tensor it produces, unique in the graph
    op: str
    module: str  # module path ("features.3.conv.0"), or the enclosing one for functional ops
    inputs: tuple[str, ...]
    shape: Shape  # output shape; a chunk/split's is its input's (the getitems carry theirs)
    params: int = 0
    shared: bool = False
    attrs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    target: str = ""  # what the source called it: "torch.nn.Conv2d", "aten.gelu", "Conv"

    def attr(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)


@dataclass(frozen=True)
class IRGraph:
    """A traced model: nodes in execution order, its outputs and how it was obtained."""

    source: str
    tracer: str  # "torch.fx", "torch.export" or "onnx"
    input_shape: Shape
    nodes: tuple[IRNode, ...]
    outputs: tuple[str, ...]
    model_params: int  # sum(p.numel()) of the original model (ONNX: of every node's weights)
    notes: tuple[str, ...] = ()
    classes: tuple[tuple[str, str], ...] = ()  # (module path, class name) of every module
    unused: tuple[tuple[str, int], ...] = ()  # (module path, params) of modules never run

    def __iter__(self) -> Iterator[IRNode]:
        return iter(self.nodes)

    def node(self, name: str) -> IRNode:
        return self._index()[name]

    def _index(self) -> Mapping[str, IRNode]:
        index = self.__dict__.get("_by_name")
        if index is None:
            index = {node.name: node for node in self.nodes}
            object.__setattr__(self, "_by_name", index)
        return index

    @property
    def params(self) -> int:
        return sum(node.params for node in self.nodes)

    def opaque(self) -> Counter[tuple[str, str]]:
        """``(module path, op)`` -> how many times, for every op the importer cannot express."""
        return Counter((node.module, node.target) for node in self.nodes if node.op == "opaque")

    def consumers(self) -> Mapping[str, tuple[str, ...]]:
        """tensor name -> the nodes reading it, in order."""
        users: dict[str, list[str]] = {node.name: [] for node in self.nodes}
        for node in self.nodes:
            for name in node.inputs:
                users.setdefault(name, []).append(node.name)
        return MappingProxyType({name: tuple(u) for name, u in users.items()})


def rewritten(graph: IRGraph, found: Iterable[tuple[IRNode, Iterable[str]]]) -> IRGraph:
    """``graph`` with each found node in place of the node of its name and the nodes it absorbs
    (named) dropped: a pass's fused ops."""
    fused: dict[str, IRNode] = {}
    gone: set[str] = set()
    for node, absorbed in found:
        fused[node.name] = node
        gone.update(absorbed)
    if not fused:
        return graph
    return replace(graph, nodes=tuple(fused.get(n.name, n) for n in graph.nodes if n.name not in gone))
