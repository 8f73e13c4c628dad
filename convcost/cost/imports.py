"""How an op kind is recognised when a model is imported: the ``imports`` of its :class:`OpKind`.

An :class:`Imports` names, as plain strings (no torch here), what the kind is in each front end,
each with a **field reader** that turns the traced call into the op's fields (the IR node's
``attrs``):

* ``modules``: torch module classes by qualified name (``"torch.nn.Conv2d"``), read from the
  module's attributes (``call.module``);
* ``functions``: fx call targets: ``"torch.nn.functional.conv2d"``, ``"torch.cat"``,
  ``"operator.add"``, and tensor methods as ``"Tensor.relu"``;
* ``aten``: ATen ops as torch.export records them, the overload dropped (``"aten.conv2d"``);
  their arguments are in the functional API's order, so a function's reader often serves;
* ``dispatch``: ATen ops as the recorder sees them (below autograd, after decomposition:
  ``"aten.convolution"``), where they differ from torch.export's;
* ``onnx``: ONNX op types (``"Conv"``), read from an :class:`OnnxCall`, and ``onnx_weights``:
  the input positions of an op type that hold learnable weights;
* ``classes``: modules known by their class name, whatever ops they trace to (timm's
  ``GlobalResponseNorm``): the IR nodes of one call of the module, the NCHW shape of its input
  and whether it reads a channels-last view of it -> its spec layers (None: its ops disagree);
* ``signature``: what the traced IR node adds to a block's identity (``emit/blocks.py`` keeps a
  composite when these equal its expansion's ops' ``OpKind.signature``); None (or returning
  None): ``("other", op)``; ``bookkeeping``: the node adds nothing (a reshape, a dropout);
* ``emit``: the IR node on one input (its shape) -> the spec layers that say it (``[]``: a
  no-op; None: the spec cannot express these fields, and the layer stays opaque); ``merge``:
  the same for the node reading several tensors (the shapes of each), for the merges.

A reader returns the fields; one that finds the call is another kind's returns ``(key,
fields)`` (ONNX ``ReduceMean`` exported from ``nn.AdaptiveAvgPool2d``). The importer
(``runtime/importer``) collects these through :mod:`convcost.cost.registry`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from convcost.cost.value import Shape

Fields = dict[str, Any]
Read = Fields | tuple[str, Fields]
Layer = dict[str, Any]
Signature = tuple[Any, ...]
"""What one op adds to a block's identity: ``("conv", in, out, kernel, ...)``, ``("bn", C)``."""


@dataclass(frozen=True)
class TorchCall:
    """One traced torch call: its module (a module call), arguments, input and output shapes."""

    module: Any
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    in_shapes: tuple[Shape, ...]  # of the tensor arguments (parameters included), in order
    shape: Shape  # output (first output of a tuple)
    shapes: tuple[Shape, ...]  # every output (one for a tensor, n for chunk/split)

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        if index < len(self.args):
            return self.args[index]
        return self.kwargs.get(name, default)


@dataclass(frozen=True)
class OnnxCall:
    """One ONNX node: attributes, input and output shapes, small constant inputs."""

    op_type: str
    attrs: Mapping[str, Any]
    in_shapes: tuple[Shape | None, ...]  # every input, "" inputs as None
    constants: tuple[Any, ...]  # small constant input values (lists), None where not constant
    shapes: tuple[Shape, ...]  # outputs
    module_class: str = ""  # the torch module it came from ("torch.nn.modules.flatten.Flatten")
    module_kind: str = ""  # the op key of the kind that declares that module class ("flatten")
    weights: tuple[int, ...] = ()  # the inputs that are learnable weights (see ``onnx_weights``)

    @property
    def shape(self) -> Shape:
        return self.shapes[0]

    def has(self, index: int) -> bool:
        return index < len(self.in_shapes) and self.in_shapes[index] is not None


class Traced(Protocol):
    """What an emitter reads of an IR node (``runtime/importer/ir.py:IRNode``)."""

    @property
    def op(self) -> str: ...
    @property
    def shape(self) -> Shape: ...
    @property
    def inputs(self) -> tuple[str, ...]: ...
    @property
    def params(self) -> int: ...
    @property
    def attrs(self) -> Mapping[str, Any]: ...
    @property
    def target(self) -> str: ...
    def attr(self, key: str, default: Any = None) -> Any: ...


TorchReader = Callable[[TorchCall], Read]
OnnxReader = Callable[[OnnxCall], Read]
Emit = Callable[[Traced, Shape], list[Layer] | None]  # node, its input's shape
Merge = Callable[[Traced, Sequence[Shape]], list[Layer] | None]  # node, its inputs' shapes
Whole = Callable[[Sequence[Traced], Shape, bool], list[Layer] | None]  # nodes, NCHW input, nhwc


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Imports:
    """The import mappings of one op kind (see the module docstring)."""

    modules: Mapping[str, TorchReader] = field(default_factory=_empty)
    functions: Mapping[str, TorchReader] = field(default_factory=_empty)
    aten: Mapping[str, TorchReader] = field(default_factory=_empty)
    dispatch: Mapping[str, TorchReader] = field(default_factory=_empty)
    onnx: Mapping[str, OnnxReader] = field(default_factory=_empty)
    onnx_weights: Mapping[str, tuple[int, ...]] = field(default_factory=_empty)
    classes: Mapping[str, Whole] = field(default_factory=_empty)
    signature: Callable[[Traced], Signature | None] | None = None
    bookkeeping: bool = False
    emit: Emit | None = None
    merge: Merge | None = None


NO_IMPORTS = Imports()


def merge_signature(node: Traced) -> Signature | None:
    """A merge's signature: its op, when it reads two tensors (not a tensor and a scalar)."""
    return (node.op,) if len(node.inputs) == 2 and "scalar" not in node.attrs else None


def fixed(**attrs: Any) -> Callable[[Any], Fields]:
    """A reader that always gives ``attrs`` (any front end)."""
    return lambda _: dict(attrs)


# -- helpers the readers share ----------------------------------------------------------

def pair(value: Any) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(1, 7)`` -> ``(1, 7)``."""
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def spec_size(value: Sequence[int]) -> Any:
    """A spec size: ``(3, 3)`` -> 3; ``(1, 7)`` -> [1, 7]."""
    return value[0] if value[0] == value[1] else list(value)


def onnx_pair(c: OnnxCall, key: str, default: int) -> tuple[int, int]:
    """An ONNX per-axis attribute of two spatial axes (``strides``, ``dilations``)."""
    value = c.attrs.get(key) or [default, default]
    return (int(value[0]), int(value[1]))


def onnx_pads(c: OnnxCall) -> tuple[int, int] | tuple[int, ...]:
    """ONNX ``pads``: symmetric -> (h, w); else top, left, bottom, right."""
    pads = tuple(int(p) for p in c.attrs.get("pads") or (0, 0, 0, 0))
    return pads[:2] if pads[:2] == pads[2:] else pads


def first(value: Any) -> Any:
    """The first item of a constant list (a scalar stays itself)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def text(value: Any) -> str:
    """An ONNX string attribute (bytes) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)
