"""Graph specs at scale: a generated spec of up to 100,000 leaves with branches and concats.

Each unit of 12 leaves reads the previous unit's output by name (``from:``), runs a side
conv, a ``parallel`` of two branches, a ``concat`` of three tensors, a 1×1 conv back to 8
channels and a ``split`` of two branches. Times load + analyse + memory trace at growing
sizes (best of 3; of 1 above 30,000 leaves) and prints seconds per 10,000 leaves; linear
time = a flat column. A second column times the same with Python's cyclic garbage collector
paused: its generational passes rescan the growing heap of live nodes, which is what bends
the first column upward; the work of convcost itself is the second.
``python benchmarks/bench_graph.py [leaves ...]``.
"""

from __future__ import annotations

import gc
import sys
import tempfile
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_analysis import best_of  # noqa: E402

from convcost import analyze, load_spec  # noqa: E402
from convcost.cost.memory import model_memory  # noqa: E402

LEAVES_PER_UNIT = 12


def unit(i: int) -> str:
    """Twelve leaves on an 8-channel input named ``x{i-1}`` (``input`` for the first)."""
    prev = f"x{i - 1}" if i else "input"
    return f"""\
  - {{kind: pwconv, name: a{i}, out_channels: 4, from: {prev}}}
  - {{kind: conv, name: b{i}, out_channels: 4, kernel_size: 3, from: {prev}}}
  - kind: parallel
    name: p{i}
    branches:
      - {{kind: pwconv, out_channels: 2}}
      - {{kind: dwconv, kernel_size: 3, bn: true, act: relu}}
  - {{kind: concat, name: c{i}, from: [a{i}, p{i}, {prev}]}}
  - {{kind: pwconv, name: y{i}, out_channels: 8}}
  - kind: split
    name: x{i}
    branches: [{{kind: bn}}, {{kind: act, fn: relu}}]
"""


def graph_spec(leaves: int) -> str:
    units = leaves // LEAVES_PER_UNIT
    body = "".join(unit(i) for i in range(units))
    return f"name: graph{leaves}\ninput: {{channels: 8, resolution: 8}}\nlayers:\n{body}"


def run(path: Path) -> int:
    analysis = analyze(load_spec(path))
    model_memory(analysis.root)
    return len(analysis.leaves())


def run_without_gc(path: Path) -> int:
    gc.disable()
    try:
        return run(path)
    finally:
        gc.enable()


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [12_000, 25_008, 50_004, 100_008]
    with tempfile.TemporaryDirectory() as tmp:
        per_10k: dict[int, tuple[float, float]] = {}
        for size in sizes:
            path = Path(tmp) / f"graph{size}.yaml"
            path.write_text(graph_spec(size), encoding="utf-8")
            leaves = run(path)
            repeats = 3 if size <= 30_000 else 1
            seconds = best_of(partial(run, path), repeats)
            paused = best_of(partial(run_without_gc, path), repeats)
            per_10k[leaves] = (seconds / leaves * 10_000, paused / leaves * 10_000)
            print(f"{leaves:>7,} leaves: load + analyse + memory {seconds:7.2f} s "
                  f"({per_10k[leaves][0]:.3f} s per 10k leaves; gc paused: {paused:.2f} s, "
                  f"{per_10k[leaves][1]:.3f} s per 10k)")
    low, high = min(per_10k), max(per_10k)
    print(f"s per 10k leaves at {high:,} / at {low:,}: {per_10k[high][0] / per_10k[low][0]:.2f}; "
          f"gc paused {per_10k[high][1] / per_10k[low][1]:.2f} (linear = 1.00)")


if __name__ == "__main__":
    main()
