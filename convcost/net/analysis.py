"""Spec -> costed network, and the summaries built from it. Pure: no torch, no printing."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from typing import cast

from convcost.cost.dataflow import Step, trace
from convcost.cost.graph import INPUT as GRAPH_INPUT
from convcost.cost.graph import Node, input_tensor, model_root
from convcost.cost.groups import CONV_CLASSES, layer_class
from convcost.cost.layout import described, spatial_sizes, with_spatial
from convcost.cost.opkind import Op
from convcost.cost.ops import Conv2d
from convcost.cost.ops.opaque import uncounted as named_ops
from convcost.cost.registry import cost, op_kind, uncounted
from convcost.cost.value import Cost, Shape
from convcost.errors import SpecError
from convcost.net.expand import Scaling, expand, output_names
from convcost.spec.inputs import InputSpec
from convcost.spec.kinds import CONTAINERS, LAYER_LISTS
from convcost.spec.loader import LayerSpec, Spec, locate, produced
from convcost.spec.wiring import INPUT


@dataclass(frozen=True)
class ModelInput:
    """One input of the model: its name (``input`` unless the spec names its ``inputs:``),
    shape and layout."""

    name: str
    shape: Shape
    layout: str


@dataclass(frozen=True)
class Analysis:
    """A spec analysed at one width multiplier, resolution and batch size."""

    model: str
    input_shape: Shape
    alpha: float
    root: Node
    warnings: tuple[SpecError, ...] = ()  # layers no output needs (not counted)
    layout: str = "NCHW"  # what each axis of input_shape is (convcost.cost.layout)
    named_inputs: tuple[ModelInput, ...] = ()  # every input, the first first (): one, ``input``

    @property
    def inputs(self) -> tuple[ModelInput, ...]:
        """Every input of the model by name, the first (``input_shape``) first."""
        return self.named_inputs or (ModelInput(INPUT, self.input_shape, self.layout),)

    @property
    def input_shapes(self) -> tuple[Shape, ...]:
        """The shape of every input, in the order the model's forward takes them."""
        return tuple(i.shape for i in self.inputs)

    @property
    def totals(self) -> Cost:
        return Cost(self.root.params, self.root.macs)

    def leaves(self) -> list[Node]:
        return list(self.root.leaves())

    @cached_property
    def uncounted(self) -> Uncounted:
        """Its ``opaque`` layers and the ops they stand for: work the totals leave out."""
        return Uncounted.of(ops for leaf in self.root.leaves() if (ops := uncounted(leaf.op)) is not None)

    @property
    def complete(self) -> bool:
        """Whether every op is counted (no opaque layer): otherwise totals are lower bounds."""
        return not self.uncounted


# ops that move or name data only (no arithmetic): listed after those that may hold MACs
_FREE = frozenset({"identity", "dropout", "getitem", "reshape", "view", "transpose", "permute",
                   "flatten", "contiguous", "slice", "Tensor.unbind", "Tensor.expand", "expand",
                   "size", "cat", "split", "chunk"})


@dataclass(frozen=True)
class Uncounted:
    """The opaque layers of a spec and the ops they stand for (their MACs are not counted)."""

    layers: int = 0
    ops: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, texts: Iterable[str]) -> Uncounted:
        """Of the ``op`` texts of opaque layers, one per layer."""
        ops: Counter[str] = Counter()
        layers = 0
        for text in texts:
            layers += 1
            ops.update(named_ops(text))
        return cls(layers, ops)

    def __bool__(self) -> bool:
        return self.layers > 0

    def listed(self) -> str:
        """``N opaque layers (linear ×48, layernorm ×25, ...)``, the most frequent ops first."""
        ranked = sorted(self.ops.items(), key=lambda item: (item[0] in _FREE, -item[1]))
        items = [f"{op} ×{count}" for op, count in ranked]
        shown = ", ".join(items[:12]) + (f", and {len(items) - 12} more" if len(items) > 12 else "")
        return f"{self.layers} opaque layer{'s' * (self.layers != 1)} ({shown})"

    def message(self, model: str) -> str:
        """The one stderr line every command prints for an incomplete model."""
        return (f"warning: {model}: totals are lower bounds: MACs of {self.listed()} are not "
                "counted")

    def refusal(self, model: str) -> str:
        """The error of ``--strict`` (exit 2)."""
        return (f"--strict: {model}: figures would be lower bounds: MACs of {self.listed()} "
                "are not counted")


def spec_uncounted(spec: Spec | Sequence[LayerSpec]) -> Uncounted:
    """:class:`Uncounted` of a spec, read from its layers (no analysis): what every copy of
    every ``opaque`` layer, in containers too, stands for."""
    layers, ops = 0, Counter[str]()
    for layer in spec.layers if isinstance(spec, Spec) else spec:
        if layer.kind == "opaque":
            layers += layer.repeat
            ops.update({op: n * layer.repeat for op, n in named_ops(layer.fields["op"]).items()})
        for key in LAYER_LISTS if layer.kind in CONTAINERS else ():
            inner = spec_uncounted(layer.fields.get(key) or ())
            layers += layer.repeat * inner.layers
            ops.update({op: n * layer.repeat for op, n in inner.ops.items()})
    return Uncounted(layers, ops)


def resolve_input(spec: Spec, resolution: int | None = None, rho: float | None = None,
                  batch: int | None = None) -> Shape:
    """The input shape after command-line overrides: ``resolution`` and ``rho`` set and scale
    the image axes (H and W; L of a 1-D signal; a video's D is kept), ``batch`` the batch."""
    return _resolved(spec.input, resolution, rho, batch)


def resolve_inputs(spec: Spec, resolution: int | None = None, rho: float | None = None,
                   batch: int | None = None) -> tuple[ModelInput, ...]:
    """Every input after the overrides (:func:`resolve_input`): the batch of each; the image
    axes of each that has any (the first must)."""
    return tuple(ModelInput(name, _resolved(inp, resolution, rho, batch, i == 0), inp.layout)
                 for i, (name, inp) in enumerate(spec.inputs))


def _resolved(inp: InputSpec, resolution: int | None, rho: float | None, batch: int | None,
              strict: bool = True) -> Shape:
    shape, layout = inp.shape, inp.layout
    sizes = spatial_sizes(shape, layout)[-2:]
    if not (sizes or strict):
        resolution = rho = None
    if (resolution is not None or rho is not None) and not sizes:
        raise SpecError(f"the input is {described(shape, layout)}: it has no spatial axes to "
                        "resize (--resolution, ρ)")
    if resolution is not None:
        if resolution < 1:
            raise SpecError(f"resolution must be a positive integer, got {resolution}")
        sizes = (resolution,) * len(sizes)
    if rho is not None:
        if not (math.isfinite(rho) and rho > 0):
            raise SpecError(f"ρ must be a finite number > 0, got {rho:g}")
        sizes = tuple(round(size * rho) for size in sizes)
        if min(sizes) < 1:
            raise SpecError(f"ρ={rho:g} shrinks the input to {'×'.join(map(str, sizes))}")
    n = inp.batch if batch is None else batch
    if n < 1:
        raise SpecError(f"batch must be a positive integer, got {n}")
    depth = spatial_sizes(shape, layout)[:-2]  # a video's frames keep their count
    return with_spatial((n, *shape[1:]), layout, (*depth, *sizes))


def analyze(spec: Spec, alpha: float | None = None, resolution: int | None = None,
            rho: float | None = None, batch: int | None = None) -> Analysis:
    """Cost every layer of ``spec``; ``alpha``/``resolution``/``rho``/``batch`` override it."""
    try:
        width = spec.width_multiplier if alpha is None else alpha
        if not (math.isfinite(width) and width > 0):
            raise SpecError(f"α (width multiplier) must be > 0, got {width:g}")
        inputs = resolve_inputs(spec, resolution, rho, batch)
        x = inputs[0].shape
        wired = {i.name: (input_tensor(i.name), i.shape) for i in inputs[1:]}
        nodes, wires = expand(spec.layers, x, Scaling(width, spec.divisor),
                              {inputs[0].name: (GRAPH_INPUT, x), **wired})
    except SpecError as err:
        raise locate(err.at(spec.source, None), spec.text) from None
    root = model_root(spec.name, nodes, wires, output_names(spec.layers, spec.outputs),
                      tuple(wired.values()), x)
    return Analysis(spec.name, x, width, root, spec.warnings, spec.input.layout,
                    inputs if len(inputs) > 1 or spec.input_name != INPUT else ())


def unused_warnings(spec: Spec) -> list[str]:
    """The spec's warnings (layers no output needs, not counted), each dropped top-level layer
    with the params and MACs it holds at the spec's own input and width."""
    held: dict[str, Cost] = {}
    kept = {layer.name for layer in spec.layers}
    dropped = [layer for layer in spec.unpruned if layer.name not in kept]
    if dropped:
        outputs = spec.outputs or (spec.layers[-1].name,)
        try:
            root = analyze(replace(spec, layers=spec.unpruned,
                                   outputs=(*outputs, *(layer.name for layer in dropped)))).root
        except SpecError:  # a dropped layer that does not fit its input: no figures to give
            root = None
        nodes = {child.name: child for child in root.children} if root is not None else {}
        for layer in dropped:
            copies = [nodes.get(name) for name in produced(layer)]
            if all(copies):
                held[layer.path] = Cost(sum(n.params for n in copies if n),
                                        sum(n.macs for n in copies if n))
    return [str(warning) + (f" (it holds {held[warning.path].params:,} params and "
                            f"{held[warning.path].macs:,} MACs)" if warning.path in held else "")
            for warning in spec.warnings]


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
        dw, dense = step.node.op, step.op_kind.dense
        if layer_class(dw) != "depthwise" or dense is None:  # (the kind says its dense form)
            continue
        consumer = _consumer(readers, step.output.storage)
        pw = _pointwise(consumer.node.op) if consumer is not None else None
        if consumer is None or pw is None or pw[0] != step.node.output_shape[1]:  # its channels
            continue
        standard = cast(Conv2d, dense(dw, pw[1]))
        std = cost(standard, step.node.input_shape)
        bn = _bn_after(readers, step) + _bn_after(readers, consumer)
        pairs.append(SeparablePair(step.node, consumer.node, standard, std.macs, std.params, bn))
    return pairs


def _pointwise(op: Op | None) -> tuple[int, int] | None:
    """(in, out) channels of a 1×1 conv on the channels (the kind's ``channels_1x1`` trait): a
    pointwise conv, or a linear layer per position (ConvNeXt's); None for any other op."""
    read = op_kind(op).channels_1x1 if op is not None else None
    return read(op) if read is not None else None


def _carries(step: Step, storage: int) -> bool:
    """Whether ``step`` passes the tensor in ``storage`` on along the data path: through the
    inputs its kind's ``path`` names (not an SE gate), else through any if it is elementwise
    (BN, activations, dropout, identity)."""
    path = step.op_kind.path
    if path is None:
        return step.op_kind.elementwise
    through = path(tuple(t.shape for t in step.inputs), step.node.output_shape)
    return any(step.inputs[i].storage == storage for i in through)


def _consumer(readers: dict[int, list[Step]], storage: int) -> Step | None:
    """The first convolution reading the tensor in ``storage`` along its data path."""
    while True:
        group = readers.get(storage, [])
        conv = next((s for s in group if layer_class(s.node.op) in CONV_CLASSES), None)
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
                 if s.op_kind.folds), 0)


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
