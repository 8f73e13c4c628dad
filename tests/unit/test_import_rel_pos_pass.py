"""SAM's decomposed rel-pos bias as torch.export records it (two einsums of q with gathered
tables, spread, summed, reshaped) becomes one ``rel_pos`` op of the ``bias`` variant reading q
(runtime/importer/rel_pos_pass.py); the tables' params move to it, none is lost. Pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from convcost.runtime.importer.ir import IRGraph, IRNode, frozen
from convcost.runtime.importer.rel_pos_pass import fuse_rel_pos_biases

Q = (6, 20, 8)  # B·heads = 6, a 4×5 grid, C = 8


def _node(name: str, op: str, shape: tuple[int, ...], inputs: tuple[str, ...] = (),
          params: int = 0, **attrs: Any) -> IRNode:
    return IRNode(name, op, "blocks.0.attn", inputs, shape, params, attrs=frozen(attrs))


def _bias(equation_w: str = "bhwc,wkc->bhwk", rows_w: int = 9) -> list[IRNode]:
    """q [6, 20, 8] as [6, 4, 5, 8]; tables of 7 and ``rows_w`` rows of 8 gathered to [4, 4, 8]
    and [5, 5, 8]; the einsums [6, 4, 5, 4] and [6, 4, 5, 5], spread, summed, reshaped to the
    bias [6, 20, 20], SDPA's mask."""
    return [
        _node("q", "unbind", Q, ("x",)),
        _node("index", "opaque", (4, 4, 8), params=7 * 8),
        _node("index_2", "opaque", (5, 5, 8), params=rows_w * 8),
        _node("reshape", "reshape", (6, 4, 5, 8), ("q",)),
        _node("einsum", "einsum", (6, 4, 5, 4), ("reshape", "index"), equation="bhwc,hkc->bhwk"),
        _node("einsum_2", "einsum", (6, 4, 5, 5), ("reshape", "index_2"), equation=equation_w),
        _node("unsqueeze", "reshape", (6, 4, 5, 4, 1), ("einsum",)),
        _node("unsqueeze_2", "reshape", (6, 4, 5, 1, 5), ("einsum_2",)),
        _node("add", "add", (6, 4, 5, 4, 5), ("unsqueeze", "unsqueeze_2")),
        _node("reshape_2", "reshape", (6, 20, 20), ("add",)),
        _node("sdpa", "attention", Q, ("q", "q", "q", "reshape_2")),
    ]


def _graph(nodes: list[IRNode]) -> IRGraph:
    ins = (_node("x", "input", (3, 6, 20, 8)),)
    return IRGraph("t", "torch.export", (3, 6, 20, 8), ins + tuple(nodes), (nodes[-1].name,),
                   sum(n.params for n in nodes))


def test_sams_bias_is_one_rel_pos_reading_q() -> None:
    graph = fuse_rel_pos_biases(_graph(_bias()))
    assert [n.name for n in graph] == ["x", "q", "reshape_2", "sdpa"]
    rel = graph.node("reshape_2")
    # params (7 + 9)·8 = 128; its readers (the mask) read it by the bias's name
    assert (rel.op, rel.inputs, rel.shape, rel.params) == ("rel_pos", ("q",), (6, 20, 20), 128)
    assert dict(rel.attrs) == dict(query=Q, q_size=(4, 5), k_size=(4, 5), tables=(7, 9),
                                   cls=False, bias=True)
    assert graph.params == _graph(_bias()).params


@pytest.mark.parametrize("nodes", [
    _bias(equation_w="bhwc,hkc->bhwk"),  # the second einsum is not over w
    _bias(rows_w=0),  # a table of no params (a buffer): not SAM's learnt tables
    # the summed terms read by another op too (the add's output read twice)
    [*_bias(), _node("other", "act", (6, 4, 5, 4, 5), ("add",))],
    # q's grid read by another op too
    [*_bias(), _node("other", "act", (6, 4, 5, 8), ("reshape",))],
])
def test_other_ops_are_left_as_they_are(nodes: list[IRNode]) -> None:
    graph = _graph(nodes)
    assert fuse_rel_pos_biases(graph) == graph


def test_a_bias_reshaped_to_another_shape_is_left() -> None:
    nodes = _bias()
    nodes[9] = replace(nodes[9], shape=(6, 400))  # not [B, h·w, kh·kw]
    graph = _graph(nodes)
    assert fuse_rel_pos_biases(graph) == graph
