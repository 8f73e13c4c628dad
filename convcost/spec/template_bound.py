"""How big the blocks of a spec expand, known before anything is expanded.

A ``repeat`` multiplies, it does not iterate: a use of a block repeated 10⁹ times, blocks
repeating blocks 1000 × 1000 × 1000, or a block whose body is an empty group or the scalar
``0`` are each refused in microseconds instead of being expanded. Every layer a use produces
counts, whatever it is (a leaf, a group, an empty group, a scalar that will be refused later),
and so does every value of a block body copied by the expansion (a million-value alias list in
a body repeated 1000 times).

The count is an upper bound of what :class:`convcost.spec.templates._Instantiator` produces. A
value the bound cannot read (a missing argument, a ``repeat`` that is no integer) counts as
one copy: the expansion then reports it where it stands, with its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convcost.errors import SpecError
from convcost.limits import MAX_EXPANDED_VALUES, MAX_LEAVES, MAX_NESTING
from convcost.spec.arith import ExprError
from convcost.spec.fields import join
from convcost.spec.kinds import LAYER_KEYS
from convcost.spec.templates import MAX_LIST, NESTED_LAYER_KEYS, Block, substitute

_SCALARS = (str, int, float, bool, type(None))


def _small(value: Any) -> bool:
    """An argument the expansion may accept: a scalar or a short list of scalars."""
    return isinstance(value, _SCALARS) or (
        isinstance(value, list) and len(value) <= MAX_LIST
        and all(isinstance(item, _SCALARS) for item in value))


def _repeat(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


class _Bound:
    def __init__(self, blocks: Mapping[str, Block]) -> None:
        self.blocks = blocks
        self.steps = 0  # each step is one produced layer at least: the work stays bounded
        self.known: dict[tuple[str, str], tuple[int, int]] = {}  # (block, arguments) -> one copy

    def layers(self, raw: list[Any], env: Mapping[str, Any] | None, path: str,
               depth: int) -> tuple[int, int]:
        """``(layers, values)`` the list ``raw`` expands to (``env``: the arguments inside a
        block, None at the top level)."""
        layers = values = 0
        for i, item in enumerate(raw):
            more, copied = self.layer(item, env, join(path, i), depth)
            layers, values = layers + more, values + copied
            if layers > MAX_LEAVES or values > MAX_EXPANDED_VALUES:
                break
        return layers, values

    def layer(self, raw: Any, env: Mapping[str, Any] | None, path: str,
              depth: int = 0) -> tuple[int, int]:
        self.steps += 1
        if self.steps > MAX_LEAVES:
            return MAX_LEAVES + 1, 0  # at least that many layers: refused by the caller
        if not isinstance(raw, Mapping) or depth > MAX_NESTING:
            return 1, 0  # too deep: the expansion says so
        kind = raw.get("kind")
        if isinstance(kind, str) and kind in self.blocks:
            return self.use(self.blocks[kind], raw, env, path, depth)
        layers, values = 1, 0
        for key in NESTED_LAYER_KEYS:
            if isinstance(raw.get(key), list):
                more, copied = self.layers(raw[key], env, join(path, key), depth + 1)
                layers, values = layers + more, values + copied
        return layers, values

    def use(self, block: Block, raw: Mapping[str, Any], env: Mapping[str, Any] | None,
            path: str, depth: int) -> tuple[int, int]:
        given = {key: value for key, value in raw.items() if _small(value)}
        try:
            site = given if env is None else substitute(given, env, path)
        except (SpecError, ExprError, KeyError):
            site = {}
        inner = {**block.defaults, **{k: v for k, v in site.items() if k not in LAYER_KEYS}}
        repeat = _repeat(site.get("repeat", 1))
        key = (block.name, repr(sorted(inner.items())))
        if key not in self.known:
            self.known[key] = self.layers(list(block.layers), inner, path, depth + 1)
        layers, values = self.known[key]
        return repeat * (1 + layers), repeat * (values + block.size)  # a group per copy


def _too_many(path: str, values: bool = False) -> SpecError:
    if values:
        return SpecError(f"the blocks would expand to more than {MAX_EXPANDED_VALUES:,} values",
                         path=path)
    return SpecError(f"the network would have more than {MAX_LEAVES:,} layers", path=path)


def check_expansion(layers: list[Any], blocks: Mapping[str, Block]) -> None:
    """Refuse, before expanding, a spec whose blocks expand past :data:`MAX_LEAVES` layers or
    :data:`MAX_EXPANDED_VALUES` copied values (path: the top-level layer that crosses it)."""
    if not blocks:
        return
    bound = _Bound(blocks)
    total = values = 0
    for i, item in enumerate(layers):
        more, copied = bound.layer(item, None, join("layers", i))
        total, values = total + more, values + copied
        if total > MAX_LEAVES or values > MAX_EXPANDED_VALUES:
            raise _too_many(join("layers", i), values=total <= MAX_LEAVES)
