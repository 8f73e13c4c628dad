"""``shares:``: a layer reusing an earlier layer's weights counts no params, its own MACs."""

from __future__ import annotations

from typing import Any

import pytest

from convcost.errors import SpecError
from convcost.net.analysis import Analysis, analyze
from convcost.spec.loader import parse_spec

CONV = {"kind": "conv", "out_channels": 8, "kernel_size": 3, "bias": True}


def _analyse(*layers: dict[str, Any]) -> Analysis:
    return analyze(parse_spec({"name": "t", "input": {"channels": 8, "resolution": 6},
                               "layers": list(layers)}))


def test_a_shared_conv_counts_its_params_once_and_its_macs_at_each_call() -> None:
    analysis = _analyse({**CONV, "name": "conv"}, {"kind": "act", "fn": "relu"},
                        {**CONV, "name": "again", "shares": "conv"})
    leaves = {n.name: n for n in analysis.leaves()}
    assert (leaves["conv"].params, leaves["again"].params) == (8 * 8 * 9 + 8, 0)  # 584 once
    assert leaves["again"].shares == "conv"
    # each call: 6·6 positions · 8 · 8·9 = 20,736 MACs
    assert leaves["conv"].macs == leaves["again"].macs == 20_736
    assert (analysis.totals.params, analysis.totals.macs) == (584, 2 * 20_736)


def test_a_shared_conv_unit_zeroes_every_child() -> None:
    unit = {**CONV, "bn": True, "act": "relu"}
    analysis = _analyse({**unit, "name": "a"}, {**unit, "name": "b", "shares": "a"})
    b = next(n for n in analysis.root.children if n.name == "b")
    assert b.params == 0 and [c.params for c in b.children] == [0, 0, 0]
    assert analysis.totals.params == 584 + 2 * 8  # conv 8·8·9 + 8, BN 2·8, once


@pytest.mark.parametrize(("layers", "message"), [
    ([{**CONV, "name": "a", "shares": "b"}, {**CONV, "name": "b"}],
     r"layers\[0\]\.shares: 'b' is not an earlier layer of the same list"),
    ([{**CONV, "name": "a"}, {**CONV, "name": "b", "out_channels": 4, "shares": "a"}],
     r"layers\[1\]\.shares: cannot share the weights of 'a': their shapes differ"),  # 8 vs 4 out
    ([{**CONV, "name": "a"}, {"kind": "pool", "op": "max", "kernel_size": 2, "shares": "a"}],
     r"shapes differ"),  # a pool holds no weights: nothing to share
])
def test_shares_errors(layers: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        _analyse(*layers)


def test_the_layer_table_notes_which_layer_a_shared_one_reuses() -> None:
    from convcost.report.model_view import layers_report

    analysis = _analyse({**CONV, "name": "conv"}, {"kind": "act", "fn": "relu"},
                        {**CONV, "name": "again", "shares": "conv"})
    report = layers_report(analysis, None)
    # one note for the one sharing layer; the 584 params (8·8·9 + 8) are counted at conv
    assert list(report.notes) == [
        "again shares the weights of conv: its params (0 here) are counted once, at conv"]
    assert "- again shares the weights of conv" in report.markdown()
    assert not layers_report(_analyse({**CONV, "name": "conv"}), None).notes
