"""mobilenet_v2's analysis now against an earlier revision of convcost, in one run.

Exports the revision (default ``05f54f8``, the last commit before the graph format of issue 12)
with ``git archive`` into a temporary directory, then times ``analyze`` of mobilenet_v2 (best of
200) in a fresh interpreter for each tree, in turns, and prints the ratio of each round.
Target (issue 12): within 1.2× of the revision.
``python benchmarks/bench_against_revision.py [REVISION] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.2
TIMER = """
import sys, time
from convcost import analyze, load_spec
spec = load_spec(sys.argv[1])
best = float("inf")
for _ in range(200):
    start = time.perf_counter()
    analyze(spec)
    best = min(best, time.perf_counter() - start)
print(best)
"""


def export(revision: str, into: Path) -> Path:
    """The tree of ``revision`` under ``into`` (git archive, no checkout)."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True,
                         capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    return into


def analysis_seconds(tree: Path) -> float:
    """Best time of one mobilenet_v2 analysis with ``tree``'s convcost, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", TIMER, str(tree / "specs" / "mobilenet_v2.yaml")],
                         cwd=tree, env={"PYTHONPATH": str(tree)}, check=True,
                         capture_output=True, text=True).stdout
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", nargs="?", default="05f54f8")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = export(args.revision, Path(tmp))
        ratios = []
        for _ in range(args.rounds):  # in turns, so load hits both alike
            then, now = analysis_seconds(base), analysis_seconds(ROOT)
            ratios.append(now / then)
            print(f"mobilenet_v2 analyse: {args.revision} {then * 1e3:.3f} ms, now "
                  f"{now * 1e3:.3f} ms, ratio {now / then:.3f}")
    best = min(ratios)
    verdict = "meets" if best <= TARGET else "misses"
    print(f"now / {args.revision} = {best:.3f} (best of {args.rounds} rounds; {verdict} the "
          f"≤ {TARGET}× target)")


if __name__ == "__main__":
    main()
