"""`convcost diff`'s compute (net/diff.py): layer matching, per-layer and total changes."""

from __future__ import annotations

from fractions import Fraction

import pytest

from convcost.errors import ConvcostError
from convcost.net.analysis import analyze
from convcost.net.diff import (
    LayerFigures,
    Profile,
    Totals,
    diff,
    growth_limits,
    parse_growth,
    profile,
)
from convcost.spec.loader import load_spec, spec_from
from convcost.spec.yamlsafe import load_yaml
from convcost.spec.zoo import resolve

WIDEN = ("out_channels: 64, repeat: 4", "out_channels: 96, repeat: 4")


def _mobilenet_v2_pair() -> tuple[Profile, Profile]:
    """mobilenet_v2, and a copy with stage4 (c = 64, n = 4, s = 2, at 14×14) widened to 96."""
    path = resolve("mobilenet_v2")
    text = path.read_text(encoding="utf-8")
    wide = text.replace(*WIDEN)
    assert wide != text
    a = analyze(load_spec(path))
    b = analyze(spec_from(load_yaml(wide, "wide.yaml"), wide, "wide.yaml"))
    return profile(a.root, model=a.model), profile(b.root, model=b.model)


def test_widened_stage_names_exactly_the_changed_layers() -> None:
    before, after = _mobilenet_v2_pair()
    d = diff(before, after)
    # stage4.0 keeps its input (32 ch) and hidden width (32·6 = 192): only its projection
    # (192 -> 96, was -> 64) and that BN change. stage4.1-3 read 96 (was 64) channels, so
    # their hidden width is 96·6 = 576 (was 384): every layer changes, the add's output too.
    # stage5.0 reads 96 (was 64): its expand/dw change and its projection reads 576 (was 384);
    # its output (96) is unchanged, so project.bn is the same. In == out == 96 at stride 1
    # now: it gains a residual add.
    block = ["expand.conv", "expand.bn", "expand.act", "dw.conv", "dw.bn", "dw.act",
             "project.conv", "project.bn", "add"]
    expected = ["stage4.0.project.conv", "stage4.0.project.bn"]
    expected += [f"stage4.{i}.{layer}" for i in (1, 2, 3) for layer in block]
    expected += [f"stage5.0.{layer}" for layer in block[:7]]
    assert [r.name for r in d.changes if r.status == "changed"] == expected
    assert [(r.status, r.name) for r in d.changes if r.status != "changed"] == [
        ("added", "stage5.0.add")]
    assert d.count("removed") == d.count("renamed") == 0
    assert d.count("same") == len(before.layers) - len(expected)  # 153 leaves, 36 changed


def test_widened_stage_layer_figures() -> None:
    d = diff(*_mobilenet_v2_pair())
    rows = {r.name: r for r in d.layers}
    expand = rows["stage4.1.expand.conv"]
    # 1×1 conv 64 -> 384 at 14×14: 64·384 = 24 576 params, ·196 = 4 816 896 MACs;
    # widened 96 -> 576: 96·576 = 55 296 params, ·196 = 10 838 016 MACs.
    assert (expand.figure("params").before, expand.figure("params").after) == (24576, 55296)
    assert (expand.figure("macs").before, expand.figure("macs").after) == (4816896, 10838016)
    assert expand.figure("macs").change == 10838016 - 4816896
    # output 1×384×14×14 float32 = 75 264 elements · 4 = 301 056 bytes -> 576: 451 584 bytes
    assert expand.shapes == ((1, 384, 14, 14), (1, 576, 14, 14))
    assert (expand.figure("memory").before, expand.figure("memory").after) == (301056, 451584)
    dw = rows["stage4.2.dw.conv"]
    # 3×3 depthwise: 384·9 = 3 456 params, ·196 = 677 376 MACs; 576·9 = 5 184, ·196 = 1 016 064
    assert (dw.figure("params").change, dw.figure("macs").change) == (5184 - 3456, 1016064 - 677376)
    project = rows["stage5.0.project.conv"]
    # 1×1 conv 384 -> 96 (36 864 params) becomes 576 -> 96 (55 296): +50 %
    assert project.figure("params").ratio == Fraction(1, 2)
    assert project.shapes == ((1, 96, 14, 14), (1, 96, 14, 14))
    added = rows["stage5.0.add"]
    # a new layer: its figures change from 0; its output 1×96×14×14 ·4 = 75 264 bytes
    assert added.before is None and added.figure("memory").before == 0
    assert added.figure("memory").after == 75264


def test_widened_stage_totals_are_the_sum_of_the_layers() -> None:
    before, after = _mobilenet_v2_pair()
    d = diff(before, after)
    params = d.total("params")
    assert (params.before, params.after) == (3504872, 3754728)  # torchvision's 3 504 872
    for metric in ("params", "macs"):
        assert d.total(metric).change == sum(r.figure(metric).change or 0 for r in d.layers)
    # +249 856 params of 3 504 872 is +7.13 %: over a 2 % limit, under 10 %
    assert d.grew({"params": Fraction(2)}) == (params,)
    assert d.grew({"params": Fraction(10)}) == ()
    assert d.grew({"params": Fraction(10), "macs": Fraction(10)})[0].metric == "macs"  # +16.1 %
    # the layers holding weights: stage4.0's projection conv+BN (2), stage4.1-3's three
    # convs and three BNs (18), stage5.0's two convs + two BNs and its projection conv (5)
    grown = [r.name for r in d.grown_layers("params")]
    assert len(grown) == 25 and "stage4.3.add" not in grown and "stage5.0.project.bn" not in grown


def test_identical_models() -> None:
    before, _ = _mobilenet_v2_pair()
    d = diff(before, before)
    assert d.identical and d.count("same") == len(before.layers) == 153


def _layer(name: str, kind: str = "conv", params: int = 10, macs: int = 100) -> LayerFigures:
    return LayerFigures(name, kind, params, macs)


def _profile(*layers: LayerFigures) -> Profile:
    return Profile("m", "", layers, Totals(sum(x.params for x in layers), sum(x.macs for x in layers)))


def test_rename_is_matched_by_structure() -> None:
    before = _profile(_layer("a"), _layer("b", "bn", 2, 0), _layer("c", "relu", 0, 0))
    after = _profile(_layer("a"), _layer("x", "bn", 2, 0), _layer("c", "relu", 0, 0))
    d = diff(before, after)
    assert [(r.status, r.name, r.old_name, r.matched_by) for r in d.layers] == [
        ("same", "a", None, "name"), ("renamed", "x", "b", "structure"), ("same", "c", None, "name")]


def test_renamed_and_changed_matched_by_kind() -> None:
    before = _profile(_layer("a"), _layer("b", "pwconv", 4, 40), _layer("c"))
    after = _profile(_layer("a"), _layer("y", "pwconv", 6, 60), _layer("c"))
    d = diff(before, after)
    row = d.layers[1]
    assert (row.status, row.name, row.old_name, row.figure("params").change) == ("changed", "y", "b", 2)


def test_removed_layer_stays_in_place() -> None:
    before = _profile(_layer("a"), _layer("b", "bn"), _layer("c", "relu"), _layer("d"))
    after = _profile(_layer("a"), _layer("d"))
    d = diff(before, after)
    assert [(r.status, r.name) for r in d.layers] == [
        ("same", "a"), ("removed", "b"), ("removed", "c"), ("same", "d")]
    # a removed layer's figures go to 0: 10 params each
    assert d.layers[1].figure("params").change == -10


def test_unknown_figures_never_change() -> None:
    """A baseline keeps no shapes or memory: those are unknown, not changed."""
    before = _profile(LayerFigures("a", "conv", 10, 100))
    after = _profile(LayerFigures("a", "conv", 10, 100, (1, 8, 4, 4), 512))
    d = diff(before, after)
    assert d.layers[0].status == "same" and d.layers[0].figure("memory").change is None
    assert d.metrics == ("params", "macs")


def test_duplicate_names_are_numbered() -> None:
    from convcost.net.diff import _unique_names

    named = _unique_names((_layer("a"), _layer("a"), _layer("b")))
    assert [x.name for x in named] == ["a", "a#2", "b"]


@pytest.mark.parametrize(("text", "percent"), [
    ("2%", Fraction(2)), ("2", Fraction(2)), ("0.5%", Fraction(1, 2)), (" 10 % ", Fraction(10)),
    ("0", Fraction(0)),
])
def test_parse_growth(text: str, percent: Fraction) -> None:
    assert parse_growth("--fail-on-growth", text) == percent


@pytest.mark.parametrize("text", ["", "-1%", "2%%", "abc", "1e3", "nan"])
def test_parse_growth_rejects(text: str) -> None:
    with pytest.raises(ConvcostError, match="--fail-on-growth: expected a percentage"):
        parse_growth("--fail-on-growth", text)


def test_growth_boundary_is_exact() -> None:
    from convcost.net.diff import FigureChange

    # 102 over 100 is exactly +2 %: not beyond a 2 % limit; 103 is
    assert not FigureChange("params", 100, 102).grew_beyond(Fraction(2))
    assert FigureChange("params", 100, 103).grew_beyond(Fraction(2))
    assert FigureChange("macs", 0, 1).grew_beyond(Fraction(50))  # growth from nothing
    assert not FigureChange("memory", None, 5).grew_beyond(Fraction(0))


def test_growth_limits_per_metric_override() -> None:
    limits = growth_limits(Fraction(2), {"macs": Fraction(5), "params": None}, ("params", "macs"))
    assert limits == {"params": Fraction(2), "macs": Fraction(5)}
    assert growth_limits(None, {"params": None}, ("params",)) == {}
