"""Training cost: forward + backward MACs per layer, analytically. Pure.

Under the paper convention only convolutions and linear layers cost MACs, backward too:

* grad-input  = forward MACs: the transposed convolution runs the same kernel over the same
  ``N·Cout·Ho·Wo`` output gradients, ``(Cin/g)·kh·kw`` MACs each (linear: ``N·F·O``);
* grad-weight = forward MACs for any ``groups``: each of the ``Cout·(Cin/g)·kh·kw`` weights
  sums ``N·Ho·Wo`` products (linear: ``O·F`` weights, ``N`` products each);
* grad-input is skipped when the layer's input needs no gradient: the model input and every
  tensor computed from it before the first learnable parameter (as autograd does).
  Bias gradients are sums, BatchNorm backward is elementwise: 0 MACs, like their forward.

``torch.utils.flop_counter.FlopCounterMode`` agrees for ``groups = 1``. For grouped and
depthwise convolutions it counts grad-weight as ``N·Ho·Wo·Cout·Cin·kh·kw``, ``g`` times too
many (docs/conventions.md, "Bugs found in the tools").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from convcost.cost.dataflow import trace
from convcost.cost.graph import Node
from convcost.cost.registry import op_kind


def has_weight_grad(node: Node) -> bool:
    """Whether a leaf's backward costs MACs: the ``weight_grad`` trait (conv, linear)."""
    return node.op is not None and op_kind(node.op).weight_grad


@dataclass(frozen=True)
class LeafTraining:
    """One leaf's backward MACs; their sums over a tree are :class:`Training`'s."""

    node: Node
    grad_input_macs: int
    grad_weight_macs: int

    @property
    def forward_macs(self) -> int:
        return self.node.macs


def backward(node: Node, input_needs_grad: bool = True) -> LeafTraining:
    """Backward MACs of one leaf (see the module docstring)."""
    if not has_weight_grad(node):
        return LeafTraining(node, 0, 0)
    return LeafTraining(node, node.macs if input_needs_grad else 0, node.macs)


@dataclass(frozen=True)
class Training:
    """Per-leaf training MACs of a node tree, leaves in tree order."""

    leaves: tuple[LeafTraining, ...]

    def of(self, leaf: Node) -> LeafTraining:
        return self._by_leaf[id(leaf)]

    @cached_property
    def _by_leaf(self) -> dict[int, LeafTraining]:
        return {id(leaf.node): leaf for leaf in self.leaves}

    @property
    def forward_macs(self) -> int:
        return sum(leaf.forward_macs for leaf in self.leaves)

    @property
    def grad_input_macs(self) -> int:
        return sum(leaf.grad_input_macs for leaf in self.leaves)

    @property
    def grad_weight_macs(self) -> int:
        return sum(leaf.grad_weight_macs for leaf in self.leaves)

    @property
    def backward_macs(self) -> int:
        return self.grad_input_macs + self.grad_weight_macs

    @property
    def total_macs(self) -> int:
        return self.forward_macs + self.backward_macs


def training(root: Node, input_needs_grad: bool = False) -> Training:
    """Forward + backward MACs of every leaf of ``root``; the input needs no grad by default."""
    tr = trace(root)
    needs_grad = {t.storage: input_needs_grad for t in tr.inputs}
    by_node: dict[int, LeafTraining] = {}
    for step in tr.steps:
        grad_in = any(needs_grad.get(t.storage, False) for t in step.inputs)
        by_node[id(step.node)] = backward(step.node, grad_in)
        needs_grad[step.output.storage] = grad_in or (step.op_kind.learnable and step.node.params > 0)
    return Training(tuple(by_node[id(leaf)] for leaf in root.leaves()))
