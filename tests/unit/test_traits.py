"""Traits, not classes: layer classes, fused units and the separable-pair data path read the
kind's declaration (cost/opkind.py), so a new kind is classified without touching their code."""

from __future__ import annotations

from dataclasses import replace

import pytest

from convcost.cost import registry
from convcost.cost.groups import layer_class
from convcost.cost.ops import Activation, BatchNorm, Conv2d, Linear, Mul, Scale
from convcost.cost.ops.transpose import ConvTranspose2d

CLASSES = [  # op -> MobileNet Table 2 class
    (Conv2d(8, 16, (3, 3)), "standard"),
    (Conv2d(8, 8, (3, 3), groups=8), "depthwise"),
    (Conv2d(8, 16, (1, 1)), "pointwise"),
    (Conv2d(8, 16, (3, 3), groups=2), "grouped"),
    (Linear(8, 4), "fully connected"),
    (Linear(8, 4, per_position=True), "pointwise"),  # ConvNeXt's MLP: a 1×1 conv on C
    (BatchNorm(8), "other"),
    (None, "other"),
]


@pytest.mark.parametrize(("op", "expected"), CLASSES)
def test_layer_class_is_the_kinds_trait(op: object, expected: str) -> None:
    assert layer_class(op) == expected  # type: ignore[arg-type]


def test_a_kind_declaring_a_layer_class_is_classified(monkeypatch: pytest.MonkeyPatch) -> None:
    op = ConvTranspose2d(8, 4, (2, 2), (2, 2))
    assert layer_class(op) == "other"
    kind = replace(registry.OPS["conv_transpose"], layer_class=lambda _: "standard")
    monkeypatch.setattr(registry, "OPS", {**registry.OPS, "conv_transpose": kind})
    assert layer_class(op) == "standard"


def test_fusion_heads_and_epilogues() -> None:
    """conv and linear head a fused kernel; BN and activations end it; nothing else does."""
    heads = {k for k, kind in registry.OPS.items() if kind.fusion == "head"}
    tails = {k for k, kind in registry.OPS.items() if kind.fusion == "epilogue"}
    assert (heads, tails) == ({"conv", "linear"}, {"bn", "act"})
    assert registry.op_kind(Activation("relu")).fusion == "epilogue"


def test_the_data_path_of_a_gate() -> None:
    """x · gate runs through x (input 0); a * b through the input of the output's shape."""
    scale, mul = registry.op_kind(Scale()).path, registry.op_kind(Mul((1, 8, 1, 1))).path
    assert scale is not None and mul is not None
    assert scale(((1, 8, 4, 4), (1, 8, 1, 1)), (1, 8, 4, 4)) == (0,)
    assert mul(((1, 8, 1, 1), (1, 8, 4, 4)), (1, 8, 4, 4)) == (1,)  # the gate first


def test_the_conventions_read_a_norms_affine_trait(monkeypatch: pytest.MonkeyPatch) -> None:
    """fvcore's norm rule counts numel·5 with γ and β, numel·4 without; which kinds learn them is
    the kinds' ``affine`` trait, never a list of norm classes in conventions/."""
    from convcost.conventions.formulas import norm_fvcore
    from convcost.cost.graph import Node
    from convcost.cost.ops.channel_norm import GroupNorm

    x = (2, 6, 5, 7)  # numel 420

    def node(op: GroupNorm) -> Node:
        cost = registry.cost(op, x)
        return Node(name="g", label=op.key, input_shape=x, output_shape=x, op=op, params=cost.params,
                    macs=cost.macs)

    assert (norm_fvcore(node(GroupNorm(3, 6))), norm_fvcore(node(GroupNorm(3, 6, False)))) == (2100, 1680)
    assert {k for k, kind in registry.OPS.items() if kind.affine} == {
        "bn", "groupnorm", "layernorm", "instancenorm", "rmsnorm"}
    monkeypatch.setattr(registry, "OPS", {**registry.OPS, "groupnorm": replace(
        registry.OPS["groupnorm"], affine=None)})
    assert norm_fvcore(node(GroupNorm(3, 6))) == 1680  # not declared a norm: no γ, β counted


@pytest.mark.parametrize(("key", "op", "rank", "axes"), [
    ("permute", {"dims": (0, 2, 3, 1)}, 4, (0, 2, 3, 1)),  # NCHW -> NHWC
    ("permute", {"dims": (0, 2, 1)}, 4, None),  # not every axis: no move said
    ("transpose", {"dim0": 1, "dim1": 2}, 3, (0, 2, 1)),  # NCL -> NLC
    ("transpose", {"dim0": -1, "dim1": 1}, 4, (0, 3, 2, 1)),
])
def test_a_kinds_axes_trait_moves_the_layout(key: str, op: dict[str, object], rank: int,
                                            axes: tuple[int, ...] | None) -> None:
    """cost/dataflow.py moves a layout's letters by the kind's ``axes`` (a permute, a transpose)."""
    kind = registry.OPS[key]
    assert kind.axes is not None
    assert kind.axes(kind.op(**op), rank) == axes
    assert {k for k, kind in registry.OPS.items() if kind.axes} == {"permute", "transpose"}
