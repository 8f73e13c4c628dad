"""Analysed node tree -> a torch ``nn.Module`` whose module names are the node names.

Torch is imported lazily, inside functions only. Every leaf op becomes one module through
the one table :data:`FACTORIES` (op class -> module factory); every block becomes a
:class:`Block` module that runs its children in its ``flow`` (see :mod:`convcost.cost.graph`).
Dotted top-level names (``features.3``) nest inside plain container modules, so
``dict(model.named_modules())`` holds every node name and fvcore's ``by_module()`` keys
match the rows of ``convcost model`` one to one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from types import MappingProxyType, SimpleNamespace
from typing import TYPE_CHECKING, Any

from convcost.cost.graph import Node
from convcost.cost.ops import (
    Activation,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    Opaque,
    Pool,
    Scale,
    Shuffle,
)
from convcost.errors import ConvcostError
from convcost.net.analysis import Analysis

if TYPE_CHECKING:
    from torch import nn

# Activation fn -> torch.nn class name.
ACTIVATION_MODULES: Mapping[str, str] = MappingProxyType({
    "relu": "ReLU", "relu6": "ReLU6", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid",
    "sigmoid": "Sigmoid", "silu": "SiLU",
})


@cache
def _classes() -> SimpleNamespace:
    """The small module classes of convcost (defined on first use: they need torch)."""
    import torch
    from torch import nn

    class AddModule(nn.Module):
        """Residual sum ``a + b``."""

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return a + b

    class ScaleModule(nn.Module):
        """Squeeze-excitation ``x * gate``."""

        def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
            return x * gate

    class ConcatModule(nn.Module):
        """Channel concatenation ``cat((a, b), 1)``."""

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.cat((a, b), 1)

    class ShuffleModule(nn.Module):
        """ShuffleNet channel shuffle: view, transpose, view."""

        def __init__(self, groups: int) -> None:
            super().__init__()
            self.groups = groups

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n, c, h, w = x.shape
            x = x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous()
            return x.view(n, c, h, w)

    class OpaqueModule(nn.Module):
        """Stands in for an op convcost cannot express: its measured params and output shape."""

        def __init__(self, params: int, shape: tuple[int, ...]) -> None:
            super().__init__()
            self.opaque_params = nn.Parameter(torch.zeros(params))
            self.shape = shape

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.new_zeros((x.shape[0], *self.shape))

    class Block(nn.Module):
        """Runs its children in a ``flow``; the children are registered under their names."""

        def __init__(self, flow: str, roles: dict[str, list[nn.Module]]) -> None:
            super().__init__()
            self.flow = flow
            # Plain lists: the modules are registered (and named) by add_module elsewhere.
            self._main, self._side = roles.get("main", []), roles.get("side", [])
            self._merge, self._post = roles.get("merge", []), roles.get("post", [])

        def _seq(self, modules: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
            for module in modules:
                x = module(x)
            return x

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.flow == "seq":
                return self._seq(self._main, x)
            merge = self._merge[0]
            if self.flow == "gate":
                return self._seq(self._post, merge(x, self._seq(self._main, x)))
            if self.flow == "split":
                left, right = x.chunk(2, 1)
                return self._seq(self._post, merge(left, self._seq(self._main, right)))
            side = self._seq(self._side, x)  # residual without side: the identity
            return self._seq(self._post, merge(side, self._seq(self._main, x)))

    return SimpleNamespace(Add=AddModule, Scale=ScaleModule, Concat=ConcatModule,
                           Shuffle=ShuffleModule, Opaque=OpaqueModule, Block=Block, Namespace=nn.Module)


def _nn(name: str) -> Any:
    """The ``torch.nn`` class called ``name``."""
    from torch import nn

    return getattr(nn, name)


Factory = Callable[[Any, Node], Any]  # (op, node) -> torch.nn.Module

# The builder: one factory per op class. BatchNorm picks 2d/1d by the input's rank.
FACTORIES: Mapping[type, Factory] = MappingProxyType({
    Conv2d: lambda op, _: _nn("Conv2d")(op.in_channels, op.out_channels, op.kernel, op.stride,
                                        op.padding, op.dilation, op.groups, op.bias),
    BatchNorm: lambda op, node: _nn("BatchNorm2d" if len(node.input_shape) == 4 else "BatchNorm1d")(
        op.channels, affine=op.affine),
    Linear: lambda op, _: _nn("Linear")(op.in_features, op.out_features, op.bias),
    Pool: lambda op, _: _nn("MaxPool2d" if op.op == "max" else "AvgPool2d")(
        op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode),
    AdaptivePool: lambda op, _: _nn("AdaptiveMaxPool2d" if op.op == "max" else "AdaptiveAvgPool2d")(
        op.output_size),
    Activation: lambda op, _: _nn(ACTIVATION_MODULES[op.fn])(),
    Flatten: lambda op, _: _nn("Flatten")(),
    Dropout: lambda op, _: _nn("Dropout")(op.p),
    Add: lambda op, _: _classes().Add(),
    Scale: lambda op, _: _classes().Scale(),
    Concat: lambda op, _: _classes().Concat(),
    Shuffle: lambda op, _: _classes().Shuffle(op.groups),
    Opaque: lambda op, _: _classes().Opaque(op.params, op.shape),
})


def _attach(owner: nn.Module, relative: str, module: nn.Module) -> None:
    """Register ``module`` under the dotted ``relative`` name, nesting plain containers."""
    *path, last = relative.split(".")
    for part in path:
        child = owner._modules.get(part)
        if child is None:
            child = _classes().Namespace()
            owner.add_module(part, child)
        owner = child
    if last in owner._modules:
        raise ConvcostError(f"cannot build: two layers are both named {relative!r}")
    owner.add_module(last, module)


def _module(node: Node) -> nn.Module:
    if node.op is None:
        return _block(node, node.name)
    module: nn.Module = FACTORIES[type(node.op)](node.op, node)
    return module


def _block(node: Node, parent: str) -> nn.Module:
    """A :class:`Block` running ``node``'s children, registered relative to ``parent``."""
    children = [(child, _module(child)) for child in node.children]
    roles: dict[str, list[nn.Module]] = {}
    for child, module in children:
        roles.setdefault(child.role, []).append(module)
    block: nn.Module = _classes().Block(node.flow, roles)
    for child, module in children:
        relative = child.name[len(parent) + 1:] if parent else child.name
        _attach(block, relative, module)
    return block


def build(analysis: Analysis) -> nn.Module:
    """The torch model of ``analysis``: ``named_modules()`` names are the node names."""
    return _block(analysis.root, "")
