"""A spec with two named inputs built in torch: its forward takes both tensors, and the
cross-check (fvcore and FlopCounterMode on both inputs) agrees exactly."""

from __future__ import annotations

import pytest
import torch
from helpers import ROOT

from convcost.net.analysis import analyze
from convcost.runtime.build import build
from convcost.runtime.verify import verify
from convcost.spec.inputs import parse_inputs
from convcost.spec.loader import load_spec

SIAMESE = ROOT / "specs" / "examples" / "siamese.yaml"


def test_the_siamese_example_cross_checks_on_both_images() -> None:
    spec = load_spec(SIAMESE).with_inputs(parse_inputs(["left=1x3x32x32", "right=1x3x32x32"]))
    analysis = analyze(spec)
    result = verify(analysis)
    assert result.mismatches() == [] and result.ok
    # 2 stems of 16·16·16·27 = 110,592 MACs, fuse 32·8·8·288 = 589,824, head 320
    assert result.counter_flops == 2 * analysis.totals.macs == 2 * (2 * 110_592 + 589_824 + 320)
    assert result.torch_params == analysis.totals.params == 9_978  # the shared stem counted once


def test_the_built_model_reads_each_input_where_the_spec_says() -> None:
    model = build(analyze(load_spec(SIAMESE))).eval()
    left, right = torch.zeros(1, 3, 64, 64), torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        stem = model.stem_left
        out = model(left, right)
        swapped = model(right, left)
        assert not torch.equal(out, swapped)  # the order of the inputs matters (concat)
        assert torch.equal(stem(left), model.stem_right(left))  # one shared weight
    with pytest.raises(TypeError, match="forward takes 2 inputs, got 1"):
        model(left)


def test_profile_and_bench_run_every_input_and_the_shared_layer() -> None:
    # profile times each layer in place: stem_right (shares: stem_left, one module under two
    # names) is found; both images are fed. A timing is a float > 0, never compared to a bare time
    from convcost.runtime.bench import bench
    from convcost.runtime.profile import profile

    analysis = analyze(load_spec(SIAMESE).with_inputs(parse_inputs(["left=1x3x16x16",
                                                                     "right=1x3x16x16"])))
    result = profile(analysis, warmup=0, repeats=1)
    assert any(layer.name.startswith("stem_right") for layer in result.layers)
    assert result.end_to_end.median_s > 0
    timed = bench("siamese", {"siamese": analysis}, device="cpu", warmup=0, repeats=1)
    assert [t.name for t in timed.timings] == ["siamese"] and timed.timings[0].median_s > 0
