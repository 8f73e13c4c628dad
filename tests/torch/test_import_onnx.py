"""The ONNX reader, op by op: hand-made one-node graphs read into the IR with their shapes
from onnx's shape inference and their params from each node's weight inputs.

Each case names the ONNX op, the IR op it becomes, the hyper-parameters it keeps, the output
shape and the params, with the arithmetic next to it. Input X is 1×8×16×16 unless a case says.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from import_models import C2fPad, Decoder, Resized, Shared, Shuffled
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.net.analysis import analyze
from convcost.runtime.importer.convert import to_spec
from convcost.runtime.importer.onnx_read import read_onnx
from convcost.runtime.importer.trace import trace
from convcost.spec.loader import parse_spec
from convcost.spec.yamlsafe import load_yaml

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
helper, numpy_helper, TensorProto = onnx.helper, onnx.numpy_helper, onnx.TensorProto

X = (1, 8, 16, 16)


def _node(op: str, inputs: list[str], output: str = "Y", **attrs: Any) -> Any:
    return helper.make_node(op, inputs, [output], name=f"{op.lower()}_node", **attrs)


def _write(path: Path, nodes: list[Any], weights: dict[str, tuple[int, ...]],
           constants: dict[str, list[int | float]] | None = None, x: tuple[int, ...] = X,
           outputs: tuple[str, ...] = ("Y",)) -> str:
    """A float model: input X, the given nodes, zero weights of the given shapes, int64 (or
    float) constant initializers, every output left for shape inference."""
    inits = [numpy_helper.from_array(np.zeros(shape, np.float32), name) for name, shape in weights.items()]
    for name, values in (constants or {}).items():
        kind = np.float32 if any(isinstance(v, float) for v in values) else np.int64
        inits.append(numpy_helper.from_array(np.array(values, kind), name))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, x)],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(model, str(path))
    return str(path)


# (case, nodes, weights, constants, input, IR op, attrs it must hold, output shape, params)
CASES: list[tuple[Any, ...]] = [
    # 3×3 stride 2, pad 1: (16 + 2 − 3) // 2 + 1 = 8; params 16·8·3·3 + 16 = 1,168
    ("Conv", [_node("Conv", ["X", "W", "B"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
     {"W": (16, 8, 3, 3), "B": (16,)}, None, X, "conv",
     dict(in_channels=8, out_channels=16, kernel=(3, 3), stride=(2, 2), padding=(1, 1), bias=True),
     (1, 16, 8, 8), 1_168),
    # depthwise: group 8, weight [8, 1, 3, 3]: 8·1·3·3 = 72 params, no bias
    ("Conv depthwise", [_node("Conv", ["X", "W"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8)],
     {"W": (8, 1, 3, 3)}, None, X, "conv", dict(in_channels=8, out_channels=8, groups=8, bias=False),
     (1, 8, 16, 16), 72),
    # 2×2 stride 2: (16 − 1)·2 + 2 = 32; weight [Cin 8, Cout 4, 2, 2]: 8·4·2·2 + 4 = 132
    ("ConvTranspose", [_node("ConvTranspose", ["X", "W", "B"], kernel_shape=[2, 2], strides=[2, 2])],
     {"W": (8, 4, 2, 2), "B": (4,)}, None, X, "conv_transpose",
     dict(in_channels=8, out_channels=4, stride=(2, 2), output_padding=(0, 0)), (1, 4, 32, 32), 132),
    # Y = X·Wᵀ + B, W [10, 16]: 10·16 + 10 = 170
    ("Gemm", [_node("Gemm", ["X", "W", "B"], transB=1)], {"W": (10, 16), "B": (10,)}, None, (1, 16),
     "linear", dict(in_features=16, out_features=10, bias=True), (1, 10), 170),
    # Y = X·W, W [16, 10]: 160
    ("MatMul", [_node("MatMul", ["X", "W"])], {"W": (16, 10)}, None, (1, 16), "linear",
     dict(in_features=16, out_features=10, bias=False), (1, 10), 160),
    # nn.Linear on [N, H, W, C] is MatMul then Add of the bias: one linear, 16·10 + 10 = 170
    ("MatMul+Add", [_node("MatMul", ["X", "W"], "M"), _node("Add", ["M", "B"])],
     {"W": (16, 10), "B": (10,)}, None, (1, 4, 4, 16), "linear",
     dict(in_features=16, out_features=10, bias=True), (1, 4, 4, 10), 170),
    # over the last axis (axis −1): normalized (16,); scale and bias 2·16 = 32
    ("LayerNormalization", [_node("LayerNormalization", ["X", "S", "B"])], {"S": (16,), "B": (16,)},
     None, X, "layernorm", dict(normalized=(16,), affine=True), X, 32),
    # scale and shift are learnable (2·8 = 16); mean and var are buffers
    ("BatchNormalization", [_node("BatchNormalization", ["X", "S", "B", "M", "V"])],
     {"S": (8,), "B": (8,), "M": (8,), "V": (8,)}, None, X, "bn", dict(channels=8), X, 16),
    ("Relu", [_node("Relu", ["X"])], {}, None, X, "act", dict(fn="relu"), X, 0),
    ("Clip 0..6", [_node("Clip", ["X", "lo", "hi"])], {}, {"lo": [0.0], "hi": [6.0]}, X, "act",
     dict(fn="relu6"), X, 0),
    ("HardSwish", [_node("HardSwish", ["X"])], {}, None, X, "act", dict(fn="hardswish"), X, 0),
    ("HardSigmoid", [_node("HardSigmoid", ["X"])], {}, None, X, "act", dict(fn="hardsigmoid"), X, 0),
    ("Sigmoid", [_node("Sigmoid", ["X"])], {}, None, X, "act", dict(fn="sigmoid"), X, 0),
    # x · sigmoid(x), the Sigmoid read by the Mul alone: one SiLU
    ("Sigmoid-Mul", [_node("Sigmoid", ["X"], "S"), _node("Mul", ["X", "S"])], {}, None, X, "act",
     dict(fn="silu"), X, 0),
    ("Add", [_node("Relu", ["X"], "R"), _node("Add", ["X", "R"])], {}, None, X, "add", {}, X, 0),
    ("Mul", [_node("Relu", ["X"], "R"), _node("Mul", ["X", "R"])], {}, None, X, "mul", {}, X, 0),
    # 8 + 8 = 16 channels
    ("Concat", [_node("Relu", ["X"], "R"), _node("Concat", ["X", "R"], axis=1)], {}, None, X, "concat",
     dict(dim=1), (1, 16, 16, 16), 0),
    # channels 0..4 of 8
    ("Slice", [_node("Slice", ["X", "s", "e", "a"])], {}, {"s": [0], "e": [4], "a": [1]}, X, "slice",
     dict(dim=1, start=0, end=4, step=1), (1, 4, 16, 16), 0),
    # nearest ×2: 16·2 = 32
    ("Resize", [_node("Resize", ["X", "", "sc"], mode="nearest")], {}, {"sc": [1.0, 1.0, 2.0, 2.0]}, X,
     "interpolate", dict(mode="nearest", size=(32, 32)), (1, 8, 32, 32), 0),
    ("GlobalAveragePool", [_node("GlobalAveragePool", ["X"])], {}, None, X, "adaptive_pool",
     dict(kind="avg", output_size=(1, 1)), (1, 8, 1, 1), 0),
    # 3×3 stride 2 pad 1: (16 + 2 − 3) // 2 + 1 = 8
    ("MaxPool", [_node("MaxPool", ["X"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], {}, None,
     X, "pool", dict(kind="max", kernel=(3, 3), stride=(2, 2), padding=(1, 1)), (1, 8, 8, 8), 0),
    # 2×2 stride 2: 16 / 2 = 8
    ("AveragePool", [_node("AveragePool", ["X"], kernel_shape=[2, 2], strides=[2, 2])], {}, None, X,
     "pool", dict(kind="avg", kernel=(2, 2), stride=(2, 2), padding=(0, 0)), (1, 8, 8, 8), 0),
    ("ReduceMean", [_node("ReduceMean", ["X", "ax"], keepdims=0)], {}, {"ax": [2, 3]}, X, "mean",
     dict(dims=(2, 3), keepdim=False), (1, 8), 0),
    # axes -1, -2 of rank 4: dims (2, 3); keepdims 1 by default
    ("ReduceSum", [_node("ReduceSum", ["X", "ax"])], {}, {"ax": [-1, -2]}, X, "sum",
     dict(dims=(2, 3), keepdim=True), (1, 8, 1, 1), 0),
    ("ReduceMax", [_node("ReduceMax", ["X", "ax"], keepdims=0)], {}, {"ax": [2, 3]}, X, "max",
     dict(dims=(2, 3), keepdim=False), (1, 8), 0),
    # 8·16·16 = 2,048
    ("Flatten", [_node("Flatten", ["X"], axis=1)], {}, None, X, "flatten", dict(start_dim=1),
     (1, 2_048), 0),
    ("Reshape", [_node("Reshape", ["X", "sh"])], {}, {"sh": [1, 2, 4, 256]}, X, "reshape",
     dict(shape=(1, 2, 4, 256)), (1, 2, 4, 256), 0),
    # perm (0, 2, 1, 3) swaps axes 1 and 2: x.transpose(1, 2)
    ("Transpose swap", [_node("Transpose", ["X"], perm=[0, 2, 1, 3])], {}, None, X, "transpose",
     dict(dims=(1, 2)), (1, 16, 8, 16), 0),
    ("Transpose permute", [_node("Transpose", ["X"], perm=[0, 2, 3, 1])], {}, None, X, "transpose",
     dict(dims=(0, 2, 3, 1), permute=True), (1, 16, 16, 8), 0),
    # ONNX begins then ends per axis -> F.pad's (left, right, top, bottom): 16 + 1 + 2 = 19 wide
    ("Pad", [_node("Pad", ["X", "p"])], {}, {"p": [0, 0, 3, 1, 0, 0, 0, 2]}, X, "pad",
     dict(mode="constant", pad=(1, 2, 3, 0)), (1, 8, 19, 19), 0),
]


@pytest.mark.parametrize(("nodes", "weights", "constants", "x", "op", "attrs", "shape", "params"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_onnx_op_reads_into_the_ir(nodes: list[Any], weights: dict[str, tuple[int, ...]],
                                   constants: dict[str, list[Any]] | None, x: tuple[int, ...], op: str,
                                   attrs: dict[str, Any], shape: tuple[int, ...], params: int,
                                   tmp_path: Path) -> None:
    graph = read_onnx(_write(tmp_path / "m.onnx", nodes, weights, constants, x))
    node = graph.node("Y")
    assert (node.op, node.shape, node.params) == (op, shape, params)
    assert {key: node.attr(key) for key in attrs} == attrs
    assert graph.params == params and graph.input_shape == x


def test_split_becomes_a_split_read_by_one_getitem_per_output(tmp_path: Path) -> None:
    """As torch.fx gives ``torch.split(x, [2, 6], 1)``: the split, then getitem 0 and 1."""
    nodes = [helper.make_node("Split", ["X", "sizes"], ["A", "B"], name="split", axis=1),
             _node("Concat", ["B", "A"], axis=1)]
    graph = read_onnx(_write(tmp_path / "m.onnx", nodes, {}, {"sizes": [2, 6]}))
    split, first, second, cat = graph.nodes[1:]
    assert (split.op, split.attr("dim"), split.attr("sizes")) == ("split", 1, (2, 6))
    assert [(n.op, n.attr("index"), n.inputs, n.shape) for n in (first, second)] == [
        ("getitem", 0, (split.name,), (1, 2, 16, 16)), ("getitem", 1, (split.name,), (1, 6, 16, 16))]
    assert (cat.op, cat.inputs, cat.shape) == ("concat", ("B", "A"), X)  # 6 + 2 = 8 channels


def test_params_come_from_each_node_not_the_deduplicated_initializers(tmp_path: Path) -> None:
    """Two 8→8 3×3 convs sharing one stored weight (as exporters store identical ones): the
    file holds 8·8·3·3 = 576 weights, the model has 2·576 = 1,152 params."""
    nodes = [helper.make_node("Conv", ["X", "W"], ["A"], name="conv1", kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("Conv", ["A", "W"], ["Y"], name="conv2", kernel_shape=[3, 3], pads=[1] * 4)]
    path = _write(tmp_path / "m.onnx", nodes, {"W": (8, 8, 3, 3)})
    assert len(onnx.load(path).graph.initializer) == 1
    graph = read_onnx(path)
    assert [n.params for n in graph.nodes if n.op == "conv"] == [576, 576]
    assert graph.model_params == 1_152


def test_an_identity_of_a_stored_weight_counts_as_the_readers_own(tmp_path: Path) -> None:
    """The TorchScript exporter stores the equal zero biases of BN-folded convs once and gives
    each further conv an Identity of it: conv1 reads B (8), conv2 reads Identity(B) (8).
    Params 2·(8·8·3·3 + 8) = 1,168, as the torch model had before export (was 1,160)."""
    nodes = [helper.make_node("Conv", ["X", "W1", "B"], ["A"], name="/conv1/Conv", kernel_shape=[3, 3],
                              pads=[1] * 4),
             helper.make_node("Identity", ["B"], ["B2"], name="Identity_1"),
             helper.make_node("Conv", ["A", "W2", "B2"], ["Y"], name="/conv2/Conv", kernel_shape=[3, 3],
                              pads=[1] * 4)]
    path = _write(tmp_path / "m.onnx", nodes, {"W1": (8, 8, 3, 3), "W2": (8, 8, 3, 3), "B": (8,)})
    graph = read_onnx(path)
    assert [(n.module, n.params, n.attr("bias")) for n in graph.nodes if n.op == "conv"] == [
        ("conv1", 584, True), ("conv2", 584, True)]
    assert graph.model_params == 1_168
    imported = to_spec(graph, path)  # the self-check agrees: the spec counts both biases
    assert analyze(parse_spec(load_yaml(imported.yaml))).totals.params == 1_168


class _Twins(torch.nn.Module):
    """Two 8→8 3×3 convs (bias-free) with equal weights: 2·8·8·3·3 = 1,152 params."""

    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False)
        with torch.no_grad():
            self.a.weight.fill_(0.5)
            self.b.weight.fill_(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


def test_exported_twin_convs_count_both_weights(tmp_path: Path) -> None:
    pytest.importorskip("onnxscript")
    path = tmp_path / "twins.onnx"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(_Twins().eval(), (torch.zeros(1, 8, 8, 8),), str(path))
    stored = sum(int(np.prod(i.dims)) for i in onnx.load(str(path)).graph.initializer)
    graph = read_onnx(str(path))
    assert stored in (576, 1_152)  # whether or not this exporter shares the equal tensors
    assert [(n.module, n.params) for n in graph.nodes if n.op == "conv"] == [("a", 576), ("b", 576)]
    assert graph.params == 1_152


def _unsupported(tmp_path: Path) -> str:
    """conv -> two CumSum (no spec kind) -> relu: opaque, listed by node name, op and count."""
    nodes = [helper.make_node("Conv", ["X", "W"], ["A"], name="conv", kernel_shape=[1, 1]),
             helper.make_node("CumSum", ["A", "axis"], ["C"], name="cumsum"),
             helper.make_node("CumSum", ["C", "axis"], ["D"], name="cumsum_1"),
             _node("Relu", ["D"])]
    return _write(tmp_path / "odd.onnx", nodes, {"W": (4, 8, 1, 1)}, {"axis": [1]})


def test_unsupported_ops_are_opaque_and_listed(tmp_path: Path, runner: CliRunner) -> None:
    path = _unsupported(tmp_path)
    graph = read_onnx(path)
    assert graph.opaque() == {("cumsum", "CumSum"): 1, ("cumsum_1", "CumSum"): 1}
    imported = to_spec(graph, path)
    [opaque] = imported.emitted.opaque  # the second absorbs the first: one region
    assert (opaque.ops, opaque.shape, opaque.params) == ("CumSum ×2", (1, 4, 16, 16), 0)
    result = runner.invoke(app, ["import", path])
    assert result.exit_code == 0
    assert "totals are lower bounds: MACs of 1 opaque layer (CumSum ×2) are not counted" in result.stderr


def test_unsupported_ops_are_an_error_under_strict(tmp_path: Path, runner: CliRunner) -> None:
    path = _unsupported(tmp_path)
    result = runner.invoke(app, ["import", path, "--strict"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--strict" in lines[0] and "CumSum ×2" in lines[0]


def test_an_unscoped_split_sits_in_the_module_enclosing_its_readers(tmp_path: Path) -> None:
    """The exporter's optimiser makes Splits without a name scope; torch.fx puts the split of
    ``stage.1`` in ``stage.1``, the module holding both of its readers."""
    def scoped(node: Any, scope: str) -> Any:
        node.metadata_props.add(key="pkg.torch.onnx.name_scopes", value=f"['', '{scope}', 'x']")
        return node
    nodes = [helper.make_node("Split", ["X", "sizes"], ["A", "B"], name="node_Split_9", axis=1),
             scoped(helper.make_node("Relu", ["B"], ["R"], name="relu"), "stage.1.branch.act"),
             scoped(_node("Concat", ["A", "R"], axis=1), "stage.1.concat")]
    graph = read_onnx(_write(tmp_path / "m.onnx", nodes, {}, {"sizes": [4, 4]}))
    assert [(n.op, n.module) for n in graph.nodes[1:]] == [
        ("split", "stage.1"), ("getitem", "stage.1"), ("getitem", "stage.1"),
        ("act", "stage.1.branch.act"), ("concat", "stage.1.concat")]


def _folded(tmp_path: Path) -> str:
    """conv (BN folded in by the exporter's rewriter, as its metadata says) -> relu -> pool."""
    conv = helper.make_node("Conv", ["X", "stem.conv.weight", "stem.conv.bias"], ["A"], name="conv",
                            kernel_shape=[3, 3], pads=[1] * 4)
    conv.metadata_props.add(key="pkg.onnxscript.rewriter.rule_name", value="FuseBatchNormIntoConvPattern")
    nodes = [conv, helper.make_node("Relu", ["A"], ["R"], name="relu"), _node("GlobalAveragePool", ["R"])]
    weights = {"stem.conv.weight": (16, 8, 3, 3), "stem.conv.bias": (16,)}
    return _write(tmp_path / "folded.onnx", nodes, weights)


@pytest.mark.parametrize("command", [["model"], ["conventions"], ["import"], ["check"],
                                     ["sweep", "--alpha", "1"], ["verify"]])
def test_every_report_of_a_folded_model_says_so(tmp_path: Path, runner: CliRunner,
                                                command: list[str]) -> None:
    result = runner.invoke(app, [*command, _folded(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("convcost: note: BatchNorm folded into 1 convolution by the exporter") == 1


def test_a_folded_conv_keeps_its_bias_and_is_marked(tmp_path: Path) -> None:
    graph = read_onnx(_folded(tmp_path))
    conv = graph.node("A")
    # 16·8·3·3 + 16 = 1,168: the folded BN's shift is the bias
    assert (conv.module, conv.params, conv.attr("bias"), conv.attr("bn_folded")) == (
        "stem.conv", 1_168, True, True)
    assert graph.notes[0].startswith("BatchNorm folded into 1 convolution")


def _export(model: torch.nn.Module, shape: tuple[int, ...], path: Path) -> str:
    pytest.importorskip("onnxscript")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.zeros(shape),), str(path))
    return str(path)


def _leaves(graph: Any) -> list[tuple[Any, ...]]:
    analysis = analyze(parse_spec(load_yaml(to_spec(graph, "m.onnx").yaml)))
    return [(n.name, n.label, n.output_shape, n.params, n.macs) for n in analysis.leaves()]


def test_a_module_called_twice_shares_its_params_as_through_torch_fx(tmp_path: Path) -> None:
    """stem 3·8·9 + 8 = 224 params; conv 8·8·9 + 8 = 584 once, its 8·8·8·8·9 = 36,864 MACs at
    each of its two calls (the same stored weight, the same module scope)."""
    graph = read_onnx(_export(Shared(), (1, 3, 8, 8), tmp_path / "shared.onnx"))
    convs = [(n.module, n.params, n.shared) for n in graph.nodes if n.op == "conv"]
    assert convs == [("stem", 224, False), ("conv", 584, True), ("conv", 0, True)]
    assert "shares: conv" in to_spec(graph, "shared.onnx").yaml
    assert _leaves(graph) == _leaves(trace(Shared().eval(), (1, 3, 8, 8), "Shared"))


def test_decomposed_group_norm_and_bilinear_resize_read_as_torch_fx_reads_them(tmp_path: Path) -> None:
    """The exporter writes GroupNorm(4, 8) as reshape, InstanceNormalization, reshape, ·γ, +β
    (2·8 = 16 params) and bilinear upsampling as Resize 'linear': one groupnorm, one bilinear."""
    graph = read_onnx(_export(Decoder(), (1, 3, 16, 16), tmp_path / "decoder.onnx"))
    norm = next(n for n in graph.nodes if n.module == "norm")
    assert (norm.op, norm.params, norm.attr("groups"), norm.attr("affine")) == ("groupnorm", 16, 4, True)
    assert [n.attr("mode") for n in graph.nodes if n.op == "interpolate"] == ["bilinear"]
    by_fx = _leaves(trace(Decoder().eval(), (1, 3, 16, 16), "Decoder"))
    # the same figures; functional ops are named after the aten op (upsample_bilinear2d)
    assert [row[1:] for row in _leaves(graph)] == [row[1:] for row in by_fx]


def test_reshape_transpose_reshape_reads_as_the_channel_shuffle_torch_fx_reads(tmp_path: Path) -> None:
    """Both shuffles of ``Shuffled`` export as Reshape, Transpose (0, 2, 1, 3, 4), Reshape."""
    graph = read_onnx(_export(Shuffled(), (1, 3, 8, 8), tmp_path / "shuffled.onnx"))
    imported = to_spec(graph, "shuffled.onnx")
    assert not imported.emitted.opaque
    assert [layer.get("groups") for layer in imported.spec["layers"] if layer["kind"] == "shuffle"] == [4, 2]
    by_fx = _leaves(trace(Shuffled().eval(), (1, 3, 8, 8), "Shuffled"))
    # stem 3·8 + 8 = 32 params, 64·8·3 = 1,536 MACs; dw 144, 9,216; head 36, 2,048
    assert [row[2:] for row in _leaves(graph)] == [row[2:] for row in by_fx] == [
        ((1, 8, 8, 8), 32, 1_536), ((1, 8, 8, 8), 0, 0), ((1, 8, 8, 8), 144, 9_216),
        ((1, 8, 8, 8), 0, 0), ((1, 4, 8, 8), 36, 2_048)]


def test_a_resize_to_fixed_sizes_reads_its_reference_as_torch_fx_reads_it(tmp_path: Path) -> None:
    """F.interpolate(x, size=ref.shape[-2:]) exports as a Resize to constant sizes; the import
    reads the nearest tensor it derives from of that H×W as its reference, as torch.fx does."""
    graph = read_onnx(_export(Resized(), (1, 3, 16, 16), tmp_path / "resized.onnx"))
    layers = to_spec(graph, "resized.onnx").spec["layers"]
    # the pooled branch (1×1) back to the stem's 8×8, the head back to the input's 16×16
    assert [layer["from"] for layer in layers if layer["kind"] == "interpolate"] == [
        ["pool.2", "stem"], ["head", "input"]]
    by_fx = _leaves(trace(Resized().eval(), (1, 3, 16, 16), "Resized"))
    # stem 3·8·9 + 8 = 224 params, 64·8·27 = 13,824 MACs; pool.1 8·8 + 8 = 72, 64;
    # head 16·4 + 4 = 68, 64·4·16 = 4,096; the resizes count no MACs by the paper count
    assert [row[1:] for row in _leaves(graph)] == [row[1:] for row in by_fx]
    assert [row[3:] for row in by_fx if row[3]] == [(224, 13_824), (72, 64), (68, 4_096)]


def test_a_torchscript_export_of_chunk_and_pad_reads_exactly(tmp_path: Path, runner: CliRunner) -> None:
    """The TorchScript exporter computes the Slice ends of ``chunk(2, 1)`` and the pads of
    ``F.pad`` in the graph: folded to constants, the net reads with torch's figures. Params
    (conv biases, no BN): stem 3·8·9 + 8 = 224, cv1 72, m 4·4·9 + 4 = 148, cv2 12·8 + 8 = 104,
    h13 cv1, cv2 2·36, m 2·148, cv3 72, down 8·8·9 + 8 = 584: 1,572. MACs = FlopCounterMode / 2."""
    from torch.utils.flop_counter import FlopCounterMode

    model, x = C2fPad().eval(), torch.zeros(1, 3, 16, 16)
    path = tmp_path / "c2f.onnx"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=20)
    with FlopCounterMode(display=False) as counter:
        model(x)
    graph = read_onnx(str(path))
    assert [(n.attr("start"), n.attr("end")) for n in graph.nodes if n.op == "slice"] == [(0, 4), (4, 8)]
    assert [n.attr("pad") for n in graph.nodes if n.op == "pad"] == [(0, 1, 0, 1)]
    analysis = analyze(parse_spec(load_yaml(to_spec(graph, "c2f.onnx").yaml)))
    assert analysis.totals.params == sum(p.numel() for p in model.parameters()) == 1_572
    assert analysis.totals.macs == counter.get_total_flops() // 2
    assert "h13.cv3" in {n.name for n in analysis.leaves()} | {n.name.rpartition(".")[0]
                                                             for n in analysis.leaves()}
    result = runner.invoke(app, ["model", str(path), "-f", "json", "--strict"])
    assert result.exit_code == 0, result.output


@pytest.mark.slow  # the dynamo export takes ~5 s of CPU
def test_a_dynamo_export_of_chunk_and_pad_reads_exactly(tmp_path: Path) -> None:
    """The default exporter fuses the chunk into an unscoped Split and F.pad into the next
    conv's pads [1, 1, 2, 2]: the same 1,572 params and FlopCounterMode / 2 MACs."""
    from torch.utils.flop_counter import FlopCounterMode

    model, x = C2fPad().eval(), torch.zeros(1, 3, 16, 16)
    graph = read_onnx(_export(model, tuple(x.shape), tmp_path / "c2f.onnx"))
    with FlopCounterMode(display=False) as counter:
        model(x)
    analysis = analyze(parse_spec(load_yaml(to_spec(graph, "c2f.onnx").yaml)))
    assert (analysis.totals.params, analysis.totals.macs) == (1_572, counter.get_total_flops() // 2)
    assert [n.module for n in graph.nodes if n.op == "split"] == [""]  # C2fPad.forward's own chunk
