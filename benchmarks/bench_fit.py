"""In-process ``convcost fit`` speed: a grid of more than 10⁴ designs on mobilenet_v1.yaml.

31 α (0.25 … 1.0, step 0.025) × 9 resolutions (96 … 224, step 16) × 48 depth plans (stage2,
stage3, stage5: 1-2 copies; stage4: 1-6) = 13,392 designs, searched against a 300 M MACs
budget. Target (issue 23): under 10 s. Prints the time, its ratio to the target, and the
ratio to one full analysis per design (timed on 100 designs) — what the search saves.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcost import analyze, load_spec  # noqa: E402
from convcost.net.fit import FitBudget, fit, repeated_stages, with_depths  # noqa: E402

TARGET_S = 10.0


def main() -> None:
    spec = load_spec(ROOT / "specs" / "mobilenet_v1.yaml")
    alphas = [round(0.25 + 0.025 * i, 3) for i in range(31)]
    resolutions = list(range(96, 225, 16))
    start = time.perf_counter()
    result = fit(spec, alphas, resolutions, FitBudget(macs=300_000_000))
    took = time.perf_counter() - start
    print(f"fit {len(alphas)} α × {len(resolutions)} resolutions × depths = {result.searched:,} "
          f"designs: {took:.3f} s, {took / TARGET_S:.3f}× the 10 s target; {result.fitting:,} "
          f"fit, {len(result.front)} on the front")
    stages = repeated_stages(spec)
    sample = result.front[:100]
    start = time.perf_counter()
    for d in sample:
        analyze(with_depths(spec, stages, d.depths), alpha=d.alpha, resolution=d.resolution)
    per_design = (time.perf_counter() - start) / len(sample)
    print(f"one full analysis per design: {per_design * 1e3:.2f} ms, "
          f"{per_design * result.searched:.1f} s for the grid "
          f"({per_design * result.searched / took:.1f}× the search)")


if __name__ == "__main__":
    main()
