"""A fixed sample of the coverage corpus (benchmarks/coverage.py), imported in-process at small
inputs: every pattern issue 19 names. Each model imports (the importer's self-check passes) and
is either exact (params = sum(p.numel()), MACs = FlopCounterMode FLOPs / 2, nothing opaque) or
flagged incomplete (opaque layers, params exact, MACs a lower bound). ``SAMPLE`` says which: a
model that changes state fails here until the table is updated."""

from __future__ import annotations

import pytest

SAMPLE = {  # source: (input side, expected)
    "tests/models/yolo.py:YoloC3": (128, "exact"),  # C3 repeat read by from:, ×2 upsample, heads
    "tests/models/yolo.py:YoloC2f": (128, "exact"),  # chunk of a conv, every piece concatenated
    "tests/models/yolo.py:Slicing": (64, "exact"),  # x[:, a:b], narrow, split, F.pad, relu_, add_
    "tests/torch/import_models.py:Functional": (32, "exact"),  # functional convs, shuffle, SE
    "tests/torch/import_models.py:Shared": (32, "exact"),  # one conv called twice
    "torchvision:resnet18": (64, "exact"),
    "torchvision:mobilenet_v3_small": (64, "exact"),
    "torchvision:shufflenet_v2_x0_5": (64, "exact"),
    "torchvision:squeezenet1_1": (64, "exact"),  # conv classifier: a head
    "timm:ghostnet_050": (64, "exact"),  # ghost modules: cat then channel slice
    "timm:rexnet_100": (64, "exact"),  # partial residual: x[:, :c] += shortcut
    "timm:dpn48b": (64, "exact"),  # dual path: split + cat
    "timm:cs3darknet_s": (64, "exact"),  # CSP: split, cat
    "timm:res2net50_48w_2s": (64, "exact"),  # torch.split into scales
    "timm:skresnet18": (64, "exact"),  # selective kernel: stack, sum, softmax over branches
    "timm:resnest14d": (64, "exact"),  # split attention: sum over radix splits
    "timm:ecaresnet26t": (64, "exact"),  # ECA: Conv1d over channels, view, expand_as
    "timm:convnextv2_atto": (64, "exact"),  # GRN on a channels-last view: the grn kind
    "timm:repvit_m0_9": (64, "exact"),  # distillation head averaged with the head: average
    "timm:tf_efficientnet_b0": (64, "exact"),  # TF 'same' padding by F.pad
    "timm:edgenext_xx_small": (64, "exact"),  # F.normalize, the Fourier grid (by class)
    "timm:vit_tiny_patch16_224": (224, "exact"),  # forward(x, attn_mask=None): a constant, not an input
}


def _reference(model: object, shape: tuple[int, ...]) -> tuple[int, int]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.runtime.flop_count import math_attention

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), math_attention(), counter:  # attention's matmuls counted (issue 20 §3)
        model(torch.zeros(shape))  # type: ignore[operator]
    params = sum(p.numel() for p in model.parameters())  # type: ignore[attr-defined]
    return params, counter.get_total_flops() // 2


@pytest.mark.parametrize("source", list(SAMPLE))
def test_sample_model_is_exact_or_flagged(source: str) -> None:
    from convcost.frontend.source import parse_source
    from convcost.net.analysis import analyze
    from convcost.runtime.importer.convert import to_spec
    from convcost.runtime.importer.resolve import load_module
    from convcost.runtime.importer.trace import trace
    from convcost.spec.loader import parse_spec

    side, expected = SAMPLE[source]
    shape = (1, 3, side, side)
    model = load_module(parse_source(source))
    params, macs = _reference(model, shape)
    imported = to_spec(trace(model, shape, source), source)  # self-checked
    totals = analyze(parse_spec(imported.spec)).root
    state = "incomplete" if imported.emitted.opaque else "exact"
    assert totals.params == params
    if state == "exact":
        assert totals.macs == macs
    else:
        assert totals.macs <= macs  # a lower bound, and said so (opaque layers)
    assert state == expected, f"{source} is now {state}: update SAMPLE"
