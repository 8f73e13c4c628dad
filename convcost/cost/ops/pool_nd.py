"""Pools over 1 or 3 spatial axes: ``pool1d`` and ``pool3d`` (avg/max over a window, or
adaptive to an output size), as ``pool`` is for images (:mod:`convcost.cost.ops.pool`). Sizes
are per spatial axis of the layout the kind reads; a spec gives an int (every axis) or one per
axis."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, TorchCall, Traced, fixed
from convcost.cost.layout import dims
from convcost.cost.opkind import Field, KernelForm, Lowering, Op, OpKind, SpecKind, fields
from convcost.cost.ops.conv_nd import Sizes, onnx_padding, onnx_sizes, per_axis
from convcost.cost.ops.pool import Mode, pool_output_size
from convcost.cost.value import LayerCost, Shape
from convcost.cost.window import Windows, adaptive_window, conv_window
from convcost.errors import SpecError


@dataclass(frozen=True)
class PoolNd(Op):
    """``nn.AvgPool{d}d`` / ``nn.MaxPool{d}d`` over a ``kernel`` window (dilation 1)."""

    layout: ClassVar[str]
    module_suffix: ClassVar[str]  # 3d: nn.MaxPool3d
    mode: Mode
    kernel: Sizes
    stride: Sizes
    padding: Sizes
    ceil_mode: bool = False


@dataclass(frozen=True)
class AdaptivePoolNd(Op):
    """``nn.AdaptiveAvgPool{d}d`` / ``nn.AdaptiveMaxPool{d}d`` to ``output_size``."""

    layout: ClassVar[str]
    module_suffix: ClassVar[str]
    mode: Mode
    output_size: Sizes


@dataclass(frozen=True)
class Pool3d(PoolNd):
    key: ClassVar[str] = "pool3d"
    layout: ClassVar[str] = "NCDHW"
    module_suffix: ClassVar[str] = "3d"


@dataclass(frozen=True)
class AdaptivePool3d(AdaptivePoolNd):
    key: ClassVar[str] = "adaptive_pool3d"
    layout: ClassVar[str] = "NCDHW"
    module_suffix: ClassVar[str] = "3d"


@dataclass(frozen=True)
class Pool1d(PoolNd):
    key: ClassVar[str] = "pool1d"
    layout: ClassVar[str] = "NCL"
    module_suffix: ClassVar[str] = "1d"


@dataclass(frozen=True)
class AdaptivePool1d(AdaptivePoolNd):
    key: ClassVar[str] = "adaptive_pool1d"
    layout: ClassVar[str] = "NCL"
    module_suffix: ClassVar[str] = "1d"


def pool_nd(op: PoolNd, x: Shape) -> LayerCost:
    # [N, C, *S] -> [N, C, *So], torch's pooling_output_shape per axis; no params, paper MACs 0
    n, c, sizes = dims(x, op.layout, op.key)
    out = tuple(pool_output_size(size, k, s, p, op.ceil_mode) for size, k, s, p in zip(
        sizes, op.kernel, op.stride, op.padding, strict=True))
    return LayerCost(0, 0, (n, c, *out))


def adaptive_pool_nd(op: AdaptivePoolNd, x: Shape) -> LayerCost:
    # [N, C, *S] -> [N, C, *output_size]; no params, paper MACs 0
    n, c, _ = dims(x, op.layout, op.key)
    return LayerCost(0, 0, (n, c, *op.output_size))


def _pool_window(op: PoolNd, _: Shape) -> Windows:
    return tuple(conv_window(k, s, p) for k, s, p in zip(op.kernel, op.stride, op.padding,
                                                         strict=True))


def _adaptive_window(op: AdaptivePoolNd, x: Shape) -> Windows | None:
    if set(op.output_size) == {1}:
        return None
    return tuple(adaptive_window(size, out) for size, out in zip(x[2:], op.output_size,
                                                                 strict=True))


def _pool_module(op: PoolNd, _: Shape) -> Any:
    from torch import nn

    window = getattr(nn, f"{'Max' if op.mode == 'max' else 'Avg'}Pool{op.module_suffix}")
    return window(op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode)


def _adaptive_module(op: AdaptivePoolNd, _: Shape) -> Any:
    from torch import nn

    adaptive = getattr(nn, f"Adaptive{'Max' if op.mode == 'max' else 'Avg'}Pool{op.module_suffix}")
    return adaptive(op.output_size)


def pool_lowering(window: type[PoolNd], adaptive: type[AdaptivePoolNd]) -> Any:
    """The spec fields -> a windowed or an adaptive pool of ``window.layout``."""
    axes = len(window.layout) - 2

    def lower(f: Mapping[str, Any], x: Shape, at: Lowering) -> Op:
        def sizes(key: str) -> Sizes:
            return per_axis(f[key], axes, f"{at.path}.{key}")

        if f["global"]:
            return adaptive(f["op"], (1,) * axes)
        if f["output_size"] is not None:
            return adaptive(f["op"], sizes("output_size"))
        kernel = sizes("kernel_size")
        stride = kernel if f["stride"] is None else sizes("stride")
        return window(f["op"], kernel, stride, sizes("padding"), f["ceil_mode"])
    return lower


def _check(f: Mapping[str, Any], path: str) -> None:
    if (f["global"] or f["output_size"] is not None) == (f["kernel_size"] is not None):
        raise SpecError("give exactly one of global, output_size and kernel_size", path=path)


def pool_spec(suffix: str) -> SpecKind:
    """The spec fields of an N-d pool (those of ``pool``, sizes per spatial axis)."""
    return SpecKind(fields(
        op=Field("choice", choices=("avg", "max")),
        **{"global": Field("bool", False, doc="adaptive pool to 1 per axis")},
        output_size=Field("sizes", None, nullable=True, doc="adaptive pool output size"),
        kernel_size=Field("sizes", None, nullable=True),
        stride=Field("sizes", None, nullable=True, doc="defaults to kernel_size"),
        padding=Field("sizes", 0, minimum=0),
        ceil_mode=Field("bool", False),
    ), f"`nn.AvgPool{suffix}`, `nn.MaxPool{suffix}`, `nn.Adaptive*Pool{suffix}`", _check)


# -- import ------------------------------------------------------------------------------

def _tuple(value: Any, axes: int) -> Sizes:
    return tuple(int(v) for v in value) if isinstance(value, tuple | list) else (int(value),) * axes


def _window_fields(mode: str, axes: int, kernel: Any, stride: Any, padding: Any, ceil: Any,
                   dilation: Any) -> Fields:
    kernel = _tuple(kernel, axes)
    fields = dict(mode=mode, kernel=kernel, stride=_tuple(stride or kernel, axes),
                  padding=_tuple(padding, axes), ceil_mode=bool(ceil))
    dilated = _tuple(dilation, axes) != (1,) * axes
    return {**fields, "dilation": _tuple(dilation, axes)} if dilated else fields  # stays opaque


def window_reader(mode: str, axes: int, module: bool) -> Any:
    """``nn.{Max,Avg}Pool{d}d`` (``module``) or ``F.*_pool{d}d``/``aten.*_pool{d}d``."""
    def read(c: TorchCall) -> Fields:
        if module:
            m = c.module
            return _window_fields(mode, axes, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                                  getattr(m, "dilation", 1))
        dilation = c.arg(4, "dilation", 1) if mode == "max" else 1
        ceil = c.arg(5 if mode == "max" else 4, "ceil_mode", False)
        return _window_fields(mode, axes, c.arg(1, "kernel_size"), c.arg(2, "stride"),
                              c.arg(3, "padding", 0), ceil, dilation)
    return read


def onnx_window_reader(mode: str, axes: int) -> Any:
    """ONNX ``MaxPool`` / ``AveragePool`` on ``axes`` spatial axes (an asymmetric padding, or
    ``auto_pad``, stays opaque as a dilated pool does)."""
    def read(c: OnnxCall) -> Fields:
        padding = onnx_padding(c, axes)
        fields = _window_fields(mode, axes, onnx_sizes(c, "kernel_shape", axes, 1),
                                onnx_sizes(c, "strides", axes, 1),
                                (0,) * axes if isinstance(padding, str) else padding,
                                c.attrs.get("ceil_mode", 0), onnx_sizes(c, "dilations", axes, 1))
        return {**fields, "dilation": (0,) * axes} if isinstance(padding, str) else fields
    return read


def adaptive_reader(mode: str, key: str) -> Any:
    """``nn.Adaptive*Pool{d}d`` and ``F.adaptive_*_pool{d}d``: the output size as measured."""
    return lambda c: (key, dict(mode=mode, output_size=tuple(c.shape[2:])))


def emit_pool(node: Traced, _: Any) -> list[Layer] | None:
    """The ``pool{d}`` spec layer of a pool node (windowed or adaptive)."""
    a, kind = node.attrs, node.op.replace("adaptive_", "")
    if "dilation" in a:
        return None  # a dilated pool: no spec kind says it
    if "output_size" in a:
        size = a["output_size"]
        return [{"kind": kind, "op": a["mode"], "global": True} if set(size) == {1}
                else {"kind": kind, "op": a["mode"], "output_size": list(size)}]
    layer: Layer = {"kind": kind, "op": a["mode"], "kernel_size": list(a["kernel"])}
    if a["stride"] != a["kernel"]:
        layer["stride"] = list(a["stride"])
    if set(a["padding"]) != {0}:
        layer["padding"] = list(a["padding"])
    return [{**layer, "ceil_mode": True} if a["ceil_mode"] else layer]


def pool_imports(window: type[PoolNd], adaptive: type[AdaptivePoolNd]) -> tuple[Imports, Imports]:
    """The import mappings of the windowed and the adaptive pool kinds of one rank."""
    d, axes = window.module_suffix, len(window.layout) - 2
    modes = (("max", "Max"), ("avg", "Avg"))
    return (
        Imports(modules={f"torch.nn.{name}Pool{d}": window_reader(mode, axes, True)
                         for mode, name in modes},
                functions={f"torch.nn.functional.{mode}_pool{d}": window_reader(mode, axes, False)
                           for mode, _ in modes},
                aten={f"aten.{mode}_pool{d}": window_reader(mode, axes, False) for mode, _ in modes},
                onnx={"MaxPool": onnx_window_reader("max", axes),
                      "AveragePool": onnx_window_reader("avg", axes)},
                emit=emit_pool),
        Imports(modules={f"torch.nn.Adaptive{name}Pool{d}": adaptive_reader(mode, adaptive.key)
                         for mode, name in modes},
                functions={f"torch.nn.functional.adaptive_{mode}_pool{d}":
                           adaptive_reader(mode, adaptive.key) for mode, _ in modes},
                aten={f"aten.adaptive_{mode}_pool{d}": adaptive_reader(mode, adaptive.key)
                      for mode, _ in modes},
                onnx={f"Global{name}Pool": fixed(mode=mode, output_size=(1,) * axes)
                      for mode, name in (("avg", "Average"), ("max", "Max"))},
                emit=emit_pool))


def _window_key(op: PoolNd) -> tuple[str, ...]:
    return (f"{op.mode}_pool{op.module_suffix}",)


def _adaptive_key(op: AdaptivePoolNd) -> tuple[str, ...]:
    return (f"adaptive_{op.mode}_pool{op.module_suffix}",)


def pool_kinds(window: type[PoolNd], adaptive: type[AdaptivePoolNd]) -> tuple[OpKind[Any], ...]:
    """The windowed pool kind (also the spec kind) and the adaptive one, for ``window.layout``."""
    suffix = window.module_suffix
    imports = pool_imports(window, adaptive)
    return (
        OpKind(window, pool_nd, _pool_module,
               dict.fromkeys((f"max_pool{suffix}", f"avg_pool{suffix}"), "pooling"),
               keys_of=_window_key, window=_pool_window, spec=pool_spec(suffix),
               kernel=lambda op, _: KernelForm("pool", pool=op.mode, window=math.prod(op.kernel)),
               lower=pool_lowering(window, adaptive), layout=window.layout, imports=imports[0]),
        OpKind(adaptive, adaptive_pool_nd, _adaptive_module,
               dict.fromkeys((f"adaptive_avg_pool{suffix}", f"adaptive_max_pool{suffix}"),
                             "pooling"),
               keys_of=_adaptive_key, window=_adaptive_window, layout=window.layout,
               kernel=lambda op, _: KernelForm("pool", pool=op.mode),
               imports=imports[1]),
    )


KINDS = (*pool_kinds(Pool3d, AdaptivePool3d), *pool_kinds(Pool1d, AdaptivePool1d))
