"""The importer's own checks, without torch: the self-check of the emitted spec (a spec that does
not load or miscounts is an internal error before anything is written) and the head rule
(a conv computing a model output keeps its width under --alpha)."""

from __future__ import annotations

from typing import Any

import pytest

from convcost.runtime.importer.emit.heads import fixed_heads, fixed_maps
from convcost.runtime.importer.ir import IRGraph, IRNode, frozen
from convcost.runtime.importer.selfcheck import SelfCheckError, check_emitted, node_macs


def conv(name: str, inputs: tuple[str, ...], shape: tuple[int, ...], cin: int, k: int = 1,
         groups: int = 1) -> IRNode:
    cout = shape[1]
    attrs = dict(in_channels=cin, out_channels=cout, kernel=(k, k), stride=(1, 1), dilation=(1, 1),
                 groups=groups, bias=False, padding=(k // 2, k // 2))
    return IRNode(name, "conv", name, inputs, shape, cout * cin // groups * k * k, attrs=frozen(attrs))


@pytest.mark.parametrize(("node", "macs"), [
    (conv("c", ("x",), (1, 16, 8, 8), 3, 3), 27_648),  # 16·8·8 outputs × 3·3·3 = 1,024 × 27
    (conv("c", ("x",), (1, 16, 8, 8), 16, 3, 16), 9_216),  # depthwise: 1,024 × 1·9
    (conv("c", ("x",), (2, 8, 4, 4), 4), 1_024),  # batch 2: 2·8·4·4 = 256 outputs × 4
    (IRNode("l", "linear", "l", ("x",), (1, 10), attrs=frozen(dict(in_features=32, out_features=10))),
     320),  # 10 outputs × 32
    (IRNode("t", "conv_transpose", "t", ("x",), (1, 4, 8, 8), attrs=frozen(dict(
        in_channels=8, out_channels=4, kernel=(2, 2), stride=(2, 2), padding=(0, 0),
        output_padding=(0, 0), groups=1))), 2_048),  # input 8×4×4 = 128 elements × 4·2·2
    (IRNode("a", "act", "a", ("x",), (1, 4, 8, 8), attrs=frozen(dict(fn="relu"))), 0),
])
def test_node_macs(node: IRNode, macs: int) -> None:
    assert node_macs(node) == macs


def _graph(*nodes: IRNode, outputs: tuple[str, ...]) -> IRGraph:
    first = IRNode("x", "input", "", (), (1, 3, 8, 8))
    return IRGraph("m.py:M", "torch.fx", (1, 3, 8, 8), (first, *nodes), outputs,
                   sum(n.params for n in nodes))


SPEC = """\
name: m
input: {channels: 3, resolution: 8}
layers:
  - {kind: pwconv, name: a, out_channels: 8}
  - {kind: pwconv, name: b, from: %s, out_channels: 4}
"""


def test_the_self_check_passes_a_spec_that_reproduces_the_graph() -> None:
    graph = _graph(conv("a", ("x",), (1, 8, 8, 8), 3), conv("b", ("a",), (1, 4, 8, 8), 8),
                   outputs=("b",))
    check_emitted(graph, (), SPEC % "a", "m.py:M")  # 8·8·(8·3 + 4·8) MACs on both sides


def test_a_spec_that_does_not_load_is_an_internal_error_naming_the_line() -> None:
    graph = _graph(conv("a", ("x",), (1, 8, 8, 8), 3), conv("b", ("a",), (1, 4, 8, 8), 8),
                   outputs=("b",))
    unknown = r"does not load: m.py:M:5: layers\[1\].from: unknown layer 'a.1'"
    with pytest.raises(SelfCheckError, match=unknown):
        check_emitted(graph, (), SPEC % "a.1", "m.py:M")


def test_a_spec_that_drops_a_conv_is_an_internal_error_with_both_counts() -> None:
    # the graph's output reads a 3→8 conv the spec never computes: 1,536 MACs and 24 params missing
    graph = _graph(conv("a", ("x",), (1, 8, 8, 8), 3), conv("b", ("a",), (1, 4, 8, 8), 8),
                   conv("c", ("x",), (1, 8, 8, 8), 3), outputs=("b", "c"))
    with pytest.raises(SelfCheckError, match=r"2 MAC layers with 56 params and 3,584 MACs, the trace "
                                             r"has 3 with 80 params and 5,120 MACs \(layers missing: "
                                             r"\[1536\]"):
        check_emitted(graph, (), SPEC % "a", "m.py:M")


def test_ops_an_opaque_layer_stands_for_are_not_expected() -> None:
    graph = _graph(conv("a", ("x",), (1, 8, 8, 8), 3), conv("b", ("a",), (1, 4, 8, 8), 8),
                   outputs=("b",))
    text = SPEC.replace("{kind: pwconv, name: b, from: %s, out_channels: 4}",
                        "{kind: opaque, name: b, op: x, output_shape: [4, 8, 8], params: 32}")
    check_emitted(graph, ("b",), text, "m.py:M")
    with pytest.raises(SelfCheckError):
        check_emitted(graph, (), text, "m.py:M")


def _layers(*specs: str) -> list[dict[str, Any]]:
    out = []
    for spec in specs:
        name, kind, *wires = spec.split()
        out.append({"kind": kind, "name": name, **({"from": wires if len(wires) > 1 else wires[0]}
                                                   if wires else {})})
    return out


@pytest.mark.parametrize(("layers", "outputs", "fixed"), [
    # a detect conv per scale, each an output: all three fixed; the neck conv is not
    (_layers("n conv", "d0 pwconv", "d1 pwconv n", "d2 pwconv n"), ["d0", "d1", "d2"], ["d0", "d1", "d2"]),
    # segmentation: classifier conv, then a resize to the input: the classifier is the head
    (_layers("s conv", "cls pwconv", "up interpolate cls input"), [], ["cls"]),
    # SqueezeNet: conv, relu, global pool, flatten
    (_layers("f pwconv", "c pwconv", "r act", "p pool", "fl flatten"), [], ["c"]),
    # a linear classifier ends the walk: no conv is a head
    (_layers("c conv", "p pool", "fl flatten", "fc linear"), [], []),
    # a block met first ends the walk
    (_layers("c conv", "b inverted_residual"), [], []),
    # an add of two convs: both compute the output
    (_layers("a conv", "b conv input", "s add a b"), [], ["a", "b"]),
])
def test_heads_keep_their_width(layers: list[dict[str, Any]], outputs: list[str], fixed: list[str]) -> None:
    out = fixed_heads(layers, outputs)
    assert [layer["name"] for layer in out if layer.get("width") == "fixed"] == fixed
    assert all("width" not in layer for layer in layers)  # the input is not changed


def test_one_channel_convs_keep_their_width_in_containers_too() -> None:
    # ECA's Conv1d of one channel over the channels (a map, not a width), at the top and in a
    # parallel branch (templates are made after: a repeated block keeps it); a 2-channel conv scales
    eca = {"kind": "conv1d", "name": "e", "out_channels": 1}
    two = {"kind": "conv", "name": "t", "out_channels": 2}
    layers = [*_layers("c conv"), eca, {"kind": "parallel", "name": "p", "merge": "add", "branches": [
        {**eca, "name": "b"}, {"kind": "sequential", "name": "s", "layers": [two]}]}]
    out = fixed_maps(layers)
    assert out[1]["width"] == "fixed" and "width" not in out[0]
    assert out[2]["branches"][0]["width"] == "fixed"
    assert "width" not in out[2]["branches"][1]["layers"][0]  # 2 channels: a width
    assert "width" not in eca  # the input is not changed


@pytest.mark.parametrize(("path", "name"), [
    ("blocks.0.to", "blocks.0.to_"),  # x.to(...) in convit: 'to' is an attribute of torch modules
    ("input", "input_"),  # from: input names the list's input
    ("stages.1.__conv", "stages.1.conv"),
])
def test_layer_names_are_never_reserved(path: str, name: str) -> None:
    from convcost.runtime.importer.emit.leaves import layer_name

    assert layer_name(path) == name


@pytest.mark.parametrize(("name", "module"), [
    ("/b2/b2.1/m/m.0/cv1/conv/Conv", "b2.1.m.0.cv1.conv"),  # a YOLO export: no clashing names
    ("/stem/act/Sigmoid", "stem.act"),
    ("/Add", ""),  # the top-level forward's op (a chunk's Slice, a cat): not in its reader's unit
    ("Conv_12", None),  # not a scoped name
])
def test_onnx_scoped_names_give_module_paths(name: str, module: str | None) -> None:
    from convcost.runtime.importer.onnx_read import scoped_module

    assert scoped_module(name) == module
