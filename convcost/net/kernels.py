"""The kernels a backend runs, and their shape features. Pure.

A *kernel* is what a CPU runtime executes as one call: onnxruntime folds BatchNorm into the
conv and fuses the activation after it (and after an add); torch's eager mode dispatches
the same ops back to back, but conv+BN+act is the unit a designer changes. The detection
rules, over the fused groups (:func:`convcost.cost.groups.fused_groups`) in run order:

- a conv, depthwise conv, linear or add group, followed by the BN and activation leaves of
  its output (the next groups, when each is a BatchNorm or an activation whose input has the
  shape the previous output had), is one kernel: ``conv``, ``dwconv``, ``linear``, ``add``;
- a max, average or adaptive pool is a ``pool`` kernel;
- a view (flatten, dropout at inference, identity) runs nothing: no kernel;
- any other leaf (a lone BN or activation, SE scale, mul, concat, shuffle, upsample, norms)
  is an ``elementwise`` kernel.

Each class has its own feature basis (:data:`FEATURES`): the shape figures its time grows
with. ``act_elems`` is the output size when the kernel ends in an activation dearer than a
ReLU (hardswish, sigmoid, SiLU, GELU, ...), else 0; ``bn_elems`` the output size when a
BatchNorm is in the kernel, else 0; ``relu_elems`` the output size when a ReLU-cheap
activation is; ``max_window`` a max pool's window, else 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from convcost.cost.graph import Node
from convcost.cost.groups import fused_groups
from convcost.cost.ops import Activation, BatchNorm, Conv2d, Linear
from convcost.cost.ops.merge import Add
from convcost.cost.ops.pool import AdaptivePool, Pool
from convcost.cost.ops.transpose import ConvTranspose2d
from convcost.cost.ops.views import Dropout, Flatten, Identity

KERNEL_CLASSES = ("conv", "dwconv", "linear", "add", "pool", "elementwise")
FEATURES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # conv: MACs; MACs / (cin per group) = outputs·k², the per-output window work; MACs / cout
    # = the im2col patch elements; the output (act, write); the weights; one
    # call; bn_elems: the output when a BatchNorm follows (eager torch runs it apart)
    "conv": ("macs", "window", "patches", "in_elems", "out_elems", "bn_elems", "act_elems", "weights",
             "one"),
    "dwconv": ("macs", "in_elems", "out_elems", "bn_elems", "act_elems", "one"),
    "linear": ("macs", "in_elems", "weights", "one"),
    "add": ("in_elems", "out_elems", "relu_elems", "act_elems", "one"),
    # pool: max pools compare (max_window = window for a max pool, else 0), avg pools add
    "pool": ("window", "max_window", "in_elems", "out_elems", "one"),
    "elementwise": ("in_elems", "out_elems", "bn_elems", "relu_elems", "act_elems", "one"),
})
CHEAP_ACTS = frozenset({"relu", "relu6", "leaky_relu", "hardtanh", "prelu"})
VIEWS = (Flatten, Dropout, Identity)


@dataclass(frozen=True)
class Kernel:
    """One kernel: the groups it spans (their names), its class and its feature values."""

    name: str
    kernel_class: str
    groups: tuple[Node, ...]
    features: Mapping[str, float]

    def vector(self) -> tuple[float, ...]:
        return tuple(self.features[f] for f in FEATURES[self.kernel_class])


def head_class(node: Node) -> str | None:
    """The class a group starts (None: a view, no kernel)."""
    op = next(node.leaves()).op
    if isinstance(op, Conv2d):
        return "dwconv" if op.conv_class == "depthwise" else "conv"
    if isinstance(op, ConvTranspose2d):
        return "conv"
    if isinstance(op, Linear):  # per position: a 1×1 conv on the channels (ConvNeXt's MLP)
        return "conv" if op.per_position else "linear"
    if isinstance(op, Add):
        return "add"
    if isinstance(op, Pool | AdaptivePool):
        return "pool"
    if isinstance(op, VIEWS):
        return None
    return "elementwise"


def _fusable(group: Node, previous: Node) -> bool:
    """A BN or activation leaf reading a tensor of the previous group's output shape."""
    return (group.is_leaf and isinstance(group.op, BatchNorm | Activation)
            and group.input_shape == previous.output_shape)


def spans(root: Node) -> Iterator[tuple[str, tuple[Node, ...]]]:
    """``(class, groups)`` of every kernel of ``root``, in run order."""
    groups = list(fused_groups(root))
    i = 0
    while i < len(groups):
        cls = head_class(groups[i])
        span = [groups[i]]
        i += 1
        if cls in ("conv", "dwconv", "linear", "add"):
            while i < len(groups) and _fusable(groups[i], span[-1]):
                span.append(groups[i])
                i += 1
        if cls is not None:
            yield cls, tuple(span)


def _elements(shape: Sequence[int]) -> int:
    return math.prod(shape)


def _act_elems(span: Sequence[Node], cheap: bool = False) -> int:
    """The output size when the span has a dear activation (``cheap``: a cheap one), else 0."""
    found = any(isinstance(leaf.op, Activation) and (leaf.op.fn in CHEAP_ACTS) == cheap
                for g in span for leaf in g.leaves())
    return _elements(span[-1].output_shape) if found else 0


def _bn_elems(span: Sequence[Node]) -> int:
    bn = any(isinstance(leaf.op, BatchNorm) for g in span for leaf in g.leaves())
    return _elements(span[-1].output_shape) if bn else 0


def features(cls: str, span: Sequence[Node]) -> dict[str, float]:
    """Every feature of a kernel (the class's basis picks from these)."""
    head = next(span[0].leaves())
    op = head.op
    macs = sum(g.macs for g in span)
    ins = _elements(head.input_shape) * (op.inputs if isinstance(op, Add) else 1)
    outs = _elements(span[-1].output_shape)
    window, patches = float(outs), float(ins)
    max_window = 0
    if isinstance(op, Conv2d | ConvTranspose2d):
        window = macs / max(1, op.in_channels // op.groups)
        patches = macs / max(1, op.out_channels)
    elif isinstance(op, Linear) and op.per_position:
        window, patches = macs / max(1, op.in_features), macs / max(1, op.out_features)
    elif isinstance(op, Pool):
        window = outs * op.kernel[0] * op.kernel[1]
        max_window = window if op.mode == "max" else 0
    elif isinstance(op, AdaptivePool):
        window = ins
        max_window = window if op.mode == "max" else 0
    return {"macs": float(macs), "window": float(window), "patches": float(patches),
            "in_elems": float(ins), "out_elems": float(outs), "act_elems": float(_act_elems(span)),
            "max_window": float(max_window), "bn_elems": float(_bn_elems(span)),
            "relu_elems": float(_act_elems(span, cheap=True)),
            "weights": float(sum(g.params for g in span)), "one": 1.0}


def detect(root: Node) -> list[Kernel]:
    """The kernels of ``root`` in run order, with their features."""
    return [Kernel(span[0].name, cls, span, MappingProxyType(features(cls, span)))
            for cls, span in spans(root)]
