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
the maximum over its inputs when their centres agree. An ``interpolate`` maps its first input
only, as an upsample to the size of its second (which gives a size, no pixels). An op that
pools the whole map (global pooling, flatten) makes the RF ``whole``: every output unit sees
the entire input, and a merge with a whole input is whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from convcost.cost.graph import Node, chunk_count, run_wires
from convcost.cost.registry import op_kind
from convcost.cost.value import Shape
from convcost.cost.window import Axis, Window


@dataclass(frozen=True)
class ReceptiveField:
    """The RF of one tensor: per axis (h, w), and whether every unit sees the whole input."""

    h: Axis = field(default_factory=Axis)
    w: Axis = field(default_factory=Axis)
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


def leaf_rf(op: Any, x: Shape, rf: ReceptiveField) -> ReceptiveField:
    """The RF after one leaf op applied to an input of shape ``x`` whose RF is ``rf``.

    The op's ``window`` (declared with its kind in the registry) maps it; an op without one is
    pointwise in space (BN, activations, linear); a window of None makes the RF whole.
    """
    window = op_kind(op).window
    if window is None:
        return rf
    windows = window(op, x)
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
            if node.op is not None and op_kind(node.op).reference:  # a size only, no pixels
                inputs = inputs[:-1]
            out = merge(inputs) if len(inputs) > 1 else leaf_rf(node.op, node.input_shape, inputs[0])
        else:
            out = run_wires(node.wiring, inputs[0],
                            lambda i, args: self.run(node.children[i], args),
                            lambda rf, parts: (rf,) * chunk_count(parts))
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

