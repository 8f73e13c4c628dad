"""An ONNX graph of several inputs, written with onnx.helper: each input takes its shape by
name (``--input NAME=SHAPE``), the spec says ``inputs:`` and reads each with ``from:``, and a
bad ``--input`` is one line naming the input and the graph's inputs (exit 2). No torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from convcost.cli.app import app  # noqa: E402
from convcost.errors import ConvcostError  # noqa: E402
from convcost.net.analysis import analyze  # noqa: E402
from convcost.runtime.importer.convert import to_spec  # noqa: E402
from convcost.runtime.importer.onnx_inputs import spec_names  # noqa: E402
from convcost.runtime.importer.onnx_read import read_onnx  # noqa: E402
from convcost.spec.loader import parse_spec  # noqa: E402
from convcost.spec.yamlsafe import load_yaml  # noqa: E402


def _save(tmp_path: Path, a: str = "left", b: str = "right", dims: list[Any] | None = None) -> str:
    """Two images, a 3→4 1×1 conv each (12 params, no bias), added: y = ca(a) + cb(b)."""
    dims = dims or [1, 3, 8, 8]
    weights = [numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32), w) for w in ("wa", "wb")]
    nodes = [helper.make_node("Conv", [a, "wa"], ["ca"], name="ca", kernel_shape=[1, 1]),
             helper.make_node("Conv", [b, "wb"], ["cb"], name="cb", kernel_shape=[1, 1]),
             helper.make_node("Add", ["ca", "cb"], ["y"], name="add")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, dims)
                                           for n in (a, b)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], weights)
    path = tmp_path / "two.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return str(path)


def test_each_input_takes_its_shape_and_the_spec_reads_it(tmp_path: Path) -> None:
    path = _save(tmp_path, dims=["N", 3, "H", "W"])
    graph = read_onnx(path, inputs=(("left", (1, 3, 8, 8)), ("right", (1, 3, 8, 8))))
    assert [(n.name, n.shape) for n in graph if n.op == "input"] == [
        ("left", (1, 3, 8, 8)), ("right", (1, 3, 8, 8))]
    spec = to_spec(graph, path).spec
    assert spec["inputs"] == {"left": {"channels": 3, "resolution": 8},
                              "right": {"channels": 3, "resolution": 8}}
    assert [(layer["name"], layer.get("from")) for layer in spec["layers"]] == [
        ("ca", None), ("cb", "right"), ("add", ["ca", "cb"])]
    analysis = analyze(parse_spec(load_yaml(to_spec(graph, path).yaml)))
    # params 2·4·3 = 24; MACs 2 convs of 8·8·4·3 = 768 each
    assert (analysis.totals.params, analysis.totals.macs) == (24, 1_536)


def test_without_input_every_input_keeps_its_own_shape(tmp_path: Path) -> None:
    """Symbolic dims are 1: N, H, W of both inputs."""
    graph = read_onnx(_save(tmp_path, dims=["N", 3, "H", "W"]))
    assert [n.shape for n in graph if n.op == "input"] == [(1, 3, 1, 1)] * 2


def test_a_stated_shape_is_inferred_again_at_another_size(tmp_path: Path, runner: CliRunner) -> None:
    """The file states 1×3×8×8 and its output; at 16×16 the convs run 4× the MACs: 2·16·16·4·3."""
    result = runner.invoke(app, ["model", _save(tmp_path), "--no-verify", "-f", "json", "--input",
                                 "left=1x3x16x16", "--input", "right=1x3x16x16"])
    assert result.exit_code == 0, result.output
    assert '"macs": 6144' in result.stdout and '"name": "right"' in result.stdout


def test_an_input_returned_as_is_is_no_output_of_the_spec(tmp_path: Path) -> None:
    """y = ca(left) + cb(right), and right itself: the spec outputs its one layer (the spec
    loader refuses an input named as an output; it was an internal error)."""
    path = _save(tmp_path)
    model = onnx.load(path)
    model.graph.output.append(helper.make_tensor_value_info("right", TensorProto.FLOAT, None))
    onnx.save(model, path)
    graph = read_onnx(path)
    assert graph.outputs == ("y", "right")
    imported = to_spec(graph, path)
    assert "outputs" not in imported.spec
    assert analyze(parse_spec(load_yaml(imported.yaml))).totals.macs == 1_536  # 2·8·8·4·3


def test_graph_names_the_spec_loader_refuses_are_renamed() -> None:
    """What the TorchScript exporter names inputs (``input``, ``onnx::MatMul_1``), a torch
    attribute, a name of the graph's other tensors, and names that become equal."""
    assert spec_names(["input", "onnx::MatMul_1", "forward", "x.1"]) == [
        "input_", "onnx_MatMul_1", "forward_", "x.1"]
    assert spec_names(["a:b", "a-b", "a_b"], taken={"a_b_"}) == ["a_b__", "a_b___", "a_b"]
    assert spec_names(["::", "\x1b[31m"]) == ["input0", "31m"]


def test_renamed_inputs_are_what_input_names(tmp_path: Path, runner: CliRunner) -> None:
    path = _save(tmp_path, "input", "onnx::tokens")
    result = runner.invoke(app, ["import", path])
    assert result.exit_code == 0, result.output
    assert "inputs:\n  input_: {channels: 3, resolution: 8}\n  onnx_tokens:" in result.stdout
    assert "from: onnx_tokens" in result.stdout
    assert "# inputs input_ 1x3x8x8, onnx_tokens 1x3x8x8, read with onnx" in result.stdout
    result = runner.invoke(app, ["model", path, "--no-verify", "--input", "input_=1x3x4x4",
                                 "--input", "onnx_tokens=1x3x4x4"])
    assert result.exit_code == 0, result.output
    assert "inputs input_ 1×3×4×4, onnx_tokens 1×3×4×4" in result.stdout


ERRORS = [
    # a bare shape on a graph of two
    (["1x3x8x8"], "the ONNX graph has 2 inputs; name each, --input left=SHAPE --input right=SHAPE"),
    (["left=1x3x8x8"], "no shape for the ONNX graph's input 'right'"),
    (["left=1x3x8x8", "rihgt=1x3x8x8"], "the ONNX graph has no input 'rihgt'"),
    (["left=1x3x8x8", "right=1x3x8"], "--input has 3 dimensions; the ONNX input 'right' has 4"),
    (["left=1x3x8x8", "left=1x3x8x8"], "--input: input 'left' is given twice"),
]


@pytest.mark.parametrize(("given", "message"), ERRORS)
def test_a_bad_input_is_one_line_naming_the_graphs_inputs(tmp_path: Path, runner: CliRunner,
                                                          given: list[str], message: str) -> None:
    args = [word for text in given for word in ("--input", text)]
    result = runner.invoke(app, ["model", _save(tmp_path), "--no-verify", *args])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert message in line and line.endswith("(its inputs: left, right)")


def test_graph_names_are_data_in_errors(tmp_path: Path, runner: CliRunner) -> None:
    """A name with a terminal escape and rich markup is quoted: no control character, no style."""
    path = _save(tmp_path, "[bold]a\x1b[31m", "b")
    result = runner.invoke(app, ["model", path, "--no-verify", "--input", "b=1x3x8x8"])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert "\x1b" not in line
    assert "no shape for the ONNX graph's input 'bold_a_31m'" in line
    assert r"(its inputs: bold_a_31m (the graph's '[bold]a\x1b[31m'), b)" in line


def test_the_python_api_reads_a_source_at_its_named_inputs(tmp_path: Path) -> None:
    """``convcost.analyze(path, input_shape={...})``: each ONNX input by name (2·16·16·4·3 =
    6,144 MACs at 16×16); one shape on a spec is applied too (it was ignored for a string)."""
    import convcost

    analysis = convcost.analyze(_save(tmp_path), input_shape={"left": (1, 3, 16, 16),
                                                              "right": "1x3x16x16"})
    assert [(i.name, i.shape) for i in analysis.inputs] == [("left", (1, 3, 16, 16)),
                                                            ("right", (1, 3, 16, 16))]
    assert (analysis.totals.params, analysis.totals.macs) == (24, 6_144)
    assert convcost.analyze("specs/mobilenet_v2.yaml", input_shape=(1, 3, 160, 160)).totals == \
        convcost.analyze("specs/mobilenet_v2.yaml", resolution=160).totals
    with pytest.raises(ConvcostError, match="no shape for the ONNX graph's input 'right'"):
        convcost.analyze(_save(tmp_path), input_shape={"left": (1, 3, 16, 16)})
