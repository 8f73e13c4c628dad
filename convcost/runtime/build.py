"""Analysed node tree -> a torch ``nn.Module`` whose module names are the node names.

Torch is imported lazily, inside functions only. Every leaf op becomes one module through
its kind's factory (:attr:`convcost.cost.opkind.OpKind.module`); every block becomes a
:class:`Block` module that runs its children along its wires (see :mod:`convcost.cost.graph`).
Dotted top-level names (``features.3``) nest inside plain container modules, so
``dict(model.named_modules())`` holds every node name and fvcore's ``by_module()`` keys
match the rows of ``convcost model`` one to one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from convcost.cost.graph import Node, Parts, outputs, wire_values
from convcost.cost.registry import op_kind
from convcost.errors import ConvcostError
from convcost.net.analysis import Analysis

if TYPE_CHECKING:
    from torch import nn


@cache
def _classes() -> SimpleNamespace:
    """The small module classes of convcost (defined on first use: they need torch)."""
    import torch
    from torch import nn

    class Block(nn.Module):
        """Runs its children along its wires (:func:`convcost.cost.graph.run_wires`)."""

        def __init__(self, node: Node, modules: list[nn.Module]) -> None:
            super().__init__()
            self._wires = node.wiring
            self._outputs = outputs(node)
            self._inputs = [name for name, _ in node.extra_inputs]  # the model's other inputs
            # A plain list: the modules are registered (and named) by add_module elsewhere.
            self._parts = modules
            self._calls = [_caller(child) for child in node.children]

        def forward(self, x: torch.Tensor) -> Any:
            return self._run(x, ())

        def _run(self, x: torch.Tensor, others: tuple[torch.Tensor, ...]) -> Any:
            """The wires run on ``x`` and the model's other named inputs."""
            values = wire_values(self._wires, x, lambda i, args: self._calls[i](self._parts[i], args),
                                 _split, dict(zip(self._inputs, others, strict=True)))
            if len(self._outputs) > 1:  # the model's several outputs, in order
                return tuple(values[name] for name in self._outputs)
            return values[self._outputs[0]]

    class InputsBlock(Block):
        """A block that reads the model's other named inputs too: ``forward(x, *others)``
        (one-input blocks keep ``forward(x)``, which torch.fx traces)."""

        def forward(self, x: torch.Tensor, *others: torch.Tensor) -> Any:
            if len(others) != len(self._inputs):
                raise TypeError(f"forward takes {1 + len(self._inputs)} inputs, got {1 + len(others)}")
            return self._run(x, others)

    def _split(t: torch.Tensor, parts: Parts) -> tuple[torch.Tensor, ...]:
        """``torch.chunk`` into equal parts, or ``torch.split`` into channel counts."""
        if isinstance(parts, int):
            return tuple(t.chunk(parts, 1))
        return tuple(torch.split(t, list(parts), 1))

    return SimpleNamespace(Block=Block, InputsBlock=InputsBlock, Namespace=nn.Module)


def _caller(node: Node) -> Callable[[Any, tuple[Any, ...]], Any]:
    """How a block calls ``node``'s module on its inputs: its kind's ``call``, or ``m(*args)``."""
    call = op_kind(node.op).call if node.op is not None else None
    if call is None:
        return lambda module, args: module(*args)
    op = node.op
    return lambda module, args: call(op, module, args)


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
    module: nn.Module = op_kind(node.op).module(node.op, node.input_shape)
    return module


def _block(node: Node, parent: str) -> nn.Module:
    """A :class:`Block` running ``node``'s children, registered relative to ``parent``."""
    built: dict[str, nn.Module] = {}
    for child in node.children:  # a child that shares weights is the same module object
        built[child.name] = built[child.shares] if child.shares in built else _module(child)
    children = [(child, built[child.name]) for child in node.children]
    classes = _classes()
    kind = classes.InputsBlock if node.extra_inputs else classes.Block
    block: nn.Module = kind(node, [module for _, module in children])
    for child, module in children:
        relative = child.name[len(parent) + 1:] if parent else child.name
        _attach(block, relative, module)
    return block


def build(analysis: Analysis) -> nn.Module:
    """The torch model of ``analysis``: ``named_modules()`` names are the node names."""
    return _block(analysis.root, "")
