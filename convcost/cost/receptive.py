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
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from convcost.cost.graph import Node, chunk_count, wire_values
from convcost.cost.layout import spatial_axes
from convcost.cost.registry import op_kind
from convcost.cost.value import Shape
from convcost.cost.window import Axis, Window, Windows


@dataclass(frozen=True)
class ReceptiveField:
    """The RF of one tensor: per spatial axis (h, w of an image; l of a 1-D signal; d, h, w of
    a volume), and whether every unit sees the whole input."""

    axes: tuple[Axis, ...] = (Axis(), Axis())
    whole: bool = False

    @classmethod
    def of_input(cls, dims: int) -> ReceptiveField:
        """The RF of a model input of ``dims`` spatial axes: one pixel each."""
        return cls((Axis(),) * dims)

    @property
    def h(self) -> Axis:
        return self.axes[-2] if len(self.axes) > 1 else Axis()

    @property
    def w(self) -> Axis:
        return self.axes[-1]

    @property
    def size(self) -> tuple[Fraction, ...]:
        return tuple(a.size for a in self.axes)

    @property
    def jump(self) -> tuple[Fraction, ...]:
        return tuple(a.jump for a in self.axes)

    @property
    def padding(self) -> tuple[Fraction, ...]:
        return tuple(a.padding for a in self.axes)

    @property
    def start(self) -> tuple[Fraction, ...]:
        return tuple(a.start for a in self.axes)

    def through(self, windows: Windows) -> ReceptiveField:
        """The RF after an op with one window per axis. An op whose windows do not match the
        axes works on other axes than the input's spatial ones (ECA's Conv1d over the channels
        of a pooled map): it leaves the RF as it is."""
        if len(windows) != len(self.axes):
            return self
        return ReceptiveField(tuple(w.apply(a) for w, a in zip(windows, self.axes, strict=True)),
                              self.whole)


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
        return whole(rf, x, op_kind(op).layout)
    return rf.through(windows)


def whole(rf: ReceptiveField, x: Shape, layout: str | None = None) -> ReceptiveField:
    """The RF of a reduction over the whole map of ``x`` (global pool, flatten), read in
    ``layout`` (channels-first when it has no spatial axes of the RF's number).

    Its one unit sees the union of all units' fields along each axis; the jump is kept, so that a
    broadcast merge (an SE gate) keeps the jump of the map it scales.
    """
    axes = spatial_axes(layout) if layout else ()
    if len(axes) == len(rf.axes) and len(x) == len(layout or ""):
        sizes = tuple(x[i] for i in axes)  # channels-last: Swin's windows over [N, H, W, C]
    else:
        sizes = x[2:] if len(x) == len(rf.axes) + 2 else (1,) * len(rf.axes)
    return ReceptiveField(tuple(Window(Fraction(size)).apply(axis)
                                for size, axis in zip(sizes, rf.axes, strict=True)), True)


def _union_axis(axes: Sequence[Axis]) -> Axis:
    lo = min(a.interval(0)[0] for a in axes)
    hi = max(a.interval(0)[1] for a in axes)
    return Axis(hi - lo + 1, max(a.jump for a in axes), (lo + hi) / 2)


def merge(rfs: Sequence[ReceptiveField]) -> ReceptiveField:
    """A merge of several tensors: the union of their intervals per axis (the max size)."""
    return ReceptiveField(tuple(_union_axis(axes) for axes in zip(*(r.axes for r in rfs),
                                                                   strict=True)),
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

    def run(self, node: Node, inputs: tuple[ReceptiveField, ...],
            extra: Mapping[str, ReceptiveField] | None = None) -> ReceptiveField:
        """A leaf maps its input's RF (a merge: the union of its inputs'); a block runs its
        wires (:func:`convcost.cost.graph.run_wires`); a channel split keeps the RF."""
        if node.is_leaf:
            if node.op is not None and op_kind(node.op).reference:  # a size only, no pixels
                inputs = inputs[:-1]
            out = merge(inputs) if len(inputs) > 1 else leaf_rf(node.op, node.input_shape, inputs[0])
        else:
            values = wire_values(node.wiring, inputs[0],
                                 lambda i, args: self.run(node.children[i], args),
                                 lambda rf, parts: (rf,) * chunk_count(parts), extra)
            out = values[node.wiring[-1].outputs[0]]
        self.fields[id(node)] = out
        return out


def receptive_fields(root: Node, dims: int = 2) -> ModelRF:
    """The RF of every node under ``root``, relative to ``root``'s input of ``dims`` spatial
    axes (:func:`defined`: whether a layout has any). The model's other inputs (``inputs:``,
    of the same spatial axes) are as many inputs of the same grid: a layer merging two
    images' features sees the union of its windows on each, in pixels of either."""
    walker = _Walker()
    extra = {name: ReceptiveField.of_input(dims) for name, _ in root.extra_inputs}
    walker.run(root, (ReceptiveField.of_input(dims),), extra)
    return ModelRF(root, MappingProxyType(walker.fields))


def defined(layout: str) -> int:
    """How many spatial axes an input of ``layout`` has: the RF is not defined over tokens or
    features (0)."""
    return len(spatial_axes(layout))


def fits(rf: ReceptiveField, x: Shape, unit: tuple[int, ...]) -> bool:
    """Whether output unit ``unit`` (an index per axis)'s RF lies inside an input of
    channels-first shape ``x`` (no padding seen)."""
    if rf.whole:
        return False
    inside = True
    for axis, u, size in zip(rf.axes, unit, x[2:], strict=True):
        lo, hi = axis.interval(u)
        inside = inside and lo >= 0 and hi <= size - 1
    return inside

