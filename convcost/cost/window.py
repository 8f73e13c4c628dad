"""How one op moves a receptive field (RF) along one spatial axis: its :class:`Window`.

An op kind with a spatial footprint declares ``window`` in the registry (conv, pool, adaptive
pool, flatten); :mod:`convcost.cost.receptive` maps fields through the windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

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
Windows = tuple[Window, ...]
"""One window per spatial axis (h, w; l of a 1-D op; d, h, w of a 3-D op); an op's ``window``
returns None when every output unit sees the whole input (global pooling, flattening a map)."""


def conv_window(kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> Window:
    """A convolution or pooling window: span ``d·(k-1)+1``."""
    return Window(Fraction(dilation * (kernel - 1) + 1), Fraction(stride), Fraction(pad))


def transposed_window(kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> Window:
    """A transposed conv: output o sees inputs i with ``i·s = o + p - t·d``, t in [0, k)."""
    s, reach = Fraction(stride), Fraction(dilation * (kernel - 1))
    return Window(reach / s + 1, 1 / s, (reach - pad) / s)


def upsample_window(scale: int | Fraction, mode: str = "nearest") -> Window:
    """An upsample by ``scale``: one input tap (nearest), two (bilinear) or four (bicubic: one more
    on each side, the same centre), at pixel centres."""
    s = Fraction(scale)
    taps = {"nearest": 1, "bicubic": 4}.get(mode, 2)
    return Window(Fraction(taps), 1 / s, (s - 1) / (2 * s) + (1 if taps == 4 else 0))


def adaptive_window(size: int, out: int) -> Window:
    """torch's adaptive pooling: window i is ``[floor(i·size/out), ceil((i+1)·size/out))``.

    The span is the widest window, the stride ``size/out`` (exact when out divides size).
    """
    widest = max(-(-(i + 1) * size // out) - i * size // out for i in range(out))
    return Window(Fraction(widest), Fraction(size, out), Fraction(0))
