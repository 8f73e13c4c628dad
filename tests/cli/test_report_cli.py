"""`convcost report`: the files it writes, its options and its one-line errors (no browser)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from convcost.cli.app import app


def test_writes_one_html_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "resnet18", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == f"convcost: wrote {out}: 69 layers\n"
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.count('class="node"') == 69
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "src=" not in page  # nothing to fetch
    assert "default-src 'none'" in page  # and the CSP forbids it anyway


def test_svg_format_writes_the_graph_and_the_charts(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "mobilenet_v1", "-f", "svg", "-o", str(tmp_path / "v1.svg")])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["v1.classes.svg", "v1.graph.svg", "v1.receptive.svg", "v1.roofline.svg",
                     "v1.separable.svg"]
    graph = ET.parse(tmp_path / "v1.graph.svg").getroot()
    assert graph.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(graph.findall(".//{http://www.w3.org/2000/svg}rect")) == 84  # one box per layer


def test_options_reach_the_page(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", "mobilenet_v1", "--resolution", "128", "--alpha", "0.5",
                                 "--roofline", "a100", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "input 1×3×128×128, α = 0.5" in page
    assert "Roofline: a100 (float32: 19500 GFLOP/s, 1555 GB/s, nominal)" in page


def test_diff_mode_marks_added_and_changed(runner: CliRunner, tmp_path: Path) -> None:
    wide = tmp_path / "wide.yaml"
    text = Path("specs/mobilenet_v1.yaml").read_text(encoding="utf-8")
    wide.write_text(text.replace("name: stage5, out_channels: 1024", "name: stage5, out_channels: 1280"),
                    encoding="utf-8")
    out = tmp_path / "d.html"
    result = runner.invoke(app, ["report", str(wide), "--against", "mobilenet_v1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    # stage5 1024 -> 1280 channels: stage5.0's pw conv, bn, relu; stage5.1's dw and pw units (6);
    # then avgpool, flatten (1280 wide) and fc (1280 inputs): 3 + 6 + 3 = 12 changed
    assert "against mobilenet_v1: 0 added, 12 changed, 0 renamed, 0 removed" in page
    assert page.count('class="node changed"') == 12
    assert '"name":"fc","kind":"linear"' in page and "params +256.00 K" in page  # 256 × 1000 weights


def test_bad_input_is_one_line_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    cases = [["report", "no_such_spec", "-o", str(tmp_path / "x.html")],
             ["report", "resnet18", "-o", str(tmp_path / "missing" / "x.html")],
             ["report", "resnet18", "-f", "png", "-o", str(tmp_path / "x.png")],
             ["report", "resnet18", "--against", "no_such_spec", "-o", str(tmp_path / "x.html")],
             ["report", "resnet18", "-f", "svg", "-o", str(tmp_path)]]  # a directory: not a prefix
    for args in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites_its_input(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(Path("specs/resnet18.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    before = spec.read_bytes()
    for args in (["-o", str(spec)], ["--against", "resnet18", "-o", str(spec)]):
        result = runner.invoke(app, ["report", str(spec), *args])
        assert result.exit_code == 2 and "is an input of this command" in result.stderr
    assert spec.read_bytes() == before


OPAQUE = """name: partly_opaque
input: {channels: 3, resolution: 32}
layers:
  - {kind: conv, name: stem, out_channels: 8, kernel_size: 3, bn: true, act: relu}
  - {kind: opaque, name: custom, op: "a custom op", output_shape: [8, 32, 32], params: 16}
  - {kind: conv, name: head, out_channels: 8, kernel_size: 3}
"""


def test_uncounted_layers_are_never_silent(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "opaque.yaml"
    spec.write_text(OPAQUE, encoding="utf-8")
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(spec), "-o", str(out)])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "opaque" in line]  # one line (issue 19)
    assert said == ["convcost: warning: partly_opaque: totals are lower bounds: MACs of 1 opaque "
                    "layer (a custom op ×1) are not counted"]
    page = out.read_text(encoding="utf-8")
    assert "warning: 1 layers not counted (opaque, dashed): the MACs may be short" in page
    assert page.count('class="node opaque"') == 1 and '"name":"custom"' in page


def test_a_custom_roofline_replaces_the_preset(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", "mobilenet_v1", "--peak-gflops", "100", "--bandwidth-gbs", "10",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Roofline: 100 GFLOP/s, 10 GB/s" in out.read_text(encoding="utf-8")
    half = runner.invoke(app, ["report", "mobilenet_v1", "--peak-gflops", "100", "-o", str(out)])
    assert half.exit_code == 2 and "give both --peak-gflops and --bandwidth-gbs" in half.stderr
