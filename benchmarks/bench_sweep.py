"""In-process sweep speed: a 100 α × 100 resolution grid (10,000 points) on mobilenet_v1.yaml.

Prints times and ratios only; target (issue 7): the 10,000-point grid under 2 s. Also times
the per-point path (one full analysis per point) on a 10 × 10 corner of the grid, to show
what the factored sweep saves, and checks the factored figures against it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcost import analyze, load_spec  # noqa: E402
from convcost.net.sweep import sweep  # noqa: E402


def main() -> None:
    spec = load_spec(ROOT / "specs" / "mobilenet_v1.yaml")
    alphas = [round(0.25 + 0.01 * i, 2) for i in range(100)]  # 0.25 .. 1.24
    resolutions = [96 + 2 * i for i in range(100)]  # 96 .. 294
    start = time.perf_counter()
    result = sweep(spec, alphas, resolutions)
    grid = time.perf_counter() - start
    print(f"sweep 100 α × 100 resolutions = {len(result.points):,} points: {grid:.3f} s "
          f"(target < 2 s; factored: {result.factored})")

    corner = [(a, r) for a in alphas[:10] for r in resolutions[:10]]
    start = time.perf_counter()
    full = [analyze(spec, alpha=a, resolution=r).totals for a, r in corner]
    per_point = (time.perf_counter() - start) / len(corner)
    print(f"one full analysis per point: {per_point * 1e3:.3f} ms/point, "
          f"{per_point * len(result.points):.2f} s for the grid "
          f"({per_point * len(result.points) / grid:.1f}× the factored sweep)")
    same = all((t.params, t.macs) == (result.at(i, j).params, result.at(i, j).macs)
               for (i, j), t in zip(((i, j) for i in range(10) for j in range(10)), full,
                                    strict=True))
    print(f"factored == per-point analysis on the 10 × 10 corner: {same}")


if __name__ == "__main__":
    main()
