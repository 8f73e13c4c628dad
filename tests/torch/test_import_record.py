"""Models neither torch.fx nor torch.export can trace are recorded as they run (issue 20 §5):
the leaves with their module paths, loops unrolled, post-processing as zero-MAC ``recorded``
layers, a MAC-bearing op no kind expresses opaque (flagged); one note on stderr."""

from __future__ import annotations

import json
from typing import Any

import pytest
from shipped_specs import DETECTOR_SPECS
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.errors import MissingDependencyError
from convcost.runtime.importer.convert import to_spec
from convcost.runtime.importer.resolve import import_torchvision
from convcost.runtime.importer.trace import trace
from convcost.spec.loader import spec_from
from convcost.spec.yamlsafe import load_yaml
from tests.torch import record_models

MODELS = "tests/torch/record_models.py"
SHAPE = (1, 3, 16, 16)

# (model, [(leaf name, label, params, MACs)]) on 1×3×16×16 zeros
CASES = [
    # conv 3->8 k3 p1: 8·16·16·3·9 = 55,296 MACs, 8·27+8 = 224 params; the if's pool ran;
    # head 8->10: 80 MACs, 90 params. The sum and the comparison only steered Python: no layer.
    ("Branching", [("conv", "conv", 224, 55296), ("act", "relu", 0, 0), ("pool", "pool", 0, 0),
                   ("mean", "mean", 0, 0), ("head", "linear", 90, 80)]),
    # stem 1×1 3->4: 4·256·3 = 3,072 MACs, 16 params; the loop unrolled: step 3×3 4->4 three
    # times, 4·256·36 = 36,864 MACs each, its 4·36+4 = 148 params once (the later calls share them)
    ("Refining", [("stem", "pwconv", 16, 3072), ("step", "conv", 148, 36864),
                  ("step_2", "conv", 0, 36864), ("step_3", "conv", 0, 36864)]),
    # conv 3->6 k3 s2: 6·8·8·27 = 10,368 MACs, 168 params; head 6->20: 120 MACs, 140 params;
    # top-k (k = 20 // 4 read from the data), its indices and the gather: recorded, 0 MACs; an add
    ("TopK", [("conv", "conv", 168, 10368), ("mean", "mean", 0, 0), ("head", "linear", 140, 120),
              ("topk", "recorded", 0, 0), ("topk_item1", "recorded", 0, 0),
              ("gather", "recorded", 0, 0), ("add", "add", 0, 0)]),
    # backbone 3->8 k3 p1: 8·256·27 = 55,296 MACs, 224 params; top-k keeps 256 // 64 = 4 boxes,
    # one recorded layer (its rows are read again at the end); the 4 crops of 8×4×4, another;
    # head 8->4 k3 p1 on the batch of 4 crops: 4·4·16·72 = 18,432 MACs, 4·72+4 = 292 params;
    # the add of the rows read after the head: recorded (was one opaque layer swallowing the head)
    ("RoiHead", [("backbone", "conv", 224, 55296), ("mean", "mean", 0, 0), ("view", "view", 0, 0),
                 ("select", "unbind", 0, 0), ("topk", "recorded", 0, 0), ("topk_2", "recorded", 0, 0),
                 ("head", "conv", 292, 18432), ("mean_2", "mean", 0, 0), ("add", "recorded", 0, 0)]),
]


def _analysis(name: str) -> Any:
    from convcost.net.analysis import analyze

    graph = trace(getattr(record_models, name)().eval(), SHAPE, name)
    imported = to_spec(graph, f"{MODELS}:{name}")
    return graph, analyze(spec_from(load_yaml(imported.yaml, name), imported.yaml, name))


@pytest.mark.parametrize(("name", "leaves"), CASES, ids=[c[0] for c in CASES])
def test_untraceable_models_are_recorded_exactly(name: str, leaves: list[tuple[str, str, int, int]]) -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    graph, analysis = _analysis(name)
    assert graph.tracer == "recorded"
    assert [(leaf.name, leaf.label, leaf.params, leaf.macs) for leaf in analysis.leaves()] == leaves
    model = getattr(record_models, name)().eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(SHAPE))
    assert analysis.totals.macs == counter.get_total_flops() // 2 == sum(leaf[3] for leaf in leaves)
    assert analysis.totals.params == sum(p.numel() for p in model.parameters())
    assert analysis.complete


def test_a_matmul_no_kind_expresses_is_opaque() -> None:
    # conv 1×1 3->4: 4·256·3 = 3,072 MACs counted; addmm [4,256]·[256,4]: 4·4·256 = 4,096 MACs
    # ran but fit no kind: opaque, flagged, never silently dropped
    graph, analysis = _analysis("Matmul")
    assert [n.attr("macs") for n in graph.nodes if n.op == "opaque"] == [4096]
    assert analysis.totals.macs == 3072 and not analysis.complete
    assert analysis.uncounted.ops["aten.addmm"] == 1


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def test_stderr_says_the_model_was_recorded(runner: CliRunner) -> None:
    result = runner.invoke(app, ["model", f"{MODELS}:Refining", "--no-verify", "-f", "json"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "recorded the ops" in line]
    assert len(notes) == 1 and "torch.fx (" in notes[0] and "torch.export (" in notes[0]
    # its loop ran on a value: the totals hold for those weights too
    assert notes[0].endswith("zeros of 1×3×224×224 (loops unrolled): the spec holds for that input and "
                             "those weights only (values chose the ops)")
    data = json.loads(result.stdout)
    assert data["totals"]["macs"] == 4 * 224 * 224 * (3 + 3 * 36)  # stem + three steps
    assert data["totals"]["complete"] is True


def test_strict_takes_recorded_layers_and_refuses_opaque_ones(runner: CliRunner) -> None:
    ok = runner.invoke(app, ["import", f"{MODELS}:TopK", "--strict", "--input", "1x3x16x16"])
    assert ok.exit_code == 0, ok.output
    assert "kind: recorded" in ok.stdout and "aten.topk ×1" in ok.stdout
    refused = runner.invoke(app, ["import", f"{MODELS}:Matmul", "--strict", "--input", "1x3x16x16"])
    assert refused.exit_code == 2
    assert "--strict" in refused.stderr and "aten.addmm" in refused.stderr


def test_tracer_record_is_asked_for_by_name(runner: CliRunner) -> None:
    result = runner.invoke(app, ["import", "tests/torch/import_models.py:Residuals", "--tracer", "record"])
    assert result.exit_code == 0, result.output
    assert "read with recorded" in result.stdout and "recorded the ops" in result.stderr
    assert "cannot trace" not in result.stderr  # asked for: no tracer failed


def test_nms_keeps_equal_scores_in_index_order() -> None:
    # torchvision's kernel sorts the scores stably: of boxes tied on score, the first by index is
    # kept. Boxes 0..3 tied at 0.5, each overlapping the next (IoU 9/11 = 0.82 > 0.7), 0 and 2
    # apart (IoU 8/12 = 0.67): kept 0, 2 (1 and 3 suppressed), then box 4 (score 0.4) alone
    import torch

    from convcost.runtime.importer.record_ops import greedy_nms

    boxes = torch.tensor([[i, 0.0, i + 10, 10] for i in (0, 1, 2, 3)] + [[50.0, 50, 60, 60]])
    scores = torch.tensor([0.5, 0.5, 0.5, 0.5, 0.4])
    for _ in range(3):  # an unstable sort of ties may put 1 or 3 first
        assert greedy_nms(boxes, scores, 0.7).tolist() == [0, 2, 4]
    big = torch.arange(1000.0)[:, None] * torch.tensor([1.0, 0, 1, 0]) + torch.tensor([0.0, 0, 10, 10])
    # 1,000 tied boxes, each shifted by 1 pixel: each kept one suppresses its next one
    assert greedy_nms(big, torch.zeros(1000), 0.7).tolist() == list(range(0, 1000, 2))


def test_a_named_model_is_built_the_same_in_every_run() -> None:
    # its weights come from torch's generator seeded with 0 (a detector's NMS keeps boxes by
    # their values), and the caller's generator is left as it was
    import torch

    from convcost.frontend.source import parse_source
    from convcost.runtime.importer.resolve import load_module

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = load_module(parse_source("torch.nn:Linear(in_features=4, out_features=3)"))
    assert torch.equal(torch.rand(3), expected)  # the caller's generator untouched
    second = load_module(parse_source("torch.nn:Linear(in_features=4, out_features=3)"))
    assert torch.equal(first.weight, second.weight) and torch.equal(first.bias, second.bias)


@pytest.fixture(scope="module")
def torchvision() -> Any:
    try:
        return import_torchvision()
    except MissingDependencyError as err:
        pytest.skip(str(err))


def _detector(name: str, tracer: str = "auto") -> tuple[Any, Any]:
    """The recorded analysis of a torchvision detector at 320, and its FlopCounterMode MACs;
    ``tracer="record"`` records it without first trying torch.fx and torch.export (~10 s of CPU
    for ssdlite320, whose fall-back to recording the exact-detector test proves)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.frontend.source import parse_source
    from convcost.net.analysis import analyze
    from convcost.runtime.flop_count import math_attention
    from convcost.runtime.importer.record_ops import nms_available
    from convcost.runtime.importer.resolve import load_module

    model = load_module(parse_source(f"torchvision:{name}"))
    graph = trace(model, (1, 3, 320, 320), name, tracer)
    imported = to_spec(graph, f"torchvision:{name}")
    analysis = analyze(spec_from(load_yaml(imported.yaml, name), imported.yaml, name))
    # as the cross-check runs it: oneDNN off (its convs round otherwise, and NMS keeps other boxes)
    with torch.no_grad(), math_attention(), nms_available(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 320, 320))
    return analysis, counter.get_total_flops() // 2


# make test records fasterrcnn (RPN, RoIAlign, NMS: ~14 s of CPU); ssdlite320 (~40 s of CPU, the
# same record path and NMS) runs in make test-all
@pytest.mark.slow
@pytest.mark.parametrize(("name", "params"), [
    pytest.param("ssdlite320_mobilenet_v3_large", 3_440_060, marks=pytest.mark.exhaustive),
    # its box clipping (clamps between recorded slices and a stack) once split the recorded
    # regions (the spec did not load), and oneDNN's rounding once kept other boxes (~30 s of CPU)
    pytest.param("fasterrcnn_resnet50_fpn", 41_808_406, marks=pytest.mark.exhaustive),
    ("fasterrcnn_mobilenet_v3_large_320_fpn", 19_410_754)])
def test_torchvision_detectors_are_exact(torchvision: Any, name: str, params: int) -> None:
    analysis, reference = _detector(name)
    assert analysis.totals.params == params  # sum(p.numel() for p in model.parameters())
    assert analysis.totals.macs == reference  # FlopCounterMode FLOPs / 2 on the same run
    assert analysis.complete
    kinds = {leaf.label for leaf in analysis.leaves()}
    assert "recorded" in kinds  # post-processing listed, 0 MACs
    post = [leaf for leaf in analysis.leaves() if leaf.label == "recorded"]
    assert all(leaf.macs == 0 for leaf in post)
    assert any("torchvision.nms" in leaf.op.op for leaf in post)


@pytest.mark.slow
def test_two_input_raft_is_recorded_exactly(torchvision: Any) -> None:
    # RAFT's two images, each 1×3×128×128 (its sizes must be multiples of 8), recorded as named
    # inputs: the IR is compared (every node's MACs checked against FlopCounterMode's own
    # formula, the flow grid's first conv included); the spec: the test below
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.runtime.importer.record import trace_record
    from convcost.runtime.importer.selfcheck import node_macs

    model = torchvision.models.optical_flow.raft_small(weights=None).eval()
    shape = (1, 3, 128, 128)
    graph = trace_record(model, [("image1", shape), ("image2", shape)], "raft_small")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(shape), torch.zeros(shape))
    assert [n.name for n in graph.nodes if n.op == "input"] == ["image1", "image2"]
    # the correlation lookups hold no MAC but fvcore counts them (4 per output): 12 iterations ×
    # 4 levels of grid_sample, each reading its grid (the first iteration's, made from no input,
    # a recorded constant); nothing opaque
    assert not [n for n in graph.nodes if n.op == "opaque"]
    samples = [n for n in graph.nodes if n.op == "grid_sample"]
    assert len(samples) == 48 and all(len(n.inputs) == 2 and n.attr("align_corners") for n in samples)
    assert sum(node_macs(n) for n in graph.nodes) == counter.get_total_flops() // 2
    assert graph.params == sum(p.numel() for p in model.parameters()) == 990_162
    assert "image1 1×3×128×128, image2 1×3×128×128" in graph.notes[0]


@pytest.mark.slow
def test_two_input_raft_imports_with_named_inputs(torchvision: Any) -> None:
    # `convcost model torchvision:raft_small --input image1=1x3x128x128 --input image2=...`:
    # the spec says inputs: image1, image2 (the feature encoder reads both: from: [input,
    # image2]); params exact; the correlation volume's bmm is a matmul layer, each iteration's
    # post-processing (coordinates, a grid per level) recorded layers between the convs, so the
    # MACs are FlopCounterMode's; the lookups are grid_sample layers and the flow's upsampling
    # (align_corners) an upsample, which fvcore counts: exact, nothing opaque
    from convcost.frontend.registry import open_network
    from convcost.net.analysis import analyze
    from convcost.runtime.importer.crosscheck import verify_original
    from convcost.spec.loader import spec_from

    shape = (1, 3, 128, 128)
    opened = open_network("torchvision:raft_small", inputs=(("image1", shape), ("image2", shape)))
    assert opened.session is not None
    assert list(opened.data["inputs"]) == ["image1", "image2"]
    assert "the spec holds for that input only" in opened.session.imported.graph.notes[0]
    analysis = analyze(spec_from(opened.data, opened.text, opened.file))
    assert [i.shape for i in analysis.inputs] == [shape, shape]
    assert analysis.totals.params == 990_162  # sum(p.numel() for p in model.parameters())
    assert analysis.totals.macs == 2_852_618_240  # FlopCounterMode FLOPs / 2 on the same zeros
    assert analysis.complete
    labels = [leaf.label for leaf in analysis.leaves()]
    assert labels.count("grid_sample") == 48 and labels.count("upsample") == 12  # 12 × 4 levels; 12 flows
    check = verify_original(analysis, opened.session)
    assert check.ok and check.counter_flops == 2 * analysis.totals.macs
    # fvcore: the convs' and instance norms', plus 4 per output of the 48 lookups (4·256·1·7·7
    # each) and of the 12 upsamples (4·2·128·128 each)
    assert check.fvcore == check.count == 2_864_218_112


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "name", "shape", "params", "macs"), DETECTOR_SPECS)
def test_shipped_detector_spec_is_the_recorded_model(torchvision: Any, spec: str, name: str,
                                                     shape: tuple[int, ...], params: int,
                                                     macs: int) -> None:
    from convcost.net.analysis import analyze
    from convcost.spec.loader import load_spec

    recorded, reference = _detector(name, "record")  # at 320; FlopCounterMode on the same run
    shipped = analyze(load_spec(spec))
    assert shipped.input_shape == shape
    assert (shipped.totals.params, shipped.totals.macs) == (params, macs) == \
        (recorded.totals.params, reference)
    assert [(leaf.name, leaf.label, leaf.params, leaf.macs) for leaf in shipped.leaves()] == \
        [(leaf.name, leaf.label, leaf.params, leaf.macs) for leaf in recorded.leaves()]
