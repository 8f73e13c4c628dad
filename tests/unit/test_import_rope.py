"""Rotary position embeddings through the importer's pure back end (rope_pass, emit,
convert.to_spec) on hand-built IR graphs; the emitted spec is
loaded and analysed by convcost itself. No torch."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from convcost.net.analysis import analyze
from convcost.runtime.importer.convert import to_spec
from convcost.runtime.importer.emit.leaves import leaf_layers, merge_layers
from convcost.runtime.importer.ir import IRGraph, IRNode, frozen
from convcost.runtime.importer.rope_pass import fuse_ropes, tables
from convcost.spec.loader import spec_from
from convcost.spec.yamlsafe import load_yaml

Q = (1, 2, 16, 8)  # [N, heads, L, D]: 2 heads of 8 over 16 tokens
HALF = (1, 2, 16, 4)


def _n(name: str, op: str, inputs: tuple[str, ...], shape: tuple[int, ...], params: int = 0,
       target: str = "", **attrs: Any) -> IRNode:
    return IRNode(name, op, "attn", inputs, shape, params, attrs=frozen(attrs), target=target)


def _table() -> list[IRNode]:
    """sin/cos of a grid no input reaches (``_build_grid``, sin, cos, cat), chunked."""
    return [_n("grid", "opaque", (), (16, 2), target="timm._build_grid"),
            _n("sin", "opaque", ("grid",), (16, 8), target="Tensor.sin"),
            _n("cos", "opaque", ("grid",), (16, 8), target="Tensor.cos"),
            _n("emb", "concat", ("sin", "cos"), (16, 16), dim=1),
            _n("emb_chunk", "chunk", ("emb",), (16, 8), dim=1, sizes=(8, 8)),
            _n("s", "getitem", ("emb_chunk",), (16, 8), index=0),
            _n("c", "getitem", ("emb_chunk",), (16, 8), index=1)]


def _rotary(x: str, neg: str = "operator.neg", slices: bool = False) -> list[IRNode]:
    """``x * cos + cat([-x2, x1], -1) * sin``: timm's chunk form, or HF's two slices."""
    halves = [_n("x1", "slice", (x,), HALF, dim=3, start=0, end=4, step=1),
              _n("x2", "slice", (x,), HALF, dim=3, start=4, end=8, step=1)] if slices else [
        _n("xc", "chunk", (x,), HALF, dim=3, sizes=(4, 4)),
        _n("x1", "getitem", ("xc",), HALF, index=0), _n("x2", "getitem", ("xc",), HALF, index=1)]
    return [_n("xcos", "mul", (x, "c"), Q), *halves,
            _n("neg", "opaque", ("x2",), HALF, target=neg),
            _n("turned", "concat", ("neg", "x1"), Q, dim=3),
            _n("xsin", "mul", ("turned", "s"), Q),
            _n("rot", "add", ("xcos", "xsin"), Q),
            _n("cast", "opaque", ("rot",), Q, target="Tensor.to")]


def _graph(nodes: list[IRNode]) -> IRGraph:
    all_nodes = (IRNode("x", "input", "", (), Q), *nodes)
    return IRGraph("net.py:Net", "torch.fx", Q, all_nodes, (nodes[-1].name,),
                   sum(n.params for n in nodes))


@pytest.mark.parametrize("slices", [False, True])
def test_a_rotation_by_tables_is_one_rope_node_and_its_tables_go(slices: bool) -> None:
    fused = fuse_ropes(_graph([*_table(), *_rotary("x", slices=slices)]))
    # every table op and every op of the rotation but its add is gone; the cast is x itself
    assert [(n.name, n.op, n.inputs) for n in fused.nodes[1:]] == [
        ("rot", "rope", ("x",)), ("cast", "identity", ("rot",))]


def test_a_table_folded_into_the_mul_as_state_is_a_table() -> None:
    # sin/cos computed from buffers alone: torch.fx's reader folds them into the mul's state
    nodes = [n if n.op != "mul" else replace(n, inputs=n.inputs[:1], attrs=frozen({"state": ((16, 8),)}))
             for n in _rotary("x")]
    fused = fuse_ropes(_graph(nodes))
    assert [(n.name, n.op) for n in fused.nodes[1:]] == [("rot", "rope"), ("cast", "identity")]


def _angles() -> list[IRNode]:
    """Gemma4's angles = inv_freq @ positions, [1, 16, 1] @ [1, 1, 8] (the batch first), the
    frequencies a buffer expanded (a cast of it), the positions computed from no input."""
    return [IRNode("inv", "reshape", "attn", (), (1, 16, 1), attrs=frozen({"shape": (1, 16, 1)})),
            _n("freq", "opaque", ("inv",), (1, 16, 1), target="aten.to"),
            _n("pos", "param", (), (1, 1, 8), buffer=True),
            _n("angles", "matmul", ("freq", "pos"), (1, 16, 8), fn="matmul", other=(1, 1, 8))]


def _gemma() -> IRGraph:
    table = [replace(n, inputs=("angles",)) if n.name in ("sin", "cos") else n for n in _table()[1:]]
    return _graph([*_angles(), *table, *_rotary("x")])


def test_a_table_made_by_a_matmul_stays_read_by_the_rope() -> None:
    # FlopCounterMode counts that matmul, so it stays, read by the rope after x; what it reads,
    # tables made with no MAC, are params of no params (buffers); the rest of the table goes
    graph = _gemma()
    assert {"inv", "freq", "pos", "angles", "sin", "c"} <= tables(graph)
    fused = fuse_ropes(graph)
    assert [(n.name, n.op, n.inputs, n.params) for n in fused.nodes[1:]] == [
        ("freq", "param", (), 0), ("pos", "param", (), 0), ("angles", "matmul", ("freq", "pos"), 0),
        ("rot", "rope", ("x", "angles"), 0), ("cast", "identity", ("rot",), 0)]


def test_a_table_made_with_macs_is_counted_in_the_spec() -> None:
    imported = to_spec(_gemma(), "net.py:Net")
    assert not imported.emitted.opaque
    assert [layer["kind"] for layer in imported.spec["layers"]] == ["param", "param", "matmul", "rope"]
    analysis = analyze(spec_from(load_yaml(imported.yaml, "net"), imported.yaml, "net"))
    # the angles: 16 frequencies × 8 positions, contracting 1: 128 MACs; the rope none, no params
    assert (analysis.root.params, analysis.root.macs) == (0, 128)


def test_a_table_made_by_an_opaque_contraction_is_no_table() -> None:
    # a matmul convcost could not read (its MACs unknown): dropping it would drop MACs
    graph = _graph([replace(n, op="opaque", target="aten.matmul", attrs=frozen({}))
                    if n.name == "angles" else n for n in _gemma().nodes[1:]])
    assert "angles" not in tables(graph)
    assert "rope" not in {n.op for n in fuse_ropes(graph).nodes}


def test_an_interleaved_rotation_is_a_rope_of_pairs() -> None:
    # EVA-02's rot(x) = stack([-x[..., 1::2], x[..., ::2]], -1).reshape(x.shape)
    rot = [_n("odd", "slice", ("x",), HALF, dim=3, start=1, end=8, step=2),
           _n("even", "slice", ("x",), HALF, dim=3, start=0, end=8, step=2),
           _n("neg", "opaque", ("odd",), HALF, target="Tensor.neg"),
           _n("pairs", "stack", ("neg", "even"), (*HALF, 2), dim=-1),
           _n("turned", "reshape", ("pairs",), Q)]
    rotary = [n for n in _rotary("x") if n.name not in ("xc", "x1", "x2", "neg", "turned")]
    fused = fuse_ropes(_graph([*_table(), *rotary[:1], *rot, *rotary[1:]]))
    assert [(n.name, n.op, n.inputs, dict(n.attrs)) for n in fused.nodes[1:3]] == [
        ("rot", "rope", ("x",), {"half": False}), ("cast", "identity", ("rot",), {})]


def test_halves_must_be_the_halves() -> None:
    # x[..., :4] and x[..., 2:6]: no rotate_half
    nodes = [n if n.name != "x2" else _n("x2", "slice", ("x",), HALF, dim=3, start=2, end=6, step=1)
             for n in _rotary("x", slices=True)]
    assert "rope" not in {n.op for n in fuse_ropes(_graph([*_table(), *nodes])).nodes}


def test_the_tables_are_what_no_input_or_parameter_reaches() -> None:
    nodes = [*_table(), _n("p", "concat", (), (8,), params=8, dim=0), _n("y", "mul", ("x", "c"), Q)]
    assert tables(_graph(nodes)) == {"grid", "sin", "cos", "emb", "emb_chunk", "s", "c"}


@pytest.mark.parametrize("change", ["a negation of another name", "x times a tensor of x",
                                    "the halves of another tensor"])
def test_anything_else_is_left_as_it_was(change: str) -> None:
    nodes = [*_table(), _n("y", "act", ("x",), Q, fn="relu"),
             *_rotary("x", neg="Tensor.abs" if change.startswith("a negation") else "operator.neg")]
    if change == "x times a tensor of x":
        nodes = [n if n.name != "xcos" else _n("xcos", "mul", ("x", "y"), Q) for n in nodes]
    if change == "the halves of another tensor":
        nodes = [n if n.name != "xc" else _n("xc", "chunk", ("y",), HALF, dim=3, sizes=(4, 4)) for n in nodes]
    fused = fuse_ropes(_graph(nodes))
    assert "rope" not in {n.op for n in fused.nodes}
    assert {"xcos", "xsin", "neg"} <= {n.name for n in fused.nodes}


def test_a_parameter_cast_is_a_parameter_read() -> None:
    # Qwen3's x + pos_embed.to(x.dtype): the cast reads the parameter itself (no tensor input)
    nodes = [_n("pos", "opaque", (), Q, params=2 * 16 * 8, target="aten.to"), _n("y", "add", ("x", "pos"), Q)]
    fused = fuse_ropes(_graph(nodes))
    assert [(n.name, n.op, n.inputs, n.params) for n in fused.nodes[1:]] == [
        ("pos", "param", (), 256), ("y", "add", ("x", "pos"), 0)]


def test_an_empty_prefix_concatenated_is_the_other_tensor() -> None:
    # torch.cat([q[:, :, :0], rope(q)], dim=2): no prefix token (Qwen3, DeepSeek)
    nodes = [*_table(), _n("pre", "slice", ("x",), (1, 2, 0, 8), dim=2, start=0, end=0, step=1),
             *_rotary("x")[:-1], _n("both", "concat", ("pre", "rot"), Q, dim=2)]
    fused = fuse_ropes(_graph(nodes))
    assert [(n.name, n.op, n.inputs) for n in fused.nodes[1:]] == [
        ("rot", "rope", ("x",)), ("both", "identity", ("rot",))]


def test_an_imported_rotation_is_a_rope_layer_with_no_params_and_no_macs() -> None:
    imported = to_spec(_graph([*_table(), *_rotary("x")]), "net.py:Net")
    assert not imported.emitted.opaque
    assert [layer["kind"] for layer in imported.spec["layers"]] == ["rope"]
    analysis = analyze(spec_from(load_yaml(imported.yaml, "net"), imported.yaml, "net"))
    assert (analysis.root.params, analysis.root.macs) == (0, 0)  # x·cos + rotate(x)·sin: no MAC


@pytest.mark.parametrize(("node", "layers"), [
    (_n("r", "rope", ("x",), Q, half=True), [{"kind": "rope"}]),
    (_n("r", "rope", ("x",), Q, half=False), [{"kind": "rope", "half": False}]),  # EVA-02's rot(x)
    (_n("r", "rope", ("x",), (1, 2, 16, 7), half=True), None),  # an odd head dim: no pairs
])
def test_rope_emits(node: IRNode, layers: list[dict[str, Any]] | None) -> None:
    assert leaf_layers(node, node.shape) == layers


def test_a_rope_reading_its_angles_merges() -> None:
    node = _n("r", "rope", ("x", "angles"), Q, half=True)
    assert merge_layers(node, [Q, (1, 16, 8)]) == [{"kind": "rope"}]
    assert merge_layers(replace(node, shape=(1, 2, 16, 6)), [Q, (1, 16, 8)]) is None  # not x's shape
