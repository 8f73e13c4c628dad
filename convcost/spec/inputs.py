"""The model's input in a spec, and the one parser of input shapes: ``--input``, a budget
entry's ``input`` and ``convcost.analyze(model, input_shape=...)``.

A shape is 2 to :data:`~convcost.spec.fields.MAX_RANK` positive sizes, batch first, each at most
:data:`MAX_DIM`: text (``1x3x16x112x112``, ``×`` or ``,`` between sizes) or a list of ints.
Several inputs are named: ``image=1x3x224x224``. Every failure is a SpecError at ``path`` (the
flag or field), with one set of messages. Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convcost.cost.layout import channel_axis, default_layout, spatial_sizes
from convcost.cost.value import Shape
from convcost.errors import SpecError
from convcost.limits import quote
from convcost.spec.fields import MAX_RANK, as_mapping, check_keys, join, read_fields
from convcost.spec.kinds import INPUT_FIELDS
from convcost.spec.wiring import INPUT

MAX_DIM = 1 << 16
"""The largest size of one axis of an input."""

NamedShape = tuple[str, Shape]
"""A named input: ``(name, shape)``; one unnamed ``--input`` is named ``input``."""

@dataclass(frozen=True)
class InputSpec:
    """The model's input: its shape (batch first) and layout (what each axis means)."""

    shape: Shape
    layout: str = "NCHW"

    @property
    def batch(self) -> int:
        return self.shape[0]

    @property
    def channels(self) -> int:
        return self.shape[channel_axis(self.layout)]

    @property
    def height(self) -> int:
        """The base resolution: H (L of a 1-D signal; 1 without spatial axes)."""
        sizes = spatial_sizes(self.shape, self.layout)
        return sizes[-2] if len(sizes) >= 2 else sizes[-1] if sizes else 1

    @property
    def width(self) -> int:
        sizes = spatial_sizes(self.shape, self.layout)
        return sizes[-1] if sizes else 1


def read_input(raw: Any, path: str = "input") -> InputSpec:
    """``{shape: [...], layout: ...}``, or an image's ``channels``, ``resolution`` (or ``height``
    and ``width``) and ``batch``."""
    data = as_mapping(raw, path)
    check_keys(data, INPUT_FIELDS, path)
    values = read_fields(data, INPUT_FIELDS, path)
    if values["shape"] is not None:
        return _shaped(data, values, path)
    if values["layout"] not in (None, "NCHW"):
        raise SpecError(f"layout {values['layout']} needs shape: [...] (channels and resolution "
                        "describe an NCHW image)", path=join(path, "layout"))
    square, h, w = values["resolution"], values["height"], values["width"]
    if square is not None and (h is not None or w is not None):
        raise SpecError("give resolution or height and width, not both", path=path)
    if square is None and (h is None or w is None):
        raise SpecError("missing required field (shape, resolution, or height and width)",
                        path=join(path, "resolution"))
    return InputSpec((values["batch"], values["channels"], square or h, square or w))


def _shaped(data: Mapping[str, Any], values: Mapping[str, Any], path: str) -> InputSpec:
    """An input given as ``shape`` (batch first) and ``layout`` (default: channels-first)."""
    extra = [key for key in ("channels", "resolution", "height", "width", "batch") if key in data]
    if extra:
        raise SpecError(f"give shape, or channels and resolution, not both ({extra[0]} here)",
                        path=join(path, extra[0]))
    shape = values["shape"]
    layout = values["layout"] or default_layout(len(shape))
    if len(layout) != len(shape):
        raise SpecError(f"layout {layout} has {len(layout)} axes ({', '.join(layout)}), but "
                        f"shape {list(shape)} has {len(shape)}", path=join(path, "layout"))
    return InputSpec(shape, layout)


_EXPECTED = (f"expected a shape like 1x3x224x224 (2 to {MAX_RANK} sizes, batch first, each 1 to "
             f"{MAX_DIM:,})")


def _size(part: Any) -> int | None:
    if isinstance(part, str):
        part = part.strip()
        ok = part.isascii() and part.isdigit() and len(part) <= 6
        return int(part) if ok and 0 < int(part) <= MAX_DIM else None
    ok = isinstance(part, int) and not isinstance(part, bool) and 0 < part <= MAX_DIM
    return part if ok else None


def parse_shape(value: Any, path: str = "--input") -> Shape:
    """``1x3x224x224`` (or ``[1, 3, 224, 224]``, a tuple) -> ``(1, 3, 224, 224)``."""
    parts = (value.lower().replace("×", "x").replace(",", "x").split("x")
             if isinstance(value, str) else value)
    sizes = ([_size(p) for p in parts] if isinstance(parts, list | tuple)
             and 2 <= len(parts) <= MAX_RANK else [None])
    if None in sizes:
        raise SpecError(f"{_EXPECTED}, got {quote(value)}", path=path)
    return tuple(s for s in sizes if s is not None)


def parse_named(text: str, path: str = "--input") -> NamedShape:
    """``image=1x3x224x224`` -> ``("image", (1, 3, 224, 224))``; a bare shape is ``input``."""
    from convcost.spec.loader import check_name  # the loader reads budgets, which parse shapes

    if not isinstance(text, str) or "=" not in text:
        return INPUT, parse_shape(text, path)
    name, _, shape = text.partition("=")
    if name != INPUT:
        check_name(name, path)
    return name, parse_shape(shape, path)


def given_twice(names: Sequence[str]) -> str | None:
    """The first name given twice, None when every name is unique."""
    return next((name for i, name in enumerate(names) if name in names[:i]), None)


def parse_inputs(texts: Sequence[str] | str | None, path: str = "--input",
                 unique: bool = True) -> tuple[NamedShape, ...]:
    """Every ``--input``: one bare shape, or named shapes (``NAME=SHAPE``), names unique
    (``unique=False``: left for the model to check, which says its own inputs)."""
    if texts is None:
        return ()
    items = [texts] if isinstance(texts, str) else list(texts)
    named = [parse_named(text, path) for text in items]
    names = [name for name, _ in named]
    if len(named) > 1 and INPUT in names:
        raise SpecError(f"several inputs must each be named, NAME=SHAPE, e.g. image=1x3x224x224 "
                        f"image2=1x3x224x224; got {quote(items[names.index(INPUT)])}", path=path)
    twice = given_twice(names) if unique else None
    if twice is not None:
        raise SpecError(f"input {twice!r} is given twice", path=path)
    return tuple(named)
