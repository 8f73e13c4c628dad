"""Receptive field of every node, analytically, per spatial axis. Pure: no torch, no printing.

Per axis, the receptive field (RF) of a feature map is three exact numbers (Fractions), in
pixels of the model input:

* ``size`` r: the extent of the input that one output unit can see (taps of a dilated or
  strided kernel may leave holes inside it; the extent counts them);
* ``jump`` j: the distance in the input between two neighbouring output units (the
  product of the strides; fractional after an upsample or a transposed conv);
* ``start`` c: the centre of output unit 0's RF. Unit ``u`` sees the input interval
  ``[u·j + c - (r-1)/2, u·j + c + (r-1)/2]``; the effective padding is ``(r-1)/2 - c``,
  how far that interval of unit 0 reaches before the first input pixel.

Each op contributes one :class:`Window` per axis (its span ``d·(k-1)+1``, stride and left
padding, all in units of its own input), and a window maps an RF by

    r' = r + (span-1)·j,   j' = j·stride,   c' = c + ((span-1)/2 - pad)·j

(Araujo et al., "Computing receptive fields of convolutional neural networks", Distill 2019).
A transposed conv of stride s is the window of span ``(d·(k-1))/s + 1``, stride ``1/s`` and
left padding ``(d·(k-1) - p)/s``; an upsample by s, span 1 (nearest) or 2 (bilinear), stride
``1/s``, left padding ``(s-1)/(2s)`` (pixel centres, align_corners=False).
A merge (add, scale, concat) takes the union of its inputs' intervals per axis, so its size is
the maximum over its inputs when their centres agree. An op that pools the whole map (global
pooling, flatten) makes the RF ``whole``: every output unit sees the entire input, and a merge
with a whole input is whole.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from convcost.cost.graph import Node, run_wires
from convcost.cost.ops import AdaptivePool, Conv2d, Flatten, Pool, Shape
from convcost.cost.ops.conv import conv_pads
from convcost.cost.ops.reduce import Mean
from convcost.cost.ops.transpose import ConvTranspose2d
from convcost.cost.ops.upsample import Upsample, upsample

ONE = Fraction(1)


@dataclass(frozen=True)
class Axis:
    """The RF along one axis: size, jump and centre of unit 0, in input pixels."""

    size: Fraction = ONE
    jump: Fraction = ONE
    start: Fraction = Fraction(0)

    @property
    def padding(self) -> Fraction:
        """Effective padding: how far unit 0's RF reaches before input pixel 0."""
        return (self.size - 1) / 2 - self.start

    def interval(self, unit: int) -> tuple[Fraction, Fraction]:
        """First and last input coordinate that output unit ``unit`` sees."""
        centre = unit * self.jump + self.start
        return (centre - (self.size - 1) / 2, centre + (self.size - 1) / 2)


@dataclass(frozen=True)
class Window:
    """One op's footprint on one axis, in units of its input: span, stride, left padding."""

    span: Fraction
    stride: Fraction = ONE
    pad: Fraction = Fraction(0)

    def apply(self, axis: Axis) -> Axis:
        return Axis(axis.size + (self.span - 1) * axis.jump, axis.jump * self.stride,
                    axis.start + ((self.span - 1) / 2 - self.pad) * axis.jump)


IDENTITY = Window(ONE)


@dataclass(frozen=True)
class ReceptiveField:
    """The RF of one tensor: per axis (h, w), and whether every unit sees the whole input."""

    h: Axis = Axis()
    w: Axis = Axis()
    whole: bool = False

    @property
    def size(self) -> tuple[Fraction, Fraction]:
        return (self.h.size, self.w.size)

    @property
    def jump(self) -> tuple[Fraction, Fraction]:
        return (self.h.jump, self.w.jump)

    @property
    def padding(self) -> tuple[Fraction, Fraction]:
        return (self.h.padding, self.w.padding)

    @property
    def start(self) -> tuple[Fraction, Fraction]:
        return (self.h.start, self.w.start)

    def through(self, windows: tuple[Window, Window]) -> ReceptiveField:
        return ReceptiveField(windows[0].apply(self.h), windows[1].apply(self.w), self.whole)


# -- per-op windows ---------------------------------------------------------------------

def conv_window(kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> Window:
    """A convolution or pooling window: span ``d·(k-1)+1``."""
    return Window(Fraction(dilation * (kernel - 1) + 1), Fraction(stride), Fraction(pad))


def transposed_window(kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> Window:
    """A transposed conv: output o sees inputs i with ``i·s = o + p - t·d``, t in [0, k)."""
    s, reach = Fraction(stride), Fraction(dilation * (kernel - 1))
    return Window(reach / s + 1, 1 / s, (reach - pad) / s)


def upsample_window(scale: int | Fraction, mode: str = "nearest") -> Window:
    """An upsample by ``scale``: one input tap (nearest) or two (bilinear), at pixel centres."""
    s = Fraction(scale)
    return Window(Fraction(1 if mode == "nearest" else 2), 1 / s, (s - 1) / (2 * s))


def adaptive_window(size: int, out: int) -> Window:
    """torch's adaptive pooling: window i is ``[floor(i·size/out), ceil((i+1)·size/out))``.

    The span is the widest window, the stride ``size/out`` (exact when out divides size).
    """
    widest = max(-(-(i + 1) * size // out) - i * size // out for i in range(out))
    return Window(Fraction(widest), Fraction(size, out), Fraction(0))


Windows = tuple[Window, Window]
Rule = Callable[[Any, Shape], Windows | None]  # None: the op makes the RF whole


def _conv(op: Conv2d, x: Shape) -> Windows:
    (top, _), (left, _) = conv_pads(op, x)  # same and tf_same: the odd pixel goes after
    pad = (top, left)
    return (conv_window(op.kernel[0], op.stride[0], pad[0], op.dilation[0]),
            conv_window(op.kernel[1], op.stride[1], pad[1], op.dilation[1]))


def _pool(op: Pool, _: Shape) -> Windows:
    return (conv_window(op.kernel[0], op.stride[0], op.padding[0]),
            conv_window(op.kernel[1], op.stride[1], op.padding[1]))


def _adaptive(op: AdaptivePool, x: Shape) -> Windows | None:
    if op.output_size == (1, 1):
        return None
    return (adaptive_window(x[2], op.output_size[0]), adaptive_window(x[3], op.output_size[1]))


def _flatten(_: Flatten, x: Shape) -> Windows | None:
    return None if len(x) == 4 and x[2] * x[3] > 1 else (IDENTITY, IDENTITY)


def _transposed(op: ConvTranspose2d, _: Shape) -> Windows:
    return (transposed_window(op.kernel[0], op.stride[0], op.padding[0], op.dilation[0]),
            transposed_window(op.kernel[1], op.stride[1], op.padding[1], op.dilation[1]))


def _upsample(op: Upsample, x: Shape) -> Windows:
    """torch maps output pixel o to input ``o / scale`` (a given scale) or ``o · in / out``."""
    out = upsample(op, x).output_shape[2:]
    windows = []
    for size, o in zip(x[2:4], out, strict=True):
        if op.align_corners:  # corners meet: input (in-1)/(out-1) apart, two taps, no offset
            step = Fraction(size - 1, o - 1) if o > 1 else ONE
            windows.append(Window(Fraction(2), step, Fraction(0)))
        else:
            scale = Fraction(op.scale) if op.scale is not None else Fraction(o, size)
            windows.append(upsample_window(scale, op.mode))
    return windows[0], windows[1]


def _mean(_: Mean, __: Shape) -> None:
    return None


RULES: Mapping[type, Rule] = MappingProxyType({
    Conv2d: _conv, Pool: _pool, AdaptivePool: _adaptive, Flatten: _flatten,
    ConvTranspose2d: _transposed, Upsample: _upsample, Mean: _mean,
})
"""Op class -> its windows; ops not listed are pointwise in space (BN, activations, linear)."""


def leaf_rf(op: Any, x: Shape, rf: ReceptiveField) -> ReceptiveField:
    """The RF after one leaf op applied to an input of shape ``x`` whose RF is ``rf``."""
    rule = RULES.get(type(op))
    if rule is None:
        return rf
    windows = rule(op, x)
    if windows is None:
        return whole(rf, x)
    return rf.through(windows)


def whole(rf: ReceptiveField, x: Shape) -> ReceptiveField:
    """The RF of a reduction over the whole ``H×W`` map of ``x`` (global pool, flatten).

    Its one unit sees the union of all ``H`` units' fields; the jump is kept, so that a
    broadcast merge (an SE gate) keeps the jump of the map it scales.
    """
    h, w = (x[2], x[3]) if len(x) == 4 else (1, 1)
    return ReceptiveField(Window(Fraction(h)).apply(rf.h), Window(Fraction(w)).apply(rf.w), True)


def _union_axis(axes: Sequence[Axis]) -> Axis:
    lo = min(a.interval(0)[0] for a in axes)
    hi = max(a.interval(0)[1] for a in axes)
    return Axis(hi - lo + 1, max(a.jump for a in axes), (lo + hi) / 2)


def merge(rfs: Sequence[ReceptiveField]) -> ReceptiveField:
    """A merge of several tensors: the union of their intervals per axis (the max size)."""
    return ReceptiveField(_union_axis([r.h for r in rfs]), _union_axis([r.w for r in rfs]),
                          any(r.whole for r in rfs))


# -- the node tree ----------------------------------------------------------------------

@dataclass(frozen=True)
class ModelRF:
    """The RF of every node's output (leaves and blocks), keyed by node identity."""

    root: Node
    fields: Mapping[int, ReceptiveField]

    def of(self, node: Node) -> ReceptiveField:
        return self.fields[id(node)]

    @property
    def output(self) -> ReceptiveField:
        return self.of(self.root)


class _Walker:
    def __init__(self) -> None:
        self.fields: dict[int, ReceptiveField] = {}

    def run(self, node: Node, inputs: tuple[ReceptiveField, ...]) -> ReceptiveField:
        """A leaf maps its input's RF (a merge: the union of its inputs'); a block runs its
        wires (:func:`convcost.cost.graph.run_wires`); a channel split keeps the RF."""
        if node.is_leaf:
            out = merge(inputs) if len(inputs) > 1 else leaf_rf(node.op, node.input_shape, inputs[0])
        else:
            out = run_wires(node.wires, inputs[0],
                            lambda i, args: self.run(node.children[i], args),
                            lambda rf, parts: (rf,) * parts)
        self.fields[id(node)] = out
        return out


def receptive_fields(root: Node) -> ModelRF:
    """The RF of every node under ``root``, relative to ``root``'s input."""
    walker = _Walker()
    walker.run(root, (ReceptiveField(),))
    return ModelRF(root, MappingProxyType(walker.fields))


def fits(rf: ReceptiveField, x: Shape, unit: tuple[int, int]) -> bool:
    """Whether output unit ``unit``'s RF lies inside an input of shape ``x`` (no padding seen)."""
    if rf.whole:
        return False
    inside = True
    for axis, u, size in ((rf.h, unit[0], x[2]), (rf.w, unit[1], x[3])):
        lo, hi = axis.interval(u)
        inside = inside and lo >= 0 and hi <= size - 1
    return inside

