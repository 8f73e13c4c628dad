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
