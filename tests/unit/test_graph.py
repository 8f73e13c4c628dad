"""The spec graph: ``from:``, merges, containers and ``outputs:``: shapes, costs, errors, and
memory, training, BN folding and separable pairs following the data path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from convcost.cost.memory import model_memory
from convcost.cost.training import training
from convcost.errors import SpecError
from convcost.net.analysis import Analysis, analyze, separable_pairs
from convcost.spec.loader import load_spec, parse_spec


def _analysis(layers: list[dict[str, Any]], channels: int = 4, res: int = 8,
              **model: Any) -> Analysis:
    return analyze(parse_spec({"input": {"channels": channels, "resolution": res},
                               "layers": layers, **model}))


def _conv(name: str, out: int, k: int = 1, **more: Any) -> dict[str, Any]:
    return {"kind": "conv", "name": name, "out_channels": out, "kernel_size": k, **more}


# (case, layers on a 1×4×8×8 input, output shape, params, MACs)
CASES: list[tuple[str, list[dict[str, Any]], tuple[int, ...], int, int]] = [
    ("from: input, concat", [_conv("a", 2), _conv("b", 6, 3, **{"from": "input"}),
                             {"kind": "concat", "from": ["a", "b"]}],
     (1, 8, 8, 8),  # 2 + 6 channels
     2 * 4 + 6 * 4 * 9,  # a: 8, b: 216
     64 * 2 * 4 + 64 * 6 * 4 * 9),  # a: 512, b: 13,824
    ("concat of 3 with input", [_conv("a", 2), _conv("b", 2, **{"from": "input"}),
                                {"kind": "concat", "from": ["a", "input", "b"]}],
     (1, 8, 8, 8), 8 + 8, 512 + 512),  # 2 + 4 + 2 channels; a, b: 2·4 params, 64·2·4 MACs
    ("add of 3", [_conv("a", 4), _conv("b", 4, 3, **{"from": "input"}),
                  {"kind": "add", "from": ["a", "b", "input"]}],
     (1, 4, 8, 8), 16 + 144, 64 * 16 + 64 * 144),  # a: 4·4, b: 4·4·9
    ("mul gate broadcast", [{"kind": "pool", "name": "g", "op": "avg", "global": True},
                            {"kind": "mul", "from": ["input", "g"]}],
     (1, 4, 8, 8), 0, 0),  # [1,4,8,8] * [1,4,1,1]
    ("residual identity", [{"kind": "residual", "layers": [_conv("c", 4, 3)]}],
     (1, 4, 8, 8), 4 * 4 * 9, 64 * 4 * 4 * 9),  # 144 params, 9,216 MACs
    ("residual shortcut", [{"kind": "residual", "layers": [_conv("c", 8, 3, stride=2)],
                            "shortcut": [_conv("d", 8, stride=2)]}],
     (1, 8, 4, 4), 8 * 4 * 9 + 8 * 4, 16 * 8 * 4 * 9 + 16 * 8 * 4),  # 4×4 out: 4,608 + 512
    ("residual concat (DenseNet)", [{"kind": "residual", "merge": "concat",
                                     "layers": [_conv("c", 2, 3)]}],
     (1, 6, 8, 8), 2 * 4 * 9, 64 * 2 * 4 * 9),  # x (4) ++ body (2)
    ("residual mul (SE)", [{"kind": "residual", "merge": "mul", "layers": [
        {"kind": "pool", "op": "avg", "global": True}, _conv("fc", 4, bias=True, act="sigmoid")]}],
     (1, 4, 8, 8), 4 * 4 + 4, 4 * 4),  # 1×1 input: 16 MACs; weights 16 + bias 4
    ("parallel concat", [{"kind": "parallel", "branches": [
        _conv("b1", 3), {"kind": "sequential", "layers": [_conv("r", 2), _conv("c", 5, 3)]}]}],
     (1, 8, 8, 8),  # 3 + 5
     3 * 4 + 2 * 4 + 5 * 2 * 9,  # 12 + 8 + 90
     64 * (12 + 8 + 90)),
    ("parallel add (RepVGG)", [{"kind": "parallel", "merge": "add", "branches": [
        _conv("k3", 4, 3, bn=True), _conv("k1", 4, bn=True), {"kind": "bn"}]}],
     (1, 4, 8, 8), 144 + 8 + 16 + 8 + 8, 64 * (144 + 16)),  # 3 BNs of 2·4 params
    ("split sizes (MixConv)", [{"kind": "split", "sizes": [1, 3], "branches": [
        {"kind": "dwconv", "kernel_size": 3}, {"kind": "dwconv", "kernel_size": 5}]}],
     (1, 4, 8, 8), 1 * 9 + 3 * 25, 64 * (9 + 75)),  # 1 channel 3×3, 3 channels 5×5
    ("split equal chunks", [{"kind": "split", "branches": [_conv("p", 2), _conv("q", 6)]}],
     (1, 8, 8, 8), 2 * 2 + 6 * 2, 64 * 16),  # chunks of 2; 2·2 + 6·2 weights
    ("sequential reading an earlier layer", [_conv("a", 2), _conv("b", 3), {
        "kind": "sequential", "from": "a", "layers": [_conv("p", 5), {"kind": "concat",
                                                                      "from": ["input", "p"]}]},
        {"kind": "concat", "from": ["b", "layers.2"]}],
     (1, 10, 8, 8),  # b (3) ++ [a (2) ++ p (5)]
     8 + 6 + 10, 64 * (8 + 6 + 10)),  # a: 2·4, b: 3·2, p: 5·2
    ("repeat reads the previous copy", [_conv("a", 2), _conv("b", 4, 3, repeat=2,
                                                              **{"from": "input"})],
     (1, 4, 8, 8), 2 * 144, 2 * 64 * 144),  # a is unused (a warning), b.0 and b.1: 4·4·9
]


@pytest.mark.parametrize(("layers", "shape", "params", "macs"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_construct_shape_and_cost(layers: list[dict[str, Any]], shape: tuple[int, ...],
                                  params: int, macs: int) -> None:
    analysis = _analysis(layers)
    assert analysis.root.output_shape == shape
    assert (analysis.totals.params, analysis.totals.macs) == (params, macs)


GRAPH = """\
name: g
input: {channels: 4, resolution: 8}
layers:
  - {kind: conv, name: a, out_channels: 8, kernel_size: 1}
  - {kind: conv, name: b, out_channels: 8, kernel_size: 3, stride: 2, from: input}
  - {kind: concat, name: c, from: [a, b]}
"""

OK = GRAPH.replace("stride: 2, ", "")  # a and b both 8×8×8; c 16×8×8

# (case, yaml text, line, "path: message" fragment)
ERRORS = [
    ("concat of mismatched sizes", GRAPH, 6,
     "layers[2].from: concat needs equal H×W, got 8×8 and 4×4"),
    ("from a later layer", GRAPH.replace("from: input}", "from: c}"), 5,
     "layers[1].from: 'c' is a later layer (layers[2]): from: names earlier layers only"),
    ("from an unknown layer", GRAPH.replace("from: [a, b]", "from: [a, bb]"), 6,
     "layers[2].from[1]: unknown layer 'bb' (did you mean 'b'?)"),
    ("a cycle", GRAPH.replace("from: input}", "from: b}"), 5,
     "layers[1].from: layer 'b' reads its own output: a cycle"),
    ("a cycle of two", GRAPH.replace("kernel_size: 1}", "kernel_size: 1, from: b}"), 4,
     "layers[0].from: 'b' is a later layer (layers[1])"),
    ("add of one input", GRAPH.replace("kind: concat, name: c, from: [a, b]", "kind: add"), 6,
     "layers[2].from: add reads 2 or more tensors, got 1: name them with from:"),
    ("conv of two inputs", GRAPH.replace("from: input}", "from: [input, a]}"), 5,
     "layers[1].from: conv reads one tensor, got 2"),
    ("a container of two inputs", OK + """\
  - {kind: sequential, from: [a, b], layers: [{kind: bn}]}
""", 7, "layers[3].from: sequential reads one tensor, got 2"),
    ("add of different channels", GRAPH.replace("stride: 2, ", "").replace("out_channels: 8, "
                                                "kernel_size: 3", "out_channels: 6, kernel_size: 3")
     .replace("concat", "add"), 6, "layers[2].from: add needs equal shapes (C×H×W), got 8×8×8 "
     "and 6×8×8"),
    ("mul that does not broadcast", GRAPH.replace("stride: 2, ", "").replace("concat", "mul")
     .replace("out_channels: 8, kernel_size: 3", "out_channels: 3, kernel_size: 3"), 6,
     "layers[2].from: mul needs shapes that broadcast"),
    ("a layer named input", GRAPH.replace("name: a,", "name: input,"), 4,
     "layers[0].name: 'input' is reserved"),
    ("outputs names an unknown layer", GRAPH + "outputs: [c, z]\n", 7,
     "outputs[1]: unknown layer 'z'"),
    ("split sizes do not sum", OK + """\
  - kind: split
    sizes: [4, 8]
    branches: [{kind: bn}, {kind: bn}]
""", 8, "layers[3].sizes: sizes sum to 12, the input has 16 channels"),
    ("split into unequal chunks", OK + """\
  - kind: split
    branches: [{kind: bn}, {kind: bn}, {kind: bn}]
""", 8, "layers[3].branches: 16 input channels do not split into 3 equal chunks"),
    ("split sizes per branch", OK + """\
  - kind: split
    sizes: [16]
    branches: [{kind: bn}, {kind: bn}]
""", 8, "layers[3].sizes: 1 sizes for 2 branches"),
    ("a branch with from", OK + """\
  - kind: parallel
    branches: [{kind: bn}, {kind: bn, from: a}]
""", 8, "layers[3].branches[1].from: a branch of a parallel reads its input"),
    ("a layer named as the merge", OK + """\
  - kind: residual
    layers: [{kind: bn, name: add}]
""", 8, "layers[3].layers[0].name: 'add' names the container's merge"),
    ("a residual whose body changes the shape", OK + """\
  - kind: residual
    layers: [{kind: pwconv, out_channels: 3}]
""", 7, "layers[3].merge: add needs equal shapes (C×H×W), got 16×8×8 and 3×8×8"),
    # two batches, the rest equal (Swin-3D's windows folded into the batch): each shape whole
    ("an add of two batches", """\
name: g
input: {channels: 4, resolution: 8}
layers:
  - {kind: permute, name: p, dims: [0, 2, 3, 1]}
  - {kind: window_partition, name: w, window: 4}
  - {kind: conv, name: c, out_channels: 4, kernel_size: 1, stride: 2, from: input}
  - {kind: reshape, name: r, shape: [16, 4]}
  - {kind: add, from: [w, r]}
""", 8, "layers[4].from: add needs equal shapes, got [4, 16, 4] (NCL) and [1, 16, 4] (NCL)"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), [c[1:] for c in ERRORS],
                         ids=[c[0] for c in ERRORS])
def test_graph_errors_are_located(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        analyze(load_spec(path))
    assert f"{path}:{line}: {fragment}" in str(caught.value)


def test_the_graph_as_written_is_valid() -> None:
    """The base of the error table is itself fine: a 1×1 and a strided 3×3 side by side."""
    analysis = _analysis(yaml.safe_load(OK)["layers"])
    assert analysis.root.output_shape == (1, 16, 8, 8)  # 8 + 8 channels


def test_unused_layers_are_warned_and_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(OK + "  - {kind: conv, name: d, out_channels: 2,"
                    " from: a}\n  - {kind: bn, name: e, from: c}\n", encoding="utf-8")
    spec = load_spec(path)
    assert [str(w) for w in spec.warnings] == [
        f"{path}:7: layers[3]: layer 'd' is not used by any output: not counted"]
    analysis = analyze(spec)
    assert [n.name for n in analysis.root.children] == ["a", "b", "c", "e"]
    # a: 8·4 = 32, b: 8·4·9 = 288, e: 2·16 = 32 (d's 16 are not counted)
    assert analysis.totals.params == 32 + 288 + 32
    assert analysis.warnings == spec.warnings


def test_outputs_count_what_any_output_needs() -> None:
    layers = [_conv("a", 2), _conv("aux", 3, **{"from": "a"}), _conv("b", 5, **{"from": "a"}),
              _conv("dead", 7)]
    analysis = _analysis(layers, outputs=["b", "aux"])
    assert analysis.root.outputs == ("b", "aux")
    assert analysis.root.output_shape == (1, 5, 8, 8)  # the first output's
    assert analysis.totals.params == 2 * 4 + 3 * 2 + 5 * 2  # dead (7·5) is not counted
    memory = model_memory(analysis.root)
    assert memory.output_bytes == 64 * (5 + 3) * 4  # both outputs, float32


def test_a_branch_is_held_until_its_merge() -> None:
    """Peak: while b runs, x (4·64), a (2·64, held for the concat) and b (6·64) are live."""
    memory = model_memory(_analysis(CASES[0][1]).root)
    assert [m.live_bytes for m in memory.leaves] == [
        (4 + 2) * 64 * 4,  # a: x and a
        (4 + 2 + 6) * 64 * 4,  # b: x (read), a (held), b
        (2 + 6 + 8) * 64 * 4]  # concat: a, b and the output
    assert memory.peak_bytes == 16 * 64 * 4 and memory.peak_leaf == "layers.2"


def test_training_follows_the_graph() -> None:
    """b reads the model input (no grad): grad-weight only; c reads a and b: both grads."""
    layers = [_conv("a", 2), _conv("b", 2, 3, **{"from": "input"}),
              {"kind": "concat", "name": "cat", "from": ["a", "b"]}, _conv("c", 3)]
    result = training(_analysis(layers).root)
    by_name = {leaf.node.name: leaf for leaf in result.leaves}
    assert (by_name["b"].grad_input_macs, by_name["b"].grad_weight_macs) == (0, 64 * 2 * 36)
    assert (by_name["c"].grad_input_macs, by_name["c"].grad_weight_macs) == (64 * 12, 64 * 12)


def test_fuse_bn_only_where_the_conv_feeds_the_bn_alone() -> None:
    """a feeds its BN and the concat: not folded; b's BN is its only reader: folded."""
    layers = [_conv("a", 2), {"kind": "bn", "name": "abn"},
              _conv("b", 2, **{"from": "input"}), {"kind": "bn", "name": "bbn"},
              {"kind": "concat", "from": ["a", "abn", "bbn"]}]
    memory = model_memory(_analysis(layers).root, fuse_bn=True)
    status = {m.node.name: m.status for m in memory.leaves}
    assert (status["abn"], status["bbn"]) == ("", "folded")
    assert memory.params == 8 + 4 + (8 + 2)  # a + abn, b gains a bias of 2


def test_separable_pairs_follow_the_branch() -> None:
    """A dw conv paired with the pw conv of its branch; a dw feeding a concat pairs with none."""
    layers = [{"kind": "parallel", "branches": [
        {"kind": "sequential", "name": "ds", "layers": [
            {"kind": "dwconv", "name": "dw", "kernel_size": 3, "bn": True, "act": "relu"},
            {"kind": "pwconv", "name": "pw", "out_channels": 8}]},
        {"kind": "dwconv", "name": "lone", "kernel_size": 3}]}]
    pairs = separable_pairs(_analysis(layers))
    assert [(p.depthwise.name, p.pointwise.name) for p in pairs] == [
        ("layers.0.ds.dw.conv", "layers.0.ds.pw")]
