"""End-to-end start-up cost of ``convcost layer`` against ``import torch``, in one run.

Each command runs as a fresh ``sys.executable`` subprocess; the best of ``--repeat`` runs counts
(after one warm-up run each, so the file cache is warm for both). Prints both times and the ratio;
the target is ``convcost layer`` under 0.1 × the torch import. Nothing is asserted.

    python benchmarks/bench_cli.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence

TARGET = 0.1
LAYER = ["-m", "convcost", "layer", "--cin", "64", "--cout", "128", "--k", "3", "--hw", "224"]
COMMANDS = {
    "python -c pass (interpreter floor)": ["-c", "pass"],
    "convcost layer (table)": LAYER,
    "convcost layer --format json": [*LAYER, "--format", "json"],
    'python -c "import torch"': ["-c", "import torch"],
}


def best_of(args: Sequence[str], repeat: int) -> float:
    """The fastest of ``repeat`` wall-clock runs of ``python args``, in seconds."""
    command = [sys.executable, *args]
    subprocess.run(command, check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
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
    for name in ("convcost layer (table)", "convcost layer --format json"):
        ratio = times[name] / torch
        verdict = "meets" if ratio < TARGET else "misses"
        print(f"{name} / import torch = {ratio:.3f}  ({verdict} the < {TARGET} target)")


if __name__ == "__main__":
    main()
