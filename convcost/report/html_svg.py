"""The network graph as SVG markup, and the few SVG helpers the charts share.

Every user string (a layer name, a model name) goes through :func:`text`: control characters
shown as escapes (XML forbids most of them), then ``& < > " '`` escaped, so a name is always
character data, never markup. Node sizes and colours are computed here, for every metric, so
the page's script only applies them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

from convcost.report.html_data import LayerFigures, ReportData
from convcost.report.html_layout import NODE_W, Layout
from convcost.report.safe_text import clean

NODE_H = 20.0
MIN_W = 46.0
# a light-to-dark sequential scale (colour-blind safe: yellow to red-brown)
HEAT = ("#fff7bc", "#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02")
STATUS = {"added": "#1a9850", "changed": "#7b3294", "renamed": "#2166ac", "same": ""}


def text(value: object) -> str:
    """Any value as SVG/HTML character data or attribute text: no markup, no control chars."""
    return html.escape(clean(str(value)), quote=True)


def attrs(values: Mapping[str, object]) -> str:
    return "".join(f' {key.replace("_", "-")}="{text(v)}"' for key, v in values.items()
                   if v is not None)


def element(tag: str, body: str = "", **values: object) -> str:
    """``<tag attr="…">body</tag>``; ``class_`` is ``class``, other ``_`` become ``-``."""
    fixed = {("class" if k == "class_" else k): v for k, v in values.items()}
    return f"<{tag}{attrs(fixed)}>{body}</{tag}>" if body else f"<{tag}{attrs(fixed)}/>"


def svg(width: float, height: float, body: str, label: str, **values: object) -> str:
    """A standalone SVG document element (also valid inline in HTML)."""
    return element("svg", element("title", text(label)) + body, xmlns="http://www.w3.org/2000/svg",
                   width=f"{width:.0f}", height=f"{height:.0f}",
                   viewBox=f"0 0 {width:.0f} {height:.0f}", role="img", **values)


def heat(share: float) -> str:
    """The colour of a share in [0, 1] of the largest one."""
    return HEAT[min(len(HEAT) - 1, int(share * len(HEAT)))]


def metric_values(data: ReportData, metric: str) -> list[float]:
    """Each layer's figure of ``metric`` (macs, params, memory bytes or latency seconds)."""
    def one(layer: LayerFigures) -> float:
        if metric == "latency":
            return layer.latency_s or 0.0
        return float(getattr(layer, metric))

    return [one(layer) for layer in data.layers]


def node_styles(values: Sequence[float]) -> list[tuple[float, str]]:
    """(box width, fill) per node: both grow with the square root of its share of the largest."""
    top = max(values, default=0.0) or 1.0
    styles = []
    for value in values:
        share = math.sqrt(max(value, 0.0) / top)
        styles.append((round(MIN_W + (NODE_W - MIN_W) * share, 1), heat(share)))
    return styles


def _edge_paths(drawing: Layout) -> str:
    paths = []
    for route in drawing.routes:
        (x0, y0), *rest = route
        points = [(x0, y0 + NODE_H / 2), *rest[:-1], (rest[-1][0], rest[-1][1] - NODE_H / 2)]
        d = "M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in points)
        paths.append(f'<path d="{d}"/>')
    return element("g", "".join(paths), class_="edges")


def _node(i: int, layer: LayerFigures, at: tuple[float, float], style: tuple[float, str],
          status: str) -> str:
    (x, y), (w, fill) = at, style
    rect = element("rect", x=f"{x - w / 2:.1f}", y=f"{y - NODE_H / 2:.1f}", width=w, height=NODE_H,
                   rx=4, fill=fill, stroke=STATUS.get(status) or None)
    label = element("text", text(layer.kind), x=f"{x:.1f}", y=f"{y + 3.5:.1f}")
    classes = ["node", status, "" if layer.counted else "opaque"]
    return element("g", element("title", text(layer.name)) + rect + label,
                   class_=" ".join(c for c in classes if c), data_i=i)


def graph_svg(data: ReportData, drawing: Layout, metric: str = "macs",
              status: Sequence[str] = ()) -> str:
    """The network: one box per layer, sized and coloured by ``metric``; edges as tensors flow.

    ``status`` (diff mode): ``added``/``changed``/``same`` per layer, drawn as the box outline.
    """
    styles = node_styles(metric_values(data, metric))
    nodes = "".join(_node(i, layer, (drawing.x[i], drawing.y[i]), styles[i],
                          status[i] if status else "")
                    for i, layer in enumerate(data.layers))
    defs = ("<style>.edges path{fill:none;stroke:#9aa0a6;stroke-width:1.2}.node rect{stroke-width:2.5}"
            ".node.opaque rect{stroke-dasharray:4 2;stroke:#555;stroke-width:1.2}"
            ".node text{font:10px sans-serif;text-anchor:middle;"
            "fill:#222}.node rect:not([stroke]){stroke:#6b6b6b;stroke-width:.6}</style>")
    return svg(drawing.width, drawing.height, defs + _edge_paths(drawing) + element("g", nodes),
               f"{data.model}: {len(data.layers)} layers, sized and coloured by {metric}",
               id="graph")
