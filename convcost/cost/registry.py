"""The registry of leaf op kinds: every :class:`~convcost.cost.opkind.OpKind`, by op key.

Declaration order is the order of :data:`RULE_KEYS` and of the leaf spec kinds. To add a
kind, declare it in a module of :mod:`convcost.cost.ops` (its ``KINDS``) and give every
convention a row for each of its rule keys (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from convcost.cost.graph import Node
from convcost.cost.imports import Emit, Fields, Merge, Whole
from convcost.cost.opkind import Op, OpKind
from convcost.cost.ops import (
    act,
    arith,
    attention,
    blur,
    channel_norm,
    clamp,
    conv,
    conv_nd,
    fold,
    fourier,
    gather,
    grid_sample,
    grn,
    layer_scale,
    linear,
    matmul,
    merge,
    mqa,
    norm,
    normalize,
    opaque,
    pad,
    param,
    paths,
    pool,
    pool_nd,
    recorded,
    recurrent,
    reduce,
    reduce_max,
    rel_pos,
    reshape,
    rms_norm,
    rope,
    shuffle,
    slicing,
    std_conv,
    swin,
    swin_v2,
    tiling,
    transpose,
    upsample,
    views,
    windows,
)
from convcost.cost.value import LayerCost, Shape

_FAMILIES = (conv, norm, act, pool, linear, views, merge, shuffle, transpose, upsample,
             channel_norm, grn, reduce, layer_scale, slicing, pad, matmul, attention, mqa, reshape,
             windows, swin, swin_v2, param, paths, conv_nd, pool_nd, std_conv, fold, blur,
             recurrent, tiling, rel_pos, reduce_max, normalize, fourier, rope, gather, rms_norm,
             arith, clamp, grid_sample, opaque, recorded)


def _index(kinds: Iterable[OpKind[Any]]) -> Mapping[str, OpKind[Any]]:
    table: dict[str, OpKind[Any]] = {}
    for kind in kinds:
        if kind.key in table:
            raise ValueError(f"op kind {kind.key!r} is declared twice")
        table[kind.key] = kind
    return MappingProxyType(table)


OPS: Mapping[str, OpKind[Any]] = _index(k for family in _FAMILIES for k in family.KINDS)
"""op key -> its declaration, in declaration order."""

RULE_CLASSES: Mapping[str, str] = MappingProxyType(
    {key: cls for kind in OPS.values() for key, cls in kind.rule_keys.items()})
"""rule key -> the op class ``convcost conventions`` shows it under."""

RULE_KEYS: tuple[str, ...] = tuple(RULE_CLASSES)
"""Every key a convention needs a row for, in declaration order."""

SPEC_OPS: Mapping[str, OpKind[Any]] = MappingProxyType(
    {key: kind for key, kind in OPS.items() if kind.spec is not None})
"""The op kinds that are also spec layer kinds (the leaf spec kinds), by spec kind."""


def op_kind(op: Op) -> OpKind[Any]:
    """The declaration of ``op``'s kind."""
    return OPS[op.key]


def cost(op: Op, x: Shape) -> LayerCost:
    """The paper-convention cost of ``op`` applied to an input of shape ``x``."""
    return OPS[op.key].formula(op, x)


def label(op: Op) -> str:
    """The label of a leaf: convolutions by class (conv, dwconv, pwconv, gconv),
    activations by fn, every other op by its key."""
    return _label(OPS[op.key], op)


def costed(op: Op, x: Shape) -> tuple[LayerCost, str]:
    """:func:`cost` and :func:`label` of ``op`` at once (one lookup: every leaf of every
    analysis comes here)."""
    kind = OPS[op.key]
    return kind.formula(op, x), _label(kind, op)


def _label(kind: OpKind[Any], op: Op) -> str:
    return op.key if kind.label is None else kind.label(op)


def rule_keys(op: Op) -> tuple[str, ...]:
    """The rule keys that count ``op``: its main key, then e.g. ``conv_bias``."""
    return OPS[op.key].keys_of(op)


# -- import mappings (cost/imports.py): what the importer reads -------------------------

Rule = Callable[[Any], tuple[str, Fields]]
"""A reader that names its kind: a traced call -> (op key, fields)."""

FRONTS = ("modules", "functions", "aten", "dispatch", "onnx")


def _rule(key: str, reader: Callable[[Any], Any]) -> Rule:
    def rule(call: Any) -> tuple[str, Fields]:
        read = reader(call)
        return read if isinstance(read, tuple) else (key, read)
    return rule


def _by_rank(rules: Mapping[int, Rule]) -> Rule:
    """One name several kinds declare, each for inputs of its layout's rank (ONNX ``Conv`` is
    conv1d, conv or conv3d by the rank of the tensor it reads)."""
    def rule(call: Any) -> tuple[str, Fields]:
        x = call.in_shapes[0] if call.in_shapes else None
        chosen = rules.get(len(x)) if x is not None else None
        return chosen(call) if chosen else ("opaque", {"shapes": call.shapes})  # no kind of that rank
    return rule


def import_rules(front: str) -> Mapping[str, Rule]:
    """Every kind's declared names of one front end (``modules``, ``functions``, ``aten``,
    ``onnx``) -> its reader, giving ``(op key, fields)``. A name declared twice is an error,
    unless the kinds that declare it each read a layout of another rank (:func:`_by_rank`)."""
    declared: dict[str, dict[str, Rule]] = {}
    for kind in OPS.values():
        for name, reader in getattr(kind.imports, front).items():
            declared.setdefault(name, {})[kind.key] = _rule(kind.key, reader)
    table: dict[str, Rule] = {}
    for name, rules in declared.items():
        ranks = {len(OPS[key].layout or "") for key in rules}
        if len(rules) > 1 and (0 in ranks or len(ranks) < len(rules)):
            first, second = list(rules)[:2]
            raise ValueError(f"{front} {name!r} is declared by {first!r} and {second!r}")
        table[name] = next(iter(rules.values())) if len(rules) == 1 else _by_rank(
            {len(OPS[key].layout or ""): rule for key, rule in rules.items()})
    return MappingProxyType(table)


IMPORT_RULES: Mapping[str, Mapping[str, Rule]] = MappingProxyType(
    {front: import_rules(front) for front in FRONTS})
"""front end -> declared name -> reader, for the importer."""

IMPORT_KINDS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {front: MappingProxyType({name: key for key, kind in reversed(list(OPS.items()))
                              for name in getattr(kind.imports, front)}) for front in FRONTS})
"""front end -> declared name -> the op key of the kind that declares it (of several, by rank:
the first, the 2-D kind)."""

ONNX_WEIGHTS: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {op_type: positions for kind in OPS.values() for op_type, positions in kind.imports.onnx_weights.items()})
"""ONNX op type -> the input positions that hold learnable weights."""


def class_rules() -> Mapping[str, Whole]:
    """Module class name -> how a call of it becomes spec layers (``Imports.classes``); a class
    declared twice is an error."""
    table: dict[str, Whole] = {}
    for kind in OPS.values():
        for name, whole in kind.imports.classes.items():
            if name in table:
                raise ValueError(f"class {name!r} is declared twice (again by {kind.key!r})")
            table[name] = whole
    return MappingProxyType(table)


CLASS_RULES = class_rules()
"""Module class name -> how the importer turns a call of it into layers, whatever its ops."""


def emitter(key: str) -> Emit | None:
    """How an IR node of op ``key`` on one input becomes spec layers (None: the kind declares
    none, or ``key`` is the importer's own)."""
    kind = OPS.get(key)
    return kind.imports.emit if kind is not None else None


def merger(key: str) -> Merge | None:
    """How an IR node of op ``key`` on several inputs becomes spec layers (None: none)."""
    kind = OPS.get(key)
    return kind.imports.merge if kind is not None else None


def uncounted(op: Op | None) -> str | None:
    """The ops ``op`` stands for whose MACs no convention counts (an opaque layer's, its kind's
    ``uncounted`` trait); None: its MACs are counted."""
    read = OPS[op.key].uncounted if op is not None else None
    return read(op) if read is not None else None


def part_nodes(leaf: Node) -> tuple[Node, ...]:
    """The leaves inside a leaf made of parts (:attr:`OpKind.parts`), named below it; () else."""
    assert leaf.op is not None, "parts of a leaf"
    parts = OPS[leaf.op.key].parts
    if parts is None:
        return ()
    nodes = []
    for name, op, x in parts(leaf.op, leaf.input_shape):
        each = cost(op, x)
        nodes.append(Node(params=each.params, macs=each.macs, name=f"{leaf.name}.{name}",
                          label=label(op), input_shape=x, output_shape=each.output_shape, op=op))
    return tuple(nodes)
