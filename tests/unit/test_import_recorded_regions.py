"""A recorded model's post-processing between ops with MACs (a detector's mask head after its
box post-processing): the recorded layers end before the head and each tensor read later has a
layer of its own; names the loader would refuse are never given. Hand-built IR graphs, no torch."""

from __future__ import annotations

from dataclasses import replace

import pytest

from convcost.runtime.importer.convert import to_spec
from convcost.runtime.importer.emit.naming import Names
from convcost.runtime.importer.emit.regions import recorded_parts
from convcost.runtime.importer.ir import IRGraph, IRNode
from tests.unit.test_import_emit import SOURCE, Builder, _analysed


def _roi_head(upsample: str = "") -> tuple[Builder, IRGraph]:
    """backbone conv; top-k boxes (read again at the end); 4 crops; a conv head on the crops."""
    g = Builder((1, 3, 16, 16))
    feats = g.conv("backbone", "x", 8, bias=True)  # 3->8 k3: 8·27+8 = 224 params
    boxes = g.op("topk", "recorded", "roi", (feats,), (4,), target="aten.topk")
    rows = g.op("clamp", "recorded", "roi", (boxes,), (4,), target="aten.clamp")
    crops = g.op("stack", "recorded", "roi", (feats,), (4, 8, 4, 4), target="aten.stack")
    if upsample:  # a functional upsample of this mode fvcore counts (4 per output): never a recorded 0
        crops = g.op("up", "interpolate", "roi", (crops,), (4, 8, 8, 8), target=f"aten.upsample_{upsample}2d",
                     mode=upsample, size=(8, 8), align_corners=True, scale=None)
    masks = g.conv("head", crops, 4, bias=True)  # 8->4 k3: 4·72+4 = 292 params
    mean = g.op("mean", "mean", "", (masks,), (4,), dims=[1, 2, 3])
    g.op("add", "recorded", "", (mean, rows), (4,), target="aten.add")
    return g, replace(g.graph(), tracer="recorded")


def test_the_head_between_post_processing_is_counted() -> None:
    _, graph = _roi_head()
    imported = to_spec(graph, SOURCE)
    kinds = [(layer["name"], layer["kind"]) for layer in imported.spec["layers"]]
    # the boxes' layer (read by the last add) and the crops' layer: two recorded layers, then the
    # head's conv (before: one opaque layer swallowing the head and everything after it)
    assert kinds[:4] == [("backbone", "conv"), ("roi.topk", "recorded"), ("roi.topk_2", "recorded"),
                         ("head", "conv")]
    assert imported.spec["layers"][-1]["from"] == ["mean", "roi.topk"]  # the boxes, read again
    assert not imported.emitted.opaque
    analysis = _analysed(imported)
    # MACs: backbone 8·256·27 = 55,296; head on 4 crops of 4×4: 4·16·4·72 = 18,432
    assert (analysis.totals.params, analysis.totals.macs) == (516, 73_728)
    assert analysis.complete


@pytest.mark.parametrize("mode", ["bicubic", "bilinear"])
def test_an_op_fvcore_counts_is_never_a_recorded_zero(mode: str) -> None:
    # an align_corners upsample: bilinear (RAFT's flow) is an upsample layer; bicubic no layer
    # expresses: opaque, flagged; either keeps the crops' batch of 4 (it does not swallow the
    # recorded layer before it)
    _, graph = _roi_head(upsample=mode)
    imported = to_spec(graph, SOURCE)
    held = [layer["op"] for layer in imported.spec["layers"] if layer["kind"] == "recorded"]
    assert held and all("upsample" not in op for op in held)
    bilinear = mode == "bilinear"
    assert [o.name for o in imported.emitted.opaque] == ([] if bilinear else ["roi.up"])
    analysis = _analysed(imported)
    # MACs: backbone 55,296; head on 4 crops of 8×8: 4·64·4·72 = 73,728; the upsample's: none
    assert (analysis.totals.macs, analysis.complete) == (129_024, bilinear)


def _node(name: str, *inputs: str) -> IRNode:
    return IRNode(name, "recorded", "", inputs, (4,))


def test_recorded_parts_end_on_every_tensor_read_outside_them() -> None:
    # a -> b -> c (last); b is read after the region: parts [a, b] and [c]; d reads a and c:
    # a is read by another part than its own, so it ends a part too
    nodes = [_node("a"), _node("b", "a"), _node("c", "b"), _node("d", "c", "a")]
    readers = {"a": ("b", "d"), "b": ("c", "later"), "c": ("d",), "d": ("out",)}
    parts = recorded_parts(nodes, readers)
    assert [[n.name for n in part] for part in parts] == [["a"], ["b"], ["c", "d"]]


def test_names_skip_what_the_loader_refuses() -> None:
    names = Names()
    for taken in ("flow.0", "flow.1", "x"):
        names.take(taken)
    # 'flow' is a dotted prefix of flow.0 (torch nesting): the next call is flow_2
    assert names.fresh("flow") == "flow_2"
    assert names.fresh("x") == "x_2" and names.fresh("y") == "y"
    names.take(names.fresh("z"))
    names.release("z", "z")  # merged into the next layer: its name is free again
    assert names.fresh("z") == "z"


def test_the_peer_counted_kinds_are_kinds() -> None:
    from convcost.cost.registry import OPS
    from convcost.runtime.importer.emit.regions import PEER_COUNTED_KINDS

    assert set(OPS) >= PEER_COUNTED_KINDS  # a renamed kind would drop out of the guard silently
