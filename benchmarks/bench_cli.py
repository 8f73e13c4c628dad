"""End-to-end cost of ``convcost layer`` and ``convcost model`` against ``import torch``, in one run.

Each command runs as a fresh ``sys.executable`` subprocess with its output piped (as in a script
or CI). The package's bytecode is compiled first and kept (as ``pip install`` leaves it, even when
PYTHONDONTWRITEBYTECODE is set here); after one warm-up run each, the commands take turns,
``--repeat`` rounds, so a busy machine slows all of them alike, and the best run of each counts.
Prints wall-clock times and CPU times (user + system, steadier on a shared machine) and each
command's ratio to the torch import; the targets are ``convcost layer`` and ``convcost model
specs/mobilenet_v2.yaml --no-verify`` (the whole table: 153 leaves, totals, by class, separable
pairs) at most 0.1 × the torch import. Nothing is asserted.

    python benchmarks/bench_cli.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import compileall
import os
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


def timed(args: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of ``python args``."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
    else:  # pragma: no cover - Windows
        proc.wait()
        cpu = float("nan")
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(args)}: exit {proc.returncode}")
    return wall, cpu


def best_of(repeat: int) -> dict[str, tuple[float, float]]:
    """The fastest wall-clock and CPU time of each command over ``repeat`` rounds."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    compileall.compile_dir(ROOT / "convcost", quiet=1)
    best = {name: (float("inf"), float("inf")) for name in COMMANDS}
    for args in COMMANDS.values():
        timed(args, env)  # warm-up: the file cache
    for _ in range(repeat):
        for name, args in COMMANDS.items():
            wall, cpu = timed(args, env)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="rounds (the best run counts)")
    times = best_of(parser.parse_args(argv).repeat)
    width = max(map(len, times))
    for name, (wall, cpu) in times.items():
        print(f"{name:<{width}}  wall {wall * 1000:8.1f} ms  cpu {cpu * 1000:8.1f} ms")
    torch_wall, torch_cpu = times['python -c "import torch"']
    for name in RATIOS:
        ratio, cpu_ratio = times[name][0] / torch_wall, times[name][1] / torch_cpu
        verdict = "meets" if ratio <= TARGET else "misses"
        print(f"{name} / import torch = {ratio:.3f}  ({verdict} the ≤ {TARGET} target; "
              f"cpu {cpu_ratio:.3f})")


if __name__ == "__main__":
    main()
