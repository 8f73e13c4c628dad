"""``profile --backend onnxruntime``: every fused group, and the whole model, exported to ONNX
(torch's TorchScript exporter) and timed in an onnxruntime CPU session (all graph
optimisations on, ``intra_op_num_threads`` = torch's thread count). Imported lazily.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from convcost.errors import ConvcostError, MissingDependencyError
from convcost.net.analysis import Analysis


def _ort() -> Any:
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import onnxruntime
    except ImportError:
        raise MissingDependencyError(
            "--backend onnxruntime needs onnxruntime and onnx: pip install 'convcost[onnx]'"
        ) from None
    return onnxruntime


def _session(ort: Any, torch: Any, module: Any, args: tuple[Any, ...], threads: int) -> Any:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module, args, buffer, dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])


def _call(session: Any, args: tuple[Any, ...]) -> Callable[[], Any]:
    feeds = {i.name: a.numpy() for i, a in zip(session.get_inputs(), args, strict=True)}
    return lambda: session.run(None, feeds)


def ort_call(torch: Any, module: Any, args: tuple[Any, ...], threads: int) -> tuple[Callable[[], Any], str]:
    """One onnxruntime forward of ``module`` on ``args`` (exported once), and ort's version."""
    ort = _ort()
    return _call(_session(ort, torch, module, args, threads), args), str(ort.__version__)


def ort_runner(torch: Any, analysis: Analysis, groups: Sequence[Any], runs: tuple[int, int],
               timed: Any, ticker: Any, record: Any, progress: Any
               ) -> tuple[list[list[float]], list[float]]:
    """Per-group and end-to-end seconds with onnxruntime on the cpu."""
    from convcost.runtime.build import build

    ort = _ort()
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    if len(analysis.inputs) > 1:
        raise ConvcostError(f"{analysis.model}: --backend onnxruntime times a model of one input; "
                            f"this one takes {len(analysis.inputs)} (use the torch backend)")
    model = build(analysis).eval()
    x = torch.randn(*analysis.input_shape)
    modules = dict(model.named_modules())
    tick = ticker((len(groups) + 1) * sum(runs), progress)
    with torch.no_grad():
        inputs = record(model, modules, groups, x)
        whole = _session(ort, torch, model, (x,), threads)
        total = timed(_call(whole, (x,)), runs, lambda: None, tick)
        times = [timed(_call(_session(ort, torch, modules[g.name], inputs[g.name], threads),
                             inputs[g.name]), runs, lambda: None, tick) for g in groups]
    return times, total
