"""In-process analysis speed: mobilenet_v2.yaml, and generated specs of growing length.

Prints times and ratios only; targets (issue 3): mobilenet_v2 well under 5 ms, a
10,000-layer spec under 1 s, cost linear in the layer count.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from convcost import analyze, load_spec  # noqa: E402


def best_of(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def generated_spec(layers: int) -> str:
    """A long chain cycling conv, dsconv and inverted residual blocks at 32 channels."""
    kinds = [
        "{kind: conv, out_channels: 32, bn: true, act: relu}",
        "{kind: dsconv, out_channels: 32}",
        "{kind: inverted_residual, out_channels: 32, expand_ratio: 2}",
        "{kind: bn}",
    ]
    body = "\n".join(f"  - {kinds[i % len(kinds)]}" for i in range(layers))
    return f"name: chain{layers}\ninput: {{channels: 32, resolution: 16}}\nlayers:\n{body}\n"


def main() -> None:
    spec = load_spec(ROOT / "specs" / "mobilenet_v2.yaml")
    analysis = best_of(lambda: analyze(spec), 50)
    loading = best_of(lambda: load_spec(ROOT / "specs" / "mobilenet_v2.yaml"), 50)
    print(f"mobilenet_v2: analyze {analysis * 1e3:.2f} ms, load_spec {loading * 1e3:.2f} ms "
          f"(target: well under 5 ms)")
    times: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1_000, 2_500, 5_000, 10_000):
            path = Path(tmp) / f"chain{n}.yaml"
            path.write_text(generated_spec(n))
            times[n] = best_of(partial(lambda p: analyze(load_spec(p)), path), 3)
            print(f"{n:>6} layers: load + analyze {times[n] * 1e3:8.1f} ms "
                  f"({times[n] / n * 1e6:.1f} µs/layer)")
    growth = times[10_000] / times[1_000]
    print(f"10,000 layers: {times[10_000]:.3f} s (target < 1 s); 10× layers cost {growth:.1f}× "
          f"(linear = 10×)")


if __name__ == "__main__":
    main()
