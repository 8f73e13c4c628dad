"""Cross-check an analysis against torch and fvcore on the built model, exactly.

Per node: the analytic count under the fvcore convention vs fvcore's ``by_module()``, the
analytic params vs the module's ``sum(p.numel())``, the analytic output shape vs the shape
a forward hook saw. In total: params vs ``sum(p.numel())``, paper MACs vs
``FlopCounterMode`` FLOPs / 2 (independent of TorchScript). Agreement is integer equality.
Torch and fvcore are imported inside functions only; nothing here prints.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.conventions.rules import FVCORE, PAPER
from convcost.cost.graph import Node
from convcost.cost.value import FLOPS_PER_MAC, Shape
from convcost.errors import ConvcostError, MissingDependencyError
from convcost.net.analysis import Analysis
from convcost.runtime.guard import Notify, guard

if TYPE_CHECKING:
    from torch import nn

INSTALL_HINT = "pip install 'convcost[torch]'"
REQUIRES = ("torch", "fvcore")
# Integer arithmetic on shapes (the shuffle's x.shape, c // g): not ops on data, not listed.
BOOKKEEPING = frozenset({"aten::size", "aten::Int", "aten::ScalarImplicit", "aten::floor_divide"})


def available() -> bool:
    """Whether torch and fvcore are installed (looked up without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in REQUIRES)


def missing_message() -> str:
    return f"the cross-check needs torch and fvcore: {INSTALL_HINT}"


@dataclass(frozen=True)
class Mismatch:
    """One figure on which convcost and the tool disagree (``layer`` "" is the whole model)."""

    layer: str
    figure: str
    convcost: Any
    tool: Any


@dataclass(frozen=True)
class LayerCheck:
    """One node of the analysis against its module in the built model."""

    name: str
    label: str
    leaf: bool
    count: int  # analytic, fvcore convention
    fvcore: int
    params: int
    torch_params: int
    shape: Shape
    torch_shape: Shape | None  # None: the module never ran
    direct: bool = False  # its forward is called directly (no hook fires, fvcore gives its ops
    # to the caller): only its params are compared here, its count and shape in the parent's
    opaque: bool = False  # an opaque layer: a region of ops named after its first module (it
    # may take in ops of later ones), so only its count is compared here, as a lower bound; its
    # params and shape in the totals

    def mismatches(self) -> Iterator[Mismatch]:
        for figure, ours, theirs in (("fvcore", self.count, self.fvcore),
                                     ("params", self.params, self.torch_params),
                                     ("output_shape", self.shape, self.torch_shape)):
            if ours == theirs or (figure != "params" and self.direct):
                continue
            if self.opaque and (figure != "fvcore" or self.count <= self.fvcore):
                continue  # a lower bound below the tool's count: no disagreement
            yield Mismatch(self.name, figure, ours, theirs)

    @property
    def ok(self) -> bool:
        return next(self.mismatches(), None) is None


@dataclass(frozen=True)
class Verification:
    """The cross-check of one analysis: per-node checks, totals and fvcore's skipped ops."""

    model: str
    convention: str
    tools: str  # versions, e.g. "torch 2.13.0, fvcore 0.1.5"
    layers: tuple[LayerCheck, ...]
    count: int  # analytic total, fvcore convention
    fvcore: int
    params: int
    torch_params: int
    macs: int  # analytic, paper convention
    counter_flops: int  # torch.utils.flop_counter.FlopCounterMode
    unsupported: Counter[str]  # fvcore's unsupported_ops(): counted 0
    ignored: Counter[str]  # ops fvcore ignores as free
    lower_bounds: bool = False  # opaque layers: the counts are lower bounds, compared as such

    @property
    def direct(self) -> tuple[str, ...]:
        """Layers whose forward the model calls directly: compared as part of their parent."""
        return tuple(check.name for check in self.layers if check.direct)

    @property
    def counter_macs(self) -> int:
        return self.counter_flops // FLOPS_PER_MAC

    def mismatches(self) -> list[Mismatch]:
        totals = [Mismatch("", figure, ours, theirs) for figure, ours, theirs in (
            ("fvcore", self.count, self.fvcore),
            ("params", self.params, self.torch_params),
            ("flop_counter_flops", FLOPS_PER_MAC * self.macs, self.counter_flops),
        ) if ours != theirs and not (self.lower_bounds and figure != "params" and ours < theirs)]
        layers = sorted(self.layers, key=lambda check: not check.leaf)  # the leaves name the cause
        return [m for layer in layers for m in layer.mismatches()] + totals

    @property
    def ok(self) -> bool:
        return not self.mismatches()


def require_torch() -> None:
    """Import torch and fvcore, or say how to install them (looked up first, not imported)."""
    if not available():
        raise MissingDependencyError(missing_message())
    try:
        with warnings.catch_warnings():  # fvcore's import trips torch.jit deprecations
            warnings.simplefilter("ignore")
            import fvcore.nn  # noqa: F401
            import torch  # noqa: F401
    except ImportError as err:  # installed but broken: its reason, when it gives one
        reason = f" ({err})" if str(err) else ""
        raise MissingDependencyError(f"{missing_message()}{reason}") from None


@contextmanager
def quiet() -> Iterator[None]:
    """No grad, one thread, and no warnings or fvcore log lines (restored afterwards)."""
    import torch

    logger = logging.getLogger("fvcore")
    disabled, threads = logger.disabled, torch.get_num_threads()
    logger.disabled = True
    torch.set_num_threads(1)  # the values are never read; one thread starts fastest
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.disabled = disabled
        torch.set_num_threads(threads)


def hooked_forward(model: nn.Module, names: list[str], x: Any) -> tuple[dict[str, Shape], int]:
    """One forward on ``x`` (a tensor, or a tuple of the model's inputs): every named module's
    output shape, and FlopCounterMode's FLOPs."""
    args = x if isinstance(x, tuple) else (x,)
    from convcost.runtime.flop_count import flop_counter

    shapes: dict[str, Shape] = {}
    modules = dict(model.named_modules(remove_duplicate=False))  # a shared module: every name

    def hook(name: str) -> Callable[..., None]:
        def record(module: nn.Module, args: Any, output: Any) -> None:
            first = output[0] if isinstance(output, tuple) else output  # MHA: (out, weights)
            shapes[name] = tuple(first.shape)
        return record

    handles = [modules[name].register_forward_hook(hook(name)) for name in names]
    try:
        try:
            with flop_counter() as counter:
                model(*args)
        except AssertionError:  # FlopCounterMode's module tracker needs autograd (timm cait, pit)
            import torch

            with torch.enable_grad(), flop_counter() as counter:
                model(*args)
    finally:
        for handle in handles:
            handle.remove()
    return shapes, int(counter.get_total_flops())


def fvcore_by_module(model: nn.Module, x: Any) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """On ``x`` (a tensor, or a tuple of the model's inputs), fvcore's ``by_module()``,
    ``unsupported_ops()`` and the ignored ops it met (attention on the math path, as
    FlopCounterMode's)."""
    from fvcore.nn import FlopCountAnalysis

    from convcost.runtime.flop_count import math_attention

    analysis = FlopCountAnalysis(model, x if isinstance(x, tuple) else (x,))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    ignored: Counter[str] = Counter()

    def recorder(op: str) -> Callable[[Any, Any], int]:
        def record(inputs: Any, outputs: Any) -> int:
            ignored[op] += 1
            return 0
        return record

    # An ignored op given a zero handle is still counted 0, but now we see it.
    free = sorted(set(getattr(analysis, "_ignored_ops", ())) - BOOKKEEPING)
    analysis.set_op_handle(**{op: recorder(op) for op in free})
    with math_attention():  # MHA's fast path would hide its projections from fvcore
        by_module = Counter({name: int(count) for name, count in analysis.by_module().items()})
    return by_module, Counter(analysis.unsupported_ops()), ignored


def _layer_checks(nodes: Sequence[Node], modules: Mapping[str, nn.Module], by_module: Counter[str],
                  shapes: Mapping[str, Shape]) -> tuple[LayerCheck, ...]:
    """One check per module. A module that several nodes share (``shares:``) is checked once,
    under its first name, against their summed counts and params: fvcore counts every call
    there, and torch holds its parameters once."""
    first: dict[int, str] = {}
    for name, module in modules.items():
        first.setdefault(id(module), name)
    counts: Counter[str] = Counter()
    params: Counter[str] = Counter()
    for node in nodes:
        key = first[id(modules[node.name])]
        counts[key] += FVCORE.count(node)
        params[key] += node.params
    return tuple(
        LayerCheck(node.name, node.label, node.is_leaf, counts[node.name], by_module[node.name],
                   params[node.name], sum(p.numel() for p in modules[node.name].parameters()),
                   node.output_shape, shapes.get(node.name))
        for node in nodes if first[id(modules[node.name])] == node.name
    )


def verify(analysis: Analysis, notify: Notify | None = None) -> Verification:
    """Build ``analysis`` in torch (eval) and compare every figure exactly. Prints nothing.

    The memory a real forward pass needs is estimated first and refused past the limit
    (:mod:`convcost.runtime.guard`). One real model (fvcore's TorchScript trace cannot run on
    meta tensors) gives the output shapes, params, FlopCounterMode's FLOPs and fvcore's
    per-module count: on the meta device, torch's shape checks import sympy (a second).
    """
    if not available():  # the install hint before any estimate
        raise MissingDependencyError(missing_message())
    guard([analysis], "the torch cross-check", "skip it with --no-verify", notify)
    require_torch()
    import fvcore
    import torch

    from convcost.runtime.build import build

    nodes = [node for level, node in analysis.root.walk() if level]
    with quiet(), _out_of_memory():
        model = build(analysis).eval()
        x = tuple(torch.zeros(shape) for shape in analysis.input_shapes)
        shapes, counter_flops = hooked_forward(model, [n.name for n in nodes], x)
        by_module, unsupported, ignored = fvcore_by_module(model, x)
    checks = _layer_checks(nodes, dict(model.named_modules(remove_duplicate=False)), by_module,
                           shapes)
    tools = f"torch {torch.__version__}, fvcore {getattr(fvcore, '__version__', '?')}"
    return Verification(
        analysis.model, FVCORE.name, tools, checks, FVCORE.total(analysis),
        by_module[""], analysis.totals.params, sum(p.numel() for p in model.parameters()),
        PAPER.total(analysis), counter_flops, unsupported, ignored,
    )


@contextmanager
def _out_of_memory() -> Iterator[None]:
    """An allocation torch could not make is bad input (too big to run), not a crash."""
    try:
        yield
    except (MemoryError, RuntimeError) as err:
        if isinstance(err, RuntimeError) and "alloc" not in str(err).lower():
            raise
        raise ConvcostError("torch ran out of memory running the network: skip the cross-check "
                            "with --no-verify, or lower CONVCOST_MEMORY_LIMIT") from None
