"""The report's page and SVG files, structurally: one node per layer, the tensor edges, the
escaping of hostile names, the size bound, and diff marks (convcost/report/html_*.py)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import every_spec

from convcost.cost.roofline import resolve
from convcost.net.analysis import Analysis, analyze
from convcost.net.diff import diff, profile
from convcost.report.html_data import ReportData, report_data
from convcost.report.html_diff import diff_marks
from convcost.report.html_page import html_page, script_json, svg_files
from convcost.report.safe_text import clean
from convcost.spec.loader import load_spec
from convcost.spec.zoo import resolve as resolve_spec

T4 = resolve("t4", None, None, "float32")


def _analysis(name: str) -> Analysis:
    return analyze(load_spec(resolve_spec(Path(name))))


def _data(name: str) -> ReportData:
    return report_data(_analysis(name), T4)


class _Elements(HTMLParser):
    """Every start tag of a page, with its attributes, and the text of its script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def _parse(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    return parser


def _data_json(parsed: _Elements) -> dict[str, object]:
    (index,) = [i for i, (tag, a) in enumerate(t for t in parsed.tags if t[0] == "script")
                if a.get("id") == "data"]
    loaded: dict[str, object] = json.loads(parsed.scripts[index])
    return loaded


# resnet18: 69 leaves; 68 chain edges + one skip edge into each of the 8 blocks' adds = 76.
# mobilenet_v1: stem conv+bn+relu (3) + 13 dsconv × 6 (78) + pool, flatten, fc = 84, a chain: 83.
@pytest.mark.parametrize(("spec", "layers", "edges"), [("resnet18", 69, 76), ("mobilenet_v1", 84, 83)])
def test_one_node_per_layer_and_one_edge_per_tensor_read(spec: str, layers: int, edges: int) -> None:
    data = _data(spec)
    assert len(data.layers) == len(_analysis(spec).leaves()) == layers
    assert len(data.edges) == edges
    page = _parse(html_page(data))
    nodes = [a for tag, a in page.tags if tag == "g" and "node" in (a.get("class") or "").split()]
    assert [int(a["data-i"] or -1) for a in nodes] == list(range(layers))
    assert sum(1 for tag, _ in page.tags if tag == "path") - 2 >= edges  # + 2 chart axes at least


def test_merges_read_both_branches() -> None:
    """Every add of resnet18 has two producers: the block's last BN and the skip (or downsample)."""
    data = _data("resnet18")
    preds: dict[int, list[int]] = {}
    for u, v in data.edges:
        preds.setdefault(v, []).append(u)
    adds = [i for i, layer in enumerate(data.layers) if layer.kind == "add"]
    assert len(adds) == 8
    assert all(len(preds[i]) == 2 for i in adds)
    first = adds[0]  # layer1.0: its skip comes from the stem's max pool
    assert {data.layers[u].name for u in preds[first]} == {"layer1.0.conv2.bn", "maxpool"}


HOSTILE = ['</script><script>alert(1)</script>', '<!--<script>', 'a&b"c\'d\u2028e\nf',
           '</SCRIPT ><img src=x onerror=alert(2)>', "]]><svg onload=alert(3)>"]


def test_hostile_layer_names_stay_data() -> None:
    data = _data("mobilenet_v1")
    layers = tuple(replace(layer, name=HOSTILE[i % len(HOSTILE)] + str(i))
                   for i, layer in enumerate(data.layers))
    page = html_page(replace(data, layers=layers, model=HOSTILE[0]))
    assert page.lower().count("</script") == 2  # the data element's and the script's own ends
    parsed = _parse(page)
    assert [tag for tag, _ in parsed.tags].count("script") == 2
    assert not any(tag == "img" or any(k.startswith("on") for k in a) for tag, a in parsed.tags)
    names = [row["name"] for row in _data_json(parsed)["layers"]]  # type: ignore[index]
    assert names == [clean(layer.name) for layer in layers]  # the JSON round-trips them
    titles = re.findall(r'<g class="node" data-i="\d+"><title>(.*?)</title>', page)
    assert [unescape(t) for t in titles] == [clean(layer.name) for layer in layers]


def test_script_json_never_closes_the_element() -> None:
    text = script_json({"name": "</script><!-- & \u2028"})
    assert not set("<>&\u2028") & set(text)
    assert json.loads(text) == {"name": "</script><!-- & \u2028"}


def test_a_700_layer_page_is_under_2_mb() -> None:
    """efficientnet_v2_s (511 leaves here) and densenet121: the bound is 2 MB for ~700 layers."""
    data = {spec: _data(spec) for spec in ("efficientnet_v2_s", "densenet121")}
    sizes = {spec: len(html_page(d).encode()) for spec, d in data.items()}
    per_layer = max(size / len(data[spec].layers) for spec, size in sizes.items())
    assert sizes["efficientnet_v2_s"] < 2_000_000
    assert per_layer * 700 < 2_000_000, sizes  # at this density 700 layers fit too


def test_svg_files_are_well_formed_and_hold_every_layer() -> None:
    data = _data("mobilenet_v2")
    files = svg_files(data)
    assert set(files) == {"graph", "classes", "roofline", "receptive", "separable"}
    ns = {"s": "http://www.w3.org/2000/svg"}
    graph = ET.fromstring(files["graph"].split("\n", 1)[1])
    assert len(graph.findall(".//s:g[@class='node']", ns)) == len(data.layers) == 153
    roofline = ET.fromstring(files["roofline"].split("\n", 1)[1])
    assert len(roofline.findall(".//s:circle[@class='pt']", ns)) == 153  # a point per layer
    for body in files.values():
        ET.fromstring(body.split("\n", 1)[1])  # every file parses as XML


def test_separable_savings_match_the_model_view() -> None:
    """MobileNet V1: 13 separable pairs; the standard-equivalent net has 4,867,293,184 MACs,
    8.56× its 568,740,352 (the paper: "8 to 9 times")."""
    page = html_page(_data("mobilenet_v1"))
    assert "13 depthwise-separable pairs (13 at exactly 1/N + 1/K²)" in page
    sep = _data("mobilenet_v1").separable
    assert (sep.equivalent.macs, sep.macs) == (4_867_293_184, 568_740_352)
    assert "standard needs 8.56× as many" in page


BASE = """name: small
input: {channels: 3, resolution: 32}
layers:
  - {kind: conv, name: stem, out_channels: 16, kernel_size: 3, bn: true, act: relu}
  - {kind: dsconv, name: b1, out_channels: %d}
  - {kind: dsconv, name: b2, out_channels: 32}
%s  - {kind: pool, name: pool, op: avg, global: true}
"""


def test_diff_marks_name_exactly_the_changed_layers(tmp_path: Path) -> None:
    """b1 widened 24 -> 32: its pw conv, BN and act change, and so does b2's depthwise unit
    (it reads 32 channels, not 24) and b2's pw conv (32 -> 32 in, not 24); b3 is added."""
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(BASE % (24, ""), encoding="utf-8")
    new.write_text(BASE % (32, "  - {kind: pwconv, name: b3, out_channels: 32}\n"), encoding="utf-8")
    before, after = analyze(load_spec(old)), analyze(load_spec(new))
    marks = diff_marks(diff(profile(before.root, model="old"), profile(after.root, model="new")),
                       after.root, "old.yaml")
    names = [layer.name for layer in report_data(after, T4).layers]
    status = dict(zip(names, marks.status, strict=True))
    assert {n for n, s in status.items() if s == "added"} == {"b3"}
    assert {n for n, s in status.items() if s == "changed"} == {
        "b1.pw.conv", "b1.pw.bn", "b1.pw.act", "b2.dw.conv", "b2.dw.bn", "b2.dw.act", "b2.pw.conv"}
    assert marks.removed == ()
    change = dict(zip(names, marks.changes, strict=True))
    # b1.pw.conv: 16 -> 24 was 384 params, 16 -> 32 is 512: +128; MACs × 32·32 positions
    assert change["b1.pw.conv"] == "params +128, MACs +131.07 K, output 1×24×32×32 → 1×32×32×32"


def test_latency_is_a_metric_with_a_latency_model(tmp_path: Path) -> None:
    from test_latency_model import GOOD  # one class "all": 1 ns per MAC + 1 µs per fused group

    from convcost.net.latency import predict
    from convcost.net.latency_file import load_latency_model

    path = tmp_path / "device.yaml"
    path.write_text(GOOD, encoding="utf-8")
    analysis = _analysis("mobilenet_block")
    data = report_data(analysis, T4, prediction=predict(load_latency_model(path), analysis.root))
    assert data.metrics() == ("macs", "params", "memory", "latency")
    assert '"metrics":["macs","params","memory"]' in html_page(_data("mobilenet_block"))  # without
    first = data.layers[0]  # the first dw conv: 112·112·3·9 = 338,688 MACs -> 338.688 µs + 1 µs
    assert (first.macs, first.latency_s) == (338_688, pytest.approx(338_688e-9 + 1e-6))
    assert data.layers[1].latency_s == 0.0  # its BN: the group's time sits on the conv
    page = html_page(data)
    assert '<option value="latency">latency (predicted)</option>' in page
    assert "predicted latency 30.850 ms" in page


@pytest.mark.parametrize("spec", every_spec())
def test_every_shipped_spec_draws(spec: str) -> None:
    """One node per leaf, edges only forwards, the data JSON and every SVG file well formed."""
    analysis = _analysis(spec)
    data = report_data(analysis, T4)
    assert sorted(layer.name for layer in data.layers) == sorted(leaf.name for leaf in analysis.leaves())
    assert all(u < v for u, v in data.edges)
    parsed = _parse(html_page(data))
    assert len(_data_json(parsed)["layers"]) == len(data.layers)  # type: ignore[arg-type]
    for body in svg_files(data).values():
        ET.fromstring(body.split("\n", 1)[1])
