"""Helpers shared by the test packages: paths, a torch blocker, hand-written figures, strategies."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from convcost.cost.ops import Conv2d, Padding

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
ALL_SPECS = sorted(p.stem for p in SPECS.glob("*.yaml"))
BLOCKED = ("torch", "fvcore")
# the fast loop's sample of the shipped specs: a chain, a residual net and the graph format
FAST_SPECS = ("mobilenet_v1", "resnet18", "googlenet")


def every_spec(names: list[Any] | None = None) -> list[Any]:
    """Shipped specs (names or paths) as test parameters: the fast loop runs FAST_SPECS; make test
    (``--run-slow``) also the specs that together hold every layer kind (``covering_specs``),
    marked ``slow``; make test-all every spec, the others being marked ``exhaustive`` (the same
    proof on more of the same kinds). The sample is computed only when slow tests run (the
    conftest then sets CONVCOST_TESTS_EXAMPLES): the fast loop skips them all anyway."""
    import pytest

    names = ALL_SPECS if names is None else names
    stems = [Path(str(name)).stem for name in names]
    sample = covering_specs(tuple(stems)) if os.environ.get("CONVCOST_TESTS_EXAMPLES") else None
    return [name if stem in FAST_SPECS else pytest.param(
                name, marks=pytest.mark.slow if sample is None or stem in sample else pytest.mark.exhaustive)
            for name, stem in zip(names, stems, strict=True)]


def spec_kinds(name: str) -> frozenset[str]:
    """What a per-spec proof exercises in the shipped spec ``name``: the kinds of its layers at
    every level (a leaf's kind, a built-in block such as ``inverted_residual``; not the spec's
    own ``blocks:`` templates, nor a conv unit's ``conv+bn+relu`` label) and its top-level keys
    (``width_multiplier``, ``blocks``...)."""
    from convcost.net.analysis import analyze
    from convcost.spec.loader import load_spec
    from convcost.spec.yamlsafe import load_yaml

    raw = load_yaml((SPECS / f"{name}.yaml").read_text(encoding="utf-8"))
    own = set(raw.get("blocks") or {})
    analysis = analyze(load_spec(SPECS / f"{name}.yaml"))
    kinds = {node.label for level, node in analysis.root.walk() if level}
    return frozenset({k for k in kinds if k not in own and "+" not in k} | {f"key:{k}" for k in raw})


@functools.cache
def covering_specs(names: tuple[str, ...]) -> tuple[str, ...]:
    """Few, small specs of ``names`` that together hold every kind any of them holds
    (``spec_kinds``): greedily, the spec with the most kinds not yet held per leaf it has; then
    the largest first, each spec whose kinds the others hold is dropped (a run on it would repeat
    theirs)."""
    from convcost.net.analysis import analyze
    from convcost.spec.loader import load_spec

    kinds = {name: spec_kinds(name) for name in names}
    size = {name: len(analyze(load_spec(SPECS / f"{name}.yaml")).leaves()) for name in names}
    left, chosen = set().union(*kinds.values()), []
    while left:
        best = max(sorted(names), key=lambda name: len(kinds[name] & left) / size[name])
        chosen.append(best)
        left -= kinds[best]
    for name in sorted(chosen, key=lambda name: (-size[name], name)):
        others = [other for other in chosen if other != name]
        if kinds[name] <= set().union(*(kinds[other] for other in others)):
            chosen = others
    return tuple(sorted(chosen))


def kind_sample(names: list[str] | None = None, sample: tuple[str, ...] | None = None) -> list[Any]:
    """Shipped spec names as the parameters of a test that repeats one proof per spec (a torch
    build, a trace, a tool run): ``make test`` runs ``sample`` (by default the specs that together
    hold every layer kind, ``covering_specs``: a new spec with a new kind joins it by itself); the
    others are marked ``exhaustive`` (``make test-all``), the same proof on more of the same kinds."""
    import pytest

    names = ALL_SPECS if names is None else names
    keep = covering_specs(tuple(names)) if sample is None else sample
    return [name if name in keep else pytest.param(name, marks=pytest.mark.exhaustive) for name in names]


def blocked_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose PYTHONPATH shadows torch and fvcore with packages that fail to import."""
    for name in BLOCKED:
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text(f'raise ImportError("{name} is blocked for this test")\n')
    path = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def materialised(analysis: Any) -> Any:
    """The built model of ``analysis`` (eval), built on the meta device and materialised
    uninitialised, then zeroed: for tests whose figures depend on shapes only, so that big
    models (vgg16's 138 M parameters) cost no random initialisation."""
    import torch

    from convcost.runtime.build import build

    with torch.device("meta"):
        model = build(analysis)
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            tensor.zero_()
    return model.eval()


def examples(full: int, fast: int | None = None) -> int:
    """Hypothesis examples of a property: ``full`` under ``--run-exhaustive`` (make test-all), half
    under ``--run-slow`` (make test), a sixth in the fast loop (at least 20 either way), or
    ``fast`` there when given (a costly draw): the same properties on fewer draws. Each run
    draws anew (CI starts without a hypothesis database)."""
    scale = os.environ.get("CONVCOST_TESTS_EXAMPLES")
    if scale is None and fast is not None:
        return fast
    return full if scale == "full" else max(20, full // (2 if scale == "half" else 6))


def load_script(path: Path, name: str) -> Any:
    """A script that is no package module (``benchmarks/coverage.py``), imported as ``name`` (not
    its stem, which may be an installed package's: coverage) for its tests."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def v1_macs_by_hand(res: int) -> int:
    """MobileNet V1 (paper Table 1) conv + fc MACs at resolution ``res``, written out."""
    s = res // 2  # stem: 3x3 s2, 3 -> 32
    macs = s * s * 32 * 3 * 9
    plan = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2),
            *[(512, 512, 1)] * 5, (512, 1024, 2), (1024, 1024, 1)]
    for cin, cout, stride in plan:
        s = (s - 1) // stride + 1  # 3x3 pad 1: floor((s + 2 - 3) / stride) + 1
        macs += s * s * cin * 9 + s * s * cin * cout  # depthwise + pointwise
    return macs + 1024 * 1000  # fc


@dataclass(frozen=True)
class ConvCase:
    op: Conv2d
    batch: int
    height: int
    width: int

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.op.in_channels, self.height, self.width)


def _size(draw: st.DrawFn, kernel: int, dilation: int, pad_total: int) -> int:
    """An input size at least the dilated kernel span, less the padding."""
    least = max(1, dilation * (kernel - 1) + 1 - pad_total)
    return draw(st.integers(least, least + 6))


@st.composite
def conv_cases(draw: st.DrawFn) -> ConvCase:
    """Small valid convolutions: groups divide both channel counts; depthwise when cin == groups."""
    groups = draw(st.integers(1, 4))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kinds = ["int", "pair", "same"] if stride == (1, 1) else ["int", "pair"]
    kind = draw(st.sampled_from(kinds))
    padding: Padding
    if kind == "same":
        padding = "same"
        totals = (dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1))
    else:
        first = draw(st.integers(0, 3))
        padding = (first, first) if kind == "int" else (first, draw(st.integers(0, 3)))
        totals = (2 * padding[0], 2 * padding[1])
    op = Conv2d(cin, cout, kernel, stride, padding, dilation, groups, draw(st.booleans()))
    return ConvCase(op, draw(st.integers(1, 2)), _size(draw, kernel[0], dilation[0], totals[0]),
                    _size(draw, kernel[1], dilation[1], totals[1]))




@dataclass(frozen=True)
class Measured:
    """A finished ``python -m convcost`` child: its exit code, streams, wall time and peak RSS."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    rss_mib: float


# A fresh, small Python forks the measured child: a child forked straight from pytest would
# report pytest's own RSS as its ru_maxrss (Linux keeps the fork-time high-water mark across exec).
_FRESH_FORK = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def run_child(argv: list[str], cwd: Path, env: dict[str, str] | None = None, stdin: Any = subprocess.DEVNULL,
              timeout: float = 120, interrupt_after: float | None = None) -> Measured:
    """Run ``argv`` and measure it: exit code, streams, wall seconds and the child's own peak RSS.
    Killed (its whole process group) after ``timeout`` seconds; with ``interrupt_after``, sent
    SIGINT (Ctrl-C) then, and ``seconds`` is the time it took to exit after the signal."""
    import signal
    import sys
    import tempfile
    import threading
    import time

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-S", "-c", _FRESH_FORK, rss.name, *argv], cwd=cwd,
                                env=env, stdin=stdin, stdout=out, stderr=err, start_new_session=True)
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        if interrupt_after is not None:
            time.sleep(interrupt_after)
            os.killpg(proc.pid, signal.SIGINT)
            start = time.monotonic()
        try:
            proc.wait()
        finally:
            timer.cancel()
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        kib = rss.read().strip()
        return Measured(proc.returncode, out.read().decode("utf-8", "replace"),
                        err.read().decode("utf-8", "replace"), seconds, int(kib or 0) / 1024)


def measured(args: list[str], cwd: Path = ROOT, timeout: float = 120,
             env: dict[str, str] | None = None, stdin: Any = subprocess.DEVNULL,
             interrupt_after: float | None = None) -> Measured:
    """``python -m convcost ARGS``, measured as :func:`run_child` does."""
    import sys

    return run_child([sys.executable, "-m", "convcost", *args], cwd, env, stdin, timeout, interrupt_after)


def one_line_error(result: object, code: int = 2, fragment: str = "") -> str:
    """Assert a CLI result failed with ``code``: exactly one stderr line, no traceback."""
    stderr: str = getattr(result, "stderr")  # noqa: B009  (click's Result and CompletedProcess)
    stdout: str = getattr(result, "stdout")  # noqa: B009
    exit_code = getattr(result, "exit_code", getattr(result, "returncode", None))
    assert exit_code == code, (exit_code, stderr, stdout[-500:])
    assert "Traceback" not in stderr + stdout, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr[:2000]
    assert fragment in lines[0], lines[0]
    return lines[0]


# -- running the peer tools on one torch module (tests/torch only: imports torch lazily) --------


@dataclass(frozen=True)
class ToolResult:
    """What a tool reports for a model: its count, parameter total and fvcore's unsupported ops."""

    count: int
    params: int | None
    unsupported: tuple[str, ...]
    output_shape: tuple[int, ...]


def run_tool_on_module(tool: str, make: Callable[[], Any], shape: tuple[int, ...]) -> ToolResult:
    """Run ``tool`` on ``Sequential(make())`` in eval on zeros of ``shape``, silently."""
    import contextlib
    import io
    import logging
    import warnings

    import torch
    from torch import nn

    model = nn.Sequential(make()).eval()
    x = torch.zeros(shape)
    with torch.no_grad():
        output_shape = tuple(model(x).shape)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        try:
            count, params, unsupported = _TOOLS[tool](model, x)
        finally:
            logging.disable(logging.NOTSET)
    return ToolResult(count, params, unsupported, output_shape)


def _fvcore_run(model: Any, x: Any) -> tuple[int, int | None, tuple[str, ...]]:
    from fvcore.nn import FlopCountAnalysis, parameter_count

    analysis = FlopCountAnalysis(model, (x,)).unsupported_ops_warnings(False)
    total = analysis.uncalled_modules_warnings(False).total()
    unsupported = tuple(op for op, n in analysis.unsupported_ops().items() for _ in range(n))
    return total, parameter_count(model)[""], unsupported


def _thop_run(model: Any, x: Any) -> tuple[int, int | None, tuple[str, ...]]:
    import thop

    macs, params = thop.profile(model, inputs=(x,), verbose=False)
    assert float(macs).is_integer() and float(params).is_integer()  # floats holding integers
    return int(macs), int(params), ()


def _ptflops_run(model: Any, x: Any) -> tuple[int, int | None, tuple[str, ...]]:
    from ptflops import get_model_complexity_info

    macs, params = get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False,
                                             print_per_layer_stat=False,
                                             input_constructor=lambda _: x.clone())
    return macs, params, ()


def _torchinfo_run(model: Any, x: Any) -> tuple[int, int | None, tuple[str, ...]]:
    import torchinfo

    stats = torchinfo.summary(model, input_data=x, verbose=0)
    return stats.total_mult_adds, stats.total_params, ()


def _torch_run(model: Any, x: Any) -> tuple[int, int | None, tuple[str, ...]]:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops(), None, ()


_TOOLS: dict[str, Callable[[Any, Any], tuple[int, int | None, tuple[str, ...]]]] = {
    "fvcore": _fvcore_run, "thop": _thop_run, "ptflops": _ptflops_run,
    "torchinfo": _torchinfo_run, "torch": _torch_run,
}


# -- torchvision's squeezenet1_1, its Fire modules as a user-defined block (issue 12) ---------

_FIRE_BLOCK = """\
  fire:                # torchvision's Fire: squeeze 1×1, then 1×1 and 3×3 expands, concatenated
    args: [squeeze, expand]
    layers:
      - {kind: conv, name: squeeze, out_channels: "${squeeze}", kernel_size: 1, bias: true,
         act: relu}
      - kind: parallel
        name: expand
        branches:
          - {kind: conv, name: expand1x1, out_channels: "${expand}", kernel_size: 1,
             bias: true, act: relu}
          - {kind: conv, name: expand3x3, out_channels: "${expand}", kernel_size: 3,
             bias: true, act: relu}
"""
_FIRES = [("fire2", 16, 64), ("fire3", 16, 64), ("pool3", 0, 0), ("fire4", 32, 128),
          ("fire5", 32, 128), ("pool5", 0, 0), ("fire6", 48, 192), ("fire7", 48, 192),
          ("fire8", 64, 256), ("fire9", 64, 256)]


def squeezenet_spec(fire: Callable[[str, int, int], str]) -> str:
    """torchvision's squeezenet1_1, each Fire module written by ``fire``."""
    pool = "  - {{kind: pool, name: {}, op: max, kernel_size: 3, stride: 2, ceil_mode: true}}\n"
    body = "".join(pool.format(name) if name.startswith("pool") else fire(name, s, e)
                   for name, s, e in _FIRES)
    return ("name: squeezenet1_1\ninput: {channels: 3, resolution: 224}\nlayers:\n"
            "  - {kind: conv, name: conv1, out_channels: 64, kernel_size: 3, stride: 2, "
            "padding: 0, bias: true, act: relu}\n" + pool.format("pool1") + body +
            "  - {kind: dropout, name: drop, p: 0.5}\n"
            "  - {kind: conv, name: conv10, out_channels: 1000, kernel_size: 1, bias: true, "
            "act: relu, width: fixed}\n"
            "  - {kind: pool, name: avgpool, op: avg, global: true}\n"
            "  - {kind: flatten, name: flatten}\n")


SQUEEZENET_BLOCKS = squeezenet_spec(
    lambda name, s, e: f"  - {{kind: fire, name: {name}, squeeze: {s}, expand: {e}}}\n"
).replace("layers:\n  - {kind: conv, name: conv1", "blocks:\n" + _FIRE_BLOCK
          + "layers:\n  - {kind: conv, name: conv1", 1)
SQUEEZENET_BY_HAND = squeezenet_spec(lambda name, s, e: f"""\
  - kind: sequential
    name: {name}
    layers:
      - {{kind: conv, name: squeeze, out_channels: {s}, kernel_size: 1, bias: true, act: relu}}
      - kind: parallel
        name: expand
        branches:
          - {{kind: conv, name: expand1x1, out_channels: {e}, kernel_size: 1, bias: true,
             act: relu}}
          - {{kind: conv, name: expand3x3, out_channels: {e}, kernel_size: 3, bias: true,
             act: relu}}
""")


def analysis_of(name: str, **overrides: Any) -> Any:
    """The analysis of the shipped spec ``specs/NAME.yaml`` (overrides: alpha, resolution, batch...)."""
    import convcost

    return convcost.analyze(convcost.load_spec(SPECS / f"{name}.yaml"), **overrides)


# A small encoder-decoder through a transposed conv and an upsample (fractional jumps):
# its receptive fields are computed by hand in tests/unit/test_receptive.py.
DECODER = """\
name: decoder
input: {channels: 3, resolution: 32}
layers:
  - {kind: conv, name: down, out_channels: 4, kernel_size: 3, stride: 2}
  - {kind: conv, name: down2, out_channels: 4, kernel_size: 3, stride: 2}
  - {kind: conv_transpose, name: up, out_channels: 4, kernel_size: 4, stride: 2, padding: 1}
  - {kind: upsample, name: up2, scale: 2}
  - {kind: conv, name: head, out_channels: 2, kernel_size: 3}
"""


def graph_of(text: str, shape: tuple[int, ...] | None = None, tracer: str = "auto") -> Any:
    """The importer's IR of the model named by ``text`` (torch tests only: it traces)."""
    from convcost.frontend.source import parse_source
    from convcost.runtime.importer.api import read_graph

    return read_graph(parse_source(text), shape, tracer)[1]
