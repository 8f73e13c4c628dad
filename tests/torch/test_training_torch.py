"""Training MACs against torch's FlopCounterMode on real backward passes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from helpers import SPECS, ConvCase, conv_cases
from hypothesis import given, settings
from hypothesis import strategies as st

import convcost
from convcost.cost.graph import Node
from convcost.cost.ops import Conv2d, Linear
from convcost.cost.ops.attention import Attention, MultiheadAttention
from convcost.cost.ops.matmul import Einsum, Matmul
from convcost.cost.ops.mqa import MobileMQA
from convcost.cost.registry import cost, op_kind
from convcost.cost.training import op_backward, training
from convcost.net.expand import Expander, Scaling
from convcost.spec.loader import parse_spec


def _leaf(op: Conv2d | Linear, shape: tuple[int, ...]) -> Node:
    return Expander(Scaling()).leaf("layer", op, shape, "")


def _counted_flops(module: Any, shape: tuple[int, ...], input_grad: bool) -> int:
    """FlopCounterMode FLOPs of one forward and one backward pass of ``module``."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(*shape, requires_grad=input_grad)
    with FlopCounterMode(display=False) as counter:
        module(x).sum().backward()
    return int(counter.get_total_flops())


def _torch_conv(op: Conv2d) -> Any:
    from torch import nn

    return nn.Conv2d(op.in_channels, op.out_channels, op.kernel, op.stride, op.padding,
                     op.dilation, op.groups, op.bias)


@pytest.mark.torch  # needs torch: deselected by the fast loop
@settings(max_examples=60, deadline=None)
@given(case=conv_cases(), input_grad=st.booleans())
def test_plain_conv_matches_flop_counter(case: ConvCase, input_grad: bool) -> None:
    op = Conv2d(case.op.in_channels, case.op.out_channels, case.op.kernel, case.op.stride,
                case.op.padding, case.op.dilation, 1, case.op.bias)  # groups = 1
    result = training(_leaf(op, case.input_shape), input_needs_grad=input_grad)
    # forward F, grad-weight F, grad-input F when the input needs it: (2 or 3) * 2F FLOPs
    assert result.total_macs == (3 if input_grad else 2) * result.forward_macs
    assert 2 * result.total_macs == _counted_flops(_torch_conv(op), case.input_shape, input_grad)


@pytest.mark.torch  # needs torch: deselected by the fast loop
@settings(max_examples=40, deadline=None)
@given(batch=st.integers(1, 3), features=st.integers(1, 40), out=st.integers(1, 40),
       bias=st.booleans(), input_grad=st.booleans())
def test_linear_matches_flop_counter(batch: int, features: int, out: int, bias: bool,
                                     input_grad: bool) -> None:
    from torch import nn

    result = training(_leaf(Linear(features, out, bias), (batch, features)), input_grad)
    # forward N*F*O; grad-weight N*F*O; grad-input N*F*O when needed
    assert result.forward_macs == batch * features * out
    assert result.grad_weight_macs == batch * features * out
    assert result.grad_input_macs == (batch * features * out if input_grad else 0)
    counted = _counted_flops(nn.Linear(features, out, bias), (batch, features), input_grad)
    assert 2 * result.total_macs == counted


@pytest.mark.torch  # needs torch: deselected by the fast loop
@settings(max_examples=60, deadline=None)
@given(case=conv_cases(), input_grad=st.booleans())
def test_grouped_conv_flop_counter_overcounts_grad_weight(case: ConvCase, input_grad: bool) -> None:
    """FlopCounterMode = 2·(forward + grad-input + g·grad-weight): exact for every groups."""
    result = training(_leaf(case.op, case.input_shape), input_needs_grad=input_grad)
    g = case.op.groups
    expected = 2 * (result.forward_macs + result.grad_input_macs + g * result.grad_weight_macs)
    assert _counted_flops(_torch_conv(case.op), case.input_shape, input_grad) == expected


@pytest.mark.torch  # needs torch: deselected by the fast loop
@settings(max_examples=40, deadline=None)
@given(case=conv_cases())
def test_grouped_conv_equals_its_groups_as_plain_convs(case: ConvCase) -> None:
    """A grouped conv is g plain convs on channel slices: FlopCounterMode is right on those."""
    import torch
    from torch import nn

    op, g = case.op, case.op.groups
    parts = nn.ModuleList(
        nn.Conv2d(op.in_channels // g, op.out_channels // g, op.kernel, op.stride, op.padding,
                  op.dilation, 1, op.bias) for _ in range(g))

    def split(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([conv(chunk) for conv, chunk in zip(parts, x.chunk(g, 1), strict=True)], 1)

    result = training(_leaf(op, case.input_shape), input_needs_grad=True)
    # grad-weight = forward for any groups: each weight sums N*Ho*Wo products
    assert result.grad_weight_macs == result.forward_macs == result.grad_input_macs
    assert 2 * result.total_macs == _counted_flops(split, case.input_shape, True)


@pytest.mark.torch  # needs torch: deselected by the fast loop
@pytest.mark.parametrize(("name", "resolution"), [
    ("standard_cnn", None), ("resnet18", 64), ("vgg16", 32),
])
def test_plain_conv_specs_match_flop_counter(name: str, resolution: int | None) -> None:
    """Whole nets with groups = 1 only: one forward + backward of the built model."""
    from convcost.runtime.build import build

    analysis = convcost.analyze(convcost.load_spec(SPECS / f"{name}.yaml"), resolution=resolution)
    model = build(analysis).train()
    result = training(analysis.root)
    assert 2 * result.total_macs == _counted_flops(model, analysis.input_shape, False)
    assert all(isinstance(leaf.op, Conv2d) and leaf.op.groups == 1
               for leaf in analysis.leaves() if leaf.label in ("conv", "pwconv", "gconv", "dwconv"))




# Contractions and attention: the forward + backward FLOPs FlopCounterMode counts on a real
# backward (math SDPA, MHA's fast path off) against 2·(forward + grad-input + grad-weight),
# for each pattern of inputs that need a gradient. The arithmetic: tests/unit/test_training_rules.py.
_CONTRACTIONS: dict[str, tuple[Any, list[tuple[int, ...]]]] = {
    "matmul": (Matmul((2, 5, 7)), [(2, 3, 5), (2, 5, 7)]),
    "matmul broadcast": (Matmul((5, 7)), [(2, 4, 3, 5), (5, 7)]),
    "bmm": (Matmul((2, 5, 7), "bmm"), [(2, 3, 5), (2, 5, 7)]),
    "einsum": (Einsum("bhqd,bhkd->bhqk", (2, 3, 6, 4)), [(2, 3, 5, 4), (2, 3, 6, 4)]),
    "einsum pre-summed": (Einsum("bij,bjk->bi", (2, 4, 6)), [(2, 3, 4), (2, 4, 6)]),
    "einsum outer": (Einsum("ij,kl->ijkl", (4, 6)), [(3, 4), (4, 6)]),
    "attention": (Attention((2, 3, 6, 4), (2, 3, 6, 5)), [(2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 5)]),
    "attention shared kv": (Attention((2, 1, 6, 4), (2, 1, 6, 5)),
                            [(2, 3, 5, 4), (2, 1, 6, 4), (2, 1, 6, 5)]),
    "mha cross": (MultiheadAttention(8, 2, True, (6, 5, 3)), [(2, 4, 8), (2, 6, 5), (2, 6, 3)]),
    "mha self": (MultiheadAttention(8, 2), [(2, 4, 8)]),
    "mha weights": (MultiheadAttention(8, 2, False, None, True), [(2, 4, 8)]),
    "mobile_mqa": (MobileMQA(8, 12, 2, 4, 6), [(2, 8, 4, 4)]),
}


def _needs(count: int) -> list[tuple[bool, ...]]:
    return [tuple(bool(bits >> i & 1) for i in range(count)) for bits in range(2 ** count)]


@pytest.mark.torch  # needs torch: deselected by the fast loop
@pytest.mark.parametrize("name", list(_CONTRACTIONS))
def test_contraction_backward_matches_flop_counter(name: str) -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.runtime.flop_count import math_attention

    op, shapes = _CONTRACTIONS[name]
    module = op_kind(op).module(op, shapes[0]).train()
    learnable = any(p.requires_grad for p in module.parameters())
    for needs in _needs(len(shapes)):
        xs = [torch.randn(*shape, requires_grad=need) for shape, need in zip(shapes, needs, strict=True)]
        with math_attention(), FlopCounterMode(display=False) as counter:
            call = op_kind(op).call  # as a model calls it (MHA: mha(q, k, v)[0])
            out = call(op, module, tuple(xs)) if call else module(*xs)
            if learnable or any(needs):
                out.sum().backward()
        grads = op_backward(op, shapes[0], needs)
        assert grads is not None
        assert counter.get_total_flops() == 2 * (cost(op, shapes[0]).macs + sum(grads)), needs


@pytest.mark.torch  # needs torch: deselected by the fast loop
def test_token_block_training_matches_flop_counter() -> None:
    """LayerNorm, nn.MultiheadAttention, a qkv linear, SDPA, q @ kᵀ, softmax, a·v: one forward
    + backward of the built block (its input needs no gradient)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.runtime.build import build
    from convcost.runtime.flop_count import math_attention
    from tests.torch.test_attention_spec import BLOCK

    analysis = convcost.analyze(parse_spec(yaml.safe_load(BLOCK)))
    result = training(analysis.root)
    assert result.complete and result.grad_input_macs > 0
    with math_attention(), FlopCounterMode(display=False) as counter:
        build(analysis).train()(torch.zeros(analysis.input_shape)).sum().backward()
    assert counter.get_total_flops() == 2 * result.total_macs


def _step_flops(model: Any, shape: tuple[int, ...]) -> int:
    """FlopCounterMode's FLOPs of one training step (forward + backward, math attention)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.runtime.flop_count import math_attention

    with math_attention(), FlopCounterMode(display=False) as counter:
        model.train()(torch.zeros(shape)).sum().backward()
    return int(counter.get_total_flops())


@pytest.mark.torch  # needs torch: deselected by the fast loop
def test_small_torchvision_vit_training_matches_flop_counter() -> None:
    """A real torchvision VisionTransformer (class token, position embedding, MHA, MLP), small."""
    from torchvision.models.vision_transformer import VisionTransformer

    vit = VisionTransformer(image_size=32, patch_size=16, num_layers=2, num_heads=2, hidden_dim=16,
                            mlp_dim=32, num_classes=10)
    result = training(convcost.analyze(vit, input_shape=(1, 3, 32, 32)).root)
    assert result.complete
    assert 2 * result.total_macs == _step_flops(vit, (1, 3, 32, 32))


# a whole timm ViT: make test-all (the small torchvision ViT above is make test's proof)
@pytest.mark.exhaustive
@pytest.mark.torch  # needs torch: deselected by the fast loop
def test_timm_vit_tiny_training_matches_flop_counter() -> None:
    """timm's vit_tiny_patch16_224 (SDPA attention): 3,732,148,224 training MACs, FlopCounterMode's."""
    from convcost.runtime.importer.resolve import import_torchvision

    import_torchvision()  # timm imports torchvision: with CPU torch, its fake ops tolerated
    import timm

    vit = timm.create_model("vit_tiny_patch16_224", pretrained=False)
    result = training(convcost.analyze(vit, input_shape=(1, 3, 224, 224)).root)
    # forward 1,253,683,200 (math path); grad-weight 1,074,851,328; grad-input 1,403,613,696
    assert result.total_macs == 3_732_148_224
    assert 2 * result.total_macs == _step_flops(vit, (1, 3, 224, 224))
