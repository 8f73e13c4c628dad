"""Names from models are data, never structure (issue 24): any module name, ONNX node or tensor
name, or op type goes through import into a spec that loads with the same figures as the same
model with plain names, and no name adds a key to the spec or a line to stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from convcost.errors import ConvcostError
from convcost.net.analysis import Analysis, analyze
from convcost.runtime.importer.convert import to_spec
from convcost.runtime.importer.onnx_read import read_onnx
from convcost.runtime.importer.trace import trace
from convcost.spec.loader import parse_spec
from convcost.spec.yamlsafe import load_yaml

TOP_KEYS = {"name", "input", "blocks", "layers", "outputs"}
# Any text torch accepts as a module name: no ".", not empty; YAML and workflow syntax welcome.
HOSTILE = ["aux\nwidth_multiplier: 2\n#", "::error file=x::boom", "eval_", "input", "cpu_", "Ünïcode",
           "x" * 300, "- {kind: conv}", "&a *a", "\u2028resolution: 8", "'\"", "1e3", "_"]
module_names = st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=40)).filter(
    lambda s: "." not in s and not hasattr(nn.Sequential, s) and s not in ("stem", "body"))


def _spec(yaml_text: str) -> Analysis:
    data = load_yaml(yaml_text)
    assert set(data) <= TOP_KEYS, set(data) - TOP_KEYS  # no injected top-level key
    return analyze(parse_spec(data))


def _figures(analysis: Analysis) -> tuple[Any, ...]:
    return (analysis.totals.params, analysis.totals.macs, analysis.root.output_shape,
            [(leaf.op.key, leaf.macs, leaf.params) for leaf in analysis.root.leaves()])


class _Net(nn.Module):
    """``body`` runs; ``spare`` is never called (its name lands in the import's notes)."""

    def __init__(self, body: nn.Sequential, spare: str) -> None:
        super().__init__()
        self.body = body
        self.add_module(spare, nn.Conv2d(8, 8, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _model(names: list[str], spare: str = "spare") -> nn.Module:
    """conv 3->8, then a conv, BN, ReLU and a 1×1 conv named ``names``."""
    body = nn.Sequential()
    body.add_module("stem", nn.Conv2d(3, 8, 3))
    modules = [nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 1)]
    for name, module in zip(names, modules, strict=True):
        body.add_module(name, module)
    return _Net(body, spare).eval()


def _import(model: nn.Module) -> Analysis:
    graph = trace(model, (1, 3, 16, 16), "net.py:Net", "auto")
    return _spec(to_spec(graph, "net.py:Net", name="net").yaml)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(module_names, min_size=4, max_size=4, unique=True))
def test_module_names_round_trip(names: list[str]) -> None:
    torch.manual_seed(0)
    reference = _figures(_import(_model(["a", "b", "c", "d"])))
    assert _figures(_import(_model(names))) == reference


@pytest.mark.parametrize("name", HOSTILE)
def test_unused_module_name_stays_in_its_comment(name: str) -> None:
    imported = to_spec(trace(_model(["a", "b", "c", "d"], name), (1, 3, 16, 16), "net.py:Net", "auto"),
                       "net.py:Net", name="net")
    assert _figures(_spec(imported.yaml)) == _figures(_import(_model(["a", "b", "c", "d"])))
    assert all(line.startswith(("#", " ", "name:", "input:", "layers:", "blocks:", "outputs:"))
               for line in imported.yaml.splitlines())


def _onnx(path: Path, node_names: list[str], tensor: str, op_type: str = "Relu") -> str:
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "W")
    nodes = [helper.make_node("Conv", ["X", "W"], [tensor], name=node_names[0], kernel_shape=[3, 3]),
             helper.make_node(op_type, [tensor], ["Y"], name=node_names[1])]
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3, 16, 16])
    graph = helper.make_graph(nodes, "g", [x], [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
                              [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path.write_bytes(model.SerializeToString())
    return str(path)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(module_names, min_size=3, max_size=3, unique=True).filter(
    lambda n: not {"X", "Y", "W"} & set(n)),
       st.one_of(st.sampled_from(["Relu", "Sigmoid"]), st.text(min_size=1, max_size=30)))
def test_onnx_names_and_op_types_round_trip(tmp_path: Path, names: list[str], op_type: str) -> None:
    reference = _figures(_spec(to_spec(read_onnx(_onnx(tmp_path / "r.onnx", ["c", "r"], "t", op_type
                                                       if op_type in ("Relu", "Sigmoid") else "Relu")),
                                       "m.onnx", name="m").yaml))
    try:
        graph = read_onnx(_onnx(tmp_path / "m.onnx", names[:2], names[2], op_type))
    except ConvcostError as err:  # an op onnx does not know: refused in one line, never read in part
        assert op_type not in ("Relu", "Sigmoid")
        assert "shape inference cannot give the shape" in str(err) or "shape inference failed" in str(err)
        return
    assert _figures(_spec(to_spec(graph, "m.onnx", name="m").yaml)) == reference


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn(self.conv(x))


@pytest.mark.parametrize("cls", ["Ünïcodé_Blöck", "Блок", "B" * 70, "A_very_long_class_name_" * 3 + "X"])
def test_class_names_give_templates_that_load(cls: str) -> None:
    def model(name: str) -> nn.Module:
        block = type(name, (_Block,), {})
        return nn.Sequential(nn.Conv2d(3, 8, 3), *[block() for _ in range(3)]).eval()

    imported = to_spec(trace(model(cls), (1, 3, 16, 16), "net.py:Net", "fx"), "net.py:Net", name="net")
    assert "blocks" in imported.spec  # the three blocks became one template, named after the class
    (template,) = imported.spec["blocks"]
    assert template.isascii() and len(template) <= 64, template
    assert _figures(_spec(imported.yaml)) == _figures(_import_plain(model("Plain")))


def _import_plain(model: nn.Module) -> Analysis:
    return _spec(to_spec(trace(model, (1, 3, 16, 16), "net.py:Net", "fx"), "net.py:Net", name="net").yaml)
