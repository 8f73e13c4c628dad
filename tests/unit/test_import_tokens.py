"""The importer's token and view ops -> spec layers (the kinds' emitters, cost/ops/token_imports.py,
and emit/leaves.py), without torch."""

from __future__ import annotations

from typing import Any

import pytest

from convcost.runtime.importer.emit.leaves import leaf_layers, merge_layers
from convcost.runtime.importer.ir import IRNode, frozen

TOKENS = (1, 197, 192)


def _node(op: str, shape: tuple[int, ...], inputs: tuple[str, ...] = ("x",), params: int = 0,
          target: str = "", **attrs: Any) -> IRNode:
    return IRNode("n", op, "", inputs, shape, params, attrs=frozen(attrs), target=target)


@pytest.mark.parametrize(("node", "x", "layers"), [
    (_node("linear", (1, 197, 576), in_features=192, out_features=576, bias=True), TOKENS,
     [{"kind": "linear", "out_features": 576}]),
    (_node("linear", (1, 7, 7, 8), in_features=96, out_features=8, bias=False), (1, 7, 7, 96),
     [{"kind": "linear", "out_features": 8, "bias": False, "last_dim": True}]),  # Swin's MLP
    (_node("layernorm", TOKENS, target="torch.nn.modules.normalization.LayerNorm", affine=True,
           normalized=(192,)), TOKENS, [{"kind": "layernorm"}]),
    (_node("layernorm", TOKENS, normalized=(197, 192)), TOKENS, None),  # over two dims
    (_node("reshape", (1, 197, 3, 3, 64), target="Tensor.reshape"), (1, 197, 576),
     [{"kind": "reshape", "shape": [197, 3, 3, 64]}]),
    (_node("reshape", (197, 576)), (1, 197, 576),  # the batch folded in: N·197
     [{"kind": "reshape", "shape": [576], "fold": 197}]),
    (_node("reshape", (2, 3, 576)), (6, 576), [{"kind": "reshape", "shape": [3, 576], "unfold": 3}]),
    # ECA's y.view(N, 1, -1) and y.view(N, -1, 1, 1): the -1 kept where the call wrote it (it
    # follows α); a -1 in the batch position is the traced size
    (_node("reshape", (1, 1, 64), target="Tensor.view", free=2), (1, 64),
     [{"kind": "view", "shape": [1, -1]}]),
    (_node("reshape", (1, 64, 1, 1), target="Tensor.view", free=1), (1, 1, 64),
     [{"kind": "view", "shape": [-1, 1, 1]}]),
    (_node("reshape", (1, 64, 1, 1), target="Tensor.view", free=0), (1, 1, 64),
     [{"kind": "view", "shape": [-1, 1, 1]}]),
    # SE's y.view(b, c, 1, 1) with c = x.size(1), no -1: the one size not 1 holds every element
    (_node("reshape", (1, 64, 1, 1), target="Tensor.view"), (1, 64), [{"kind": "view", "shape": [-1, 1, 1]}]),
    (_node("reshape", (1, 4, 16, 1), target="Tensor.view"), (1, 64), [{"kind": "view", "shape": [4, 16, 1]}]),
    (_node("reshape", (4, 576)), (6, 576), None),  # 6 rows into 4: no whole fold
    (_node("transpose", (3, 1, 3, 197, 64), dims=(2, 0, 3, 1, 4), permute=True),
     (1, 197, 3, 3, 64), [{"kind": "permute", "dims": [2, 0, 3, 1, 4]}]),
    (_node("transpose", (1, 192, 197), dims=(1, 2)), TOKENS,
     [{"kind": "transpose", "dim0": 1, "dim1": 2}]),
    (_node("flatten", (1, 192, 196), start_dim=2, end_dim=-1), (1, 192, 14, 14),
     [{"kind": "flatten", "start_dim": 2}]),  # the patch embedding's flatten(2)
    (_node("unbind", (1, 3, 197, 64), dim=0, index=2), (3, 1, 3, 197, 64),
     [{"kind": "unbind", "dim": 0, "index": 2}]),  # v = qkv.unbind(0)[2]
    (_node("unbind", (1, 3, 197, 64), dim=0, shapes=()), (3, 1, 3, 197, 64), []),  # the tuple
    (_node("roll", (1, 56, 56, 96), shifts=(-3, -3), dims=(1, 2)), (1, 56, 56, 96),
     [{"kind": "roll", "shifts": [-3, -3], "dims": [1, 2]}]),
    (_node("param", (1, 1, 192), inputs=(), params=192), (1, 3, 224, 224),
     [{"kind": "param", "shape": [1, 192]}]),  # the class token
    # table[index].expand(N, 8, 49, 49): a bias gathered from an [8, 49] table, 392 params
    (_node("param", (1, 8, 49, 49), inputs=(), params=392), (1, 3, 224, 224),
     [{"kind": "param", "shape": [8, 49, 49], "params": 392}]),
    (_node("add", TOKENS, params=197 * 192), TOKENS,  # x + pos_embed: 37,824 params
     [{"kind": "residual", "layers": [{"kind": "param", "shape": [197, 192]}], "merge": "add"}]),
    (_node("mul", TOKENS, params=192), TOKENS, [{"kind": "layer_scale"}]),  # x · γ on tokens
    (_node("mul", TOKENS, scalar=0.125), TOKENS, [{"kind": "scalar", "value": 0.125}]),  # q * scale
    (_node("pad", (1, 56, 56, 64), mode="constant", value=0.0), (1, 56, 56, 64), []),  # adds nothing
    (_node("pad", (1, 63, 63, 64), mode="constant", value=0.0), (1, 56, 56, 64), None),
    (_node("pad", (1, 64, 113, 113), mode="constant", value=-float("inf"), pad=(0, 1, 0, 1)),
     (1, 64, 112, 112), [{"kind": "pad", "pad": [0, 1, 0, 1], "value": "-inf"}]),  # MaxPool2dSame's
    (_node("pad", (1, 64, 113, 113), mode="constant", value=1.0, pad=(0, 1, 0, 1)),
     (1, 64, 112, 112), [{"kind": "pad", "pad": [0, 1, 0, 1], "value": "one"}]),  # of ones
    (_node("pad", (1, 64, 113, 113), mode="constant", value=0.5, pad=(0, 1, 0, 1)),
     (1, 64, 112, 112), None),  # a pad of halves: no spec value
    (_node("interpolate", (1, 3, 224, 224), mode="bicubic", size=(224, 224), align_corners=False),
     (1, 3, 240, 240), [{"kind": "upsample", "size": 224, "mode": "bicubic"}]),  # CrossViT's
    (_node("max", (1, 1000), dims=(1,), keepdim=False), (1, 196, 1000),
     [{"kind": "max", "dim": 1}]),  # VOLO's aux.max(1)[0]: the (values, indices) node
    (_node("max", (196, 1000), dims=(0,), keepdim=False), (1, 196, 1000), None),  # over the batch
    (_node("unfold", (1, 768, 196), kernel=(4, 4), stride=(4, 4), padding=(0, 0), dilation=(1, 1)),
     (1, 48, 56, 56), [{"kind": "unfold", "kernel_size": 4, "stride": 4}]),  # TNT's pixels
    (_node("unfold", (1, 768, 195), kernel=(4, 4), stride=(4, 4), padding=(0, 0), dilation=(1, 1)),
     (1, 48, 56, 56), None),  # not the traced windows
    (_node("fold", (1, 192, 28, 28), output_size=(28, 28), kernel=(3, 3), stride=(2, 2),
           padding=(1, 1), dilation=(1, 1)), (1, 1728, 196),
     [{"kind": "fold", "output_size": 28, "kernel_size": 3, "stride": 2, "padding": 1}]),  # VOLO's
    (_node("mean", (1, 192), dims=(1,), keepdim=False), TOKENS,
     [{"kind": "mean", "dims": [1]}]),  # the average of the tokens
    (_node("mean", (1, 192), dims=(-2,), keepdim=False), TOKENS, [{"kind": "mean", "dims": [1]}]),
    (_node("mean", (197, 192), dims=(0,), keepdim=False), TOKENS, None),  # over the batch
    (_node("mul", TOKENS, scalar=-1.0), TOKENS, None),  # a negative number: not a scale
    (_node("add", TOKENS, scalar=0), TOKENS, []),  # MobileOne's scale_out + 0: no layer
    (_node("mul", (1, 32, 32, 48), params=48), (1, 32, 32, 48),
     [{"kind": "layer_scale", "last_dim": True}]),  # EdgeNeXt's gamma · x on [N, H, W, C]
    (_node("lstm", (1, 197, 8), features=192, hidden=4, layers=1, bidirectional=True, bias=True,
           batch_first=True, proj_size=0), TOKENS, [{"kind": "lstm", "hidden": 4, "bidirectional": True}]),
    (_node("lstm", (1, 197, 4), features=192, hidden=4, layers=1, bidirectional=False, bias=True,
           batch_first=False, proj_size=0), TOKENS, None),  # [L, N, C]: the kind reads batch first
    # x + 1 changes x: a shift (opaque before the shift kind); x + (-1) is none
    (_node("add", TOKENS, scalar=1.0), TOKENS, [{"kind": "shift", "value": 1.0}]),
    (_node("add", TOKENS, scalar=-1.0), TOKENS, None),
    (_node("reshape", (1, 1, 192), target="Tensor.unsqueeze"), (1, 192),
     [{"kind": "reshape", "shape": [1, -1]}]),  # CaiT's q(x[:, 0]).unsqueeze(1): 192 follows α
    (_node("param", (1, 197, 192), params=5), TOKENS, None),  # an expand of a computed tensor
    # TinyViT's mask biases[:, idxs], 4 heads × 49 offsets = 196 params, read at its query's
    # batch (16 windows): a gathered param
    (_node("param", (16, 4, 49, 49), params=196, batch_only=True), (16, 4, 49, 32),
     [{"kind": "param", "shape": [4, 49, 49], "params": 196}]),
    # ViT-RelPos: its coordinates buffer, not expanded (the MLP on it runs once); the 196² token
    # pairs gathered from the 729 rows of the MLP's output; a gather of the batch: none
    (_node("param", (1, 27, 27, 2), inputs=(), expand=False), (1, 3, 224, 224),
     [{"kind": "param", "shape": [27, 27, 2], "params": 0, "expand": False}]),
    (_node("gather", (1, 38_416, 6), dim=1, size=38_416), (1, 729, 6), [{"kind": "gather", "size": 38_416}]),
    (_node("gather", (1, 6, 5), dim=2, size=5), (1, 6, 9), [{"kind": "gather", "size": 5, "dim": 2}]),
    (_node("gather", (5, 6), dim=0, size=5), (9, 6), None),
    # x.flatten(0, 1): the batch folds (N·768 rows; LeViT's BatchNorm1d over N·L tokens)
    (_node("flatten", (768, 196), start_dim=0, end_dim=1), (1, 768, 196),
     [{"kind": "reshape", "shape": [196], "fold": 768}]),
    (_node("flatten", (8, 16), start_dim=0, end_dim=1), (2, 4, 16),
     [{"kind": "reshape", "shape": [16], "fold": 4}]),
    (_node("flatten", (5, 16), start_dim=0, end_dim=1), (2, 4, 16), None),  # 5 rows: no fold
    (_node("linear", (1, 197, 10), in_features=384, out_features=10, bias=True), TOKENS, None),
])
def test_token_layers(node: IRNode, x: tuple[int, ...], layers: list[dict[str, Any]] | None) -> None:
    assert leaf_layers(node, x) == layers


def test_token_merges() -> None:
    cls, tokens = (1, 1, 192), (1, 196, 192)
    q = (1, 12, 197, 64)
    sdpa = _node("attention", q, inputs=("q", "k", "v"), key_shape=q, value_shape=q, causal=False)
    assert merge_layers(sdpa, [q, q, q]) == [{"kind": "attention"}]
    # BEiT: the mask is table[index] of a (2·14 - 1)² + 3 = 732 per head table, 12 heads: 8,784
    # params an attention layer cannot hold (opaque, never an internal error)
    assert merge_layers(_node("attention", q, inputs=("q", "k", "v"), params=8_784, key_shape=q,
                              value_shape=q, causal=False), [q, q, q]) is None
    assert merge_layers(_node("concat", TOKENS, dim=1), [cls, tokens]) == [{"kind": "concat"}]
    assert merge_layers(_node("add", TOKENS), [TOKENS, TOKENS]) == [{"kind": "add"}]
    # along the features (dim 2): a concat of dim 2; sizes that do not add up: none
    features = merge_layers(_node("concat", (1, 196, 384), dim=2), [tokens, tokens])
    assert features == [{"kind": "concat", "dim": 2}]
    assert merge_layers(_node("concat", (1, 196, 400), dim=2), [tokens, tokens]) is None


def test_mvit_rel_pos_reads_the_scores_and_q() -> None:
    # torchvision's _add_rel_pos(attn, q, (2, 4, 4), (2, 2, 2), h, w, t): scores [1, 2, 1 + 32,
    # 1 + 8], q [1, 2, 33, 8], tables of 3, 7, 7 rows; scores of another size: none
    scores, q = (1, 2, 33, 9), (1, 2, 33, 8)
    node = _node("rel_pos", scores, inputs=("a", "q"), query=q, q_size=(2, 4, 4), k_size=(2, 2, 2),
                 tables=(3, 7, 7), cls=True)
    assert merge_layers(node, [scores, q]) == [
        {"kind": "rel_pos", "q_size": [2, 4, 4], "k_size": [2, 2, 2], "tables": [3, 7, 7]}]
    assert merge_layers(node, [(1, 2, 33, 10), q]) is None


def test_timm_mvit_rel_pos_has_two_sizes() -> None:
    # timm's cal_rel_pos_type(attn, q, True, [4, 4], [2, 2], h, w): scores [1, 2, 1 + 16, 1 + 4],
    # q [1, 2, 17, 8], tables of 7 rows; keys read as 2×3 (1 + 6 ≠ 5): none
    scores, q = (1, 2, 17, 5), (1, 2, 17, 8)
    node = _node("rel_pos", scores, inputs=("a", "q"), query=q, q_size=(4, 4), k_size=(2, 2),
                 tables=(7, 7), cls=True)
    assert merge_layers(node, [scores, q]) == [
        {"kind": "rel_pos", "q_size": [4, 4], "k_size": [2, 2], "tables": [7, 7]}]
    wider = _node("rel_pos", scores, inputs=("a", "q"), query=q, q_size=(4, 4), k_size=(2, 3),
                  tables=(7, 7), cls=True)
    assert merge_layers(wider, [scores, q]) is None


def test_sam_rel_pos_bias_reads_q_alone() -> None:
    # SAM's get_decomposed_rel_pos_bias(q, h, w, (4, 5), (4, 5)) on q [6, 20, 8] (B·heads = 6):
    # the bias [6, 20, 20], tables 7 and 9 rows; q of another length: none
    q = (6, 20, 8)
    node = _node("rel_pos", (6, 20, 20), inputs=("q",), query=q, q_size=(4, 5), k_size=(4, 5),
                 tables=(7, 9), cls=False, bias=True)
    assert leaf_layers(node, q) == [
        {"kind": "rel_pos", "q_size": [4, 5], "k_size": [4, 5], "tables": [7, 9], "bias": True}]
    assert leaf_layers(node, (6, 21, 8)) is None


_TRACED = object()  # a size fx traced (a node, not an int)
_FULL = slice(None)


@pytest.mark.parametrize(("index", "shape", "fields"), [
    ((_FULL, slice(4, None)), (1, 8, 4, 4), dict(dim=1, start=4, end=8, step=1)),  # x[:, 4:]
    ((_FULL, slice(None, 4), Ellipsis), (1, 8, 4, 4), dict(dim=1, start=0, end=4, step=1)),
    ((_FULL, _FULL), (1, 8, 4, 4), dict(dim=1, start=0, end=8, step=1)),  # x[:, :]: all
    # CoaT's q[:, :, 1:, :] on [B, heads, 1 + H·W, C]: tokens 1 to 197 of dim 2
    ((_FULL, _FULL, slice(1, None), _FULL), (1, 8, 197, 19), dict(dim=2, start=1, end=197, step=1)),
    ((Ellipsis, slice(None, 2)), (1, 16, 8), dict(dim=2, start=0, end=2, step=1)),  # x[..., :2]
    ((_FULL, slice(None, None, 2)), (1, 8, 4), dict(dim=1, start=0, end=8, step=2)),  # a step
    ((slice(1, None),), (2, 8), None),  # the batch
    ((_FULL, slice(1, None), slice(1, None)), (1, 8, 4, 4), None),  # two dims
    ((_FULL, _FULL, 0), (1, 8, 4), None),  # an index: an unbind
    ((_FULL, slice(_TRACED, None)), (1, 8, 4), None),  # a traced bound
    ((Ellipsis, _FULL, Ellipsis), (1, 8), None),  # two Ellipses
])
def test_a_slice_of_one_dim_is_read_from_its_index(index: Any, shape: tuple[int, ...],
                                                   fields: dict[str, int] | None) -> None:
    from convcost.runtime.importer.fx_ops import channel_slice

    assert channel_slice(index, shape) == fields


@pytest.mark.parametrize(("index", "shape", "out", "fields"), [
    # PiT's x[:, :k], x[:, k:] with k = 1 traced, on 17 tokens: 0 to 1, 1 to 17
    ((_FULL, slice(None, _TRACED)), (1, 17, 8), (1, 1, 8), dict(dim=1, start=0, end=1, step=1)),
    ((_FULL, slice(_TRACED, None)), (1, 17, 8), (1, 16, 8), dict(dim=1, start=1, end=17, step=1)),
    # Swin's x[:, :H, :W, :] and LowFormer's o[..., :H, :W] of a map already H×W: the whole
    ((_FULL, slice(None, _TRACED), slice(None, _TRACED), _FULL), (1, 4, 4, 2), (1, 4, 4, 2),
     dict(dim=1, start=0, end=4, step=1)),
    ((Ellipsis, slice(None, _TRACED), slice(None, _TRACED)), (1, 8, 28, 28), (1, 8, 28, 28),
     dict(dim=1, start=0, end=8, step=1)),
    # LowFormer's crop at 14×14 (its upsampling gives 16×16): H and W cut, one slice cannot say it
    ((Ellipsis, slice(None, _TRACED), slice(None, _TRACED)), (1, 8, 16, 16), (1, 8, 14, 14), None),
    ((Ellipsis, slice(None, _TRACED)), (1, 8, 16, 16), (1, 8, 16, 14), dict(dim=3, start=0, end=14, step=1)),
    ((_FULL, slice(_TRACED, _TRACED)), (1, 17, 8), (1, 4, 8), None),  # both bounds traced
])
def test_a_slice_of_traced_bounds_is_read_from_its_shapes(
        index: Any, shape: tuple[int, ...], out: tuple[int, ...], fields: dict[str, int] | None) -> None:
    from convcost.runtime.importer.fx_trace import _traced_slice

    assert _traced_slice(index, shape, out) == fields


@pytest.mark.parametrize(("pad", "out", "layers"), [
    # CoaT's F.pad(ev, (0, 0, 1, 0, 0, 0)) on [B, heads, H·W, C]: the class token's row back
    ((0, 0, 1, 0, 0, 0), (1, 8, 197, 19), [{"kind": "pad", "pad": [0, 0, 1, 0]}]),
    ((1, 2), (1, 8, 196, 22), [{"kind": "pad", "pad": [1, 2, 0, 0]}]),  # the last dim alone
    # dims 1 and 2 padded, the last not: a channels-last map's H and W (SAM's windows), the pad
    # between permutes to NCHW and back
    ((0, 0, 1, 0, 1, 0), (1, 9, 197, 19), [{"kind": "permute", "dims": [0, 3, 1, 2]},
                                           {"kind": "pad", "pad": [1, 0, 1, 0]},
                                           {"kind": "permute", "dims": [0, 2, 3, 1]}]),
    ((1, 0, 1, 0, 1, 0), (1, 9, 197, 20), None),  # all three padded: not two dims
])
def test_a_pad_of_the_last_two_dims_of_a_4d_tensor(pad: tuple[int, ...], out: tuple[int, ...],
                                                   layers: list[dict[str, Any]] | None) -> None:
    node = _node("pad", out, pad=pad, mode="constant", value=0.0)
    assert leaf_layers(node, (1, 8, 196, 19)) == layers


_GATE = (1, 4, 1, 1)  # ConViT's per-head gate


@pytest.mark.parametrize(("node", "x", "layers"), [
    # 1. - torch.sigmoid(gate): a number less a tensor, a scalar of op rsub; x - 1: op sub (1fd967c)
    (_node("sub", _GATE, scalar=1.0, rsub=True), _GATE, [{"kind": "scalar", "value": 1.0, "op": "rsub"}]),
    (_node("sub", _GATE, scalar=1.0), _GATE, [{"kind": "scalar", "value": 1.0, "op": "sub"}]),
    # ConViT's relative positions, computed from no input and cached: a buffer, 0 params
    (_node("param", (1, 196, 196, 3), inputs=(), buffer=True), (1, 3, 224, 224),
     [{"kind": "param", "shape": [196, 196, 3], "params": 0}]),
    (_node("param", (1, 196, 196, 3), inputs=()), (1, 3, 224, 224), None),  # nothing says so
])
def test_gated_attention_layers(node: IRNode, x: tuple[int, ...],
                                layers: list[dict[str, Any]] | None) -> None:
    assert leaf_layers(node, x) == layers


@pytest.mark.parametrize(("front", "name", "args", "fields"), [
    ("functions", "operator.sub", (1.0, "x"), {"scalar": 1.0, "rsub": True}),  # 1. - x
    ("functions", "operator.sub", ("x", 1.0), {"scalar": 1.0}),  # x - 1.
    ("functions", "operator.sub", ("x", "y"), {}),
    ("aten", "aten.rsub", ("x", 1.0), {"scalar": 1.0, "rsub": True}),  # aten.rsub(x, 1.): 1. - x
    ("aten", "aten.rsub", ("x", 1.0, 2), {}),  # 1. - 2·x: no scalar layer says it
])
def test_the_sub_readers(front: str, name: str, args: tuple[Any, ...],
                                 fields: dict[str, Any]) -> None:
    from convcost.cost.imports import TorchCall
    from convcost.cost.registry import IMPORT_KINDS, IMPORT_RULES

    call = TorchCall(None, args, {}, (_GATE,), _GATE, (_GATE,))
    assert IMPORT_KINDS[front][name] == "sub"
    assert IMPORT_RULES[front][name](call)[1] == fields


@pytest.mark.parametrize(("pad", "x", "out", "layers"), [
    # HaloNet's rel_logits_1d: F.pad(x, [0, 1]) of [N·H, W, 2·win − 1] = [224, 7, 21], a column of
    # zeros, as the pad of W of [N, 1, 7, 21] between two reshapes
    ((0, 1), (224, 7, 21), (224, 7, 22), [{"kind": "reshape", "shape": [1, 7, 21]},
                                          {"kind": "pad", "pad": [0, 1, 0, 0]},
                                          {"kind": "reshape", "shape": [7, 22]}]),
    # then F.pad(x_pad, [0, rel_size - W]) of the flattened [224, 7·22]: 21 − 7 = 14 more
    ((0, 14), (224, 154), (224, 168), [{"kind": "reshape", "shape": [1, 1, 154]},
                                       {"kind": "pad", "pad": [0, 14, 0, 0]},
                                       {"kind": "reshape", "shape": [168]}]),
    ((1, 0, 2, 0), (4, 5, 6), (4, 7, 7), [{"kind": "reshape", "shape": [1, 5, 6]},  # two dims
                                          {"kind": "pad", "pad": [1, 0, 2, 0]},
                                          {"kind": "reshape", "shape": [7, 7]}]),
    ((0, 1, 1, 0), (4, 6), (5, 7), None),  # a 2-D tensor's first dim is the batch: not padded
    ((0, -1), (4, 6), (4, 5), None),  # a crop
])
def test_a_pad_of_a_rank_2_or_3_tensor_is_one_between_reshapes(
        pad: tuple[int, ...], x: tuple[int, ...], out: tuple[int, ...],
        layers: list[dict[str, Any]] | None) -> None:
    assert leaf_layers(_node("pad", out, pad=pad, mode="constant", value=0.0), x) == layers
    if layers is not None:  # reflect, replicate, circular: constant pads alone are read so
        assert leaf_layers(_node("pad", out, pad=pad, mode="reflect", value=0.0), x) is None


_W = object()  # a size the trace computed (an fx node): not an int


@pytest.mark.parametrize(("pad", "x", "out", "solved"), [
    ((0, 1), (224, 7, 21), (224, 7, 22), (0, 1)),  # ints: as given
    ((0, _W), (224, 154), (224, 168), (0, 14)),  # HaloNet's [0, rel_size - W]: 168 − 154 − 0
    ((_W, 2), (1, 8, 9), (1, 8, 14), (3, 2)),  # 14 − 9 − 2
    # Twins' (0, 0, 0, pad_r, 0, pad_b) on [N, H, W, C]: W grew by 2, H by 1
    ((0, 0, 0, _W, 0, _W), (1, 5, 6, 8), (1, 6, 8, 8), (0, 0, 0, 2, 0, 1)),
    ((_W, _W), (1, 8, 9), (1, 8, 14), None),  # both sides of a dim computed: not said
    ((0, _W), (1, 8, 9), (1, 8, 9, 1), None),  # shapes of two ranks
])
def test_a_pad_size_the_trace_computed_is_solved_from_the_shapes(
        pad: tuple[Any, ...], x: tuple[int, ...], out: tuple[int, ...],
        solved: tuple[int, ...] | None) -> None:
    from convcost.cost.imports import TorchCall
    from convcost.cost.registry import IMPORT_RULES

    call = TorchCall(None, ("x", pad), {}, (x,), out, (out,))
    fields = IMPORT_RULES["functions"]["torch.nn.functional.pad"](call)[1]
    assert fields.get("pad") == solved


@pytest.mark.parametrize(("x", "other", "out", "shape"), [
    # HaloNet's q @ rel_k.transpose(-1, -2): [32, 7, 7, 24] @ a [24, 21] table (504 params) ->
    # [32, 7, 7, 21]; the param [1, 24, 21] (batch added: [32, 1, 24, 21]) broadcasts over H
    ((32, 7, 7, 24), (24, 21), (32, 7, 7, 21), [1, 24, 21]),
    ((32, 5, 7, 7, 24), (24, 21), (32, 5, 7, 7, 21), [1, 1, 24, 21]),  # a rank-5 x: two 1s
    ((32, 7, 7, 24), (21, 24), (32, 7, 7, 24), None),  # 24 ≠ 21: not x @ W
])
def test_a_product_by_a_table_of_lower_rank(x: tuple[int, ...], other: tuple[int, ...],
                                            out: tuple[int, ...], shape: list[int] | None) -> None:
    node = _node("matmul", out, params=504, other=other, fn="operator")
    expected = None if shape is None else [
        {"kind": "residual", "layers": [{"kind": "param", "shape": shape}], "merge": "matmul"}]
    assert leaf_layers(node, x) == expected
