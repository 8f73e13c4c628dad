"""How a leaf op kind is declared: one :class:`OpKind` holds everything convcost knows of it.

An op kind (``conv``, ``bn``, ``identity``, ...) is declared once, in a module of
:mod:`convcost.cost.ops`, and collected by :mod:`convcost.cost.registry`. Its declaration holds

* ``op``: the frozen dataclass of its hyper-parameters (a subclass of :class:`Op`);
* ``formula``: shape rule, params and MACs, ``(op, input shape) -> LayerCost``;
* ``module``: the torch module factory, ``(op, input shape) -> nn.Module`` (torch is imported
  inside the factory only, so this package imports without torch);
* ``rule_keys``: the keys under which the counting conventions hold a row for it
  (:mod:`convcost.conventions.rules`), each with the op class ``convcost conventions`` shows,
  and ``keys_of``, the keys one op uses;
* traits: ``view``, ``learnable``, ``folds`` (into the previous conv/linear), ``weight_grad``,
  ``elementwise``, ``inputs`` (2 for a merge), ``reference`` (its last input gives a size
  only), ``window`` (its footprint, for the receptive field), ``layer_class`` (MobileNet's
  Table 2), ``channels_1x1`` (a 1×1 conv on the channels), ``dense`` (the standard op a
  depthwise one and a 1×1 replace), ``kernel`` (the CPU kernel it starts),
  ``uncounted`` (what an opaque layer leaves out), ``fusion`` (head or epilogue of a
  fused conv-BN-activation kernel), ``path`` (the inputs a data path runs through),
  ``affine`` (a norm that learns γ and β), ``axes`` (the input axis each output axis is: a
  permute) and ``signature`` (what it adds to a block's
  identity when the importer matches a traced module against convcost's expansion);
* ``backward``: its backward MACs (grad-input, grad-weight) given which inputs need a gradient,
  for a kind that is not ``weight_grad``'s plain rule (matmul, attention); a kind with forward
  MACs and neither leaves a training figure that says it is a lower bound (cost/training.py);
* ``parts``: for a leaf that is one torch module made of others (Mobile MQA), the ops inside
  it; every convention counts it as the sum of its parts, each by its own rule;
* ``spec``: when the op is also a spec layer kind, its fields (docs, defaults) and ``lower``,
  which turns the validated fields into the op;
* ``imports``: how the importer recognises it (torch modules, functions, aten ops, ONNX op
  types, each with its field reader) and the spec layers it emits (:mod:`convcost.cost.imports`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from convcost.cost.imports import NO_IMPORTS, Imports, Signature
from convcost.cost.value import LayerCost, Shape
from convcost.cost.window import Windows
from convcost.errors import ShapeError, SpecError


class Op:
    """Base of every leaf op: a frozen dataclass of hyper-parameters; ``key`` names its kind."""

    key: ClassVar[str]


OpT = TypeVar("OpT", bound=Op)


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()
"""The default of a spec field that must be given."""


@dataclass(frozen=True)
class Field:
    """One key of a spec mapping: its type, default, allowed values and a one-line doc.

    ``type`` is one of int, number, fraction (in [0, 1)), bool, pair, padding, choice, mapping,
    layers (a non-empty list of layer mappings), text (a printable line), shape (1 to 4 sizes),
    dims (a full tensor shape, 2 to 5 sizes, batch first), ints (a short list of integers),
    sizes (an int or a list of one size per spatial axis; ``choices``: words it also takes).
    """

    type: str
    default: Any = NO_DEFAULT
    choices: tuple[str, ...] = ()
    minimum: int = 1
    nullable: bool = False
    doc: str = ""


def fields(**entries: Field) -> Mapping[str, Field]:
    """A read-only ``key -> Field`` table, in the order given."""
    return MappingProxyType(entries)


@dataclass(frozen=True)
class SpecKind:
    """A spec layer kind: its fields, what it becomes (for the docs) and cross-field checks.

    ``check(fields, path)`` raises a SpecError for combinations the fields alone allow.
    ``max_leaves`` is the most leaf ops one layer of the kind expands to: it bounds a network's
    size before it is expanded (tests/unit/test_leaf_bound.py checks it against the expansion).
    """

    fields: Mapping[str, Field]
    doc: str
    check: Callable[[Mapping[str, Any], str], None] | None = None
    max_leaves: int = 1


def checked(rule: Callable[[OpT, Shape], object], op: OpT, x: Shape, path: str) -> OpT:
    """``op``, lowered from a spec layer, once its shape ``rule`` accepts the input ``x``; the
    rule's :class:`ShapeError` is a :class:`SpecError` at the field ``path``."""
    try:
        rule(op, x)
    except ShapeError as err:
        raise SpecError(str(err), path=path) from None
    return op


class Lowering(Protocol):
    """What turning a spec layer into an op may need beyond its fields (see net/expand.py)."""

    @property
    def path(self) -> str:
        """The layer's field path, e.g. ``layers[3]``."""

    @property
    def checks_inputs(self) -> bool:
        """Declared input sizes describe the spec at α = 1: they are checked only then."""

    def channels(self, key: str) -> int:
        """The channel count of field ``key`` after the width multiplier."""

    @property
    def inputs(self) -> tuple[Shape, ...]:
        """The shapes of every tensor the layer reads (a merge reads several)."""

    @property
    def inputs_path(self) -> str:
        """The field that names those tensors (``layers[3].from``), for shape errors."""


@dataclass(frozen=True)
class KernelForm:
    """How a CPU runtime runs an op that starts a kernel (:mod:`convcost.net.kernels`).

    ``cls``: the kernel class (``conv``, ``dwconv``, ``linear``, ``add``, ``pool``,
    ``attention``); ``fan_in``/``fan_out``: a conv's input channels per group and output
    channels, a per-position linear's in and out features (0: neither); ``inputs``: the tensors
    it reads (an add of several); ``pool``: a pool's mode, ``window`` its window's elements (0:
    adaptive, the whole input); ``reads``/``scores``: an attention's q + k + v elements and its
    B·heads·Lq·Lk scores, ``heads``/``head_width`` its heads; ``kernel_stride``: a 2-D conv's
    or windowed pool's kernel and stride (the sampled configurations are of those).
    """

    cls: str
    fan_in: int = 0
    fan_out: int = 0
    inputs: int = 1
    pool: str = ""
    window: int = 0
    reads: int = 0
    scores: int = 0
    heads: int = 0
    head_width: int = 0
    kernel_stride: tuple[tuple[int, ...], tuple[int, ...]] | None = None


class _Convolution(Protocol):
    @property
    def in_channels(self) -> int: ...
    @property
    def out_channels(self) -> int: ...
    @property
    def groups(self) -> int: ...


def conv_kernel(op: _Convolution, _: Shape) -> KernelForm:
    """A convolution's kernel (transposed, 1-D, 3-D): MACs per window over input channels per
    group, per patch element over output channels."""
    return KernelForm("conv", op.in_channels // op.groups, op.out_channels)


class _Norm(Protocol):
    @property
    def affine(self) -> bool: ...


def learns_affine(op: _Norm) -> bool:
    """A norm's ``affine`` trait: whether it learns γ and β (its ``affine`` field)."""
    return op.affine


def no_kernel(_: Op, __: Shape) -> None:
    """A view runs no kernel (flatten, dropout at inference, identity)."""
    return None


Lower = Callable[[Mapping[str, Any], Shape, Lowering], Op]
Backward = Callable[[Any, Shape, tuple[bool, ...]], tuple[int, int]]
"""(op, input shape, whether each input needs a gradient) -> (grad-input, grad-weight) MACs."""
Part = tuple[str, Op, Shape]
"""One op inside a leaf made of parts: its name (a module path below the leaf), op and input."""


def _own_key(op: Op) -> tuple[str, ...]:
    return (op.key,)


@dataclass(frozen=True)
class OpKind(Generic[OpT]):
    """The one declaration of a leaf op kind (see the module docstring)."""

    op: type[OpT]
    formula: Callable[[OpT, Shape], LayerCost]
    module: Callable[[OpT, Shape], Any]
    rule_keys: Mapping[str, str]  # rule key -> op class shown by `convcost conventions`
    call: Callable[[OpT, Any, tuple[Any, ...]], Any] | None = None  # how a model calls the module
    # on its input tensors, as real models do (MHA: ``m(q, k, v, need_weights=...)[0]``);
    # None: ``module(*inputs)``
    keys_of: Callable[[OpT], tuple[str, ...]] = _own_key
    label: Callable[[OpT], str] | None = None  # the node label; default: the key
    inputs: int = 1  # tensors it reads: 2 for the merges (add, scale, mul, concat)
    variadic: bool = False  # it reads ``inputs`` or more tensors (add, concat)
    reference: bool = False  # its last input is read for its size only (interpolate): the data
    # path, the receptive field and the bytes read follow the others
    view: bool = False  # its output shares its input's storage (no new tensor)
    learnable: bool = False  # it may hold parameters
    folds: bool = False  # folds into the conv/linear that alone feeds it (BatchNorm)
    weight_grad: bool = False  # backward costs MACs (grad-input, grad-weight); BN folds into it
    backward: Backward | None = None  # its own backward rule (else weight_grad's: grad-input =
    # grad-weight = forward MACs, grad-input only when an input needs a gradient)
    elementwise: bool = False  # maps each channel of one input on its own (a norm's statistics
    # aside), keeping the shape: the data path of a separable pair runs through it (the norms,
    # activations, layer scale, dropout, identity)
    layer_class: Callable[[OpT], str] | None = None  # MobileNet Table 2 class (standard,
    # depthwise, pointwise, grouped conv; fully connected); None: "other"
    channels_1x1: Callable[[OpT], tuple[int, int] | None] | None = None  # (in, out) channels when it
    # is a 1×1 conv on the channels (a pointwise conv, a linear per position): a separable pair's end
    dense: Callable[[OpT, int], Op] | None = None  # of a depthwise op and the output channels of
    # the 1×1 conv after it, the standard op the pair replaces (a separable pair's reference)
    uncounted: Callable[[OpT], str] | None = None  # the ops it stands for, whose MACs no
    # convention counts (opaque: its ``op`` text): the totals are then lower bounds; None: counted
    kernel: Callable[[OpT, Shape], KernelForm | None] | None = None  # of the op and its input's
    # shape, the kernel it starts on a CPU runtime (net/kernels.py); None: an elementwise kernel;
    # returning None: no kernel (a view: flatten, dropout, identity)
    fusion: str = ""  # "head": a conv/linear a runtime fuses the BN and activation after it into;
    # "epilogue": such a BN or activation
    path: Callable[[Sequence[Shape], Shape], tuple[int, ...]] | None = None  # of its inputs' shapes
    # and its output's, the inputs the data path runs through (a gate's does not); None: all of
    # them if elementwise
    window: Callable[[OpT, Shape], Windows | None] | None = None  # its footprint per spatial
    # axis, for the receptive field (None: pointwise in space; returning None: sees it all)
    parts: Callable[[OpT, Shape], tuple[Part, ...]] | None = None  # a leaf made of other ops
    # (Mobile MQA: convs, BN, attention): the conventions count it as the sum of its parts
    affine: Callable[[OpT], bool] | None = None  # a norm: whether it learns γ and β (the
    # conventions' norm rows count numel·2 or ·5 with them, ·1 or ·4 without); None: not a norm
    axes: Callable[[OpT, int], tuple[int, ...] | None] | None = None  # of the op and its rank,
    # the input axis each output axis is (a permute, a transpose: the layout's letters move)
    signature: Callable[[OpT], Signature | None] | None = None  # what the op adds to a block's
    # identity: the importer keeps a composite when its expansion's signatures are the traced
    # ops' (``Imports.signature``, emit/blocks.py); None (or returning None): ("other", label)
    layout: str | None = None  # the layout of the input it reads (convcost.cost.layout: NCHW,
    # NCL, NCDHW, NLC...); None: any rank (elementwise ops, norms over C, merges)
    spec: SpecKind | None = None  # set when it is also a spec layer kind of the same name
    lower: Lower | None = None  # spec fields -> op (required with ``spec``)
    imports: Imports = NO_IMPORTS  # how an imported model's call is recognised as this kind

    @property
    def key(self) -> str:
        return self.op.key
