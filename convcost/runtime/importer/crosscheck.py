"""Cross-check an imported spec's analysis against the ORIGINAL torch module, exactly.

Each top-level layer of the spec came from one module of the model (its name is the module
path): its params are compared with the module's ``sum(p.numel())``, its output shape with
the module's output in a forward pass, its fvcore-convention count with fvcore's
``by_module()`` of that module. In total: params, fvcore's total, and paper MACs against
``FlopCounterMode`` FLOPs / 2, all on the original model. torch is imported inside functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from convcost.conventions.rules import FVCORE, PAPER
from convcost.cost.graph import Node
from convcost.cost.registry import op_kind, uncounted
from convcost.net.analysis import Analysis
from convcost.runtime.importer.record_ops import nms_available
from convcost.runtime.verify import (
    LayerCheck,
    Verification,
    fvcore_by_module,
    hooked_forward,
    quiet,
    require_torch,
)

if TYPE_CHECKING:
    from convcost.runtime.importer.load import Session


def verify_original(analysis: Analysis, session: Session) -> Verification:
    """The analysis of an imported spec against the model it was imported from."""
    require_torch()
    import fvcore
    import torch

    model: Any = session.model
    origins = session.imported.emitted.origins
    modules = dict(model.named_modules())
    layers = [n for n in analysis.root.children if origins.get(n.name) and origins[n.name][0] in modules]
    x = tuple(torch.zeros(shape) for shape in analysis.input_shapes)  # every named input
    with quiet(), nms_available():  # a detector runs its NMS (a CUDA torchvision has none)
        unused = [modules[path] for path, _ in session.imported.graph.unused]
        with _reads(model, unused) as used, _forwards(model) as forwarded:  # one pass: big inputs
            shapes, counter_flops = hooked_forward(model, sorted({origins[n.name][0] for n in layers}), x)
        by_module, unsupported, ignored = fvcore_by_module(model, x)
    calls: dict[str, list[Node]] = {}  # module path -> its layers (several: a shared module)
    for node in layers:
        calls.setdefault(origins[node.name][0], []).append(node)
    checks = [LayerCheck(nodes[0].name, nodes[0].label, nodes[0].is_leaf,
                         sum(FVCORE.count(n) for n in nodes), by_module[path], sum(n.params for n in nodes),
                         sum(p.numel() for p in modules[path].parameters()), nodes[-1].output_shape,
                         _seen(nodes[-1], shapes.get(path)),  # fvcore counts every call; the hook: the last
                         direct=path not in shapes and path in forwarded,
                         opaque=any(uncounted(leaf.op) is not None for n in nodes for leaf in n.leaves()))
              for path, nodes in calls.items()]
    tools = (f"the original {session.text} (torch {torch.__version__}, "
             f"fvcore {getattr(fvcore, '__version__', '?')})")
    return Verification(
        analysis.model, FVCORE.name, tools, tuple(checks), FVCORE.total(analysis), by_module[""],
        analysis.totals.params, used.count, PAPER.total(analysis),
        counter_flops, unsupported, ignored, not analysis.complete,
    )


def _seen(node: Node, shape: Any) -> Any:
    """The module's output shape as the spec sees it. The importer's channels-last view of an
    NCHW tensor (a LayerNorm or Linear on [N, H, W, C]: NesT's, Swin-V2's, VOLO's) keeps the
    layer's NCHW shape; so does an elementwise op (a GroupNorm), or an opaque layer ending in
    a view, on a reshaped tensor (MobileViT-v2's unfolded patches [N, C, P, L]) when batch,
    channels and element count agree: the same tensor, another view. A module run on a buffer
    alone (ViT-RelPos's MLP over its coordinates) has the batch axis of 1 the spec gives it."""
    if shape is None or node.op is None or tuple(shape) == node.output_shape:
        return shape
    out = node.output_shape
    if out == (1, *shape):  # buffer_pass: the same tensor, with a leading axis of 1
        return out
    if len(out) > 2 and tuple(shape) == (out[0], *out[2:], out[1]):
        return out
    if not (op_kind(node.op).elementwise or uncounted(node.op) is not None):
        return shape
    same = tuple(shape[:2]) == out[:2] and math.prod(shape) == math.prod(out)
    return out if same else shape


class _Read:
    """The parameters a pass read, each once (:func:`_reads`)."""

    def __init__(self, params: dict[int, Any], read: set[int]) -> None:
        self.params, self.read = params, read

    @property
    def count(self) -> int:
        return sum(self.params[i].numel() for i in self.read)


@contextmanager
def _reads(model: Any, unused: list[Any]) -> Iterator[_Read]:
    """While inside, the parameters the ops read; with those of the ``unused`` modules
    (GoogLeNet's auxiliary heads in eval: the import writes an ``unused`` layer each), each
    once; a module's weights read by its parent (nn.MultiheadAttention's ``out_proj``) are in.
    A parameter nobody reads, in a module that ran, is left out, as the import notes."""
    from torch.overrides import TorchFunctionMode
    from torch.utils._pytree import tree_leaves

    params = {id(p): p for p in model.parameters()}
    read = {id(p) for module in unused for p in module.parameters()}

    class Reads(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            read.update(id(t) for t in tree_leaves((args, kwargs or {})) if id(t) in params)
            return func(*args, **(kwargs or {}))

    training = model.training
    model.train(True)  # timm's attention-bias caches (EfficientFormer, LeViT) empty on train():
    model.train(training)  # the pass reads the bias table again, as the import's trace did
    with Reads():
        yield _Read(params, read)


def _used_params(model: Any, x: Any, unused: list[Any]) -> int:
    """``sum(p.numel())`` over the parameters a forward pass on ``x`` reads (:func:`_reads`)."""
    import torch

    with torch.no_grad(), _reads(model, unused) as used:
        model(*x)
    return used.count


@contextmanager
def _forwards(model: Any) -> Iterator[set[str]]:
    """The modules whose ``forward`` runs while inside, hooks or not: timm's HRNet calls
    ``module.forward(y)`` directly, so no hook of that module fires."""
    ran: set[str] = set()
    saved: list[tuple[Any, Any]] = []  # (module, its own instance forward, or None)
    for name, module in model.named_modules():
        forward = module.forward

        def spy(*args: Any, _name: str = name, _forward: Any = forward, **kwargs: Any) -> Any:
            ran.add(_name)
            return _forward(*args, **kwargs)

        saved.append((module, module.__dict__.get("forward")))
        module.forward = spy
    try:
        yield ran
    finally:
        for module, own in saved:
            if own is None:
                del module.forward
            else:
                module.forward = own
