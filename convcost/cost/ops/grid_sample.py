"""``grid_sample``: ``F.grid_sample(x, grid)``, x sampled at the grid's coordinates (RAFT's
correlation lookups, spatial transformers, deformable sampling).

x is ``[N, C, H, W]`` and the grid, its second input, ``[N, Ho, Wo, 2]`` (x, y in [-1, 1]) ->
``[N, C, Ho, Wo]``; volumetric, x ``[N, C, D, H, W]`` and the grid ``[N, Do, Ho, Wo, 3]`` ->
``[N, C, Do, Ho, Wo]`` (bilinear is then trilinear; bicubic is 4-D only, as in torch). Nothing
learnt and no conv or linear MAC: FlopCounterMode counts nothing for ``aten.grid_sampler_2d``;
fvcore's handle counts 4 per output element whatever the mode (``aten::grid_sampler``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Literal

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, TorchCall, Traced, text
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, checked, fields
from convcost.cost.value import LayerCost, Shape
from convcost.errors import ShapeError

Mode = Literal["bilinear", "nearest", "bicubic"]
Padding = Literal["zeros", "border", "reflection"]
MODES = ("bilinear", "nearest", "bicubic")  # aten's interpolation_mode 0, 1, 2
PADDINGS = ("zeros", "border", "reflection")  # aten's padding_mode 0, 1, 2


@dataclass(frozen=True)
class GridSample(Op):
    """``F.grid_sample(x, grid, mode, padding_mode, align_corners)``; ``grid`` is the grid's shape."""

    key: ClassVar[str] = "grid_sample"
    grid: Shape
    mode: Mode = "bilinear"
    padding_mode: Padding = "zeros"
    align_corners: bool = False


def grid_sample(op: GridSample, x: Shape) -> LayerCost:
    # [N, C, H, W], grid [N, Ho, Wo, 2] -> [N, C, Ho, Wo]; [N, C, D, H, W], grid [N, Do, Ho, Wo, 3]
    # -> [N, C, Do, Ho, Wo]; no params, paper MACs 0 (FlopCounterMode counts nothing)
    g = op.grid
    if len(x) not in (4, 5):
        raise ShapeError(f"grid_sample samples a 4-D [N, C, H, W] or 5-D [N, C, D, H, W] input, "
                         f"got {list(x)}")
    if len(g) != len(x) or g[-1] != len(x) - 2:
        raise ShapeError(f"grid_sample of a {len(x)}-D input needs a grid [N, "
                         f"{', '.join(('Do', 'Ho', 'Wo')[5 - len(x):])}, {len(x) - 2}], got {list(g)}")
    if g[0] != x[0]:
        raise ShapeError(f"grid_sample: the grid's batch {g[0]} is not the input's {x[0]}")
    if op.mode == "bicubic" and len(x) == 5:
        raise ShapeError("grid_sample: bicubic samples a 4-D input only")
    return LayerCost(0, 0, (x[0], x[1], *g[1:-1]))


@cache
def _grid_sample_class() -> type:
    import torch
    from torch import nn
    from torch.nn import functional

    class GridSampleModule(nn.Module):
        """``F.grid_sample(x, grid, mode, padding_mode, align_corners)``."""

        def __init__(self, mode: str, padding_mode: str, align_corners: bool) -> None:
            super().__init__()
            self.mode, self.padding_mode, self.align_corners = mode, padding_mode, align_corners

        def forward(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
            return functional.grid_sample(x, grid, self.mode, self.padding_mode, self.align_corners)

    return GridSampleModule


def _module(op: GridSample, _: Shape) -> Any:
    return _grid_sample_class()(op.mode, op.padding_mode, op.align_corners)


def _lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> GridSample:
    op = GridSample(at.inputs[1], f["mode"], f["padding_mode"], f["align_corners"])
    return checked(grid_sample, op, x, at.inputs_path)


def _window(_: GridSample, __: Shape) -> None:
    return None  # a sample may land anywhere: it sees the whole map


# -- import: F.grid_sample, aten.grid_sampler(_2d/_3d), ONNX GridSample ---------------------

def _read_call(c: TorchCall) -> Fields:
    """``F.grid_sample(input, grid, mode, padding_mode, align_corners)`` (None: False)."""
    return dict(mode=str(c.arg(2, "mode", "bilinear")),
                padding_mode=str(c.arg(3, "padding_mode", "zeros")),
                align_corners=bool(c.arg(4, "align_corners", False)))


def _read_aten(c: TorchCall) -> Fields:
    """``aten.grid_sampler[_2d|_3d](input, grid, interpolation_mode, padding_mode,
    align_corners)``: the modes as aten's enums."""
    mode, padding = c.arg(2, "interpolation_mode", 0), c.arg(3, "padding_mode", 0)
    return dict(mode=MODES[mode] if mode in (0, 1, 2) else str(mode),
                padding_mode=PADDINGS[padding] if padding in (0, 1, 2) else str(padding),
                align_corners=bool(c.arg(4, "align_corners", False)))


def _read_onnx(c: OnnxCall) -> Fields:
    """ONNX ``GridSample``: opset 20 names torch's bilinear/bicubic ``linear``/``cubic``."""
    mode = text(c.attrs.get("mode", b"bilinear"))
    return dict(mode={"linear": "bilinear", "cubic": "bicubic"}.get(mode, mode),
                padding_mode=text(c.attrs.get("padding_mode", b"zeros")),
                align_corners=bool(c.attrs.get("align_corners", 0)))


def _fields(node: Traced) -> Layer | None:
    """The layer's fields, defaults left out; None for a mode or padding torch has not."""
    mode, padding, corners = (node.attr("mode"), node.attr("padding_mode"),
                              node.attr("align_corners"))
    if mode not in MODES or padding not in PADDINGS:
        return None
    return {"kind": "grid_sample", **({} if mode == "bilinear" else {"mode": mode}),
            **({} if padding == "zeros" else {"padding_mode": padding}),
            **({"align_corners": True} if corners else {})}


def _fits(layer: Layer, x: Shape, grid: Shape, out: Shape) -> bool:
    try:
        op = GridSample(tuple(grid), layer.get("mode", "bilinear"))
        return grid_sample(op, tuple(x)).output_shape == tuple(out)
    except ShapeError:
        return False


def _merge(node: Traced, shapes: Sequence[Shape]) -> list[Layer] | None:
    """x and a computed grid: a ``grid_sample`` reading both."""
    layer = _fields(node)
    if layer is None or len(shapes) != 2 or not _fits(layer, shapes[0], shapes[1], node.shape):
        return None
    return [layer]



GRID_SAMPLE_IMPORTS = Imports(
    functions={"torch.nn.functional.grid_sample": _read_call},
    aten={"aten.grid_sampler": _read_aten, "aten.grid_sampler_2d": _read_aten,
          "aten.grid_sampler_3d": _read_aten},
    onnx={"GridSample": _read_onnx}, merge=_merge)

SPEC = SpecKind(
    fields(mode=Field("choice", "bilinear", MODES),
           padding_mode=Field("choice", "zeros", PADDINGS, doc="outside the input: 0, the "
                              "border's value, or reflected"),
           align_corners=Field("bool", False, doc="-1 and 1 are the corner pixels' centres")),
    "`F.grid_sample(x, grid)`: `from: [x, grid]`, x [N, C, H, W] at grid [N, Ho, Wo, 2] -> "
    "[N, C, Ho, Wo] (5-D: grid [N, Do, Ho, Wo, 3]); no params, no MACs")

GRID_SAMPLE = OpKind(GridSample, grid_sample, _module, {"grid_sample": "upsample"}, inputs=2,
                     window=_window, spec=SPEC, lower=_lower, imports=GRID_SAMPLE_IMPORTS)

KINDS = (GRID_SAMPLE,)
