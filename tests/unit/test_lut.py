"""Lookup tables of a search space (``calibrate --lut``): the entries, exactly. Pure."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.errors import SpecError
from convcost.net.analysis import analyze
from convcost.net.lut import MAX_LUT_ENTRIES, entries
from convcost.spec.loader import parse_spec

SPACE: dict[str, Any] = {"name": "space", "input": {"channels": 3, "resolution": 64}, "layers": [
    {"kind": "conv", "name": "stem", "out_channels": 16, "kernel_size": 3, "stride": 2, "bn": True,
     "act": "relu"},
    {"kind": "inverted_residual", "name": "b1", "out_channels": {"choices": [16, 24]},
     "expand_ratio": {"choices": [3, 6]}, "kernel_size": {"choices": [3, 5]}, "stride": 2},
    {"kind": "inverted_residual", "name": "b2", "out_channels": 32,
     "expand_ratio": {"choices": [3, 6]}, "kernel_size": 3}]}


def test_entries_cover_every_input_and_choice() -> None:
    table = entries(SPACE)
    # stem: 1; b1: 1 input × 2·2·2 choices = 8; b2: 2 inputs (16 or 24 channels) × 2 = 4
    assert [e.layer for e in table] == ["stem"] + ["b1"] * 8 + ["b2"] * 4
    assert {e.input_shape for e in table if e.layer == "b2"} == {(1, 16, 16, 16), (1, 24, 16, 16)}


def test_an_entry_costs_what_the_layer_costs_in_a_network() -> None:
    # one network of the space: b1 with 24 channels, expand 6, kernel 5; b2 with expand 3
    b1 = {**SPACE["layers"][1], "out_channels": 24, "expand_ratio": 6, "kernel_size": 5}
    net = {**SPACE, "layers": [SPACE["layers"][0], b1, {**SPACE["layers"][2], "expand_ratio": 3}]}
    layers = {c.name: c for c in analyze(parse_spec(net)).root.children}
    table = entries(SPACE)
    picks = [table[0], next(e for e in table if e.layer == "b1" and dict(e.choice) ==
                            {"out_channels": 24, "expand_ratio": 6, "kernel_size": 5}),
             next(e for e in table if e.layer == "b2" and e.input_shape[1] == 24 and
                  e.choice["expand_ratio"] == 3)]
    for entry in picks:
        node = layers[entry.layer]
        assert (entry.analysis.totals.macs, entry.analysis.totals.params) == (node.macs, node.params)
        assert entry.output_shape == node.output_shape


@pytest.mark.parametrize(("layer", "message"), [
    ({"kind": "dwconv", "kernel_size": {"choices": []}}, "layers[0].kernel_size.choices: needs 1 to"),
    ({"kind": "dwconv", "kernel_size": {"choices": [3], "also": 1}}, "a choice is {choices"),
    ({"kind": "dwconv", "kernel_size": {"choices": [0]}}, "layers[0].kernel_size"),
])
def test_bad_spaces(layer: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("{", r"\{")):
        entries({"name": "s", "input": {"channels": 8, "resolution": 8}, "layers": [layer]})


def test_table_is_bounded() -> None:
    big = {"kind": "conv", "out_channels": {"choices": list(range(1, 101))},
           "kernel_size": {"choices": list(range(1, 4))}}
    space = {"name": "s", "input": {"channels": 3, "resolution": 8}, "layers": [big, big]}
    with pytest.raises(SpecError, match=f"more than {MAX_LUT_ENTRIES:,} entries"):
        entries(space)


def test_calibrate_needs_specs_or_a_space() -> None:
    result = CliRunner().invoke(app, ["calibrate", "-o", "x.yaml"])
    assert result.exit_code == 2 and "give SPEC... (a latency model) or --lut SPACE" in result.stderr
