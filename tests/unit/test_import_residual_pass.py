"""The importer's residual pass on emitted layer mappings (pure: no torch)."""

from __future__ import annotations

from typing import Any

import pytest

from convcost.runtime.importer.emit.residual import residuals

STEM: dict[str, Any] = {"kind": "conv", "name": "stem", "out_channels": 8}
BODY = [{"kind": "conv", "name": "b.conv1", "out_channels": 8},
        {"kind": "bn", "name": "b.bn1"}]


def _kinds(layers: list[dict[str, Any]]) -> list[str]:
    return [layer["kind"] for layer in layers]


@pytest.mark.parametrize(("layers", "kinds"), [
    # body added to the input: one residual after the stem
    ([STEM, *BODY, {"kind": "add", "name": "b.add", "from": ["stem", "b.bn1"]}],
     ["conv", "residual"]),
    # a 1-layer shortcut beside a 2-layer body
    ([STEM, *BODY, {"kind": "pwconv", "name": "b.proj", "from": "stem", "out_channels": 8},
      {"kind": "add", "name": "b.add", "from": ["b.proj", "b.bn1"]}], ["conv", "residual"]),
    # a shortcut (2 layers) longer than the body (1 layer) stays flat
    ([STEM, BODY[0], {"kind": "pwconv", "name": "b.p1", "from": "stem", "out_channels": 8},
      {"kind": "bn", "name": "b.p2"}, {"kind": "add", "name": "b.add", "from": ["b.p2", "b.conv1"]}],
     ["conv", "conv", "pwconv", "bn", "add"]),
    # a later layer of the same module (b.act) would clash with the container's children
    ([STEM, *BODY, {"kind": "add", "name": "b.add", "from": ["stem", "b.bn1"]},
      {"kind": "act", "name": "b.act", "fn": "relu"}], ["conv", "conv", "bn", "add", "act"]),
    # the add reads a layer outside the module: no residual
    ([STEM, {"kind": "act", "name": "r", "fn": "relu"}, *BODY,
      {"kind": "add", "name": "b.add", "from": ["stem", "b.bn1"]}],
     ["conv", "act", "conv", "bn", "add"]),
])
def test_residual_pass_takes_exact_matches_only(layers: list[dict[str, Any]],
                                                kinds: list[str]) -> None:
    assert _kinds(residuals(layers, [])) == kinds


def test_residual_names_its_children_locally_and_later_reads_name_it() -> None:
    layers = [STEM, *BODY, {"kind": "add", "name": "b.add", "from": ["stem", "b.bn1"]},
              {"kind": "add", "name": "sum", "from": ["b.add", "stem"]}]
    out = residuals(layers, [])
    assert out[1] == {"kind": "residual", "name": "b", "layers": [
        {"kind": "conv", "name": "conv1", "out_channels": 8}, {"kind": "bn", "name": "bn1"}]}
    assert out[2]["from"] == ["b", "stem"]
