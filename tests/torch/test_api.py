"""The Python API on a module (issue 19 §6): ``convcost.analyze(model, ...)`` and
``convcost.import_spec(model, ...)``, the README's example run as a doctest, and
``import convcost`` without torch."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
import warnings

import pytest
import torch
from helpers import ROOT
from torch import nn

import convcost
from convcost.errors import ConvcostError

_PYCON = re.compile(r"<!-- pydoctest[^>]*-->\n```pycon\n(.*?)```", re.S)


def test_readme_example_runs() -> None:
    [text] = _PYCON.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    test = doctest.DocTestParser().get_doctest(text, {}, "README.md", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False) == (0, len(test.examples))  # (failed, attempted)


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))


# conv 3->8 k3 on 16×16: 16²·8·27 = 55,296 MACs, 224 params; BN 16; fc 8·10 = 80 MACs, 90 params
MACS, PARAMS = 55_296 + 80, 224 + 16 + 90


@pytest.mark.parametrize(("args", "kwargs", "batch"), [
    ((), {"input_shape": (1, 3, 16, 16)}, 1),
    ((), {"input_shape": "1x3x16x16"}, 1),  # text, parsed as --input is
    ((torch.zeros(2, 3, 16, 16),), {}, 2),  # fvcore-style inputs, positional
    (((torch.zeros(1, 3, 16, 16),),), {}, 1),
    ((), {"example_inputs": torch.zeros(4, 3, 16, 16)}, 4),
])
def test_analyze_a_module(args: tuple[object, ...], kwargs: dict[str, object], batch: int) -> None:
    model = _net().train()
    result = convcost.analyze(model, *args, **kwargs)
    assert (result.totals.params, result.totals.macs) == (PARAMS, batch * MACS)
    assert result.input_shape == (batch, 3, 16, 16) and result.complete
    assert model.training  # traced in eval mode, its mode restored


def test_analyze_agrees_with_the_cli_on_a_source() -> None:
    assert convcost.analyze("specs/mobilenet_v2.yaml").totals.macs == 300_774_272
    spec = convcost.load_spec("specs/mobilenet_v2.yaml")
    assert convcost.analyze(spec, alpha=0.5).totals == convcost.analyze(spec, 0.5).totals


class _Cumsum(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumsum(x, dim=1)


def test_an_incomplete_module_warns_and_strict_raises() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = convcost.analyze(_Cumsum(), input_shape=(1, 3, 8, 8))
    assert not result.complete and result.uncounted.ops == {"torch.cumsum": 1}
    [warning] = [w for w in caught if issubclass(w.category, convcost.IncompleteWarning)]
    assert "totals are lower bounds" in str(warning.message)
    with pytest.raises(ConvcostError, match=r"--strict|cannot express"):
        convcost.analyze(_Cumsum(), input_shape=(1, 3, 8, 8), strict=True)


def test_import_spec_is_the_spec_text_that_loads() -> None:
    text = convcost.import_spec(_net(), input_shape=(1, 3, 16, 16), name="tiny")
    assert "name: tiny" in text and "{kind: linear, name: '5', out_features: 10}" in text
    from convcost.spec.loader import parse_spec
    from convcost.spec.yamlsafe import load_yaml

    spec = parse_spec(load_yaml(text))
    assert convcost.analyze(spec).totals.macs == MACS


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"input_shape": (1, 3, 0, 16)}, "input_shape: expected a shape like 1x3x224x224"),
    ({"input_shape": (16,)}, "input_shape: expected a shape like 1x3x224x224"),
    ({"input_shape": (1, 3, 16, 16), "example_inputs": torch.zeros(1, 3, 16, 16)}, "not both"),
    ({"example_inputs": (torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))},
     r"its forward takes 1 input \(input\), got 2 tensors"),
])
def test_bad_arguments_are_convcost_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConvcostError, match=message):
        convcost.analyze(_net(), **kwargs)


def test_import_convcost_stays_torch_free() -> None:
    code = ("import sys, convcost; convcost.analyze(convcost.load_spec('mobilenet_v2')); "
            "convcost.import_spec; print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr
