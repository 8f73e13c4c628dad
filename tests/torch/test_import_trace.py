"""torch models -> the importer's IR: figures asserted against torch itself."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from helpers import graph_of
from torch import nn

from convcost.errors import ConvcostError, MissingDependencyError
from convcost.frontend.source import parse_source
from convcost.runtime.importer.convert import to_spec
from convcost.runtime.importer.ir import IRGraph
from convcost.runtime.importer.resolve import import_torchvision
from convcost.runtime.importer.trace import trace

MODELS = "tests/torch/import_models.py"


def _load(name: str, shape: tuple[int, ...], tracer: str = "auto") -> IRGraph:
    return graph_of(f"{MODELS}:{name}", shape, tracer=tracer)


def _hooked_shapes(model: nn.Module, shape: tuple[int, ...]) -> dict[str, list[tuple[int, ...]]]:
    """Every module's output shape at each call, from forward hooks."""
    seen: dict[str, list[tuple[int, ...]]] = {}
    handles = [m.register_forward_hook(lambda _m, _a, out, name=name: seen.setdefault(name, []).append(
        tuple(out.shape))) for name, m in model.named_modules() if name]
    with torch.no_grad():
        model(torch.zeros(shape))
    for handle in handles:
        handle.remove()
    return seen


def _module_figures(graph: IRGraph, model: nn.Module, shape: tuple[int, ...]) -> None:
    """Each module node: params = sum(p.numel()) at its first call, output shape = the hook's."""
    modules = dict(model.named_modules())
    hooked = _hooked_shapes(model, shape)
    calls: dict[str, int] = {}
    for node in graph:
        if node.module in modules and node.target.startswith("torch.nn.modules"):
            index = calls[node.module] = calls.get(node.module, -1) + 1
            expected = sum(p.numel() for p in modules[node.module].parameters()) if index == 0 else 0
            assert node.params == expected, node.name
            assert node.shape == hooked[node.module][index], node.name
    assert graph.params == sum(p.numel() for p in model.parameters())


FUNCTIONAL_OPS = [
    "input", "conv", "bn", "act", "chunk", "getitem", "getitem", "conv", "concat", "split", "getitem",
    "getitem", "concat", "reshape", "transpose", "reshape", "mean", "conv", "act", "conv", "act", "mul",
    "act", "add", "interpolate", "adaptive_pool", "flatten", "linear",
]


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_functional_ops(tracer: str) -> None:
    from import_models import Functional

    graph = _load("Functional", (1, 3, 32, 32), tracer)
    assert graph.tracer == f"torch.{tracer}"
    assert [n.op for n in graph] == FUNCTIONAL_OPS
    acts = [n.attr("fn") for n in graph if n.op == "act"]
    assert acts == ["relu", "relu", "sigmoid", "hardswish"]
    model = Functional().eval()
    _module_figures(graph, model, (1, 3, 32, 32))
    by_op = {n.op: n for n in graph}
    assert by_op["chunk"].attr("sizes") == (8, 8)  # 16 channels in 2 chunks
    assert by_op["split"].attr("sizes") == (4, 12)
    assert by_op["mean"].attr("dims") == (2, 3) and by_op["mean"].shape == (1, 16, 1, 1)
    assert by_op["interpolate"].shape == (1, 16, 8, 8)  # 16 × 0.5
    assert by_op["adaptive_pool"].shape == (1, 16, 2, 1)
    assert by_op["flatten"].shape == (1, 32)  # 16·2·1
    assert by_op["transpose"].shape == (1, 8, 2, 16, 16)  # shuffle: (2, 8) -> (8, 2)
    # params: stem 16·3·9 = 432, bn 32, left 8·9 = 72, fc1 16·4 + 4 = 68, fc2 4·16 + 16 = 80,
    # head 32·10 + 10 = 330: 1,014
    assert graph.params == graph.model_params == 1014


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_shared_module_params_once_flagged_each_call(tracer: str) -> None:
    from import_models import Shared

    graph = _load("Shared", (1, 3, 8, 8), tracer)
    convs = [n for n in graph if n.op == "conv" and n.module == "conv"]
    assert [n.params for n in convs] == [8 * 8 * 9 + 8, 0]  # 584 once
    assert [n.shared for n in convs] == [True, True]
    assert graph.params == 3 * 8 * 9 + 8 + 584 == 808
    _module_figures(graph, Shared().eval(), (1, 3, 8, 8))


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_inexpressible_op_is_opaque(tracer: str) -> None:
    graph = _load("Inexpressible", (1, 3, 8, 8), tracer)
    opaque = [n for n in graph if n.op == "opaque"]
    assert len(opaque) == 1 and opaque[0].shape == (1, 8, 6, 6) and opaque[0].params == 0
    assert "cumsum" in opaque[0].target
    assert sum(graph.opaque().values()) == 1


def test_inexpressible_op_is_an_error_under_strict() -> None:
    source = f"{MODELS}:Inexpressible"
    with pytest.raises(ConvcostError, match=r"--strict: the spec cannot express .*cumsum"):
        to_spec(_load("Inexpressible", (1, 3, 8, 8)), source, strict=True)


def test_fx_failure_falls_back_to_export() -> None:
    graph = _load("Untraceable", (1, 8, 4, 4))
    assert graph.tracer == "torch.export"
    assert "torch.fx could not trace it" in graph.notes[0]
    assert [n.op for n in graph] == ["input", "conv", "act", "conv", "act"]  # 8 // 4 = 2 loops
    assert [n.params for n in graph if n.op == "conv"] == [64, 0]
    with pytest.raises(ConvcostError, match=r"torch\.fx cannot trace it"):
        _load("Untraceable", (1, 8, 4, 4), tracer="fx")


def test_unused_modules_are_noted() -> None:
    class Aux(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.aux = nn.Conv2d(3, 4, 1), nn.Linear(4, 2)  # aux: never called

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    model = Aux()
    graph = trace(model, (1, 3, 4, 4), "aux")
    assert graph.params == 16 and graph.model_params == 26  # conv 3·4 + 4; linear 4·2 + 2
    assert graph.unused == (("aux", 10),)  # an `unused` layer holds them in the spec
    assert "never runs: aux (10 params)" in graph.notes[0]


@pytest.mark.parametrize(("text", "message"), [
    ("tests/torch/import_models.py:Functionl", "did you mean Functional"),
    ("tests/torch/missing.py:Net", "no such file"),
    ("tests/torch/import_models.py:Functional(classes='x', bad=1)", "TypeError"),
    ("torch.nn:Conv2d(in_channels=1)", "TypeError"),
    ("no_such_package_xyz:Net", "cannot import module"),
])
def test_bad_python_sources(text: str, message: str) -> None:
    with pytest.raises(ConvcostError, match=message) as info:
        graph_of(text, (1, 3, 8, 8))
    assert "\n" not in str(info.value)


def _torchvision() -> Any:
    try:
        return import_torchvision()
    except MissingDependencyError as err:
        pytest.skip(str(err))


def test_torchvision_mobilenet_v2() -> None:
    _torchvision()
    graph = graph_of("torchvision:mobilenet_v2")
    assert graph.params == graph.model_params == 3_504_872  # torchvision's published count
    assert graph.tracer == "torch.fx" and not graph.opaque()
    assert graph.node(graph.outputs[0]).shape == (1, 1000)


def test_zoo_names_suggest_close_matches() -> None:
    _torchvision()
    with pytest.raises(ConvcostError, match=r"unknown torchvision model 'mobilenet_v9'.*mobilenet_v2"):
        graph_of("torchvision:mobilenet_v9")
    pytest.importorskip("timm")
    with pytest.raises(ConvcostError, match=r"unknown timm model 'mobilenetv3_large_10'.*"
                                            r"mobilenetv3_large_100"):
        graph_of("timm:mobilenetv3_large_10")


def test_timm_through_the_same_path() -> None:
    _torchvision()
    pytest.importorskip("timm")
    graph = graph_of("timm:mobilenetv3_large_100")
    assert graph.params == graph.model_params == 5_483_032  # as torchvision's mobilenet_v3_large
    assert parse_source("timm:mobilenetv3_large_100").kind == "timm"


def test_shared_module_is_noted_in_the_spec_header() -> None:
    from convcost.runtime.importer.convert import to_spec

    imported = to_spec(_load("Shared", (1, 3, 8, 8)), f"{MODELS}:Shared")
    assert "# shared weights: conv runs 2× with 584 params" in imported.yaml  # 8·8·9 + 8
    assert [layer["name"] for layer in imported.spec["layers"]] == ["stem", "conv", "relu", "conv_2", "pool"]


class _Recurrent(nn.Module):
    """Sequencer's token mixer: an LSTM over the rows, whose output is ``(out, (h, c))``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.rnn = nn.LSTM(4, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        y = self.conv(x).permute(0, 2, 3, 1).reshape(n * h, w, 4)
        out, _ = self.rnn(y)
        return out.reshape(n, h, w, 4).permute(0, 3, 1, 2)


def test_a_module_returning_nested_tuples_keeps_its_params_and_readers() -> None:
    """nn.LSTM returns (out, (h, c)): it was left out of the IR (its 4·4·(4 + 4 + 2) = 160
    params lost, the conv before it unread: a self-check refusal of timm:sequencer2d_s); it is
    an ``lstm`` op now (6bbae76), the tuple's unread items dropped."""
    from convcost.runtime.importer.fx_trace import trace_fx

    model = _Recurrent().eval()
    graph = trace_fx(model, (1, 3, 4, 4), "m.py:_Recurrent")
    [lstm] = [n for n in graph if n.op == "lstm"]
    assert (lstm.params, lstm.shape) == (160, (4, 4, 4))
    assert graph.params == sum(p.numel() for p in model.parameters()) == 16 + 160
    to_spec(graph, "m.py:_Recurrent")  # its self-check passes
