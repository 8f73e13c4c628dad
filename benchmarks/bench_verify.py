"""The cost of the torch/fvcore cross-check on mobilenet_v2.yaml. Prints times and ratios only.

Targets:
(a) ``convcost model specs/mobilenet_v2.yaml`` with the cross-check costs at most the torch
    import (``python -c "import torch"``) plus 1.0 s of wall time (issue 19 §7). torch 2.13's
    first dispatch of a TorchDispatchMode imports ``torch._dynamo`` (about as long as torch
    itself); convcost counts without that import (runtime/flop_count.py), so the run costs
    torch + convcost's own share. The runs of each command are interleaved, so that a loaded
    machine slows them alike; the best of each and the spread (max - min) over the runs are
    printed, with the ratio of the bests. convcost's bytecode is compiled first, as an install
    does: a checkout run under ``PYTHONDONTWRITEBYTECODE`` recompiles convcost's modules on
    every run (about 0.25 s more on a quiet core), a cost of the checkout, not of the check;
(b) the in-process analytic analysis is at least 100× faster than fvcore's trace of the
    built model.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_analysis import best_of  # noqa: E402  (this script's folder is on sys.path)

from convcost import analyze, load_spec  # noqa: E402

SPEC = ROOT / "specs" / "mobilenet_v2.yaml"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def interleaved(commands: dict[str, list[str]], rounds: int = 5
                ) -> dict[str, tuple[list[float], list[float]]]:
    """Wall and CPU times (user + sys) of each command, run in turn ``rounds`` times."""
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in commands}
    for _ in range(rounds):
        for name, argv in commands.items():
            start, cpu = time.perf_counter(), _children_cpu()
            subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
            times[name][0].append(time.perf_counter() - start)
            times[name][1].append(_children_cpu() - cpu)
    return times


def command_line(rounds: int = 5) -> None:
    py = sys.executable
    subprocess.run([py, "-m", "compileall", "-q", str(ROOT / "convcost")], check=True,
                   capture_output=True)  # the bytecode an install writes, before the first run
    times = interleaved({
        "python -c 'import torch'": [py, "-c", "import torch"],
        "python -c 'import torch, torch._dynamo'": [py, "-c", "import torch, torch._dynamo"],
        "convcost model mobilenet_v2 --no-verify": [py, "-m", "convcost", "model", str(SPEC),
                                                    "--no-verify"],
        "convcost model mobilenet_v2 (verified)": [py, "-m", "convcost", "model", str(SPEC)],
    }, rounds)
    for name, (wall, cpu) in times.items():
        print(f"(a) {name:42} wall best {min(wall):6.2f} s (spread {max(wall) - min(wall):5.2f} s), "
              f"CPU best {min(cpu):6.2f} s (spread {max(cpu) - min(cpu):5.2f} s), {len(wall)} runs")
    for what, index in (("wall", 0), ("CPU", 1)):
        torch_import = min(times["python -c 'import torch'"][index])
        checked = min(times["convcost model mobilenet_v2 (verified)"][index])
        extra = checked - torch_import
        verdict = "within" if extra <= 1.0 else "OVER"
        print(f"    {what}: verified run = torch import + {extra:.2f} s ({checked / torch_import:.2f}× "
              f"the import; target + 1.0 s: {verdict})")


def in_process() -> None:
    import torch
    from fvcore.nn import FlopCountAnalysis

    from convcost.runtime.build import build

    spec = load_spec(SPEC)
    analytic = best_of(lambda: analyze(spec), 50)
    model = build(analyze(spec)).eval()
    x = torch.zeros(1, 3, 224, 224)

    def trace() -> None:
        counter = FlopCountAnalysis(model, (x,)).unsupported_ops_warnings(False)
        counter.uncalled_modules_warnings(False).tracer_warnings("none").total()

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        trace()  # warm up
        for threads in (torch.get_num_threads(), 1):  # verify traces with one thread
            torch.set_num_threads(threads)
            traced = best_of(trace, 5)
            ratio = traced / analytic
            verdict = "met" if ratio >= 100 else "NOT met"
            print(f"(b) {threads} thread(s): analyze(mobilenet_v2) {analytic * 1e3:.2f} ms; fvcore trace "
                  f"of the built model {traced * 1e3:.1f} ms; analytic is {ratio:,.0f}× faster "
                  f"(target ≥ 100×: {verdict})")


def main() -> None:
    command_line()
    in_process()


if __name__ == "__main__":
    main()
