"""``pool`` (avg/max over a window) and ``adaptive_pool`` (avg/max to an output size).

The spec kind ``pool`` lowers to either: ``global: true`` or ``output_size`` give an
adaptive pool, ``kernel_size`` a windowed one; ``functional: true`` makes the windowed pool a
call of ``F.avg_pool2d`` / ``F.max_pool2d`` in ``forward`` (torchvision's Inception v3), which
the tools count differently from the pool modules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Literal

from convcost.cost.imports import (
    Fields,
    Imports,
    Layer,
    OnnxCall,
    Signature,
    TorchCall,
    TorchReader,
    Traced,
    fixed,
    onnx_pads,
    onnx_pair,
    pair,
    spec_size,
)
from convcost.cost.opkind import Field, KernelForm, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.value import LayerCost, Pair, Shape, spatial
from convcost.cost.window import Windows, adaptive_window, conv_window
from convcost.errors import ShapeError, SpecError

Mode = Literal["avg", "max"]


@dataclass(frozen=True)
class Pool(Op):
    """``nn.AvgPool2d`` / ``nn.MaxPool2d`` over a ``kernel`` window (dilation 1); ``functional``:
    ``F.avg_pool2d`` / ``F.max_pool2d`` called in ``forward`` instead of a pool module."""

    key: ClassVar[str] = "pool"
    mode: Mode
    kernel: Pair
    stride: Pair
    padding: Pair = (0, 0)
    ceil_mode: bool = False
    functional: bool = False


@dataclass(frozen=True)
class AdaptivePool(Op):
    """``nn.AdaptiveAvgPool2d`` / ``nn.AdaptiveMaxPool2d`` to ``output_size``."""

    key: ClassVar[str] = "adaptive_pool"
    mode: Mode
    output_size: Pair = (1, 1)


def pool_output_size(size: int, kernel: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """torch's ``pooling_output_shape`` (dilation 1), including its ceil-mode correction."""
    if 2 * pad > kernel:
        raise ShapeError(f"pool padding {pad} must be at most half the kernel {kernel}")
    if size + 2 * pad < kernel:
        raise ShapeError(f"pool kernel {kernel} is larger than the padded input {size + 2 * pad}")
    out = (size + 2 * pad - kernel + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pool(op: Pool, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, Ho, Wo]; no params, paper MACs 0
    n, c, h, w = spatial(x, "pool")
    ho = pool_output_size(h, op.kernel[0], op.stride[0], op.padding[0], op.ceil_mode)
    wo = pool_output_size(w, op.kernel[1], op.stride[1], op.padding[1], op.ceil_mode)
    return LayerCost(0, 0, (n, c, ho, wo))


def adaptive_pool(op: AdaptivePool, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, oh, ow]; no params, paper MACs 0
    n, c, _, _ = spatial(x, "adaptive pool")
    return LayerCost(0, 0, (n, c, *op.output_size))


def _pool_window(op: Pool, _: Shape) -> Windows:
    return (conv_window(op.kernel[0], op.stride[0], op.padding[0]),
            conv_window(op.kernel[1], op.stride[1], op.padding[1]))


def _adaptive_window(op: AdaptivePool, x: Shape) -> Windows | None:
    if op.output_size == (1, 1):
        return None
    return (adaptive_window(x[2], op.output_size[0]), adaptive_window(x[3], op.output_size[1]))


@cache
def _functional_pool_class() -> type:
    import torch
    from torch import nn
    from torch.nn import functional

    class FunctionalPool(nn.Module):
        """``F.avg_pool2d`` / ``F.max_pool2d`` in forward, as torchvision's Inception v3 pools."""

        def __init__(self, op: Pool) -> None:
            super().__init__()
            self.mode, self.kernel, self.stride = op.mode, op.kernel, op.stride
            self.padding, self.ceil_mode = op.padding, op.ceil_mode

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # looked up at each call, so a tool that patches torch.nn.functional sees it
            pool = functional.max_pool2d if self.mode == "max" else functional.avg_pool2d
            return pool(x, self.kernel, self.stride, self.padding, ceil_mode=self.ceil_mode)

    return FunctionalPool


def _pool_module(op: Pool, _: Shape) -> Any:
    from torch import nn

    if op.functional:
        return _functional_pool_class()(op)
    window = nn.MaxPool2d if op.mode == "max" else nn.AvgPool2d
    return window(op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode)


def _adaptive_module(op: AdaptivePool, _: Shape) -> Any:
    from torch import nn

    adaptive = nn.AdaptiveMaxPool2d if op.mode == "max" else nn.AdaptiveAvgPool2d
    return adaptive(op.output_size)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> Op:
    if f["global"]:
        return AdaptivePool(f["op"], (1, 1))
    if f["output_size"] is not None:
        return AdaptivePool(f["op"], f["output_size"])
    kernel = f["kernel_size"]
    return Pool(f["op"], kernel, f["stride"] or kernel, f["padding"], f["ceil_mode"],
                f["functional"])


def _check(f: Mapping[str, Any], path: str) -> None:
    adaptive = f["global"] or f["output_size"] is not None
    if adaptive == (f["kernel_size"] is not None):
        raise SpecError("give exactly one of global, output_size and kernel_size", path=path)
    if adaptive and f["functional"]:
        raise SpecError("functional: true is for a windowed pool (kernel_size), not an "
                        "adaptive one; a functional global average is kind: mean", path=path)


def _window_key(op: Pool) -> tuple[str, ...]:
    return (f"functional_{op.mode}_pool" if op.functional else f"{op.mode}_pool",)


def _adaptive_key(op: AdaptivePool) -> tuple[str, ...]:
    return (f"adaptive_{op.mode}_pool",)


SPEC = SpecKind(
    fields(
        op=Field("choice", choices=("avg", "max")),
        **{"global": Field("bool", False, doc="adaptive pool to 1×1")},
        output_size=Field("pair", None, nullable=True, doc="adaptive pool output size"),
        kernel_size=Field("pair", None, nullable=True),
        stride=Field("pair", None, nullable=True, doc="defaults to kernel_size"),
        padding=Field("pair", (0, 0), minimum=0),
        ceil_mode=Field("bool", False),
        functional=Field("bool", False, doc="`F.avg_pool2d`/`F.max_pool2d` in forward, no module"),
    ),
    "`nn.AvgPool2d`, `nn.MaxPool2d`, `nn.Adaptive*Pool2d`; `functional`: `F.*_pool2d`", _check)

# -- import ------------------------------------------------------------------------------

def _read_module(kind: str) -> TorchReader:
    def read(c: TorchCall) -> Fields:
        m = c.module
        stride = m.stride if m.stride is not None else m.kernel_size
        return dict(kind=kind, kernel=pair(m.kernel_size), stride=pair(stride), padding=pair(m.padding),
                    ceil_mode=bool(m.ceil_mode), dilation=pair(getattr(m, "dilation", 1)))
    return read


def _read_call(kind: str) -> TorchReader:
    """``F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)``, ``F.avg_pool2d(x,
    kernel, stride, padding, ceil_mode)`` and their aten ops."""
    def read(c: TorchCall) -> Fields:
        kernel = pair(c.arg(1, "kernel_size"))
        stride = c.arg(2, "stride", None) or kernel
        ceil = c.arg(5 if kind == "max" else 4, "ceil_mode", False)
        return dict(kind=kind, kernel=kernel, stride=pair(stride),
                    padding=pair(c.arg(3, "padding", 0)), ceil_mode=bool(ceil),
                    dilation=pair(c.arg(4, "dilation", 1) if kind == "max" else 1))
    return read


def _read_onnx(kind: str) -> Any:
    def read(c: OnnxCall) -> Fields:
        return dict(kind=kind, kernel=onnx_pair(c, "kernel_shape", 1), stride=onnx_pair(c, "strides", 1),
                    padding=onnx_pads(c), ceil_mode=bool(c.attrs.get("ceil_mode", 0)),
                    dilation=onnx_pair(c, "dilations", 1))
    return read


def _emit_pool(node: Traced, _: Any) -> list[Layer] | None:
    if tuple(node.attr("dilation", (1, 1))) != (1, 1) or len(node.attr("padding")) != 2:
        return None
    layer: Layer = {"kind": "pool", "op": node.attr("kind"), "kernel_size": spec_size(node.attr("kernel")),
                    "stride": spec_size(node.attr("stride"))}
    if tuple(node.attr("padding")) != (0, 0):
        layer["padding"] = spec_size(node.attr("padding"))
    if node.attr("ceil_mode"):
        layer["ceil_mode"] = True
    return [layer]


POOL_IMPORTS = Imports(
    modules={f"torch.nn.{cls}Pool2d": _read_module(kind) for cls, kind in (("Max", "max"), ("Avg", "avg"))},
    functions={f"torch.nn.functional.{kind}_pool2d": _read_call(kind) for kind in ("max", "avg")},
    aten={f"aten.{kind}_pool2d": _read_call(kind) for kind in ("max", "avg")},
    dispatch={"aten.max_pool2d_with_indices": _read_call("max")},
    onnx={"MaxPool": _read_onnx("max"), "AveragePool": _read_onnx("avg")}, emit=_emit_pool)


def _read_adaptive(kind: str) -> TorchReader:
    return lambda c: dict(kind=kind, output_size=tuple(c.shape[2:]))


def _emit_adaptive(node: Traced, _: Any) -> list[Layer]:
    out = tuple(node.attr("output_size"))
    layer: Layer = {"kind": "pool", "op": node.attr("kind")}
    layer.update({"global": True} if out == (1, 1) else {"output_size": spec_size(out)})
    return [layer]


def _global_average(node: Traced) -> Signature | None:
    return ("gpool",) if tuple(node.attrs["output_size"]) == (1, 1) and node.attrs["kind"] == "avg" else None


_ADAPTIVE = (("Avg", "avg"), ("Max", "max"))
ADAPTIVE_IMPORTS = Imports(
    modules={f"torch.nn.Adaptive{cls}Pool2d": _read_adaptive(kind) for cls, kind in _ADAPTIVE},
    functions={f"torch.nn.functional.adaptive_{kind}_pool2d": _read_adaptive(kind) for _, kind in _ADAPTIVE},
    aten={f"aten.adaptive_{kind}_pool2d": _read_adaptive(kind) for _, kind in _ADAPTIVE},
    onnx={f"Global{name}Pool": fixed(kind=kind, output_size=(1, 1))
          for name, kind in (("Average", "avg"), ("Max", "max"))},
    signature=_global_average, emit=_emit_adaptive)

_WINDOW_KEYS = ("max_pool", "avg_pool", "functional_max_pool", "functional_avg_pool")
POOL = OpKind(Pool, pool, _pool_module, dict.fromkeys(_WINDOW_KEYS, "pooling"),
              keys_of=_window_key, window=_pool_window, spec=SPEC, lower=_lower, layout="NCHW",
              kernel=lambda op, _: KernelForm("pool", pool=op.mode, window=math.prod(op.kernel),
                                              kernel_stride=(op.kernel, op.stride)),
              imports=POOL_IMPORTS)
ADAPTIVE_POOL = OpKind(AdaptivePool, adaptive_pool, _adaptive_module,
                       dict.fromkeys(("adaptive_avg_pool", "adaptive_max_pool"), "pooling"),
                       keys_of=_adaptive_key, window=_adaptive_window, layout="NCHW",
                       kernel=lambda op, _: KernelForm("pool", pool=op.mode),
                       imports=ADAPTIVE_IMPORTS,
                       signature=lambda op: ("gpool",) if op.output_size == (1, 1) and op.mode == "avg"
                       else None)

KINDS = (POOL, ADAPTIVE_POOL)
