"""The cost of the torch/fvcore cross-check on mobilenet_v2.yaml. Prints times and ratios only.

Targets (issue 4):
(a) ``convcost model specs/mobilenet_v2.yaml`` with the cross-check costs at most the torch
    import (``python -c "import torch"``) plus 1.5 s of wall time. Since torch 2.13 the first
    dispatch of any TorchDispatchMode (FlopCounterMode included) imports ``torch._dynamo``
    (about as long as torch itself), so the remainder past ``import torch, torch._dynamo``
    is printed too: that is convcost's own share;
(b) the in-process analytic analysis is at least 100× faster than fvcore's trace of the
    built model.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_analysis import best_of  # noqa: E402  (this script's folder is on sys.path)

from convcost import analyze, load_spec  # noqa: E402

SPEC = ROOT / "specs" / "mobilenet_v2.yaml"


def wall(argv: list[str], repeats: int = 5) -> float:
    def run() -> None:
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)

    return best_of(run, repeats)


def command_line() -> None:
    torch_import = wall([sys.executable, "-c", "import torch"])
    checked = wall([sys.executable, "-m", "convcost", "model", str(SPEC)])
    analytic = wall([sys.executable, "-m", "convcost", "model", str(SPEC), "--no-verify"])
    extra = checked - torch_import
    verdict = "within" if extra <= 1.5 else "OVER"
    with_dynamo = wall([sys.executable, "-c", "import torch, torch._dynamo"])
    print(f"(a) python -c 'import torch':               {torch_import:6.2f} s")
    print(f"    python -c 'import torch, torch._dynamo': {with_dynamo:6.2f} s")
    print(f"    convcost model mobilenet_v2 --no-verify: {analytic:6.2f} s")
    print(f"    convcost model mobilenet_v2 (verified):  {checked:6.2f} s = torch import + {extra:.2f} s "
          f"({checked / torch_import:.2f}× the import; target + 1.5 s: {verdict})")
    print(f"    of which convcost's own (past torch + torch._dynamo): {checked - with_dynamo:.2f} s")


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
