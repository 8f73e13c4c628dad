"""A model whose forward takes several tensors, imported with ``--input NAME=SHAPE`` each: it
is recorded as it runs on them, the spec says ``inputs:`` and reads the second with ``from:``,
and the figures are exact against the original (params, FlopCounterMode MACs)."""

from __future__ import annotations

from pathlib import Path

import yaml

from convcost.frontend.registry import open_network
from convcost.net.analysis import analyze
from convcost.runtime.importer.crosscheck import verify_original
from convcost.spec.loader import spec_from

MODEL = '''
import torch
from torch import nn


class Stereo(nn.Module):
    """Two views through one stem (shared weights), their features concatenated."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.fuse = nn.Conv2d(16, 4, 1)

    def forward(self, left, right):
        return self.fuse(torch.cat([self.stem(left), self.stem(right)], 1))
'''


def test_a_two_input_model_is_recorded_and_emits_named_inputs(tmp_path: Path) -> None:
    (tmp_path / "stereo.py").write_text(MODEL)
    shapes = (("left", (1, 3, 16, 16)), ("right", (1, 3, 16, 16)))
    opened = open_network(f"{tmp_path / 'stereo.py'}:Stereo", inputs=shapes)
    assert opened.session is not None
    data = yaml.safe_load(opened.text)
    assert data["inputs"] == {"left": {"channels": 3, "resolution": 16},
                              "right": {"channels": 3, "resolution": 16}}
    assert any(layer.get("from") == "right" or "right" in (layer.get("from") or [])
               for layer in data["layers"])
    assert "the spec holds for that input only" in opened.session.imported.graph.notes[0]
    analysis = analyze(spec_from(opened.data, opened.text, opened.file))
    # stem: 8·3·9 + 8 = 224 params (once), 2 calls of 8·16·16·27 = 55,296 MACs; fuse: 16·4 + 4 = 68
    # params, 4·16·16·16 = 16,384 MACs
    assert (analysis.totals.params, analysis.totals.macs) == (224 + 68, 2 * 55_296 + 16_384)
    check = verify_original(analysis, opened.session)
    assert check.ok and check.counter_flops == 2 * analysis.totals.macs
    assert check.torch_params == analysis.totals.params


def test_the_python_api_takes_several_inputs(tmp_path: Path) -> None:
    # example tensors are named as forward's parameters; a mapping names them itself
    import importlib.util

    import torch

    import convcost

    (tmp_path / "stereo_api.py").write_text(MODEL)
    loader = importlib.util.spec_from_file_location("stereo_api", tmp_path / "stereo_api.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    model = module.Stereo()
    x = torch.zeros(1, 3, 16, 16)
    analysis = convcost.analyze(model, (x, x))
    assert [i.name for i in analysis.inputs] == ["left", "right"]
    assert (analysis.totals.params, analysis.totals.macs) == (292, 126_976)  # as above
    text = convcost.import_spec(model, {"a": (1, 3, 8, 8), "b": (1, 3, 8, 8)})
    assert "inputs:\n  a: {channels: 3, resolution: 8}\n  b: {channels: 3, resolution: 8}" in text
