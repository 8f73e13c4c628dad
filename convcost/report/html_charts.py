"""The report's charts as static SVG: shares by layer class, the roofline with a point per layer,
receptive-field growth through the depth, and the separable savings. Pure: data in, markup out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from convcost.report.html_data import ReportData
from convcost.report.html_svg import element, svg, text
from convcost.report.render import human

W, H = 560.0, 300.0
PAD_L, PAD_R, PAD_T, PAD_B = 62.0, 18.0, 30.0, 44.0
CLASS_COLOURS = {"standard": "#4e79a7", "depthwise": "#f28e2b", "pointwise": "#59a14f",
                 "grouped": "#b07aa1", "fully connected": "#e15759", "attention": "#76b7b2",
                 "other": "#bab0ac"}
BOUND_COLOURS = {"memory": "#e15759", "compute": "#4e79a7", "": "#bab0ac"}
STYLE = ("<style>text{font:12.5px sans-serif;fill:#333}.axis line,.axis path{stroke:#888}"
         ".grid line{stroke:#eee}.title{font-weight:bold;font-size:14px}</style>")


@dataclass(frozen=True)
class LogAxis:
    """A log10 scale from ``lo`` to ``hi`` (both > 0) onto pixels ``a`` to ``b``."""

    lo: float
    hi: float
    a: float
    b: float

    def __call__(self, value: float) -> float:
        span = math.log10(self.hi) - math.log10(self.lo) or 1.0
        return self.a + (math.log10(max(value, self.lo)) - math.log10(self.lo)) / span * (self.b - self.a)

    def ticks(self) -> list[float]:
        first, last = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
        return [10.0 ** k for k in range(first, last + 1) if self.lo <= 10.0 ** k <= self.hi]


def log_axis(values: Sequence[float], a: float, b: float) -> LogAxis:
    """A scale that holds every positive value, widened to whole decades."""
    positive = [v for v in values if v > 0] or [1.0]
    return LogAxis(10.0 ** math.floor(math.log10(min(positive))),
                   10.0 ** math.ceil(math.log10(max(positive))), a, b)


def _tick(value: float) -> str:
    return f"{value:g}" if 1e-3 <= value < 1e4 else f"1e{round(math.log10(value))}"


def frame(x: LogAxis | None, y: LogAxis, labels: tuple[str, str], title: str) -> str:
    """Axes, grid lines at the decades, the axis labels and the chart title."""
    parts = [element("text", text(title), x=PAD_L, y=18, class_="title")]
    for v in y.ticks():
        parts.append(element("line", x1=PAD_L, x2=W - PAD_R, y1=f"{y(v):.1f}", y2=f"{y(v):.1f}"))
        parts.append(element("text", _tick(v), x=PAD_L - 6, y=f"{y(v) + 4:.1f}", text_anchor="end"))
    for v, at in ((v, x(v)) for v in x.ticks()) if x is not None else ():
        parts.append(element("line", y1=PAD_T, y2=H - PAD_B, x1=f"{at:.1f}", x2=f"{at:.1f}"))
        parts.append(element("text", _tick(v), x=f"{at:.1f}", y=H - PAD_B + 14, text_anchor="middle"))
    axes = element("path", d=f"M{PAD_L} {PAD_T} V{H - PAD_B} H{W - PAD_R}", fill="none")
    parts.append(element("g", axes, class_="axis"))
    parts.append(element("text", text(labels[0]), x=(PAD_L + W - PAD_R) / 2, y=H - 8, text_anchor="middle"))
    parts.append(element("text", text(labels[1]), x=14, y=(PAD_T + H - PAD_B) / 2, text_anchor="middle",
                         transform=f"rotate(-90 14 {(PAD_T + H - PAD_B) / 2})"))
    return element("g", "".join(parts), class_="grid")


def _bar_row(y: float, label: str, parts: Sequence[tuple[str, int]], total: int) -> str:
    """One stacked bar of class shares of ``total``, with its label."""
    out = [element("text", text(label), x=8, y=y + 15)]
    x = 80.0
    for cls, value in parts:
        w = (W - 100) * value / total if total else 0.0
        out.append(element("rect", element("title", text(f"{cls}: {value / total:.1%}")), x=f"{x:.1f}",
                           y=y, width=f"{w:.1f}", height=22, fill=CLASS_COLOURS.get(cls, "#999")))
        x += w
    return "".join(out)


def classes_svg(data: ReportData) -> str:
    """MobileNet Table 2: MACs and params per layer class, as two stacked bars and a legend."""
    macs, params = data.macs, data.params
    body = [element("text", "Shares by layer class", x=8, y=18, class_="title"),
            _bar_row(34, "MACs", [(c.layer_class, c.macs) for c in data.classes], macs),
            _bar_row(64, "params", [(c.layer_class, c.params) for c in data.classes], params)]
    for i, c in enumerate(data.classes):
        y = 110 + 18 * i
        share = (f"{c.layer_class}: MACs {c.macs / macs if macs else 0:.1%}, "
                 f"params {c.params / params if params else 0:.1%}")
        body.append(element("rect", x=80, y=y - 10, width=12, height=12,
                            fill=CLASS_COLOURS.get(c.layer_class, "#999")))
        body.append(element("text", text(share), x=98, y=y, class_="legend"))
    height = 120 + 18 * len(data.classes)
    return svg(W, height, STYLE + "".join(body), "shares by layer class", id="classes")


def _roof_line(x: LogAxis, y: LogAxis, data: ReportData) -> str:
    peak, bw = float(data.roof.peak_gflops), float(data.roof.bandwidth_gbs)
    ridge = peak / bw
    pts = [(x.lo, min(peak, bw * x.lo)), (ridge, peak), (x.hi, peak)] if x.lo < ridge \
        else [(x.lo, peak), (x.hi, peak)]
    d = "M" + " L".join(f"{x(a):.1f} {y(b):.1f}" for a, b in pts)
    return element("path", d=d, fill="none", stroke="#333", stroke_width=2)


def roofline_svg(data: ReportData) -> str:
    """Each layer at (FLOPs per byte, attainable GFLOP/s on the roofline); layers that do no
    MACs (intensity 0) sit in a strip at the left edge."""
    peak, bw = float(data.roof.peak_gflops), float(data.roof.bandwidth_gbs)
    dense = [float(layer.intensity) for layer in data.layers if layer.intensity]
    x = log_axis([*dense, peak / bw / 10, peak / bw * 10], PAD_L + 28, W - PAD_R)
    y = log_axis([min(peak, bw * v) for v in [x.lo, *dense]] + [peak], H - PAD_B, PAD_T)
    top = max((layer.macs for layer in data.layers), default=0) or 1
    dots = []
    for i, layer in enumerate(data.layers):
        intensity = float(layer.intensity or 0)
        cx = x(intensity) if intensity else PAD_L + 12
        cy = y(min(peak, bw * intensity)) if intensity else H - PAD_B - 6
        dots.append(element("circle", element("title", text(layer.name)), cx=f"{cx:.1f}", cy=f"{cy:.1f}",
                            r=f"{2.5 + 6 * math.sqrt(layer.macs / top):.1f}", class_="pt", data_i=i,
                            fill=BOUND_COLOURS[layer.bound], fill_opacity=0.6))
    body = (STYLE + frame(x, y, ("FLOPs per byte moved (log)", "attainable GFLOP/s (log)"),
                          f"Roofline: {data.roof.label}")
            + element("text", "0 MACs", x=PAD_L + 12, y=H - PAD_B + 28, text_anchor="middle")
            + _roof_line(x, y, data) + "".join(dots)
            + _key(W - 150, H - PAD_B - 34, BOUND_COLOURS["memory"], "memory-bound", dot=True)
            + _key(W - 150, H - PAD_B - 18, BOUND_COLOURS["compute"], "compute-bound", dot=True))
    return svg(W, H, body, "roofline, one point per layer", id="roofline")


def _key(x: float, y: float, colour: str, label: str, dot: bool = False) -> str:
    """A legend entry: a short line (or a dot) of ``colour``, then ``label``."""
    mark = (element("circle", cx=x + 7, cy=y, r=4.5, fill=colour) if dot else
            element("line", x1=x, x2=x + 14, y1=y, y2=y, stroke=colour, stroke_width=3))
    return mark + element("text", text(label), x=x + 20, y=y + 4)


def _polyline(points: Sequence[tuple[float, float]], colour: str) -> str:
    return element("polyline", points=" ".join(f"{a:.1f},{b:.1f}" for a, b in points), fill="none",
                   stroke=colour, stroke_width=2)


def receptive_svg(data: ReportData) -> str:
    """Receptive field (h) and its jump (effective stride) of each layer's output, in order."""
    n = max(len(data.layers), 2)
    sizes = [float(layer.rf_size[0]) for layer in data.layers]
    jumps = [float(layer.rf_jump[0]) for layer in data.layers]
    y = log_axis([*sizes, *jumps, float(data.input_shape[-1])], H - PAD_B, PAD_T)

    def x(i: int) -> float:
        return PAD_L + (W - PAD_R - PAD_L) * i / (n - 1)

    def line(values: list[float], colour: str) -> str:
        return _polyline([(x(i), y(v)) for i, v in enumerate(values)], colour)

    side = float(data.input_shape[-1])
    limit = element("line", x1=PAD_L, x2=W - PAD_R, y1=f"{y(side):.1f}", y2=f"{y(side):.1f}",
                    stroke="#999", stroke_dasharray="4 3")
    legend = (_key(W - 190, H - PAD_B - 30, "#4e79a7", "receptive field")
              + _key(W - 190, H - PAD_B - 14, "#f28e2b", "jump (effective stride)")
              + element("text", f"input width {side:g}", x=PAD_L + 4, y=f"{y(side) - 4:.1f}"))
    body = (STYLE + frame(None, y, (f"layer (execution order, 1 to {len(data.layers)})", "pixels (log)"),
                          "Receptive-field growth") + limit
            + line(sizes, "#4e79a7") + line(jumps, "#f28e2b") + legend)
    return svg(W, H, body, "receptive field through the depth", id="receptive")


def _pair_bars(x0: float, label: str, this: int, standard: int) -> str:
    """Two bars (this net, its standard-equivalent): the value above, the name below each."""
    top = max(this, standard) or 1

    def bar(x: float, value: int, colour: str, what: str) -> str:
        h = (H - PAD_B - PAD_T - 24) * value / top
        return (element("rect", x=x, y=f"{H - PAD_B - h:.1f}", width=90, height=f"{h:.1f}", fill=colour)
                + element("text", human(value), x=x + 45, y=f"{H - PAD_B - h - 5:.1f}", text_anchor="middle")
                + element("text", what, x=x + 45, y=H - PAD_B + 15, text_anchor="middle"))

    ratio = f"{standard / this:.2f}× as many" if this else "—"
    return (bar(x0, this, "#59a14f", "this net") + bar(x0 + 110, standard, "#bab0ac", "standard")
            + element("text", text(f"{label}: standard needs {ratio}"), x=x0 + 100, y=H - PAD_B + 33,
                      text_anchor="middle", font_weight="bold"))


def separable_svg(data: ReportData) -> str:
    """Params and MACs of this net against its standard-equivalent (every pair one conv)."""
    sep, eq = data.separable, data.separable.equivalent
    title = (f"Separable savings: {eq.pairs} depthwise-separable pairs "
             f"({sep.theory_holds} at exactly 1/N + 1/K²)")
    if not eq.pairs:
        bars = element("text", "no depthwise conv feeds a pointwise one: nothing to compare", x=W / 2,
                       y=H / 2, text_anchor="middle")
    else:
        bars = _pair_bars(40, "params", sep.params, eq.params) + _pair_bars(300, "MACs", sep.macs, eq.macs)
    body = STYLE + element("text", text(title), x=8, y=18, class_="title") + bars
    return svg(W, H, body, "separable savings against the standard-equivalent network", id="separable")


CHARTS: dict[str, Callable[[ReportData], str]] = {
    "classes": classes_svg, "roofline": roofline_svg, "receptive": receptive_svg,
    "separable": separable_svg}
"""The charts, by file stem (``--format svg`` writes ``PREFIX.STEM.svg``)."""
