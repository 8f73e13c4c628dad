"""Weights an op reads beside its tensors become nodes of their own (runtime/importer/state_pass.py):
an attention's gathered bias mask a ``param`` it reads, a linear's concatenated qkv bias an
``add`` of a ``param``; a buffer an MLP runs on, a ``param`` not expanded to the batch, and the
ops on it a batch axis of 1 (buffer_pass.py). The params move, none is lost or added. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from convcost.runtime.importer.buffer_pass import lift_buffer_runs, lifted
from convcost.runtime.importer.ir import IRGraph, IRNode, frozen
from convcost.runtime.importer.state_pass import beside, split_state_reads

Q = (1, 12, 197, 64)
MASK = (1, 12, 197, 197)


def _node(name: str, op: str, shape: tuple[int, ...], inputs: tuple[str, ...] = (),
          params: int = 0, **attrs: Any) -> IRNode:
    return IRNode(name, op, "blocks.0.attn", inputs, shape, params, attrs=frozen(attrs))


def _graph(*nodes: IRNode) -> IRGraph:
    ins = (_node("x", "input", Q),)
    return IRGraph("t", "torch.fx", Q, ins + nodes, (nodes[-1].name,),
                   sum(n.params for n in nodes))


def _sdpa(params: int, mask: tuple[int, ...] = MASK, state: Any = (MASK,)) -> IRNode:
    return _node("scaled_dot_product_attention_3", "attention", Q, ("x", "x", "x"), params,
                 key_shape=Q, value_shape=Q, query_shape=Q, causal=False, mask=mask, state=state)


def test_a_gathered_mask_is_a_param_the_attention_reads() -> None:
    # BEiT: table[index] of (2·14 − 1)² + 3 = 732 rows × 12 heads = 8,784 params
    graph = split_state_reads(_graph(_sdpa(8_784)))
    param, sdpa = graph.nodes[1:]
    assert (param.op, param.name, param.inputs, param.shape, param.params) == (
        "param", "scaled_dot_product_attention_mask_3", (), MASK, 8_784)
    assert sdpa.inputs == ("x", "x", "x", param.name) and sdpa.params == 0
    assert "state" not in sdpa.attrs and graph.params == 8_784


def test_a_gathered_mask_without_batch_reads_the_query() -> None:
    # TinyViT: biases[:, idxs] of 12 heads × 16 offsets = 192 params, [12, 197, 197]: the param
    # takes its batch from the query (windows folded into it) and broadcasts over it
    graph = split_state_reads(_graph(_sdpa(192, mask=(12, 197, 197), state=((12, 197, 197),))))
    param, sdpa = graph.nodes[1:]
    assert (param.op, param.inputs, param.shape, param.params) == ("param", ("x",), MASK, 192)
    assert param.attr("batch_only")  # read for its batch only
    assert sdpa.inputs == ("x", "x", "x", param.name) and sdpa.params == 0


def _resize(params: int, state: tuple[int, ...], inputs: tuple[str, ...] = ()) -> IRNode:
    return _node("interpolate", "interpolate", (1, 768, 14, 14), inputs, params, mode="bilinear",
                 size=(14, 14), state=(state,))


def test_a_resized_weight_fvcore_counts_is_a_param_then_the_resize() -> None:
    # Qwen3-VL: pos_embed [1, 768, 48, 48] (768·48·48 = 1,769,472 params) resized to 14×14
    graph = split_state_reads(_graph(_resize(1_769_472, (1, 768, 48, 48))))
    param, resize = graph.nodes[1:]
    assert (param.op, param.name, param.inputs, param.shape, param.params) == (
        "param", "interpolate_weight", (), (1, 768, 48, 48), 1_769_472)
    assert (resize.inputs, resize.params, "state" in resize.attrs) == ((param.name,), 0, False)
    assert graph.params == 1_769_472


@pytest.mark.parametrize("node", [
    _resize(1_769_472, (1, 768, 48, 48), inputs=("x",)),  # it reads a tensor: not a weight alone
    _resize(1_769_472, (2, 768, 48, 48)),  # a batch other than the model's (1)
    _resize(768, (1, 768, 48, 48)),  # part of the weight (read before): left as it was
])
def test_other_resizes_are_left_alone(node: IRNode) -> None:
    graph = _graph(node)
    assert split_state_reads(graph) == graph


@pytest.mark.parametrize("node", [
    _sdpa(0),  # a buffer mask: no params, the attention runs without it
    _sdpa(8_784, mask=(2, 12, 197, 197), state=((2, 12, 197, 197),)),  # a batch of its own
    _sdpa(8_784, mask=(1, 1, 12, 197, 197), state=((1, 1, 12, 197, 197),)),  # over the rank
    _sdpa(8_784, state=((1, 12, 197, 197), (12,))),  # two weights read
])
def test_other_attentions_are_left_alone(node: IRNode) -> None:
    graph = _graph(node)
    assert split_state_reads(graph) is graph


def _qkv(bias_params: int = 1_536, size: int = 2_304) -> IRGraph:
    cat = _node("cat_1", "concat", (size,), (), bias_params, dim=0)
    linear = _node("linear_1", "linear", (1, 197, 2_304), ("x", "cat_1"), 768 * 2_304,
                   in_features=768, out_features=2_304, bias=True, state=((2_304, 768),))
    after = _node("reshape", "reshape", (1, 197, 3, 12, 64), ("linear_1",))
    return _graph(cat, linear, after)


def test_a_concatenated_bias_is_an_add_after_the_linear() -> None:
    # BEiT's qkv: cat((q_bias, k_zeros, v_bias)), 2·768 = 1,536 learnt of 2,304
    graph = split_state_reads(_qkv())
    linear, add, after = graph.nodes[1:]
    assert (linear.inputs, linear.attr("bias"), linear.params) == (("x",), False, 1_769_472)
    assert (add.op, add.name, add.inputs, add.params) == ("add", "linear_bias_1", ("linear_1",), 1_536)
    assert add.attr("state") == ((2_304,),) and after.inputs == ("linear_bias_1",)
    assert graph.params == 1_769_472 + 1_536 and graph.outputs == ("reshape",)


def test_a_concat_of_another_size_stays() -> None:
    graph = _qkv(size=768)
    assert split_state_reads(graph) is graph


@pytest.mark.parametrize(("name", "what", "new"), [
    ("linear_1", "bias", "linear_bias_1"), ("linear", "bias", "linear_bias"),
    ("scaled_dot_product_attention", "mask", "scaled_dot_product_attention_mask"),
])
def test_new_names_keep_fx_number_last(name: str, what: str, new: str) -> None:
    assert beside(name, what) == new


# -- buffer_pass: an MLP on a buffer alone, run once ----------------------------------------

def _relpos(after: IRNode | None = None) -> IRGraph:
    """ViT-RelPos's RelPosMlp on its [27, 27, 2] coordinates, traced without a batch axis."""
    fc1 = _node("fc1", "linear", (27, 27, 128), (), 384, in_features=2, out_features=128, bias=True)
    act = _node("act", "act", (27, 27, 128), ("fc1",), fn="relu")
    fc2 = _node("fc2", "linear", (27, 27, 6), ("act",), 774, in_features=128, out_features=6, bias=True)
    view = _node("view", "reshape", (729, 6), ("fc2",), free=None)
    rows = _node("getitem", "gather", (38_416, 6), ("view",), dim=0, size=38_416)
    view_1 = _node("view_1", "reshape", (196, 196, 6), ("getitem",), free=None)
    permute = _node("permute", "transpose", (6, 196, 196), ("view_1",), dims=(2, 0, 1), permute=True)
    batched = after or _node("unsqueeze", "reshape", (1, 6, 196, 196), ("permute",))
    q = (1, 6, 196, 64)
    sdpa = _node("sdpa", "attention", q, ("x", "x", "x", batched.name), key_shape=q, value_shape=q,
                 query_shape=q, causal=False, mask=(1, 6, 196, 196))
    return _graph(fc1, act, fc2, view, rows, view_1, permute, batched, sdpa)


def test_a_run_on_a_buffer_gets_a_batch_axis_of_one() -> None:
    graph = lift_buffer_runs(_relpos())
    by_name = {n.name: n for n in graph.nodes}
    buffer = graph.nodes[1]
    assert (buffer.op, buffer.name, buffer.shape, buffer.params, buffer.attr("expand")) == (
        "param", "buffer", (1, 27, 27, 2), 0, False)  # [27, 27] coordinates of 2, no params
    assert by_name["fc1"].inputs == ("buffer",) and by_name["fc1"].shape == (1, 27, 27, 128)
    assert by_name["view"].shape == (1, 729, 6) and by_name["getitem"].attr("dim") == 1
    assert by_name["permute"].attr("dims") == (0, 3, 1, 2)  # (2, 0, 1) after the new axis
    assert by_name["unsqueeze"].shape == (1, 6, 196, 196)  # the model's own batch axis: kept
    assert graph.params == _relpos().params == 384 + 774  # nothing lost or added


def test_a_run_read_by_another_op_stays() -> None:
    # bias + 1 (an add of a number): no spec layer says it on a tensor of no batch: left alone
    graph = _relpos(_node("unsqueeze", "add", (6, 196, 196), ("permute",), scalar=1.0))
    assert lift_buffer_runs(graph) is graph


@pytest.mark.parametrize(("node", "attr", "value"), [
    (_node("t", "transpose", (2, 3), dims=(0, 1)), "dims", (1, 2)),
    (_node("t", "transpose", (2, 3), dims=(-2, -1)), "dims", (-2, -1)),  # from the end: the same
    (_node("r", "reshape", (2, 3), free=1), "free", 2),
    (_node("g", "gather", (5, 3), dim=0, size=5), "dim", 1),
])
def test_lifted_ops_move_their_dims(node: IRNode, attr: str, value: Any) -> None:
    assert lifted(node).attr(attr) == value and lifted(node).shape == (1, *node.shape)
