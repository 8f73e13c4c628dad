"""Weights an op reads beside its tensors, made nodes of their own, so that the spec holds their
parameters in a ``param`` layer instead of an opaque one. Pure IR.

* An attention whose ``attn_mask`` is a bias gathered from a learnt table (BEiT's and CoAtNet's
  relative-position bias ``table[index]``): a ``param`` node (the table's elements) that the
  attention reads as its fourth input. SDPA's MACs do not depend on its mask.
* A resize fvcore counts of a weight alone (Qwen3-VL's positions read bilinearly at the patch
  grid, under torch.fx): a ``param`` node of the weight, then the resize reading it.
* ``F.linear(x, weight, cat((q_bias, k_zeros, v_bias)))`` (BEiT's and Swin-V2's qkv, the key's
  bias a zero buffer): a linear without bias, then an ``add`` of the learnt part (a ``param``
  of the output's shape gathered from the ``q_bias`` and ``v_bias`` elements: 2C params, not
  the 3C of a full bias). The bias add does no MAC (``addmm``'s MACs are ``mm``'s).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from convcost.runtime.importer.ir import IRGraph, IRNode, frozen


def _attrs(node: IRNode, **changes: Any) -> Mapping[str, Any]:
    """The node's attrs without the shapes of the weights it read (``state``), with ``changes``."""
    return frozen({**{k: v for k, v in node.attrs.items() if k != "state"}, **changes})


def beside(name: str, what: str) -> str:
    """A node's name for the new node beside ``name``, fx's number kept last (``linear_1`` ->
    ``linear_bias_1``): the layer is named by its module and ``linear_bias``."""
    match = re.fullmatch(r"(.*?)(_\d+)?", name)
    assert match is not None  # every string matches
    return f"{match[1]}_{what}{match[2] or ''}"


def mask_param(node: IRNode) -> tuple[IRNode, IRNode] | None:
    """``(param, attention reading it)`` for an attention whose one weight read is its mask, of
    the query's rank and batch 1, or of a lower rank (TinyViT's ``[heads, N, N]``: the param
    reads the query, whose batch holds the windows, and broadcasts over it); None for any
    other node."""
    state: tuple[Any, ...] = node.attr("state") or ()
    mask, query = node.attr("mask"), node.attr("query_shape")
    if node.op != "attention" or not node.params or len(node.inputs) != 3 or len(state) != 1 \
            or not mask or tuple(state[0]) != tuple(mask) or not query \
            or len(mask) > len(query) or (len(mask) == len(query) and mask[0] != 1):
        return None
    lower = len(mask) < len(query)
    shape = (query[0], *(1,) * (len(query) - 1 - len(mask)), *mask) if lower else tuple(mask)
    param = IRNode(beside(node.name, "mask"), "param", node.module, node.inputs[:1] if lower else (),
                   shape, node.params, attrs=frozen(dict(batch_only=True) if lower else {}),
                   target="getitem")
    return param, replace(node, inputs=(*node.inputs, param.name), params=0, attrs=_attrs(node))


def bias_add(node: IRNode, bias: IRNode,
             users: Mapping[str, tuple[str, ...]]) -> tuple[IRNode, IRNode] | None:
    """``(linear without bias, add of the bias)`` for an ``F.linear`` whose bias is a concat of
    weights alone that it alone reads; None otherwise."""
    if node.op != "linear" or len(node.inputs) != 2 or node.inputs[1] != bias.name \
            or bias.op != "concat" or bias.inputs or bias.shape != (node.attr("out_features"),) \
            or users.get(bias.name) != (node.name,) or not node.attr("bias"):
        return None
    linear = replace(node, inputs=node.inputs[:1], attrs=_attrs(node, bias=False))
    add = IRNode(beside(node.name, "bias"), "add", node.module, (node.name,), node.shape, bias.params,
                 attrs=frozen(dict(state=(bias.shape,))), target=node.target)  # F.linear's own add
    return linear, add


def resized_param(node: IRNode, batch: int) -> tuple[IRNode, IRNode] | None:
    """``(param, resize reading it)`` for a resize fvcore counts of a weight alone (Qwen3-VL's
    ``F.interpolate(pos_embed, mode="bilinear")``, which torch.fx's translation keeps as an op:
    fvcore_resize), the weight read whole and of the model's ``batch`` (1: a param of a larger
    batch would resize it once per image); None for any other node."""
    state: tuple[Any, ...] = node.attr("state") or ()
    if node.op != "interpolate" or node.inputs or len(state) != 1 or len(state[0]) != len(node.shape) \
            or state[0][0] != batch or node.params != math.prod(state[0][1:]):
        return None
    param = IRNode(beside(node.name, "weight"), "param", node.module, (), tuple(state[0]), node.params,
                   target=node.target)
    return param, replace(node, inputs=(param.name,), params=0, attrs=_attrs(node))


def split_state_reads(graph: IRGraph) -> IRGraph:
    """``graph`` with gathered attention masks and concatenated linear biases as nodes of their
    own (:func:`mask_param`, :func:`bias_add`); a new name the graph has already: left alone."""
    users, taken = graph.consumers(), {n.name for n in graph.nodes}
    batch = next((n.shape[0] for n in graph.nodes if n.op == "input" and n.shape), 0)
    nodes: list[IRNode] = []
    renamed: dict[str, str] = {}  # a linear -> the add after it, for its readers
    dropped: set[str] = set()
    for node in graph.nodes:
        bias = graph.node(node.inputs[1]) if node.op == "linear" and len(node.inputs) == 2 else None
        split = mask_param(node) or resized_param(node, batch) \
            or (bias_add(node, bias, users) if bias is not None else None)
        new = split[1] if split and split[0].name == node.name else split[0] if split else None
        if split is None or new is None or new.name in taken:
            nodes.append(node)
            continue
        nodes += split
        if bias is not None and new.op == "add":
            renamed[node.name] = new.name
            dropped.add(bias.name)
    if len(nodes) == len(graph.nodes):
        return graph
    nodes = [n if n.name in renamed.values() else
             replace(n, inputs=tuple(renamed.get(t, t) for t in n.inputs))
             for n in nodes if n.name not in dropped]
    return replace(graph, nodes=tuple(nodes),
                   outputs=tuple(renamed.get(t, t) for t in graph.outputs))
