"""The kernels a backend runs, and their shape features. Pure.

A *kernel* is what a CPU runtime executes as one call. For the ``torch`` backend (eager
mode dispatches conv, BN and activation back to back; conv+BN+act is the unit a designer
changes) the rules run over the fused groups (:func:`convcost.cost.groups.fused_groups`) in
run order:

- a conv, depthwise conv, linear or add group, followed by the BN and activation leaves of
  its output (the next groups, when each is a BatchNorm or an activation whose input has the
  shape the previous output had), is one kernel: ``conv``, ``dwconv``, ``linear``, ``add``;
- a max, average or adaptive pool is a ``pool`` kernel;
- a view (flatten, dropout at inference, identity) runs nothing: no kernel;
- any other leaf (a lone BN or activation, SE scale, mul, concat, shuffle, upsample, norms)
  is an ``elementwise`` kernel.

For ``onnxruntime`` they follow what its graph optimiser really fuses (:func:`_ort_spans`):
BN folds into the conv; only some activations fuse (a hardswish, SiLU or GELU after a conv
is an ``elementwise`` kernel of its own; after a Gemm only a ReLU fuses); a residual add
folds into the conv before it (NCHWc ``Sum``) with its ReLU, and a lone add's ReLU is a
kernel of its own.

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
from convcost.cost.opkind import KernelForm
from convcost.cost.registry import label, op_kind

KERNEL_CLASSES = ("conv", "dwconv", "linear", "add", "pool", "elementwise", "attention")
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
    # attention: its matmuls (MACs, with MHA's projections), the B·heads·Lq·Lk scores the
    # softmax reads and writes, q + k + v read, the output
    "attention": ("macs", "scores", "in_elems", "out_elems", "one"),
})
CHEAP_ACTS = frozenset({"relu", "relu6", "leaky_relu", "hardtanh", "prelu"})
ELEMENTWISE = KernelForm("elementwise")  # of a kind that declares no kernel
# onnxruntime 1.32's CPU fusions, checked against its optimised graph (tests/torch/test_kernels_ort.py):
# a conv takes Relu, Clip (ReLU6, hardtanh), LeakyRelu, Sigmoid, Tanh, HardSigmoid; a Gemm only Relu
CONV_ACTS = frozenset({"relu", "relu6", "hardtanh", "leaky_relu", "sigmoid", "tanh", "hardsigmoid"})
ORT_FUSED_ACTS: Mapping[str, frozenset[str]] = MappingProxyType({
    "conv": CONV_ACTS, "dwconv": CONV_ACTS, "linear": frozenset({"relu"})})
NCHWC_BLOCK = 8  # onnxruntime's NCHWc block on AVX2 (16 on AVX-512)


@dataclass(frozen=True)
class Kernel:
    """One kernel: the groups it spans (their names), its class and its feature values."""

    name: str
    kernel_class: str
    groups: tuple[Node, ...]
    features: Mapping[str, float]

    def vector(self) -> tuple[float, ...]:
        return tuple(self.features[f] for f in FEATURES[self.kernel_class])


def kernel_form(leaf: Node) -> KernelForm | None:
    """The kernel a leaf starts, as its kind declares it (``OpKind.kernel``); None: a view."""
    assert leaf.op is not None, "a leaf"
    read = op_kind(leaf.op).kernel
    return ELEMENTWISE if read is None else read(leaf.op, leaf.input_shape)


def head_class(node: Node) -> str | None:
    """The class a group starts (None: a view, no kernel)."""
    form = kernel_form(next(node.leaves()))
    return None if form is None else form.cls


def act_fn(leaf: Node) -> str | None:
    """An activation's function: the label of a fused epilogue that does not fold (a BN folds)."""
    assert leaf.op is not None, "a leaf"
    kind = op_kind(leaf.op)
    return label(leaf.op) if kind.fusion == "epilogue" and not kind.folds else None


def is_bn(leaf: Node) -> bool:
    """A BatchNorm: the epilogue that folds into the conv before it."""
    return leaf.op is not None and op_kind(leaf.op).folds


def _fusable(group: Node, previous: Node) -> bool:
    """A BN or activation leaf reading a tensor of the previous group's output shape."""
    return (group.is_leaf and group.op is not None and op_kind(group.op).fusion == "epilogue"
            and group.input_shape == previous.output_shape)


def spans(root: Node, backend: str = "torch") -> Iterator[tuple[str, tuple[Node, ...]]]:
    """``(class, groups)`` of every kernel of ``root``, in run order (onnxruntime: leaves)."""
    if backend == "onnxruntime":
        yield from _ort_spans([leaf for g in fused_groups(root) for leaf in g.leaves()])
        return
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


def _ort_act(leaf: Node, cls: str, previous: Node) -> bool:
    """An activation onnxruntime fuses into the ``cls`` kernel before it."""
    return (act_fn(leaf) in ORT_FUSED_ACTS.get(cls, ())
            and leaf.input_shape == previous.output_shape)


def _ort_add(leaf: Node, previous: Node) -> bool:
    """A residual add onnxruntime's NCHWc transformer folds into the conv before it (as its
    Sum input): same shape, channels a multiple of the block."""
    return (head_class(leaf) == "add" and leaf.output_shape == previous.output_shape
            and len(leaf.output_shape) == 4 and leaf.output_shape[1] % NCHWC_BLOCK == 0)


def _ort_spans(leaves: Sequence[Node]) -> Iterator[tuple[str, tuple[Node, ...]]]:
    """onnxruntime (all optimisations): BN folds into the conv or linear before it; an
    activation of :data:`ORT_FUSED_ACTS` fuses, any other is a kernel of its own; a conv
    without an activation takes the residual add after it, then that add's activation."""
    i = 0
    while i < len(leaves):
        cls, span = head_class(leaves[i]), [leaves[i]]
        i += 1
        if cls is None:
            continue
        while cls in ("conv", "dwconv", "linear") and i < len(leaves) and (
                _fusable(leaves[i], span[-1]) and is_bn(leaves[i])):
            span.append(leaves[i])
            i += 1
        if cls in ("conv", "dwconv") and i < len(leaves) and _ort_add(leaves[i], span[-1]):
            span.append(leaves[i])
            i += 1
        if cls in ORT_FUSED_ACTS and i < len(leaves) and _ort_act(leaves[i], cls, span[-1]):
            span.append(leaves[i])
            i += 1
        yield cls, tuple(span)


def _elements(shape: Sequence[int]) -> int:
    return math.prod(shape)


def _act_elems(span: Sequence[Node], cheap: bool = False) -> int:
    """The output size when the span has a dear activation (``cheap``: a cheap one), else 0."""
    found = any((fn := act_fn(leaf)) is not None and (fn in CHEAP_ACTS) == cheap
                for g in span for leaf in g.leaves())
    return _elements(span[-1].output_shape) if found else 0


def _bn_elems(span: Sequence[Node]) -> int:
    bn = any(is_bn(leaf) for g in span for leaf in g.leaves())
    return _elements(span[-1].output_shape) if bn else 0


def features(cls: str, span: Sequence[Node]) -> dict[str, float]:
    """Every feature of a kernel (the class's basis picks from these), from the kernel form
    its head's kind declares."""
    head = next(span[0].leaves())
    form = kernel_form(head) or ELEMENTWISE
    macs = sum(g.macs for g in span)
    ins = _elements(head.input_shape) * form.inputs
    outs = _elements(span[-1].output_shape)
    window, patches = float(outs), float(ins)
    max_window = 0.0
    if form.fan_in:  # a conv, a linear per position: MACs per window, per patch element
        window, patches = macs / max(1, form.fan_in), macs / max(1, form.fan_out)
    elif form.pool:  # a windowed pool reads its window per output; an adaptive one the input
        window = outs * form.window if form.window else ins
        max_window = window if form.pool == "max" else 0
    elif form.cls == "attention":
        ins, window = form.reads, form.scores
    return {"macs": float(macs), "window": float(window), "patches": float(patches),
            "in_elems": float(ins), "out_elems": float(outs), "act_elems": float(_act_elems(span)),
            "max_window": float(max_window), "bn_elems": float(_bn_elems(span)), "scores": float(window),
            "relu_elems": float(_act_elems(span, cheap=True)),
            "weights": float(sum(g.params for g in span)), "one": 1.0}


def detect(root: Node, backend: str = "torch") -> list[Kernel]:
    """The kernels of ``root`` that ``backend`` runs, in run order, with their features."""
    return [Kernel(span[0].name, cls, span, MappingProxyType(features(cls, span)))
            for cls, span in spans(root, backend)]
