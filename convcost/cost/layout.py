"""Tensor layouts: what each axis of a shape means. Pure: no torch.

A layout is a string of axis letters, batch first: ``N`` batch, ``C`` channels, ``L`` length
(a spatial axis in ``NCL``; tokens in ``NLC``), ``D``/``H``/``W`` depth, height and width.

==========  ==================================  =====================
layout      what                                spatial axes (RF)
==========  ==================================  =====================
``NC``      features (after flatten)            none
``NCL``     1-D signal (audio), ``Conv1d``      L
``NCHW``    image, ``Conv2d`` (the default)     H, W
``NCDHW``   video/volume, ``Conv3d``            D, H, W
``NLC``     tokens (ViT, ``nn.Linear`` on it)   none (tokens)
``NHWC``    channels-last image                 H, W
``NDHWC``   channels-last volume                D, H, W
==========  ==================================  =====================

A shape without a stated layout is read channels-first by its rank (:func:`default_layout`).
An op kind declares the layout it reads (``OpKind.layout``); its formula checks the rank with
:func:`dims`, whose error names the layout expected and the one the shape was read as.
"""

from __future__ import annotations

from convcost.errors import ShapeError

Shape = tuple[int, ...]

LAYOUTS = ("NC", "NCL", "NCHW", "NCDHW", "NLC", "NHWC", "NDHWC")
"""Every layout a spec may name."""

_CHANNELS_FIRST = {2: "NC", 3: "NCL", 4: "NCHW", 5: "NCDHW"}
_SPATIAL = {"NC": (), "NCL": (2,), "NCHW": (2, 3), "NCDHW": (2, 3, 4), "NLC": (),
            "NHWC": (1, 2), "NDHWC": (1, 2, 3)}


def default_layout(rank: int) -> str:
    """The channels-first layout of a shape of ``rank`` dims (``NCHW`` for 4); ``N…`` beyond."""
    return _CHANNELS_FIRST.get(rank, "N" + "?" * (rank - 1))


def channel_axis(layout: str) -> int:
    """The index of the channels (the last axis of a token or channels-last layout)."""
    return layout.index("C") if "C" in layout else 1


def spatial_axes(layout: str) -> tuple[int, ...]:
    """Indices of the spatial axes, over which a receptive field is defined (none for tokens)."""
    return _SPATIAL.get(layout, ())


def described(shape: Shape, layout: str | None = None) -> str:
    """``[1, 3, 16, 112, 112] (NCDHW)``: a shape with the layout it is read as."""
    return f"{list(shape)} ({layout or default_layout(len(shape))})"


def check_rank(shape: Shape, layout: str, what: str) -> None:
    """A ShapeError naming ``what`` and both layouts unless ``shape`` has ``layout``'s rank."""
    if len(shape) != len(layout):
        raise ShapeError(f"{what} needs a [{', '.join(layout)}] input ({layout}), got "
                         f"{described(shape)}")


def dims(shape: Shape, layout: str, what: str) -> tuple[int, int, tuple[int, ...]]:
    """``(N, C, spatial sizes)`` of a channels-first ``shape`` of ``layout`` (checked)."""
    check_rank(shape, layout, what)
    return shape[0], shape[1], shape[2:]


def spatial_sizes(shape: Shape, layout: str) -> tuple[int, ...]:
    """The sizes of ``shape`` along ``layout``'s spatial axes."""
    return tuple(shape[i] for i in spatial_axes(layout))


def with_spatial(shape: Shape, layout: str, sizes: tuple[int, ...]) -> Shape:
    """``shape`` with its spatial axes (of ``layout``) set to ``sizes``."""
    out = list(shape)
    for i, size in zip(spatial_axes(layout), sizes, strict=True):
        out[i] = size
    return tuple(out)
