"""Torch models of two inputs exported with ``torch.onnx.export`` and imported with ``--input
NAME=SHAPE`` each: params equal ``sum(p.numel())`` and MACs FlopCounterMode FLOPs / 2 of the
torch model on the same inputs, and ``model``'s cross-check runs the rebuilt spec on both."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path

import pytest
import torch
from import_models import ImageTokens, TwoImages
from torch import nn
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.frontend.registry import open_network
from convcost.net.analysis import analyze
from convcost.spec.loader import spec_from

pytest.importorskip("onnx")


def _export(model: nn.Module, inputs: dict[str, tuple[int, ...]], path: Path) -> str:
    """The TorchScript exporter (fast; the graph's input names are the given ones)."""
    args = tuple(torch.zeros(shape) for shape in inputs.values())
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), args, str(path), dynamo=False, opset_version=20,
                          input_names=list(inputs))
    return str(path)


def _counted(model: nn.Module, inputs: dict[str, tuple[int, ...]]) -> tuple[int, int]:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(*(torch.zeros(shape) for shape in inputs.values()))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


# (model, the shapes it is exported on, the shapes it is imported on, params, MACs)
CASES = [
    # a, b: 16·16·8·27 = 55,296 MACs each; head 16·16·4·8 = 8,192: 118,784
    (TwoImages, {"image1": (1, 3, 16, 16), "image2": (1, 3, 16, 16)},
     {"image1": (1, 3, 16, 16), "image2": (1, 3, 16, 16)}, 484, 118_784),
    # at 24×24, batch 2: 2·(2·24·24·8·27) + 2·24·24·4·8 = 497,664 + 36,864 = 534,528
    (TwoImages, {"image1": (1, 3, 16, 16), "image2": (1, 3, 16, 16)},
     {"image1": (2, 3, 24, 24), "image2": (2, 3, 24, 24)}, 484, 534_528),
    # conv 8·8·8·27 = 13,824; embed 5·16·8 = 640: 14,464
    (ImageTokens, {"image": (1, 3, 16, 16), "tokens": (1, 5, 16)},
     {"image": (1, 3, 16, 16), "tokens": (1, 5, 16)}, 360, 14_464),
]


@pytest.mark.parametrize(("cls", "exported", "imported", "params", "macs"), CASES,
                         ids=["two images", "two images resized", "image and tokens"])
def test_a_two_input_onnx_model_imports_exactly(tmp_path: Path, cls: type[nn.Module],
                                                exported: dict[str, tuple[int, ...]],
                                                imported: dict[str, tuple[int, ...]],
                                                params: int, macs: int) -> None:
    path = _export(cls(), exported, tmp_path / "net.onnx")
    opened = open_network(path, inputs=tuple(imported.items()))
    data = opened.data
    assert list(data["inputs"]) == list(imported)
    second = list(imported)[1]  # the second input is read by name
    assert any(second in ([layer["from"]] if isinstance(layer.get("from"), str)
                          else layer.get("from") or []) for layer in data["layers"])
    analysis = analyze(spec_from(opened.data, opened.text, opened.file))
    assert [(i.name, i.shape) for i in analysis.inputs] == list(imported.items())
    assert (analysis.totals.params, analysis.totals.macs) == (params, macs) \
        == _counted(cls().eval(), imported)


def test_model_cross_checks_an_onnx_import_on_both_inputs(tmp_path: Path, runner: CliRunner) -> None:
    """The rebuilt spec runs on image 1×3×16×16 and tokens 1×7×16: conv 13,824 MACs, embed
    7·16·8 = 896; fvcore and FlopCounterMode agree."""
    path = _export(ImageTokens(), {"image": (1, 3, 16, 16), "tokens": (1, 5, 16)}, tmp_path / "it.onnx")
    result = runner.invoke(app, ["model", path, "-f", "json", "--input", "image=1x3x16x16",
                                 "--input", "tokens=1x7x16"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [i["name"] for i in data["inputs"]] == ["image", "tokens"]
    assert data["verify"]["ok"] and data["totals"]["macs"] == 14_720
    assert data["verify"]["totals"]["flop_counter_flops"] == 2 * 14_720


def test_diff_takes_both_inputs_of_a_torch_model_and_its_export(tmp_path: Path, runner: CliRunner) -> None:
    """The module and its ONNX export, at 32×32: 484 params each, 2·(32·32·8·27) + 32·32·4·8 =
    475,136 MACs each (on main, diff traced the module on one input and failed)."""
    path = _export(TwoImages(), {"image1": (1, 3, 16, 16), "image2": (1, 3, 16, 16)}, tmp_path / "two.onnx")
    result = runner.invoke(app, ["diff", "tests/torch/import_models.py:TwoImages", path, "-f", "json",
                                 "--input", "image1=1x3x32x32", "--input", "image2=1x3x32x32"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["before"]["totals"]["params"] == data["after"]["totals"]["params"] == 484
    assert data["before"]["totals"]["macs"] == data["after"]["totals"]["macs"] == 475_136


def test_a_torch_model_given_an_input_twice_is_one_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["model", "tests/torch/import_models.py:TwoImages", "--input",
                                 "image1=1x3x8x8", "--input", "image1=1x3x8x8"])
    assert result.exit_code == 2
    assert result.stderr == "convcost: error: --input: input 'image1' is given twice\n"
