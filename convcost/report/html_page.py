"""``convcost report``: one self-contained HTML page, or the same drawings as SVG files.

The page holds everything it shows: the graph and the charts as inline SVG (drawn in Python by
:mod:`convcost.report.html_svg` and :mod:`convcost.report.html_charts`), the per-layer figures as
JSON in a ``<script type="application/json">``, and the script and style of
``convcost/report/html_assets`` (ours, no third-party code). A Content-Security-Policy forbids
every fetch, so opening it loads nothing else.

User strings are data: in markup they are HTML-escaped; in the JSON, ``<``, ``>`` and ``&`` are
``\\u003c``-escaped, so no name can close the script element (``</script>``) or open a comment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from convcost.report.html_charts import CHARTS
from convcost.report.html_data import LayerFigures, ReportData
from convcost.report.html_diff import DiffMarks
from convcost.report.html_svg import graph_svg, metric_values, node_styles, text
from convcost.report.render import human, shape
from convcost.report.rows import rf_number
from convcost.report.safe_text import clean

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
METRIC_LABELS = {"macs": "MACs", "params": "params", "memory": "memory (bytes moved)",
                 "latency": "latency (predicted)"}


def asset(name: str) -> str:
    return resources.files("convcost.report").joinpath("html_assets", name).read_text(encoding="utf-8")


def script_json(value: Any) -> str:
    """JSON that is safe inside ``<script>``: no ``<``, ``>`` or ``&`` (hence no ``</script>``,
    no ``<!--``), and ASCII only (no U+2028 line separators either)."""
    dumped = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return dumped.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _number(value: Any) -> Any:
    return None if value is None else rf_number(value)


def layer_json(i: int, layer: LayerFigures) -> dict[str, Any]:
    return {"i": i, "name": clean(layer.name), "kind": clean(layer.kind), "cls": layer.layer_class,
            "shape": shape(layer.output_shape[1:]), "params": layer.params, "macs": layer.macs,
            "memory": layer.memory, "intensity": None if layer.intensity is None else
            round(float(layer.intensity), 3), "bound": layer.bound,
            "rf": [_number(v) for v in layer.rf_size], "jump": [_number(v) for v in layer.rf_jump],
            "whole": layer.rf_whole, "counted": layer.counted,
            "latency_us": None if layer.latency_s is None else round(layer.latency_s * 1e6, 2)}


def page_data(data: ReportData, diff: DiffMarks | None) -> dict[str, Any]:
    """The JSON the page's script reads: rows, per-metric node styles, totals, diff marks."""
    rows = [layer_json(i, layer) for i, layer in enumerate(data.layers)]
    if diff is not None:
        for row, status, change in zip(rows, diff.status, diff.changes, strict=True):
            row.update(status=status, change=clean(change))
    styles = {m: node_styles(metric_values(data, m)) for m in data.metrics()}
    return {"model": clean(data.model), "metrics": list(data.metrics()), "style": styles,
            "layers": rows, "totals": {"params": data.params, "macs": data.macs},
            "latency": data.latency_total_s is not None,
            "removed": [clean(name) for name in diff.removed] if diff else None}


def _summary(data: ReportData, diff: DiffMarks | None) -> str:
    eq = data.separable.equivalent
    line = (f"input {shape(data.input_shape)}, α = {data.alpha:g} · {len(data.layers)} layers · "
            f"params {human(data.params)} · MACs {human(data.macs)} (FLOPs = 2 × MACs) · "
            f"{eq.pairs} separable pairs")
    if data.uncounted:
        line += (f" · warning: {len(data.uncounted)} layers not counted (opaque, dashed): "
                 "the MACs may be short")
    if data.latency_total_s is not None:
        line += f" · predicted latency {data.latency_total_s * 1e3:.3f} ms ({data.latency})"
    if diff is not None:
        line += (f" · against {diff.against}: {diff.count('added')} added, {diff.count('changed')} "
                 f"changed, {diff.count('renamed')} renamed, {len(diff.removed)} removed")
    return text(line)


def _controls(metrics: Sequence[str], diff: bool) -> str:
    options = "".join(f'<option value="{m}">{METRIC_LABELS[m]}</option>' for m in metrics)
    legend = ('<span class="legend"><b class="added">added</b> <b class="changed">changed</b> '
              '<b class="renamed">renamed</b> (outline) · removed: listed beside</span>') if diff else ""
    return (f'<label>size and colour by <select id="metric">{options}</select></label> '
            '<button id="zoom-out" title="zoom out">−</button><button id="zoom-in" title="zoom in">+'
            '</button><button id="zoom-fit">fit</button>' + legend)


def html_page(data: ReportData, diff: DiffMarks | None = None) -> str:
    """The whole report as one HTML document."""
    title = text(f"convcost report: {data.model}")
    charts = "".join(f'<figure class="chart">{draw(data)}</figure>' for draw in CHARTS.values())
    graph = graph_svg(data, data.drawing(), "macs", diff.status if diff else ())
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{asset('report.css')}</style></head>\n<body>"
        f"<header><h1>{title}</h1><p id=\"summary\">{_summary(data, diff)}</p>"
        f'<div id="controls">{_controls(data.metrics(), diff is not None)}</div></header>\n<main>'
        f'<section id="graph-panel"><div id="graph-wrap">{graph}'
        f'</div></section>\n<section id="side"><div id="details">Click a node (or a row, or a roofline '
        f'point) to see its figures.</div><div id="removed"></div>'
        f'<div id="table-wrap"><table id="layers"><thead></thead><tbody></tbody></table></div>'
        f'<div id="charts">{charts}</div></section></main>\n'
        f'<script type="application/json" id="data">{script_json(page_data(data, diff))}</script>\n'
        f"<script>{asset('report.js')}</script></body></html>\n")


def svg_files(data: ReportData, status: Sequence[str] = ()) -> Mapping[str, str]:
    """``--format svg``: stem -> SVG document (``graph``: coloured by MACs; each chart)."""
    prolog = '<?xml version="1.0" encoding="UTF-8"?>\n'
    files = {"graph": prolog + graph_svg(data, data.drawing(), "macs", status) + "\n"}
    files.update({stem: prolog + draw(data) + "\n" for stem, draw in CHARTS.items()})
    return files
