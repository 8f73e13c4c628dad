"""Imported graphs: merges, branches and splits written in the spec's graph format.

Each model is imported, its spec analysed, and the figures compared with the original
module: params with ``sum(p.numel())``, paper MACs with ``FlopCounterMode`` FLOPs / 2.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from helpers import graph_of

from convcost.errors import MissingDependencyError
from convcost.net.analysis import Analysis, analyze
from convcost.runtime.importer.convert import Imported, to_spec
from convcost.runtime.importer.resolve import import_torchvision
from convcost.spec.loader import parse_spec
from convcost.spec.yamlsafe import load_yaml

MODELS = "tests/torch/import_models.py"


def _import(source: str, shape: tuple[int, ...] | None = None, tracer: str = "auto") -> Imported:
    return to_spec(graph_of(source, shape, tracer=tracer), source)


def _analysis(imported: Imported) -> Analysis:
    return analyze(parse_spec(load_yaml(imported.yaml)))


def _counter_macs(model: torch.nn.Module, shape: tuple[int, ...]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(shape))
    return int(counter.get_total_flops()) // 2


GRAPH_LAYERS = [
    ("stem", "conv"), ("relu", "act"), ("chunk", "split"), ("add", "add"), ("left", "pwconv"),
    ("right", "conv"), ("cat", "concat"), ("adaptive_avg_pool2d", "pool"), ("gate", "pwconv"),
    ("sigmoid", "act"), ("mul", "mul"), ("split", "split"), ("interpolate", "upsample"),
    ("mean", "mean"), ("head", "linear"),  # view(n, -1) of a flat tensor writes no layer
]


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_graph_module_becomes_a_graph_spec_with_the_original_figures(tracer: str) -> None:
    from import_models import Graph

    imported = _import(f"{MODELS}:Graph", (1, 3, 16, 16), tracer)
    assert imported.graph.tracer == f"torch.{tracer}"
    # torch.export names two functional ops after their ATen ops
    aten = {"split": "split_with_sizes", "interpolate": "upsample_nearest2d"} if tracer == "export" else {}
    fx_name = {written: name for name, written in aten.items()}
    layers = {fx_name.get(layer["name"], layer["name"]): layer for layer in imported.spec["layers"]}
    assert [(layer["name"], layer["kind"]) for layer in imported.spec["layers"]] == [
        (aten.get(name, name), kind) for name, kind in GRAPH_LAYERS]
    assert not imported.emitted.opaque
    assert layers["add"]["from"] == ["relu", "chunk"]  # x + cat(a(p), b(q))
    assert layers["right"]["from"] == "add" and layers["cat"]["from"] == ["left", "right"]
    assert layers["mul"]["from"] == ["cat", "sigmoid"]  # x * sigmoid(gate(pool(x)))
    assert [b["kind"] for b in layers["chunk"]["branches"]] == ["pwconv", "conv"]
    assert "sizes" not in layers["chunk"] and layers["chunk"]["merge"] == "concat"  # equal chunks
    assert layers["split"]["sizes"] == [6, 10]
    assert layers["split"]["branches"][0]["act"] == "relu" and layers["split"]["branches"][1] == {
        "kind": "identity"}
    assert layers["interpolate"]["scale"] == 0.5  # F.interpolate(scale_factor=0.5): the factor, not 8
    again = _analysis(imported)
    # stem 3·8·9 + 8 = 224, a 4·4 + 4 = 20, b 4·4·9 + 4 = 148, left 8·8 + 8 = 72,
    # right 8·8·9 + 8 = 584, gate 16·16 + 16 = 272, dw 6·9 + 6 = 60, head 16·5 + 5 = 85
    assert again.totals.params == sum(p.numel() for p in Graph().parameters()) == 1465
    # stem 256·8·27 = 55,296, a 256·4·4 = 4,096, b 256·4·36 = 36,864, left 256·8·8 = 16,384,
    # right 256·8·72 = 147,456, gate 16·16 = 256, dw 256·6·9 = 13,824, head 16·5 = 80
    assert again.totals.macs == _counter_macs(Graph().eval(), (1, 3, 16, 16)) == 274_256


def test_functional_module_is_a_graph_with_a_reordered_split_as_slices() -> None:
    from import_models import Functional

    imported = _import(f"{MODELS}:Functional", (1, 3, 32, 32))
    kinds = [layer["kind"] for layer in imported.spec["layers"]]
    assert kinds == ["conv", "bn", "act", "split", "slice", "slice", "concat", "shuffle", "mean", "pwconv",
                     "act", "pwconv", "act", "mul", "act", "add", "upsample", "pool", "flatten", "linear"]
    # cat((q, p)) reverses the split's order: each piece is a slice of the split's input, both
    # concatenated in the new order; the view/transpose/reshape is a shuffle
    layers = {layer["name"]: layer for layer in imported.spec["layers"]}
    assert (layers["getitem"]["start"], layers["getitem"]["end"]) == (0, 4)  # p: channels 0-3
    assert layers["getitem_2"]["start"] == 4 and "end" not in layers["getitem_2"]  # q: 4 to the last
    assert layers["cat"]["from"] == ["getitem_2", "getitem"]
    assert not imported.emitted.opaque
    again = _analysis(imported)
    assert again.totals.params == 1014  # as the IR test: 432 + 32 + 72 + 68 + 80 + 330
    # stem 256·16·27 = 110,592, left 256·8·9 = 18,432, fc1 16·4 = 64, fc2 4·16 = 64,
    # head 32·10 = 320: the slices move data only
    assert again.totals.macs == _counter_macs(Functional().eval(), (1, 3, 32, 32)) == 129_472
    strict = to_spec(graph_of(f"{MODELS}:Functional", (1, 3, 32, 32)), f"{MODELS}:Functional", strict=True)
    assert strict.spec == imported.spec  # nothing opaque: --strict accepts it


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_view_transpose_view_channel_shuffles_import_as_shuffle_layers(tracer: str) -> None:
    from import_models import Shuffled

    imported = _import(f"{MODELS}:Shuffled", (1, 3, 8, 8), tracer)
    assert not imported.emitted.opaque
    layers = imported.spec["layers"]
    assert [(layer["kind"], layer.get("groups")) for layer in layers] == [
        ("pwconv", None), ("shuffle", 4), ("conv", 4), ("shuffle", 2), ("pwconv", None)]
    again = _analysis(imported)
    # stem 3·8 + 8 = 32, dw 8·2·9 = 144, head 8·4 + 4 = 36; the shuffles hold none
    assert again.totals.params == sum(p.numel() for p in Shuffled().parameters()) == 212
    # stem 64·8·3 = 1,536, dw 64·8·18 = 9,216, head 64·4·8 = 2,048; a shuffle moves data only
    assert again.totals.macs == _counter_macs(Shuffled().eval(), (1, 3, 8, 8)) == 12_800


def _torchvision() -> None:
    try:
        import_torchvision()
    except MissingDependencyError as err:
        pytest.skip(str(err))


# issue 12's table: torchvision's params and FlopCounterMode MACs at the stated input
TORCHVISION = [
    ("squeezenet1_1", 224, 1_235_496, 349_151_936, "concat"),
    ("googlenet(aux_logits=False, init_weights=False)", 224, 6_624_904, 1_498_376_192,
     "inception"),  # its parallel Inception modules, one template
    # two more concat nets (squeezenet's proof again, 5 and 4 s of CPU): make test-all
    pytest.param("densenet121", 224, 7_978_856, 2_834_161_664, "concat", marks=pytest.mark.exhaustive),
    pytest.param("inception_v3(aux_logits=False, init_weights=False)", 299, 23_834_568,
                 5_713_216_096, "concat", marks=pytest.mark.exhaustive),
    pytest.param("convnext_tiny", 224, 28_589_128, 4_455_531_264, "layernorm", marks=pytest.mark.slow),
    pytest.param("deeplabv3_mobilenet_v3_large(aux_loss=False)", 520, 11_025_477, 10_436_350_688,
                 "interpolate", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("call", "size", "params", "macs", "kind"), TORCHVISION)
def test_torchvision_models_import_as_graphs_without_opaque_layers(
        call: str, size: int, params: int, macs: int, kind: str) -> None:
    _torchvision()
    imported = _import(f"torchvision:{call}", (1, 3, size, size))
    assert not imported.emitted.opaque, imported.emitted.opaque
    blocks = [layer for block in imported.spec.get("blocks", {}).values()
              for layer in block["layers"]]
    assert kind in {layer["kind"] for layer in [*imported.spec["layers"], *blocks]}
    again = _analysis(imported)
    assert (again.totals.params, again.totals.macs) == (params, macs)


def test_torchvision_never_loads_weights_of_a_backbone() -> None:
    _torchvision()
    from convcost.frontend.source import parse_source
    from convcost.runtime.importer.resolve import load_module

    # the builder's default weights_backbone is ImageNet's: the importer passes None
    model: Any = load_module(parse_source("torchvision:lraspp_mobilenet_v3_large"))
    assert sum(p.numel() for p in model.parameters()) == 3_221_538


def test_model_command_traces_a_source_on_its_input() -> None:
    import json

    from typer.testing import CliRunner

    from convcost.cli.app import app

    result = CliRunner().invoke(app, ["model", f"{MODELS}:Graph", "--input", "1x3x16x16", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # F.interpolate(scale_factor=0.5) traced at 16×16 gives 8×8 (at the default 224: 112×112)
    [up] = [row for row in data["layers"] if row["name"] == "interpolate"]
    assert (up["out_c"], up["out_h"], up["out_w"]) == (16, 8, 8)
    assert data["verify"]["ok"] and data["totals"]["macs"] == 274_256  # as above


@pytest.mark.parametrize("tracer", ["fx", "export"])
def test_shared_module_counts_its_params_once_and_its_macs_at_each_call(tracer: str) -> None:
    from import_models import Shared

    imported = _import(f"{MODELS}:Shared", (1, 3, 8, 8), tracer)
    layers = {layer["name"]: layer for layer in imported.spec["layers"]}
    assert layers["conv_2"]["shares"] == "conv" and "shares" not in layers["conv"]
    again = _analysis(imported)
    model = Shared().eval()
    # stem 3·8·9 + 8 = 224, conv 8·8·9 + 8 = 584 once
    assert again.totals.params == sum(p.numel() for p in model.parameters()) == 808
    # stem 64·8·27 = 13,824; conv 64·8·72 = 36,864 at each of its 2 calls
    assert again.totals.macs == _counter_macs(model, (1, 3, 8, 8)) == 13_824 + 2 * 36_864


@pytest.mark.parametrize("source", [f"{MODELS}:Shared", "spec"])
def test_shared_weights_pass_the_cross_check(source: str, tmp_path: Any) -> None:
    import json

    from typer.testing import CliRunner

    from convcost.cli.app import app

    if source == "spec":  # the imported spec, built in torch with one module under both names
        source = str(tmp_path / "shared.yaml")
        (tmp_path / "shared.yaml").write_text(_import(f"{MODELS}:Shared", (1, 3, 8, 8)).yaml)
    result = CliRunner().invoke(app, ["model", source, "--input", "1x3x8x8", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verify"]["ok"] and data["verify"]["totals"]["params"] == 808  # as above


def test_a_body_added_to_its_input_or_a_shortcut_is_a_residual() -> None:
    imported = _import(f"{MODELS}:Residuals", (1, 3, 16, 16))
    layers = imported.spec["layers"]
    assert [(layer["kind"], layer["name"]) for layer in layers] == [
        ("conv", "stem"), ("residual", "plain"), ("residual", "projected")]
    assert "shortcut" not in layers[1]
    assert [x["name"] for x in layers[2]["shortcut"]] == ["proj"]
    again = _analysis(imported)
    # the same leaves as the flat import: plain.conv1 … plain.add, projected.proj, projected.add
    assert [n.name for n in again.leaves()] == [n["name"] for n in imported.emitted.layers]
    # params: stem 8·27 + 8 = 224; each body 2 · (8·8·9) + 2 · 2·8 = 1,184; proj 8·8 + 8 = 72
    # MACs: stem 16·16·8·27 = 55,296; each body 2 · 16·16·8·72 = 294,912; proj 16·16·64 = 16,384
    assert (again.totals.params, again.totals.macs) == (224 + 2 * 1_184 + 72,
                                                        55_296 + 2 * 294_912 + 16_384)
