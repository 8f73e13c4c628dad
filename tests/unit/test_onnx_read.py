"""The ONNX reader on graphs written with onnx.helper: every supported op, shapes, params."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from convcost.errors import ConvcostError  # noqa: E402
from convcost.runtime.importer.onnx_read import read_onnx  # noqa: E402


def _init(name: str, *shape: int, values: Any = None) -> Any:
    data = np.asarray(values, dtype=np.float32) if values is not None else np.ones(shape, np.float32)
    return numpy_helper.from_array(data.reshape(shape) if shape else data, name)


def _ints(name: str, values: list[int]) -> Any:
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def _save(tmp_path: Path, nodes: list[Any], inits: list[Any], out: str, out_shape: list[int],
          in_shape: list[Any] | None = None) -> str:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape or [1, 3, 16, 16])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return str(path)


N = helper.make_node
EVERY_OP = [
    N("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),  # 8×16×16
    N("BatchNormalization", ["c1", "s", "b", "m", "v"], ["bn"]),
    N("Relu", ["bn"], ["r"]),
    N("Clip", ["r", "zero", "six"], ["r6"]),
    N("HardSwish", ["r6"], ["hs"]),
    N("HardSigmoid", ["hs"], ["hsig"]),
    N("Sigmoid", ["hsig"], ["sg"]),
    N("Mul", ["hsig", "sg"], ["silu"]),  # x·σ(x): one SiLU
    N("Add", ["silu", "r"], ["sum"]),
    N("Mul", ["sum", "gamma"], ["scaled"]),  # layer scale: 8 params
    N("Split", ["scaled", "halves"], ["s0", "s1"], axis=1),
    N("Concat", ["s1", "s0"], ["cat"], axis=1),
    N("Slice", ["cat", "st", "en", "ax"], ["sl"]),  # 8×8×16
    N("Pad", ["sl", "pads"], ["pd"]),  # back to 8×16×16
    N("ConvTranspose", ["pd", "wt"], ["ct"], strides=[2, 2], kernel_shape=[2, 2]),  # 4×32×32
    N("Resize", ["ct", "", "scales"], ["rs"], mode="nearest"),  # 4×16×16
    N("MaxPool", ["rs"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),  # 4×8×8
    N("AveragePool", ["mp"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),  # 4×4×4
    N("Transpose", ["ap"], ["tr"], perm=[0, 1, 3, 2]),
    N("ReduceMean", ["tr", "hw"], ["rm"], keepdims=1),  # 4×1×1
    N("GlobalAveragePool", ["tr"], ["gap"]),
    N("Add", ["rm", "gap"], ["pooled"]),
    N("Flatten", ["pooled"], ["fl"], axis=1),  # 4
    N("Gemm", ["fl", "wg", "bg"], ["fc"], transB=1),  # 10
    N("MatMul", ["fc", "wm"], ["mm"]),  # 5
    N("Reshape", ["mm", "shape"], ["y"]),
]
EVERY_INIT = [
    _init("w1", 8, 3, 3, 3), _init("b1", 8), *(_init(n, 8) for n in "sbmv"),
    _init("zero", values=0.0), _init("six", values=6.0), _init("gamma", 1, 8, 1, 1),
    _ints("halves", [4, 4]), _ints("st", [0]), _ints("en", [8]), _ints("ax", [2]),
    _ints("pads", [0, 0, 0, 0, 0, 0, 8, 0]), _init("wt", 8, 4, 2, 2),
    _init("scales", 4, values=[1, 1, 0.5, 0.5]), _ints("hw", [2, 3]),
    _init("wg", 10, 4), _init("bg", 10), _init("wm", 10, 5), _ints("shape", [1, 5]),
]


def test_every_op(tmp_path: Path) -> None:
    graph = read_onnx(_save(tmp_path, EVERY_OP, EVERY_INIT, "y", [1, 5]))
    ops = [(n.op, n.attr("fn")) for n in graph]
    assert [op for op, _ in ops] == [
        "input", "conv", "bn", "act", "act", "act", "act", "act", "add", "mul", "split", "getitem",
        "getitem", "concat", "slice", "pad", "conv_transpose", "interpolate", "pool", "pool", "transpose",
        "mean", "adaptive_pool", "add", "flatten", "linear", "linear", "reshape"]
    assert [fn for _, fn in ops if fn] == ["relu", "relu6", "hardswish", "hardsigmoid", "silu"]
    shapes = {n.name: n.shape for n in graph}
    assert shapes["sl"] == (1, 8, 8, 16)  # rows 0..7 of 16
    assert shapes["ct"] == (1, 4, 32, 32)  # (16 - 1)·2 + 2
    assert shapes["rs"] == (1, 4, 16, 16) and shapes["ap"] == (1, 4, 4, 4)
    assert shapes["rm"] == shapes["gap"] == (1, 4, 1, 1) and shapes["y"] == (1, 5)
    params = {n.name: n.params for n in graph if n.params}
    # conv 8·3·9 + 8 = 224; BN scale + bias 2·8 = 16; γ 8; transposed 8·4·2·2 = 128;
    # Gemm 10·4 + 10 = 50; MatMul 10·5 = 50
    assert params == {"c1": 224, "bn": 16, "scaled": 8, "ct": 128, "fc": 50, "mm": 50}
    assert graph.params == graph.model_params == 476
    conv = graph.node("c1")
    assert dict(conv.attrs) == dict(in_channels=3, out_channels=8, kernel=(3, 3), stride=(1, 1),
                                    dilation=(1, 1), groups=1, bias=True, padding=(1, 1))
    assert graph.node("rm").attr("dims") == (2, 3)
    # the Split is read by one getitem per output, as torch.fx gives torch.split
    assert graph.node("s0:split").attr("sizes") == (4, 4) and graph.node("s1").attr("index") == 1
    assert graph.node("tr").attrs == {"dims": (2, 3)}  # perm (0, 1, 3, 2): x.transpose(2, 3)
    assert graph.tracer == "onnx" and graph.outputs == ("y",) and not graph.opaque()


def test_shared_initializers_count_at_each_node(tmp_path: Path) -> None:
    """An exporter stores identical weights once; each node still has its own: 2 × 3·3 = 18."""
    nodes = [N("Conv", ["x", "w"], ["a"], kernel_shape=[1, 1]),
             N("Conv", ["a", "w"], ["y"], kernel_shape=[1, 1])]
    graph = read_onnx(_save(tmp_path, nodes, [_init("w", 3, 3, 1, 1)], "y", [1, 3, 16, 16]))
    assert [n.params for n in graph if n.op == "conv"] == [9, 9]
    assert graph.params == 18


def test_unknown_op_is_opaque_and_input_override(tmp_path: Path) -> None:
    nodes = [N("Conv", ["x", "w"], ["a"], kernel_shape=[1, 1]), N("Erf", ["a"], ["y"])]
    path = _save(tmp_path, nodes, [_init("w", 3, 3, 1, 1)], "y", ["N", 3, "H", "W"], ["N", 3, "H", "W"])
    graph = read_onnx(path, (2, 3, 8, 4))
    assert graph.node("y").op == "opaque" and graph.node("y").shape == (2, 3, 8, 4)
    assert graph.opaque() == {("y", "Erf"): 1}
    with pytest.raises(ConvcostError, match="--input has 2 dimensions"):
        read_onnx(path, (1, 3))


def test_not_onnx(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ConvcostError, match="not an ONNX model"):
        read_onnx(str(bad))
    with pytest.raises(ConvcostError, match="no such file"):
        read_onnx(str(tmp_path / "missing.onnx"))


def test_attention_ops(tmp_path: Path) -> None:
    """MatMul of two computed tensors is a ``matmul`` (of a weight, a linear); Softmax a
    ``softmax``; Einsum an ``einsum``: scores = softmax(x·xᵀ), out = einsum(scores, x)."""
    nodes = [N("Reshape", ["x", "tokens"], ["t"]),  # [1, 3, 256]
             N("Transpose", ["t"], ["tt"], perm=[0, 2, 1]),  # [1, 256, 3]
             N("MatMul", ["t", "tt"], ["s"]),  # [1, 3, 3]: two computed tensors
             N("Softmax", ["s"], ["p"], axis=-1),
             N("Einsum", ["p", "t"], ["y"], equation="bij,bjk->bik")]  # [1, 3, 256]
    graph = read_onnx(_save(tmp_path, nodes, [_ints("tokens", [1, 3, 256])], "y", [1, 3, 256]))
    by_name = {n.name: n for n in graph}
    assert by_name["s"].op == "matmul" and by_name["s"].attr("other") == (1, 256, 3)
    assert by_name["s"].inputs == ("t", "tt") and by_name["s"].params == 0
    assert (by_name["p"].op, by_name["p"].attr("dim"), by_name["p"].attr("form")) == (
        "softmax", -1, "functional")
    assert by_name["y"].op == "einsum" and by_name["y"].attr("equation") == "bij,bjk->bik"
    assert by_name["y"].attr("first") == (1, 3, 3) and by_name["y"].shape == (1, 3, 256)


def test_a_number_less_a_tensor_and_a_quotient_of_two(tmp_path: Path) -> None:
    """ConViT's gate and renormalised attention: Sub(1, Sigmoid(x)) is a ``sub`` of a number
    first (a scalar rsub), Div(r, ReduceMean(r)) a ``div`` of two tensors."""
    nodes = [N("Sigmoid", ["x"], ["g"]), N("Sub", ["one", "g"], ["r"]),
             N("ReduceMean", ["r", "last"], ["m"], keepdims=1), N("Div", ["r", "m"], ["y"])]
    graph = read_onnx(_save(tmp_path, nodes, [_init("one", values=1.0), _ints("last", [3])], "y",
                            [1, 3, 16, 16]))
    by_name = {n.name: n for n in graph}
    assert (by_name["r"].op, by_name["r"].inputs, dict(by_name["r"].attrs)) == (
        "sub", ("g",), {"scalar": 1.0, "rsub": True})
    assert (by_name["y"].op, by_name["y"].inputs, by_name["y"].shape) == ("div", ("r", "m"), (1, 3, 16, 16))


def test_grid_sample_reads_its_grid(tmp_path: Path) -> None:
    """GridSample(x, grid), the grid a 1×1 conv's [1, 2, 16, 16] put channels last: a
    ``grid_sample`` reading both, its attributes torch's fields."""
    nodes = [N("Conv", ["x", "w", "b"], ["g"], kernel_shape=[1, 1]),
             N("Transpose", ["g"], ["grid"], perm=[0, 2, 3, 1]),  # [1, 16, 16, 2]
             N("GridSample", ["x", "grid"], ["y"], mode="nearest", padding_mode="border",
               align_corners=1)]  # [1, 3, 16, 16]
    graph = read_onnx(_save(tmp_path, nodes, [_init("w", 2, 3, 1, 1), _init("b", 2)], "y",
                            [1, 3, 16, 16]))
    y = {n.name: n for n in graph}["y"]
    assert (y.op, y.inputs, y.shape, y.params) == ("grid_sample", ("x", "grid"), (1, 3, 16, 16), 0)
    assert dict(y.attrs) == {"mode": "nearest", "padding_mode": "border", "align_corners": True}


def _const(name: str, values: list[int]) -> Any:
    return N("Constant", [], [name], value=numpy_helper.from_array(np.asarray(values, np.int64), name))


# x.chunk(2, 1) as the TorchScript exporter writes it: the half is (C + 1) // 2 of Shape(x)[1]
CHUNK = [N("Shape", ["x"], ["s"]), _const("one", [1]), N("Gather", ["s", "one"], ["c"], axis=0),
         _const("zero", [0]), N("Add", ["c", "one"], ["c1"]), _const("two", [2]),
         N("Div", ["c1", "two"], ["half"]), N("Mul", ["half", "one"], ["end0"]),
         N("Slice", ["x", "zero", "end0", "one"], ["a"]), N("Mul", ["half", "two"], ["end1"]),
         N("Slice", ["x", "end0", "end1", "one"], ["b"])]
# F.pad(x, (0, 1, 0, 1)): pads [0, 1, 0, 1] + zeros for N, C, reversed in pairs, transposed, cast
PAD = [_const("pl", [0, 1, 0, 1]), _const("four", [4]), N("ConstantOfShape", ["four"], ["zs"]),
       N("Concat", ["pl", "zs"], ["all"], axis=0), _const("pairs", [-1, 2]),
       N("Reshape", ["all", "pairs"], ["p2"]), _const("st", [-1]), _const("en", [-9999]),
       _const("ax", [0]), _const("step", [-1]), N("Slice", ["p2", "st", "en", "ax", "step"], ["rev"]),
       N("Transpose", ["rev"], ["tr"], perm=[1, 0]), _const("flat", [-1]),
       N("Reshape", ["tr", "flat"], ["pads"]), N("Cast", ["pads"], ["pads64"], to=TensorProto.INT64)]


def test_shape_arithmetic_is_folded(tmp_path: Path) -> None:
    """The chunk's ends are (3 + 1) // 2 · 1 = 2 and 2 · 2 = 4 (channels 0..1, 2..2); the pads
    [0, 1, 0, 1, 0, 0, 0, 0] become ONNX's [0, 0, 0, 0, 0, 0, 1, 1]: H and W grow by one."""
    nodes = [*CHUNK, N("Concat", ["a", "b"], ["cat"], axis=1), *PAD, N("Pad", ["cat", "pads64"], ["y"])]
    graph = read_onnx(_save(tmp_path, nodes, [], "y", [1, 3, 17, 17]))
    assert [(n.attr("start"), n.attr("end")) for n in graph if n.op == "slice"] == [(0, 2), (2, 3)]
    assert [n.shape for n in graph if n.op == "slice"] == [(1, 2, 16, 16), (1, 1, 16, 16)]
    assert graph.node("y").op == "pad" and graph.node("y").attr("pad") == (0, 1, 0, 1)
    assert graph.node("y").shape == (1, 3, 17, 17) and not graph.opaque()


def test_folding_is_bounded_and_leaves_weights(tmp_path: Path) -> None:
    """A ConstantOfShape of 2^40 elements is not evaluated (the Pad it feeds stays unknown: an
    error, not a hang); an Identity of a float weight is not folded, its reader's bias counts."""
    from convcost.runtime.importer.onnx_fold import _fold_once

    huge = [_const("big", [1 << 20, 1 << 20]), N("ConstantOfShape", ["big"], ["zs"]),
            N("Shape", ["zs"], ["n"])]
    model = onnx.load(_save(tmp_path, [*huge, N("Relu", ["x"], ["y"])], [], "y", [1, 3, 16, 16]))
    assert _fold_once(model) == 0
    nodes = [N("Identity", ["b"], ["b2"]), N("Conv", ["x", "w", "b2"], ["y"], kernel_shape=[1, 1])]
    graph = read_onnx(_save(tmp_path, nodes, [_init("w", 3, 3, 1, 1), _init("b", 3)], "y", [1, 3, 16, 16]))
    assert graph.node("y").params == 3 * 3 + 3


def _scoped(node: Any, classes: list[str], scopes: list[str]) -> Any:
    node.metadata_props.add(key="pkg.torch.onnx.class_hierarchy", value=str(classes))
    node.metadata_props.add(key="pkg.torch.onnx.name_scopes", value=str(scopes))
    return node


def test_an_unscoped_split_read_by_its_callers_cat_is_in_the_caller(tmp_path: Path) -> None:
    """The dynamo exporter's unscoped Split of a C2f's ``chunk(2, 1)`` is read by the C2f's own
    cat (a functional op of module ``c3_3``) and by ``c3_3.m.0.act``: torch.fx puts the chunk in
    ``c3_3``, not at the top (where the layer ``c3_3.cv1`` would clash with a group ``c3_3``)."""
    nodes = [N("Split", ["x", "halves"], ["a", "b"], name="node_Split_9", axis=1),
             _scoped(N("Relu", ["b"], ["r"], name="relu"), ["net.Net", "net.C2f", "net.B",
                     "torch.nn.modules.activation.ReLU", "aten.relu.default"],
                     ["", "c3_3", "c3_3.m.0", "c3_3.m.0.act", "relu"]),
             _scoped(N("Concat", ["a", "r"], ["y"], name="node_cat", axis=1),
                     ["net.Net", "net.C2f", "aten.cat.default"], ["", "c3_3", "cat"])]
    graph = read_onnx(_save(tmp_path, nodes, [_ints("halves", [1, 2])], "y", [1, 3, 16, 16]))
    assert [(n.op, n.module) for n in graph.nodes[1:]] == [
        ("split", "c3_3"), ("getitem", "c3_3"), ("getitem", "c3_3"), ("act", "c3_3.m.0.act"),
        ("concat", "c3_3")]


def test_a_conv_with_asymmetric_pads_is_a_pad_and_a_conv(tmp_path: Path) -> None:
    """The dynamo exporter fuses ``F.pad(x, (0, 1, 0, 1))`` into the next 3×3 stride-2 conv's pads
    [1, 1, 2, 2]: a pad (0, 1, 0, 1) to 17×17, then padding 1: (17 + 2 − 3) // 2 + 1 = 9;
    MACs 9·9·3·3·3·3 = 6,561, params 3·3·9 = 81, as before the fusion."""
    nodes = [N("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 2, 2])]
    graph = read_onnx(_save(tmp_path, nodes, [_init("w", 3, 3, 3, 3)], "y", [1, 3, 9, 9]))
    pad, conv = graph.nodes[1:]
    assert (pad.op, pad.attr("pad"), pad.shape, conv.inputs) == ("pad", (0, 1, 0, 1), (1, 3, 17, 17),
                                                                  (pad.name,))
    assert conv.attr("padding") == (1, 1) and conv.shape == (1, 3, 9, 9) and conv.params == 81
    from convcost.net.analysis import analyze
    from convcost.runtime.importer.convert import to_spec
    from convcost.spec.loader import parse_spec
    from convcost.spec.yamlsafe import load_yaml

    analysis = analyze(parse_spec(load_yaml(to_spec(graph, "m.onnx").yaml)))
    assert (analysis.totals.params, analysis.totals.macs) == (81, 6_561)
