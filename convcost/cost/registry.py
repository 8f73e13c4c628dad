"""The registry of leaf op kinds: every :class:`~convcost.cost.opkind.OpKind`, by op key.

Declaration order is the order of :data:`RULE_KEYS` and of the leaf spec kinds. To add a
kind, declare it in a module of :mod:`convcost.cost.ops` (its ``KINDS``) and give every
convention a row for each of its rule keys (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from convcost.cost.opkind import Op, OpKind
from convcost.cost.ops import (
    act,
    channel_norm,
    conv,
    layer_scale,
    linear,
    merge,
    norm,
    opaque,
    pad,
    pool,
    reduce,
    shuffle,
    slicing,
    transpose,
    upsample,
    views,
)
from convcost.cost.value import LayerCost, Shape

_FAMILIES = (conv, norm, act, pool, linear, views, merge, shuffle, transpose, upsample,
             channel_norm, reduce, layer_scale, slicing, pad, opaque)


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
    kind = OPS[op.key]
    return op.key if kind.label is None else kind.label(op)


def rule_keys(op: Op) -> tuple[str, ...]:
    """The rule keys that count ``op``: its main key, then e.g. ``conv_bias``."""
    return OPS[op.key].keys_of(op)
