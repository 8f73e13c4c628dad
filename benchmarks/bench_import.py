"""Import + analyse a model against fvcore counting the same module, in one process.

After ``import torch`` (and torchvision), both sides get the same resnet50 ``nn.Module``:
convcost traces it (torch.fx + shape propagation), writes the spec and analyses it;
fvcore runs ``FlopCountAnalysis(model, x).total()``. The best of ``--repeat`` runs counts;
the goal is a ratio of at most 1×. Then the time to import an ONNX mobilenet_v2 (exported
once, untimed, with BatchNorm folded by the exporter): in this process (read + spec +
analysis), and end to end as ``convcost model mobilenet_v2.onnx --no-verify`` in a fresh
process, each in seconds and as a ratio to ``python -c "import torch"`` timed in the same run
(and the first to fvcore's resnet50 count). Nothing is asserted.

    python benchmarks/bench_import.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

GOAL = 1.0


def best_of(run: Callable[[], Any], repeat: int) -> float:
    """The fastest of ``repeat`` wall-clock runs (after one warm-up), in seconds."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def convcost_run(model: Any, source: str, shape: tuple[int, ...]) -> Callable[[], Any]:
    from convcost.net.analysis import analyze
    from convcost.runtime.importer.convert import to_spec
    from convcost.runtime.importer.trace import trace
    from convcost.spec.loader import parse_spec

    def run() -> Any:
        imported = to_spec(trace(model, shape, source), source)
        return analyze(parse_spec(imported.spec)).totals

    return run


def fvcore_run(model: Any, shape: tuple[int, ...]) -> Callable[[], Any]:
    import torch
    from fvcore.nn import FlopCountAnalysis

    x = torch.zeros(shape)

    def run() -> Any:
        analysis = FlopCountAnalysis(model, (x,))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return analysis.total()

    return run


def onnx_run(path: str) -> Callable[[], Any]:
    from convcost.net.analysis import analyze
    from convcost.runtime.importer.convert import to_spec
    from convcost.runtime.importer.onnx_read import read_onnx
    from convcost.spec.loader import parse_spec

    return lambda: analyze(parse_spec(to_spec(read_onnx(path), path).spec)).totals


CONVCOST = ["-m", "convcost"]


def process(args: list[str]) -> Callable[[], Any]:
    """One run of ``python args`` in a fresh process, its output discarded."""
    return lambda: subprocess.run([sys.executable, *args], check=True, capture_output=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.getLogger("fvcore").disabled = True
    import torch

    from convcost.runtime.importer.resolve import import_torchvision

    models = import_torchvision().models
    shape = (1, 3, 224, 224)
    resnet = models.resnet50(weights=None).eval()
    with torch.no_grad():
        ours = best_of(convcost_run(resnet, "torchvision:resnet50", shape), args.repeat)
        theirs = best_of(fvcore_run(resnet, shape), args.repeat)
    print(f"resnet50, input {'x'.join(map(str, shape))}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, best of {args.repeat}")
    print(f"  convcost import + analyse          {ours * 1e3:9.1f} ms")
    print(f"  fvcore FlopCountAnalysis().total() {theirs * 1e3:9.1f} ms")
    print(f"  ratio {ours / theirs:.2f}× (goal ≤ {GOAL:g}×)")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "mobilenet_v2.onnx")
        with contextlib.redirect_stdout(io.StringIO()):
            torch.onnx.export(models.mobilenet_v2(weights=None).eval(), (torch.zeros(shape),), path)
        seconds = best_of(onnx_run(path), args.repeat)
        cli = best_of(process([*CONVCOST, "model", path, "--no-verify"]), args.repeat)
    torch_import = best_of(process(["-c", "import torch"]), args.repeat)
    print("ONNX mobilenet_v2 (BN folded by the exporter), best of", args.repeat)
    print(f"  import + analyse, in this process  {seconds:8.3f} s = {seconds / torch_import:.2f}× "
          f"import torch, {seconds / theirs:.2f}× fvcore's resnet50 count")
    print(f"  convcost model m.onnx --no-verify  {cli:8.3f} s = {cli / torch_import:.2f}× import torch "
          "(a fresh process)")
    print(f'  python -c "import torch"          {torch_import:8.3f} s')


if __name__ == "__main__":
    main()
