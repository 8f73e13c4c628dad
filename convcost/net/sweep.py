"""Design sweeps: params and MACs over a grid of width multipliers α and resolutions. Pure.

Every point equals ``analyze(spec, alpha=α, resolution=r)`` exactly. A large grid does not
run that many analyses: channels depend on α only and spatial sizes on the resolution only,
so each leaf's MACs factor as ``c(α) · p(r)`` with ``p`` the leaf's output positions
(``N·Ho·Wo``, or ``N`` after flattening) and params depend on α only. The sweep analyses
one row (every α at the first resolution) and one column (the first α at every resolution),
checks that the factorisation holds on both (same leaves, ops independent of r, spatial
sizes independent of α, MACs divisible by positions) and combines them; if any check fails
it analyses every point. A roofline estimate needs per-point bytes, and a latency model
per-point groups: with either, every point is analysed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from convcost.cost.graph import Node
from convcost.cost.memory import model_memory
from convcost.cost.roofline import Roofline, model_estimate
from convcost.cost.value import Cost
from convcost.errors import ConvcostError
from convcost.limits import MAX_SWEEP_POINTS
from convcost.net.analysis import Analysis, analyze
from convcost.net.latency import LatencyModel, predict

if TYPE_CHECKING:
    from convcost.net.kernel_model import KernelModel
from convcost.spec.loader import Spec

Progress = Callable[[int, int], None]
"""``progress(done, total)``, called as points are computed (for a progress bar)."""


@dataclass(frozen=True, kw_only=True)
class Point(Cost):
    """One grid point: α, resolution, params and MACs (and the roofline estimate, if asked)."""

    alpha: float
    resolution: int
    seconds: Fraction | None = None
    latency_s: float | None = None


@dataclass(frozen=True)
class Sweep:
    model: str
    base_resolution: int
    alphas: tuple[float, ...]
    resolutions: tuple[int, ...]
    points: tuple[Point, ...]  # α-major: points[i * len(resolutions) + j]
    roofline: str | None = None
    factored: bool = False
    latency_model: str | None = None

    def at(self, alpha_index: int, resolution_index: int) -> Point:
        return self.points[alpha_index * len(self.resolutions) + resolution_index]


def _positions(node: Node) -> int:
    """Output positions of a leaf: its output elements per output channel."""
    return math.prod(node.output_shape) // node.output_shape[1]


def _point(spec: Spec, alpha: float, resolution: int, batch: int | None,
           roof: Roofline | None, dtype: str, latency: LatencyModel | KernelModel | None) -> Point:
    result = analyze(spec, alpha=alpha, resolution=resolution, batch=batch)
    seconds = None
    if roof is not None:
        seconds = model_estimate(model_memory(result.root, dtype), roof).seconds
    predicted = None if latency is None else predict(latency, result.root).total_s
    return Point(params=result.totals.params, macs=result.totals.macs, alpha=alpha,
                 resolution=resolution, seconds=seconds, latency_s=predicted)


def _factored(rows: Sequence[Analysis], cols: Sequence[Analysis],
              resolutions: Sequence[int]) -> list[Point] | None:
    """Every grid point from one row (all α, first r) and one column (first α, all r)."""
    base = rows[0].leaves()
    signature = [(leaf.name, leaf.label) for leaf in base]
    row_leaves = [a.leaves() for a in rows]
    col_leaves = [a.leaves() for a in cols]
    for leaves in (*row_leaves, *col_leaves):
        if [(leaf.name, leaf.label) for leaf in leaves] != signature:
            return None
    positions = [_positions(leaf) for leaf in base]
    coefficients: list[list[int]] = []
    for leaves in row_leaves:  # channels may change with α; spatial sizes may not
        if any(a.output_shape[2:] != b.output_shape[2:] or a.macs % p
               for a, b, p in zip(leaves, base, positions, strict=True)):
            return None
        coefficients.append([leaf.macs // p for leaf, p in zip(leaves, positions, strict=True)])
    spatial: list[list[int]] = []
    for leaves in col_leaves:  # spatial sizes may change with r; ops and params may not
        col = [_positions(leaf) for leaf in leaves]
        if any(a.op != b.op or a.params != b.params or a.macs != c * p
               for a, b, c, p in zip(leaves, base, coefficients[0], col, strict=True)):
            return None
        spatial.append(col)
    return [Point(params=row.totals.params,
                  macs=sum(c * p for c, p in zip(coef, positions_r, strict=True)),
                  alpha=row.alpha, resolution=resolution)
            for row, coef in zip(rows, coefficients, strict=True)
            for resolution, positions_r in zip(resolutions, spatial, strict=True)]


def sweep(spec: Spec, alphas: Sequence[float], resolutions: Sequence[int],
          batch: int | None = None, roof: Roofline | None = None, dtype: str = "float32",
          progress: Progress | None = None, latency: LatencyModel | KernelModel | None = None) -> Sweep:
    """Params and MACs (and the roofline estimate, the predicted latency) of ``spec`` at every
    (α, resolution)."""
    if not alphas or not resolutions:
        raise ConvcostError("--alpha/--resolution: give at least one value each")
    total = len(alphas) * len(resolutions)
    if total > MAX_SWEEP_POINTS:
        raise ConvcostError(f"--alpha/--resolution: {len(alphas)} × {len(resolutions)} = {total:,} "
                            f"grid points, more than {MAX_SWEEP_POINTS:,}")
    report = progress or (lambda done, all_: None)
    points: list[Point] | None = None
    if roof is None and latency is None:
        rows = [analyze(spec, alpha=a, resolution=resolutions[0], batch=batch) for a in alphas]
        cols = [rows[0], *(analyze(spec, alpha=alphas[0], resolution=r, batch=batch)
                           for r in resolutions[1:])]
        points = _factored(rows, cols, resolutions)
    factored = points is not None
    if points is None:
        points = []
        for alpha in alphas:
            for resolution in resolutions:
                points.append(_point(spec, alpha, resolution, batch, roof, dtype, latency))
                report(len(points), total)
    report(total, total)
    return Sweep(spec.name, spec.input.height, tuple(alphas), tuple(resolutions), tuple(points),
                 roof.label if roof else None, factored,
                 latency.label() if latency else None)
