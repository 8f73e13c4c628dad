"""Each issue-12 spec (and vit_b_16) equals torchvision's model: params, FlopCounterMode MACs,
and the multiset of its convolutions, linears and multi-head attentions (type, channels,
kernel, stride, padding, dilation, groups, bias; width, heads), module by module."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from helpers import run_tool_on_module
from shipped_specs import TORCHVISION_SPECS

from convcost.conventions.rules import CONVENTIONS
from convcost.cost.ops import Conv2d, Linear
from convcost.cost.ops.attention import MultiheadAttention
from convcost.cost.ops.conv_nd import Conv3d
from convcost.cost.ops.swin import ShiftedWindowAttention
from convcost.errors import MissingDependencyError
from convcost.net.analysis import Analysis, analyze
from convcost.runtime.importer.resolve import import_torchvision
from convcost.spec.loader import load_spec


def _torchvision_model(builder: str, kwargs: dict[str, Any], device: str = "cpu") -> Any:
    """The model built on ``device``; on the meta device no init runs. regnet computes its
    widths with tensors it reads back: it is built on the CPU, then moved."""
    import torch

    try:
        import_torchvision()
    except MissingDependencyError as err:
        pytest.skip(str(err))
    import torchvision.models as models  # type: ignore[import-untyped]
    import torchvision.models.segmentation  # type: ignore[import-untyped]
    import torchvision.models.video  # type: ignore[import-untyped]  # noqa: F401

    module = (getattr(models, builder, None) or getattr(models.segmentation, builder, None)
              or getattr(models.video, builder))
    try:
        with torch.device(device):
            return module(**kwargs).eval()
    except NotImplementedError:  # "Cannot copy out of meta tensor"
        return module(**kwargs).eval().to(device)


def _torch_layers(model: Any) -> Counter[tuple[Any, ...]]:
    from torch import nn

    layers: Counter[tuple[Any, ...]] = Counter()
    inside = {id(m.out_proj) for m in model.modules() if isinstance(m, nn.MultiheadAttention)}
    inside |= {id(part) for m in model.modules() if type(m).__name__.startswith("ShiftedWindow")
               for part in m.modules() if part is not m}  # Swin's qkv, proj (V2: cpb_mlp)
    for module in model.modules():
        if isinstance(module, nn.MultiheadAttention):  # its out_proj is part of it
            layers[("mha", module.embed_dim, module.num_heads, module.in_proj_bias is not None)] += 1
        elif type(module).__name__.startswith("ShiftedWindowAttention"):
            layers[("swin", module.qkv.in_features, module.num_heads, tuple(module.window_size),
                    tuple(module.shift_size))] += 1
        elif id(module) in inside:
            continue
        elif type(module) is nn.Conv2d or isinstance(module, nn.Conv3d):  # r3d: Conv3DSimple
            layers[("conv", module.in_channels, module.out_channels, module.kernel_size,
                    module.stride, module.padding, module.dilation, module.groups,
                    module.bias is not None)] += 1
        elif isinstance(module, nn.Linear):
            layers[("linear", module.in_features, module.out_features,
                    module.bias is not None)] += 1
    return layers


def _spec_layers(analysis: Analysis) -> Counter[tuple[Any, ...]]:
    layers: Counter[tuple[Any, ...]] = Counter()
    for leaf in analysis.leaves():
        op = leaf.op
        if isinstance(op, Conv2d | Conv3d):
            layers[("conv", op.in_channels, op.out_channels, op.kernel, op.stride, op.padding,
                    op.dilation, op.groups, op.bias)] += 1
        elif isinstance(op, Linear):
            layers[("linear", op.in_features, op.out_features, op.bias)] += 1
        elif isinstance(op, MultiheadAttention):
            layers[("mha", op.embed_dim, op.heads, op.bias)] += 1
        elif isinstance(op, ShiftedWindowAttention):
            layers[("swin", op.channels, op.heads, op.window, op.shift)] += 1
    return layers


@pytest.mark.parametrize(("spec", "builder", "kwargs", "resolution", "params", "macs"),
                         TORCHVISION_SPECS, ids=[s[0] for s in TORCHVISION_SPECS])
def test_spec_equals_torchvision(spec: str, builder: str, kwargs: dict[str, Any],
                                 resolution: int | tuple[int, ...], params: int, macs: int) -> None:
    import torch

    from convcost.runtime.flop_count import flop_counter

    # on the meta device: params and FlopCounterMode's FLOPs depend on shapes only, and the
    # forward costs no arithmetic (Inception v3 at 299: 0.3 s instead of 7 s); attention on
    # the math path (math SDPA backend, MHA fast path off), whose matmuls FlopCounterMode sees
    model = _torchvision_model(builder, kwargs, "meta")
    shape = resolution if isinstance(resolution, tuple) else (1, 3, resolution, resolution)
    with torch.no_grad(), flop_counter() as counter:
        model(torch.zeros(shape, device="meta"))
    assert sum(p.numel() for p in model.parameters()) == params
    assert counter.get_total_flops() == 2 * macs
    analysis = analyze(load_spec(spec))
    assert (analysis.totals.params, analysis.totals.macs) == (params, macs)
    assert analysis.input_shape == shape
    assert _spec_layers(analysis) == _torch_layers(model)


# specs written to be counted as torchvision's model by the module-hook tools too, whose
# counts tell an nn.ReLU / nn.*Pool2d from the F.relu / F.*_pool2d torchvision calls in
# forward (fvcore sees the same aten ops either way, torchinfo counts parameters only); at a
# small input that keeps the tools quick
TOOL_EQUAL = [("googlenet", 64), ("inception_v3", 75)]  # 75: Inception v3's smallest input


@pytest.mark.parametrize("tool", ["thop", "ptflops"])
@pytest.mark.parametrize(("spec", "resolution"), TOOL_EQUAL, ids=[s for s, _ in TOOL_EQUAL])
def test_tools_count_the_spec_as_torchvisions_model(spec: str, resolution: int, tool: str) -> None:
    _, builder, kwargs, *_ = next(row for row in TORCHVISION_SPECS if row[0] == spec)
    theirs = run_tool_on_module(tool, lambda: _torchvision_model(builder, kwargs),
                                (1, 3, resolution, resolution))
    ours = analyze(load_spec(spec), resolution=resolution)
    assert CONVENTIONS[tool].total(ours) == theirs.count
