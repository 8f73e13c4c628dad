"""``groupnorm``, ``layernorm`` (over the channels, ConvNeXt's LayerNorm2d), ``instancenorm``.

Unlike BatchNorm they normalise with statistics of the input itself, so they never fold into
the conv before them. Each learns γ and β per channel when affine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Fields, Imports, Layer, OnnxCall, TorchCall, Traced, fixed
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields, learns_affine
from convcost.cost.ops.token_imports import emit_layernorm
from convcost.cost.value import LayerCost, Shape, spatial
from convcost.errors import ShapeError


@dataclass(frozen=True)
class GroupNorm(Op):
    key: ClassVar[str] = "groupnorm"
    groups: int
    channels: int
    affine: bool = True


@dataclass(frozen=True)
class LayerNorm(Op):
    """Over the channels at each position of ``[N, C, H, W]``: torchvision's ``LayerNorm2d``
    (ConvNeXt); ``last_dim``: ``nn.LayerNorm`` over the last dim (tokens ``[N, L, C]``, a
    channels-last ``[N, H, W, C]`` map: Swin)."""

    key: ClassVar[str] = "layernorm"
    channels: int
    affine: bool = True
    last_dim: bool = False


def layer_norm(op: LayerNorm, x: Shape) -> LayerCost:
    # [..., C] -> [..., C]; params 2·C (γ, β) when affine; paper MACs 0. [N, C, H, W]: LayerNorm2d
    if not op.last_dim:
        return channel_norm(op, x)
    if len(x) < 2 or x[-1] != op.channels:
        raise ShapeError(f"layernorm expects {op.channels} features in the last dim, got {list(x)}")
    return LayerCost(2 * op.channels if op.affine else 0, 0, x)


@dataclass(frozen=True)
class InstanceNorm(Op):
    key: ClassVar[str] = "instancenorm"
    channels: int
    affine: bool = False


def channel_norm(op: GroupNorm | LayerNorm | InstanceNorm, x: Shape) -> LayerCost:
    # [N, C, H, W] -> [N, C, H, W]; params 2·C (γ, β per channel) when affine; paper MACs 0
    n, c, h, w = spatial(x, op.key)
    if c != op.channels:
        raise ShapeError(f"{op.key} expects {op.channels} channels, got {c}")
    if isinstance(op, GroupNorm) and (op.groups < 1 or c % op.groups):
        raise ShapeError(f"groupnorm groups {op.groups} must divide the {c} channels")
    # torch refuses statistics of one value: InstanceNorm over H·W, GroupNorm over what its
    # _verify_batch_size sees, N·(C/G)·H·W
    values = h * w * (n * c // op.groups if isinstance(op, GroupNorm) else 1)
    if values == 1 and not isinstance(op, LayerNorm):
        raise ShapeError(f"{op.key} needs more than one value per "
                         f"{'group' if isinstance(op, GroupNorm) else 'channel'} (torch), got 1")
    return LayerCost(2 * c if op.affine else 0, 0, x)


@cache
def _layer_norm_2d() -> type:
    """torchvision.models.convnext.LayerNorm2d: permute to NHWC, ``F.layer_norm``, permute back."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.permute(0, 2, 3, 1)
            x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
            return x.permute(0, 3, 1, 2)

    return LayerNorm2d


def _group_module(op: GroupNorm, _: Shape) -> Any:
    from torch import nn

    return nn.GroupNorm(op.groups, op.channels, affine=op.affine)


def _layer_module(op: LayerNorm, x: Shape) -> Any:
    if op.last_dim:
        from torch import nn

        return nn.LayerNorm(op.channels, eps=1e-6, elementwise_affine=op.affine)
    return _layer_norm_2d()(op.channels, eps=1e-6, elementwise_affine=op.affine)


def _instance_module(op: InstanceNorm, _: Shape) -> Any:
    from torch import nn

    return nn.InstanceNorm2d(op.channels, affine=op.affine)


def _lower_group(f: Mapping[str, Any], x: Shape, _: Lowering) -> GroupNorm:
    return GroupNorm(f["groups"], x[1], f["affine"])


def _lower_layer(f: Mapping[str, Any], x: Shape, _: Lowering) -> LayerNorm:
    last = len(x) != 4 or f["last_dim"]  # nn.LayerNorm, else LayerNorm2d on [N, C, H, W]
    return LayerNorm(x[-1] if last else x[1], f["affine"], last)


def _layer_keys(op: LayerNorm) -> tuple[str, ...]:
    # tools see nn.LayerNorm itself (thop and ptflops know its type) or the LayerNorm2d subclass
    return ("layernorm_last",) if op.last_dim else ("layernorm",)


def _lower_instance(f: Mapping[str, Any], x: Shape, _: Lowering) -> InstanceNorm:
    return InstanceNorm(x[1], f["affine"])


_affine = Field("bool", True, doc="learnable γ and β per channel")


# -- import ------------------------------------------------------------------------------

def _read_module(c: TorchCall) -> Fields:
    """``nn.GroupNorm``, ``nn.LayerNorm``, ``nn.InstanceNorm2d``: affine, groups, normalized shape."""
    m = c.module
    affine = getattr(m, "elementwise_affine", getattr(m, "affine", True))
    attrs: Fields = dict(affine=bool(affine))
    if hasattr(m, "num_groups"):
        attrs["groups"] = m.num_groups
    if hasattr(m, "normalized_shape"):
        attrs["normalized"] = tuple(m.normalized_shape)
    return attrs


def _read_layer_norm(c: TorchCall) -> Fields:
    """``F.layer_norm(x, normalized_shape, weight, bias)`` (and ``aten.layer_norm``)."""
    normalized = c.arg(1, "normalized_shape")
    return dict(affine=c.arg(2, "weight") is not None, normalized=tuple(int(d) for d in normalized))


def _read_group_norm(c: TorchCall) -> Fields:
    """``F.group_norm(x, num_groups, weight, bias, eps)`` (timm's GroupNorm1: PoolFormer) and
    ``aten.group_norm``, in the same order."""
    return dict(groups=int(c.arg(1, "num_groups")), affine=c.arg(2, "weight") is not None)


def _read_onnx_layer_norm(c: OnnxCall) -> Fields:
    """Normalised over the axes from ``axis`` on (torch's ``normalized_shape``)."""
    source = c.in_shapes[0] or c.shape
    axis = int(c.attrs.get("axis", -1)) % len(source)
    return dict(affine=c.has(1), normalized=tuple(source[axis:]))


def _emit_group(node: Traced, _: Shape) -> list[Layer] | None:
    if not node.attr("groups"):
        return None
    layer: Layer = {"kind": "groupnorm", "groups": node.attr("groups")}
    return [layer if node.attr("affine", True) else {**layer, "affine": False}]


def _emit_instance(node: Traced, _: Shape) -> list[Layer]:
    return [{"kind": "instancenorm", **({"affine": True} if node.attr("affine") else {})}]


_WEIGHTS = (1, 2)  # scale and bias
GROUPNORM_IMPORTS = Imports(
    modules={"torch.nn.GroupNorm": _read_module},
    functions={"torch.nn.functional.group_norm": _read_group_norm},
    aten={"aten.group_norm": _read_group_norm},
    onnx={"GroupNormalization": fixed()}, onnx_weights={"GroupNormalization": _WEIGHTS}, emit=_emit_group)
LAYERNORM_IMPORTS = Imports(
    modules={"torch.nn.LayerNorm": _read_module},
    functions={"torch.nn.functional.layer_norm": _read_layer_norm},
    aten={"aten.layer_norm": _read_layer_norm}, onnx={"LayerNormalization": _read_onnx_layer_norm},
    onnx_weights={"LayerNormalization": _WEIGHTS}, emit=emit_layernorm)
INSTANCENORM_IMPORTS = Imports(
    modules={"torch.nn.InstanceNorm2d": _read_module}, onnx={"InstanceNormalization": fixed()},
    onnx_weights={"InstanceNormalization": _WEIGHTS}, emit=_emit_instance)

GROUPNORM = OpKind(
    GroupNorm, channel_norm, _group_module, {"groupnorm": "norm"}, learnable=True,
    elementwise=True, affine=learns_affine,
    spec=SpecKind(fields(groups=Field("int", doc="channel groups; must divide C"), affine=_affine),
                  "`nn.GroupNorm`"),
    lower=_lower_group, imports=GROUPNORM_IMPORTS)
LAYERNORM = OpKind(
    LayerNorm, layer_norm, _layer_module, {"layernorm": "norm", "layernorm_last": "norm"},
    keys_of=_layer_keys,
    learnable=True, elementwise=True, affine=learns_affine,
    spec=SpecKind(fields(affine=_affine, last_dim=Field(
        "bool", False, doc="over the last dim of a channels-last [N, H, W, C] input (any other "
        "rank: always over the last dim)")),
                  "`nn.LayerNorm` over the last dim (tokens `[N, L, C]`); on `[N, C, H, W]` "
                  "torchvision's `LayerNorm2d` over C at each position (`last_dim`: channels-last)"),
    lower=_lower_layer, imports=LAYERNORM_IMPORTS)
INSTANCENORM = OpKind(
    InstanceNorm, channel_norm, _instance_module, {"instancenorm": "norm"}, learnable=True,
    elementwise=True, affine=learns_affine,
    spec=SpecKind(fields(affine=Field("bool", False, doc="learnable γ and β (torch's default: off)")),
                  "`nn.InstanceNorm2d`"),
    lower=_lower_instance, imports=INSTANCENORM_IMPORTS)

KINDS = (GROUPNORM, LAYERNORM, INSTANCENORM)
