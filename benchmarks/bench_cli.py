"""End-to-end cost of ``convcost layer`` and ``convcost model`` against ``import torch``, in one run.

Each command runs as a fresh ``sys.executable`` subprocess with its output piped (as in a script
or CI); the best of ``--repeat`` runs counts (after one warm-up run each, so the file cache is warm
for all). Prints the times and each command's ratio to the torch import; the targets are
``convcost layer`` and ``convcost model specs/mobilenet_v2.yaml --no-verify`` (the whole table:
153 leaves, totals, by class, separable pairs) at most 0.1 × the torch import. Nothing is
asserted.

    python benchmarks/bench_cli.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

TARGET = 0.1
ROOT = Path(__file__).resolve().parents[1]
LAYER = ["-m", "convcost", "layer", "--cin", "64", "--cout", "128", "--k", "3", "--hw", "224"]
MODEL = ["-m", "convcost", "model", "specs/mobilenet_v2.yaml", "--no-verify"]
COMMANDS = {
    "python -c pass (interpreter floor)": ["-c", "pass"],
    "convcost layer (table)": LAYER,
    "convcost layer --format json": [*LAYER, "--format", "json"],
    "convcost model mobilenet_v2 --no-verify (table)": MODEL,
    "convcost model mobilenet_v2 --no-verify --format json": [*MODEL, "--format", "json"],
    'python -c "import torch"': ["-c", "import torch"],
}
RATIOS = ("convcost layer (table)", "convcost layer --format json",
          "convcost model mobilenet_v2 --no-verify (table)",
          "convcost model mobilenet_v2 --no-verify --format json")


def best_of(args: Sequence[str], repeat: int) -> float:
    """The fastest of ``repeat`` wall-clock runs of ``python args``, in seconds."""
    command = [sys.executable, *args]
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs per command (best counts)")
    repeat = parser.parse_args(argv).repeat
    times = {name: best_of(args, repeat) for name, args in COMMANDS.items()}
    width = max(map(len, times))
    for name, seconds in times.items():
        print(f"{name:<{width}}  {seconds * 1000:8.1f} ms")
    torch = times['python -c "import torch"']
    for name in RATIOS:
        ratio = times[name] / torch
        verdict = "meets" if ratio <= TARGET else "misses"
        print(f"{name} / import torch = {ratio:.3f}  ({verdict} the ≤ {TARGET} target)")


if __name__ == "__main__":
    main()
