"""Training cost: forward + backward MACs per layer, analytically. Pure.

Under the paper convention only convolutions and linear layers cost MACs, backward too:

* grad-input  = forward MACs: the transposed convolution runs the same kernel over the same
  ``N·Cout·Ho·Wo`` output gradients, ``(Cin/g)·kh·kw`` MACs each (linear: ``N·F·O``);
* grad-weight = forward MACs for any ``groups``: each of the ``Cout·(Cin/g)·kh·kw`` weights
  sums ``N·Ho·Wo`` products (linear: ``O·F`` weights, ``N`` products each);
* grad-input is skipped when the layer's input needs no gradient: the model input and every
  tensor computed from it before the first learnable parameter (as autograd does).
  Bias gradients are sums, BatchNorm backward is elementwise: 0 MACs, like their forward.

Contractions and attention have their own rule (:attr:`convcost.cost.opkind.OpKind.backward`):

* ``C = A·B`` (matmul, bmm, einsum): ``dA = dC·Bᵀ`` and ``dB = Aᵀ·dC``, each the forward's
  MACs, for each operand that needs a gradient (grad-input: neither is a parameter);
* attention: back through its two matmuls, ``dV = Pᵀ·dO`` and ``dP = dO·Vᵀ`` (A·V's MACs),
  ``dQ = dS·K`` and ``dK = dSᵀ·Q`` (Q·Kᵀ's); the softmax is not counted, as in the forward;
* ``multihead_attention`` and ``mobile_mqa``: their projections as linear layers / convs
  (grad-weight), their attention as above (every inner tensor needs a gradient).

A leaf whose kind has forward MACs and no backward rule, or an opaque layer, is not counted:
the training figure then says it is a lower bound (:attr:`Training.no_backward_rule`).

``torch.utils.flop_counter.FlopCounterMode`` agrees for ``groups = 1``. For grouped and
depthwise convolutions it counts grad-weight as ``N·Ho·Wo·Cout·Cin·kh·kw``, ``g`` times too
many (docs/conventions.md, "Bugs found in the tools").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from convcost.cost.dataflow import trace
from convcost.cost.graph import Node
from convcost.cost.opkind import Op
from convcost.cost.registry import cost, op_kind, uncounted
from convcost.cost.value import Shape


@dataclass(frozen=True)
class LeafTraining:
    """One leaf's backward MACs; their sums over a tree are :class:`Training`'s. ``counted``
    is False when its backward is not known (no rule for its kind, or an opaque layer)."""

    node: Node
    grad_input_macs: int
    grad_weight_macs: int
    counted: bool = True

    @property
    def forward_macs(self) -> int:
        return self.node.macs


def op_backward(op: Op, x: Shape, needs: Sequence[bool]) -> tuple[int, int] | None:
    """``(grad-input, grad-weight)`` MACs of ``op`` on input ``x``, ``needs[i]`` whether its
    i-th input needs a gradient; None when its kind has forward MACs and no backward rule."""
    kind = op_kind(op)
    if kind.backward is not None:
        return kind.backward(op, x, tuple(needs))
    macs = cost(op, x).macs
    if kind.weight_grad:
        return (macs if any(needs) else 0), macs
    return (0, 0) if macs == 0 else None


def backward(node: Node, needs: Sequence[bool] = (True,)) -> LeafTraining:
    """Backward MACs of one leaf (see the module docstring)."""
    assert node.op is not None, "backward of a leaf"
    found = None if uncounted(node.op) is not None else op_backward(node.op, node.input_shape, needs)
    if found is None:
        return LeafTraining(node, 0, 0, counted=False)
    return LeafTraining(node, *found)


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

    @cached_property
    def no_backward_rule(self) -> Counter[str]:
        """The kinds of the leaves whose backward is not counted, with their counts: when any,
        the backward and training totals are lower bounds."""
        return Counter(leaf.node.op.key for leaf in self.leaves
                       if not leaf.counted and leaf.node.op is not None)

    @property
    def complete(self) -> bool:
        return not self.no_backward_rule


def training(root: Node, input_needs_grad: bool = False) -> Training:
    """Forward + backward MACs of every leaf of ``root``; the input needs no grad by default."""
    tr = trace(root)
    needs_grad = {t.storage: input_needs_grad for t in tr.inputs}
    by_node: dict[int, LeafTraining] = {}
    for step in tr.steps:
        needs = [needs_grad.get(t.storage, False) for t in step.inputs]
        grad_in = any(needs)
        by_node[id(step.node)] = backward(step.node, needs)
        needs_grad[step.output.storage] = grad_in or (step.op_kind.learnable and step.node.params > 0)
    return Training(tuple(by_node[id(leaf)] for leaf in root.leaves()))
