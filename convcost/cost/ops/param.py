"""``param``: a parameter read directly rather than through a module (ViT's class token and
positional embedding, a layer-scale γ), as a tensor the spec can add or concatenate.
``unused``: the parameters of a module the forward never runs (GoogLeNet's auxiliary heads in
eval), so that params are ``sum(p.numel())``; it passes its input on and runs nothing.

Its ``shape`` is that of the parameter after its leading 1 (``[1, 768]`` for a ``[1, 1, 768]``
class token); the layer reads one tensor for its batch size only and outputs the parameter
expanded to it (``expand``: a view of the parameter, not of its input, so no ``view`` trait).
Params = prod(shape); no MACs. With ``params``, the tensor is gathered from a learnt table of
that many elements (Swin's relative-position bias ``table[index]``, ``[heads, N, N]`` from
``(2w−1)²·heads``), or, with ``params: 0``, it is a buffer (Swin's shifted-window mask). With
``expand: false`` it is the one tensor ``[1, *shape]`` whatever the batch: what follows it runs
once (ViT-RelPos's MLP over a buffer of log-spaced coordinates), as in the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from convcost.cost.imports import Imports, Layer, Traced, fixed
from convcost.cost.opkind import Field, Lowering, Op, OpKind, SpecKind, fields, no_kernel
from convcost.cost.ops.tiling import emit_expand
from convcost.cost.ops.token_imports import emit_param
from convcost.cost.value import LayerCost, Shape


@dataclass(frozen=True)
class Param(Op):
    key: ClassVar[str] = "param"
    shape: tuple[int, ...]
    params: int | None = None  # a gathered table's elements (0: a buffer); None: prod(shape)
    expand: bool = True  # False: [1, *shape] whatever the batch (a buffer an MLP runs on once)


def param(op: Param, x: Shape) -> LayerCost:
    # reads [N, ...] for N only -> [N, *shape] ([1, *shape] unexpanded); params prod(shape) (or
    # the table's); no MACs
    batch = x[0] if op.expand else 1
    return LayerCost(math.prod(op.shape) if op.params is None else op.params, 0, (batch, *op.shape))


@cache
def _param_class() -> type:
    import torch
    from torch import nn

    class Param(nn.Module):
        """A ``[1, *shape]`` parameter expanded to the batch of the tensor it is given."""

        def __init__(self, shape: tuple[int, ...], params: int | None, expand: bool = True) -> None:
            super().__init__()
            self.shape, self.expand = shape, expand  # plain ints: torch.fx traces expand(N, *shape)
            if params is None:
                self.param = nn.Parameter(torch.zeros(1, *shape))
            elif params:  # gathered: table[index], index a buffer
                self.table = nn.Parameter(torch.zeros(params))
                self.register_buffer("index", torch.zeros(math.prod(shape), dtype=torch.long))
            else:
                self.register_buffer("param", torch.zeros(1, *shape))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            table = getattr(self, "table", None)
            value = self.param if table is None else table[self.index].view(1, *self.shape)
            out = value.expand(x.shape[0], *self.shape) if self.expand else value
            # under no_grad a view of a leaf still says requires_grad, with no grad_fn: the
            # module tracker of FlopCounterMode refuses such an output
            return out if torch.is_grad_enabled() else out.detach()

    return Param


def _module(op: Param, _: Shape) -> Any:
    return _param_class()(op.shape, op.params, op.expand)


def _lower(f: Mapping[str, Any], _: Shape, __: Lowering) -> Param:
    return Param(f["shape"], f["params"], f["expand"])


def _emit(node: Traced, x: Shape) -> list[Layer] | None:
    """A parameter expanded (:func:`emit_param`); a tensor the model computed expanded: an
    ``expand`` (HaloNet's relative logits)."""
    if node.inputs and not node.params:
        return emit_expand(node, x)
    return emit_param(node, x)


def _window(_: Param, __: Shape) -> None:
    return None  # a learnt tensor: no spatial footprint of its input


@dataclass(frozen=True)
class Unused(Op):
    """The ``params`` of a module the forward never runs; its output is its input."""

    key: ClassVar[str] = "unused"
    params: int


def unused(op: Unused, x: Shape) -> LayerCost:
    # [N, ...] -> [N, ...] (its input, untouched); params: the module's; no MACs (it never runs)
    return LayerCost(op.params, 0, x)


@cache
def _unused_class() -> type:
    import torch
    from torch import nn

    class UnusedModule(nn.Module):
        """Holds ``params`` parameters and returns its input: a module the forward never runs."""

        def __init__(self, params: int) -> None:
            super().__init__()
            self.unused_params = nn.Parameter(torch.zeros(params))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    return UnusedModule


def _unused_module(op: Unused, _: Shape) -> Any:
    return _unused_class()(op.params)


def _lower_unused(f: Mapping[str, Any], _: Shape, __: Lowering) -> Unused:
    return Unused(f["params"])


UNUSED = OpKind(
    Unused, unused, _unused_module, {"unused": "parameters"}, learnable=True, kernel=no_kernel,
    elementwise=True,
    spec=SpecKind(fields(params=Field("int", doc="the module's parameters")),
                  "written by `convcost import` for a module the forward never runs (GoogLeNet's "
                  "auxiliary heads in eval), named by its path: its parameters are counted (params "
                  "are `sum(p.numel())`), its input passes on, no MACs under any convention"),
    lower=_lower_unused)

PARAM = OpKind(
    Param, param, _module, {"param": "parameters"}, learnable=True, window=_window,
    spec=SpecKind(fields(shape=Field("ints", doc="the parameter's sizes after its leading 1"),
                         params=Field("int", None, nullable=True, minimum=0,
                                      doc="gathered from a learnt table of this many elements "
                                      "(relative-position bias); 0: a buffer; none: prod(shape)"),
                         expand=Field("bool", True, doc="false: the one tensor `[1, ...]` whatever "
                                      "the batch (a buffer that an MLP runs on once: ViT-RelPos's "
                                      "log-spaced coordinates)")),
                  "an `nn.Parameter` read in forward (class token, positional embedding, a "
                  "gathered bias table, a buffer), expanded to the batch of the tensor it reads; "
                  "add or concat it"),
    lower=_lower, imports=Imports(functions={"Tensor.expand": fixed()}, aten={"aten.expand": fixed()},
                                 emit=_emit))

KINDS = (PARAM, UNUSED)
