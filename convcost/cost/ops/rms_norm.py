"""``rmsnorm``: RMS normalisation, ``x / sqrt(mean(x²) + eps) · γ``: no mean subtracted, no β.

On ``[N, C, H, W]`` over the channels at each position (timm's ``RmsNorm2d`` and
``RmsNormAct2d``: MobileNetV5), ``last_dim``: over the last dim (``nn.RMSNorm``, ``F.rms_norm``
over tokens: DeepSeek's and Gemma's ViTs). Params C (γ) when affine; paper MACs 0, as a norm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, TorchCall, Traced
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields, learns_affine
from convcost.cost.ops.act import ACT
from convcost.cost.value import LayerCost, Shape, spatial
from convcost.errors import ShapeError


@dataclass(frozen=True)
class RmsNorm(Op):
    key: ClassVar[str] = "rmsnorm"
    channels: int
    affine: bool = True
    last_dim: bool = False


def rms_norm(op: RmsNorm, x: Shape) -> LayerCost:
    # [N, C, H, W] (over C) or [..., C] (last_dim) -> the same; params C (γ) when affine; paper MACs 0
    c = x[-1] if op.last_dim else spatial(x, "rmsnorm")[1]
    if c != op.channels:
        raise ShapeError(f"rmsnorm expects {op.channels} channels, got {c}")
    return LayerCost(op.channels if op.affine else 0, 0, x)


@cache
def _rms_norm_2d() -> type:
    import torch
    from torch import nn

    class RmsNorm2d(nn.Module):
        """timm's ``RmsNorm2d``: ``x · rsqrt(mean(x², dim=1) + eps) · γ`` on NCHW."""

        def __init__(self, channels: int, affine: bool) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(channels)) if affine else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-6)
            return x if self.weight is None else x * self.weight.reshape(1, -1, 1, 1)

    return RmsNorm2d


def _module(op: RmsNorm, _: Shape) -> Any:
    if op.last_dim:
        from torch import nn

        return nn.RMSNorm(op.channels, eps=1e-6, elementwise_affine=op.affine)
    return _rms_norm_2d()(op.channels, op.affine)


def _lower(f: Mapping[str, Any], x: Shape, _: Lowering) -> RmsNorm:
    last = len(x) != 4 or f["last_dim"]  # nn.RMSNorm, else timm's RmsNorm2d on [N, C, H, W]
    return RmsNorm(x[-1] if last else x[1], f["affine"], last)


def _keys(op: RmsNorm) -> tuple[str, ...]:
    return ("rmsnorm_last",) if op.last_dim else ("rmsnorm",)


# -- import ------------------------------------------------------------------------------

def _read_module(c: TorchCall) -> Fields:
    """``nn.RMSNorm(normalized_shape, eps, elementwise_affine)``."""
    return dict(normalized=tuple(c.module.normalized_shape), affine=bool(c.module.elementwise_affine))


def _read_call(c: TorchCall) -> Fields:
    """``F.rms_norm(x, normalized_shape, weight, eps)`` and ``aten.rms_norm``, in that order."""
    return dict(normalized=tuple(int(d) for d in c.arg(1, "normalized_shape")),
                affine=c.arg(2, "weight") is not None)


def _read_onnx(c: OnnxCall) -> Fields:
    """``RMSNormalization`` (opset 23): over the axes from ``axis`` on, a scale input."""
    source = c.in_shapes[0] or c.shape
    return dict(normalized=tuple(source[int(c.attrs.get("axis", -1)) % len(source):]), affine=c.has(1))


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    """Over the last dim only (of any rank: on [N, H, W, C], channels-last, ``last_dim``)."""
    if len(x) < 2 or tuple(node.attr("normalized", ())) != (x[-1],):
        return None
    layer: Layer = {"kind": "rmsnorm", "last_dim": True}
    return [layer if node.attr("affine", True) else {**layer, "affine": False}]


def _whole(nodes: Sequence[Traced], shape: Shape, nhwc: bool) -> list[Layer] | None:
    """timm's ``RmsNorm2d`` (``RmsNormAct2d``: then its activation), whatever it traces to: one
    mean over the channels, an ``rsqrt``, γ of C params (or none)."""
    means = [n for n in nodes if n.op == "mean"]
    norm = [n for n in nodes if n.op != "act"]
    acts = [n for n in nodes if n.op == "act"]
    params = sum(n.params for n in nodes)
    if nhwc or len(shape) != 4 or len(means) != 1 or tuple(d % 4 for d in means[0].attr("dims", ())) != (1,) \
            or not any("rsqrt" in n.target for n in norm) or params not in (0, shape[1]) \
            or nodes[-1].shape != shape or any(n.op != "act" for n in nodes[len(norm):]):
        return None
    layers: list[Layer] = [{"kind": "rmsnorm"} if params else {"kind": "rmsnorm", "affine": False}]
    emit = ACT.imports.emit
    for act in acts:
        more = emit(act, shape) if emit is not None else None
        if more is None:
            return None
        layers += more
    return layers


_WHOLE = {"RmsNorm2d": _whole, "RmsNormAct2d": _whole}
RMSNORM = OpKind(
    RmsNorm, rms_norm, _module, {"rmsnorm": "norm", "rmsnorm_last": "norm"}, keys_of=_keys,
    learnable=True, elementwise=True, affine=learns_affine,
    spec=SpecKind(fields(affine=Field("bool", True, doc="a learnable γ per channel"),
                         last_dim=Field("bool", False, doc="over the last dim of a channels-last "
                                        "[N, H, W, C] input (any other rank: always the last dim)")),
                  "RMS norm, `x / sqrt(mean(x²) + eps) · γ`: `nn.RMSNorm` over the last dim "
                  "(tokens); on `[N, C, H, W]` timm's `RmsNorm2d` over C at each position"),
    lower=_lower,
    imports=Imports(modules={"torch.nn.RMSNorm": _read_module},
                    functions={"torch.nn.functional.rms_norm": _read_call},
                    aten={"aten.rms_norm": _read_call}, onnx={"RMSNormalization": _read_onnx},
                    onnx_weights={"RMSNormalization": (1,)}, classes=_WHOLE, emit=_emit))

KINDS = (RMSNORM,)
