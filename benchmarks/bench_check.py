"""``convcost check specs/`` end to end, against ``python -c "import torch"``.

Both run as fresh subprocesses, best of a few runs. Target (issue 5): the check over every
shipped spec, with the baseline, in under 0.5 s wall, never importing torch. Prints only.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = [sys.executable, "-m", "convcost", "check", "specs/", "--baseline", "convcost-baseline.json"]
TORCH = [sys.executable, "-c", "import torch"]
RUNS = 5


def wall(argv: list[str], runs: int = RUNS) -> float:
    """Best wall time of ``runs`` runs of ``argv`` from the repo root (each must exit 0)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    specs = len(list((ROOT / "specs").glob("*.yaml")))
    probe = [sys.executable, "-c",
             "import runpy, sys; sys.argv = ['convcost', 'check', 'specs/', '-f', 'json'];\n"
             "try: runpy.run_module('convcost', run_name='__main__')\n"
             "except SystemExit: pass\n"
             "print('torch imported:', 'torch' in sys.modules, file=sys.stderr)"]
    imported = subprocess.run(probe, cwd=ROOT, capture_output=True, text=True).stderr.strip()
    check, torch = wall(CHECK), wall(TORCH)
    print(f"convcost check specs/ ({specs} specs, with baseline): {check:.3f} s wall "
          f"(best of {RUNS}; target < 0.5 s); {imported.splitlines()[-1]}")
    print(f'python -c "import torch": {torch:.3f} s wall (best of {RUNS})')
    print(f"ratio check / import torch: {check / torch:.2f}")


if __name__ == "__main__":
    main()
