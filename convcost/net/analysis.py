"""Spec -> costed network, and the summaries built from it. Pure: no torch, no printing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from convcost.cost.dataflow import Step, trace
from convcost.cost.graph import Node, model_root
from convcost.cost.groups import layer_class
from convcost.cost.ops import BatchNorm, Conv2d, Linear, Mul, Scale
from convcost.cost.ops.conv import conv2d
from convcost.cost.value import Cost, Shape
from convcost.errors import SpecError
from convcost.net.expand import Scaling, expand, output_names
from convcost.spec.loader import Spec, locate


@dataclass(frozen=True)
class Analysis:
    """A spec analysed at one width multiplier, resolution and batch size."""

    model: str
    input_shape: Shape
    alpha: float
    root: Node
    warnings: tuple[SpecError, ...] = ()  # layers no output needs (not counted)

    @property
    def totals(self) -> Cost:
        return Cost(self.root.params, self.root.macs)

    def leaves(self) -> list[Node]:
        return list(self.root.leaves())


def resolve_input(spec: Spec, resolution: int | None = None, rho: float | None = None,
                  batch: int | None = None) -> Shape:
    """The input shape after command-line overrides (resolution, ρ, batch)."""
    h, w = spec.input.height, spec.input.width
    if resolution is not None:
        if resolution < 1:
            raise SpecError(f"resolution must be a positive integer, got {resolution}")
        h = w = resolution
    if rho is not None:
        if not (math.isfinite(rho) and rho > 0):
            raise SpecError(f"ρ must be a finite number > 0, got {rho:g}")
        h, w = round(h * rho), round(w * rho)
        if min(h, w) < 1:
            raise SpecError(f"ρ={rho:g} shrinks the input to {h}×{w}")
    n = spec.input.batch if batch is None else batch
    if n < 1:
        raise SpecError(f"batch must be a positive integer, got {n}")
    return (n, spec.input.channels, h, w)


def analyze(spec: Spec, alpha: float | None = None, resolution: int | None = None,
            rho: float | None = None, batch: int | None = None) -> Analysis:
    """Cost every layer of ``spec``; ``alpha``/``resolution``/``rho``/``batch`` override it."""
    try:
        width = spec.width_multiplier if alpha is None else alpha
        if not (math.isfinite(width) and width > 0):
            raise SpecError(f"α (width multiplier) must be > 0, got {width:g}")
        x = resolve_input(spec, resolution, rho, batch)
        nodes, wires = expand(spec.layers, x, Scaling(width, spec.divisor))
    except SpecError as err:
        raise locate(err.at(spec.source, None), spec.text) from None
    root = model_root(spec.name, nodes, wires, output_names(spec.layers, spec.outputs))
    return Analysis(spec.name, x, width, root, spec.warnings)


# -- summaries -------------------------------------------------------------------------

LAYER_CLASSES = ("standard", "depthwise", "pointwise", "grouped", "fully connected", "other")


@dataclass(frozen=True, kw_only=True)
class ClassShare(Cost):
    """The params and MACs of one layer class (MobileNet Table 2)."""

    layer_class: str


def by_layer_class(analysis: Analysis) -> list[ClassShare]:
    """MobileNet Table 2: MACs and params per layer class (other = BN, SE gates, ...)."""
    params = dict.fromkeys(LAYER_CLASSES, 0)
    macs = dict.fromkeys(LAYER_CLASSES, 0)
    for leaf in analysis.leaves():
        cls = layer_class(leaf.op)
        params[cls] += leaf.params
        macs[cls] += leaf.macs
    return [ClassShare(params=params[k], macs=macs[k], layer_class=k)
            for k in LAYER_CLASSES if params[k] or macs[k]]


@dataclass(frozen=True)
class SeparablePair:
    """A depthwise conv followed by a pointwise conv, against the standard conv it replaces."""

    depthwise: Node
    pointwise: Node
    standard: Conv2d
    standard_macs: int
    standard_params: int
    bn_params: int

    @property
    def macs(self) -> int:
        return self.depthwise.macs + self.pointwise.macs

    @property
    def params(self) -> int:
        return self.depthwise.params + self.pointwise.params

    @property
    def macs_ratio(self) -> Fraction:
        return Fraction(self.macs, self.standard_macs)

    @property
    def theory(self) -> Fraction:
        """``1/N + 1/K²`` with N output channels and K² = kh·kw."""
        return Fraction(1, self.standard.out_channels) + Fraction(
            1, self.standard.kernel[0] * self.standard.kernel[1]
        )


def separable_pairs(analysis: Analysis) -> list[SeparablePair]:
    """Every depthwise conv with the pointwise conv that consumes its output on the data path
    (or a linear layer per position: ConvNeXt's dw → LayerNorm → Linear).

    The path follows the depthwise output through BatchNorm, activations, dropout and the
    gated input of a squeeze-excitation (``x · gate``): the SE's own 1×1 convs read a pooled
    side branch and never pair. The BN right after each conv is counted with the pair.
    """
    steps = trace(analysis.root).steps
    readers: dict[int, list[Step]] = {}
    for step in steps:
        for storage in dict.fromkeys(t.storage for t in step.inputs):
            readers.setdefault(storage, []).append(step)
    pairs: list[SeparablePair] = []
    for step in steps:
        dw = step.node.op
        if not (isinstance(dw, Conv2d) and dw.conv_class == "depthwise"):
            continue
        consumer = _consumer(readers, step.output.storage)
        pw = _pointwise(consumer.node.op) if consumer is not None else None
        if consumer is None or pw is None or pw[0] != dw.out_channels:
            continue
        standard = Conv2d(dw.in_channels, pw[1], dw.kernel, dw.stride, dw.padding,
                          dw.dilation, 1, dw.bias)
        std = conv2d(standard, step.node.input_shape)
        bn = _bn_after(readers, step) + _bn_after(readers, consumer)
        pairs.append(SeparablePair(step.node, consumer.node, standard, std.macs, std.params, bn))
    return pairs


def _pointwise(op: object) -> tuple[int, int] | None:
    """(in, out) channels of a 1×1 conv on the channels: a pointwise conv, or a linear layer
    per position (ConvNeXt's); None for any other op."""
    if isinstance(op, Conv2d) and op.conv_class == "pointwise":
        return op.in_channels, op.out_channels
    if isinstance(op, Linear) and op.per_position:
        return op.in_features, op.out_features
    return None


def _carries(step: Step, storage: int) -> bool:
    """Whether ``step`` passes the tensor in ``storage`` on along the data path."""
    if isinstance(step.node.op, Scale):  # x · gate: the path runs through x, its first input
        return step.inputs[0].storage == storage
    if isinstance(step.node.op, Mul):  # a * gate: through the input the gate broadcasts over
        return any(t.storage == storage and t.shape == step.node.output_shape
                   for t in step.inputs)
    return step.op_kind.elementwise  # BN, activations, dropout, identity


def _consumer(readers: dict[int, list[Step]], storage: int) -> Step | None:
    """The first convolution reading the tensor in ``storage`` along its data path."""
    while True:
        group = readers.get(storage, [])
        conv = next((s for s in group if isinstance(s.node.op, Conv2d)
                     or _pointwise(s.node.op) is not None), None)
        if conv is not None:
            return conv
        # a view (dropout) keeps the storage: its readers are in this group already
        carrier = next((s for s in group if _carries(s, storage)
                        and s.output.storage != storage), None)
        if carrier is None:
            return None
        storage = carrier.output.storage


def _bn_after(readers: dict[int, list[Step]], conv: Step) -> int:
    """Params of the BatchNorm that reads ``conv``'s output directly (0 if none)."""
    return next((s.node.params for s in readers.get(conv.output.storage, [])
                 if isinstance(s.node.op, BatchNorm)), 0)


@dataclass(frozen=True)
class StandardEquivalent:
    """The same net with every separable pair replaced by one standard conv (+ one BN)."""

    params: int
    macs: int
    pairs: int


def standard_equivalent(analysis: Analysis) -> StandardEquivalent:
    params, macs = analysis.totals.params, analysis.totals.macs
    pairs = separable_pairs(analysis)
    for pair in pairs:
        one_bn = 2 * pair.standard.out_channels if pair.bn_params else 0
        params += pair.standard_params + one_bn - pair.params - pair.bn_params
        macs += pair.standard_macs - pair.macs
    return StandardEquivalent(params, macs, len(pairs))
