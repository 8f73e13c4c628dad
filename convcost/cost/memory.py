"""Memory figures of an analysed network, per leaf and per model. Pure: no torch, no printing.

Every figure is bytes at one ``dtype`` (weights and activations alike):

* weight bytes = params × element size (learnable parameters; BN's running statistics are
  buffers and not counted);
* input / output bytes = the activation tensors a leaf reads / writes (a merge reads both of
  its operands);
* memory access cost (``mem_access_bytes``, ShuffleNet V2's "MAC", not multiply-accumulates)
  = input read + weights read + output written; 0 for views (flatten, inference dropout) and
  for BatchNorm folded into its conv;
* arithmetic intensity = FLOPs / memory access bytes (paper convention FLOPs = 2 × MACs);
* peak activation memory of one inference pass, by this rule: leaves run one at a time in
  the order of :mod:`convcost.cost.dataflow`; each non-view leaf writes a new tensor; a tensor is
  live from the step that writes it (the model input: from the start) to the last step that
  reads it or a view of it (an ``interpolate`` reads its reference's size, not its data);
  while a leaf runs, its inputs, its output and every tensor still needed later (a residual's
  x, a split's other half, a gate's x, a dual's side output) are live (branches of a graph are
  held until their last reader runs; the model's outputs until it returns). The peak is the
  largest sum of live bytes over all steps. Weights are not included.

``fuse_bn`` folds every op with the ``folds`` trait (BatchNorm) whose input is the output of a
``weight_grad`` leaf (conv, linear) read by that op only: the BN's params vanish, the conv
gains a bias (+Cout params) if it had none, the BN moves no data and its output is the conv's
output. MACs are unchanged (the paper
convention counts no bias).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType

from convcost.cost.dataflow import Step, Trace, trace
from convcost.cost.graph import Node
from convcost.cost.value import Cost
from convcost.errors import ConvcostError
from convcost.limits import quote

DTYPES: Mapping[str, int] = MappingProxyType(
    {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
)
"""Element size in bytes of each supported ``--dtype``."""


def element_bytes(dtype: str) -> int:
    if dtype not in DTYPES:
        raise ConvcostError(f"--dtype: must be one of {', '.join(DTYPES)}, got {quote(dtype)}")
    return DTYPES[dtype]


def intensity(flops: int, moved: int) -> Fraction | None:
    """FLOPs per byte moved, exact; None when nothing moves."""
    return Fraction(flops, moved) if moved else None


@dataclass(frozen=True)
class NodeMemory:
    """Bytes of one node at one dtype. ``status``: "" (moves data), "view" or "folded" (BN).

    For a block: its input and output tensors, and the sums (peak: the max) over its leaves.
    """

    node: Node
    params: int
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    mem_access_bytes: int
    live_bytes: int
    status: str = ""

    @property
    def flops(self) -> int:
        return self.node.flops

    @property
    def intensity(self) -> Fraction | None:
        return intensity(self.flops, self.mem_access_bytes)


@dataclass(frozen=True)
class ModelMemory:
    """Memory figures of a whole node tree at one dtype, leaves in tree order."""

    dtype: str
    element_bytes: int
    fused_bn: bool
    leaves: tuple[NodeMemory, ...]
    input_bytes: int
    output_bytes: int
    peak_bytes: int
    peak_leaf: str

    @property
    def cost(self) -> Cost:
        """Params (after folding, if ``fused_bn``) and MACs of every leaf."""
        return Cost(sum(leaf.params for leaf in self.leaves),
                    sum(leaf.node.macs for leaf in self.leaves))

    @property
    def params(self) -> int:
        return self.cost.params

    @property
    def macs(self) -> int:
        return self.cost.macs

    @property
    def flops(self) -> int:
        return self.cost.flops

    @property
    def weight_bytes(self) -> int:
        return sum(leaf.weight_bytes for leaf in self.leaves)

    @property
    def mem_access_bytes(self) -> int:
        return sum(leaf.mem_access_bytes for leaf in self.leaves)

    @property
    def intensity(self) -> Fraction | None:
        return intensity(self.flops, self.mem_access_bytes)

    def of(self, node: Node) -> NodeMemory:
        """The figures of any node of the tree: a leaf's own, or a block's sums."""
        if node.is_leaf:
            return self._by_leaf[id(node)]
        parts = [self._by_leaf[id(leaf)] for leaf in node.leaves()]
        return NodeMemory(
            node, sum(p.params for p in parts), sum(p.weight_bytes for p in parts),
            sum(math.prod(x) for x in (node.input_shape, *(s for _, s in node.extra_inputs)))
            * self.element_bytes, math.prod(node.output_shape) * self.element_bytes,
            sum(p.mem_access_bytes for p in parts), max(p.live_bytes for p in parts))

    @cached_property
    def _by_leaf(self) -> dict[int, NodeMemory]:
        return {id(leaf.node): leaf for leaf in self.leaves}

    @property
    def sizes(self) -> dict[str, int]:
        """Model size (parameter bytes) for every dtype."""
        return {name: self.params * size for name, size in DTYPES.items()}


def _folds(tr: Trace) -> dict[int, int]:
    """Step index of each foldable BatchNorm -> step index of the conv/linear it folds into."""
    producer = {step.output.storage: i for i, step in enumerate(tr.steps) if not step.view}
    readers: dict[int, int] = {}
    for step in tr.steps:
        for tensor in step.data:
            readers[tensor.storage] = readers.get(tensor.storage, 0) + 1
    folds: dict[int, int] = {}
    for i, step in enumerate(tr.steps):
        source = step.inputs[0].storage
        j = producer.get(source)
        if (step.op_kind.folds and j is not None and readers[source] == 1
                and tr.steps[j].op_kind.weight_grad):
            folds[i] = j
    return folds


def _folded_params(step: Step, folded_into: bool) -> int:
    """Params of a conv/linear after a BN folds into it: it gains a bias if it had none."""
    if folded_into and not getattr(step.node.op, "bias", True):
        return step.node.params + step.node.output_shape[1]
    return step.node.params


def _live_bytes(tr: Trace, alias: Mapping[int, int], size: int) -> list[int]:
    """Activation bytes live during each step (see the module docstring for the rule)."""
    count = len(tr.steps)
    first: dict[int, int] = {t.storage: 0 for t in tr.inputs}
    last: dict[int, int] = {t.storage: 0 for t in tr.inputs}
    for i, step in enumerate(tr.steps):
        for tensor in step.data:  # a size's source need not be held
            last[alias.get(tensor.storage, tensor.storage)] = i
        out = alias.get(step.output.storage, step.output.storage)
        first.setdefault(out, i)
        last[out] = max(last.get(out, i), i)
    for tensor in tr.outputs:  # the model's outputs are held until it returns
        last[alias.get(tensor.storage, tensor.storage)] = count - 1
    delta = [0] * (count + 1)
    for storage, start in first.items():
        delta[start] += tr.storage_elements[storage] * size
        delta[last[storage] + 1] -= tr.storage_elements[storage] * size
    live, running = [], 0
    for i in range(count):
        running += delta[i]
        live.append(running)
    return live


def model_memory(root: Node, dtype: str = "float32", fuse_bn: bool = False) -> ModelMemory:
    """Bytes of every leaf of ``root`` at ``dtype``, and the model's peak activation memory."""
    size = element_bytes(dtype)
    tr = trace(root)
    folds = _folds(tr) if fuse_bn else {}
    targets = set(folds.values())
    alias = {tr.steps[i].output.storage: tr.steps[j].output.storage for i, j in folds.items()}
    live = _live_bytes(tr, alias, size)
    by_node: dict[int, NodeMemory] = {}
    for i, step in enumerate(tr.steps):
        status = "folded" if i in folds else "view" if step.view else ""
        params = 0 if status == "folded" else _folded_params(step, i in targets)
        reads = sum(t.elements for t in step.data) * size
        writes = step.output.elements * size
        moved = 0 if status else reads + params * size + writes
        by_node[id(step.node)] = NodeMemory(step.node, params, params * size, reads, writes,
                                            moved, live[i], status)
    leaves = tuple(by_node[id(leaf)] for leaf in root.leaves())
    peak = max(range(len(live)), key=live.__getitem__)
    return ModelMemory(dtype, size, fuse_bn, leaves, sum(t.elements for t in tr.inputs) * size,
                       sum(t.elements for t in tr.outputs) * size, live[peak],
                       tr.steps[peak].node.name)
