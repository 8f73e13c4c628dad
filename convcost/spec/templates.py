"""User-defined blocks: the ``blocks:`` section and the pass that instantiates its templates.

A spec-level pass on raw YAML data, before any layer is validated: every layer whose ``kind``
names a block becomes a ``sequential`` layer holding the block's ``layers`` with each
``${...}`` replaced (:mod:`convcost.spec.arith`). Every produced mapping is a
:class:`RawLayer` that remembers its place: ``layers[3] → blocks.fire.layers[1]`` is the
use site and then the template line, so an error inside a template names both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from convcost.errors import SpecError
from convcost.limits import (
    MAX_BLOCKS,
    MAX_LEAVES,
    MAX_NESTING,
    MAX_TEXT_CHARS,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    quote,
)
from convcost.spec.arith import Expr, ExprError, Var, evaluate, names, parse
from convcost.spec.fields import as_int, as_list, as_mapping, check_keys, join, suggest
from convcost.spec.kinds import LAYER_KEYS, LAYER_LISTS, SPEC_KINDS
from convcost.spec.yamlpos import CHAIN

NESTED_LAYER_KEYS = LAYER_LISTS
"""Keys of a layer mapping that hold a list of layers (a container's body)."""
DEFAULT_PREFIX = {"shortcut": "shortcut."}
"""The default name of layer i of a nested list is ``prefix + i`` (a residual's body and
shortcut share one namespace)."""
BLOCK_KEYS = ("args", "defaults", "layers")
RESERVED = ("kind", *LAYER_KEYS)
MAX_LIST = 16

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_SUBST = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class RawLayer:
    """One layer mapping after substitution, with its path and default name.

    ``data``'s nested layer lists (:data:`NESTED_LAYER_KEYS`) hold RawLayers too; ``block`` is
    the template a ``sequential`` layer instantiates (None for a layer written as it is);
    ``alias`` is the use site's name on the last copy of a repeated template (``from:`` naming a
    repeated layer reads its last copy).
    """

    data: Any
    path: str
    default_name: str
    block: str | None = None
    alias: str | None = None


@dataclass(frozen=True)
class Block:
    """A template: required ``args``, optional ``defaults`` and a body of raw layer mappings."""

    name: str
    args: tuple[str, ...]
    defaults: Mapping[str, Any]
    layers: tuple[Any, ...]
    path: str
    uses: tuple[tuple[str, str], ...] = ()
    """``(kind, path of the kind)`` of every layer in the body, for the recursion check."""
    size: int = 0
    """Values in the body (aliases expanded): what one copy of it costs to substitute."""

    @property
    def takes(self) -> tuple[str, ...]:
        return (*self.args, *self.defaults)


@lru_cache(maxsize=4096)
def _parsed(text: str) -> Expr:
    return parse(text)


def _expressions(text: str, path: str) -> Iterator[tuple[str, Expr]]:
    """``(source, tree)`` of every ``${...}`` in ``text``; a malformed one is a SpecError."""
    if "${" not in text:
        return
    rest = _SUBST.sub("", text)
    if "${" in rest:
        raise SpecError(f"unclosed '${{' in {quote(text)}", path=path)
    for match in _SUBST.finditer(text):
        try:
            yield match.group(0), _parsed(match.group(1))
        except ExprError as err:
            raise SpecError(f"{quote(match.group(0))}: {err}", path=path) from None


class _Walk:
    """Every value below some raw YAML (``kind`` values and mapping keys excluded), with its path.

    Bounded in count and depth: anchors and aliases can make a small file a huge tree.
    """

    def __init__(self) -> None:
        self.seen = 0
        self.sizes: dict[int, int] = {}  # id of a list or mapping walked -> values below it

    def __call__(self, value: Any, path: str, depth: int = 0) -> Iterator[tuple[Any, str]]:
        """A list or mapping met again (a YAML alias) is counted, not walked again: it was
        checked the first time (callers reset :attr:`sizes` per block)."""
        known = self.sizes.get(id(value))
        self.seen += known or 1
        if self.seen > MAX_YAML_NODES:
            raise SpecError(f"blocks hold more than {MAX_YAML_NODES:,} values", path=path)
        if depth > MAX_YAML_DEPTH:
            raise SpecError(f"nested deeper than {MAX_YAML_DEPTH} levels", path=path)
        if known is not None:
            return
        start = self.seen - 1
        yield value, path
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from self(item, join(path, i), depth + 1)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if key != "kind":
                    yield from self(item, join(path, str(key)), depth + 1)
        if isinstance(value, list | Mapping):
            self.sizes[id(value)] = self.seen - start


def unquoted_expression_hint(text: str, line: int | None) -> str:
    """For a YAML syntax error at ``line``: a hint when an unquoted ``${...}`` stands there (or
    just before) — in flow style, ``{`` and ``}`` are YAML's own."""
    if line is None:
        return ""
    near = text.splitlines()[max(0, line - 2):line]
    if not any("${" in row for row in near):
        return ""
    return '; inside {...} or [...], quote an expression: "${...}"'


def _identifier(name: Any, path: str, what: str) -> str:
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise SpecError(f"{what} must be a letter or _ then letters, digits or _ "
                        f"(at most 64), got {quote(name)}", path=path)
    return name


def _arg_value(value: Any, path: str) -> Any:
    """An argument value: a scalar, or a short list of scalars (a ``[h, w]`` pair)."""
    scalar = (str, int, float, bool, type(None))
    items = value if isinstance(value, list) else [value]
    if any(isinstance(item, str) and len(item) > MAX_TEXT_CHARS for item in items):
        raise SpecError(f"a string argument has at most {MAX_TEXT_CHARS:,} characters, got "
                        f"{max(len(item) for item in items if isinstance(item, str)):,}",
                        path=path)
    if isinstance(value, scalar):
        return value
    if isinstance(value, list) and len(value) <= MAX_LIST and all(
            isinstance(item, scalar) for item in value):
        return value
    raise SpecError(f"an argument must be a number, string, boolean, null or a list of at most "
                    f"{MAX_LIST} of those, got {type(value).__name__}", path=path)


def _arguments_declared(data: Mapping[str, Any], path: str) -> tuple[list[str], dict[str, Any]]:
    """A block's ``args`` (required) and ``defaults`` (optional): distinct, not layer keys."""
    args_path, defaults_path = join(path, "args"), join(path, "defaults")
    args = [_identifier(arg, join(args_path, i), "an argument name")
            for i, arg in enumerate(as_list(data.get("args", []), args_path))]
    defaults = dict(as_mapping(data.get("defaults") or {}, defaults_path))
    for arg, value in defaults.items():
        _identifier(arg, join(defaults_path, arg), "an argument name")
        _arg_value(value, join(defaults_path, arg))
    seen: set[str] = set()
    for arg, arg_path in [*((a, join(args_path, i)) for i, a in enumerate(args)),
                          *((d, join(defaults_path, d)) for d in defaults)]:
        if arg in RESERVED:
            raise SpecError(f"{arg!r} is a layer key, not an argument name "
                            f"(reserved: {', '.join(RESERVED)})", path=arg_path)
        if arg in seen:
            raise SpecError(f"argument {arg!r} is declared twice", path=arg_path)
        seen.add(arg)
    return args, defaults


def _body_uses(name: str, layers: list[Any], path: str, takes: tuple[str, ...],
               walk: _Walk) -> tuple[tuple[str, str], ...]:
    """Check every ``${...}`` of a block's layers (it parses, it names arguments only); return
    the ``(kind, path)`` of every layer in it."""
    uses: list[tuple[str, str]] = []
    for value, value_path in walk(layers, path):
        if isinstance(value, Mapping) and isinstance(value.get("kind"), str):
            uses.append((value["kind"], join(value_path, "kind")))
        for source, tree in _expressions(value, value_path) if isinstance(value, str) else ():
            unknown = sorted(names(tree) - set(takes))
            if unknown:
                raise SpecError(f"{quote(source)}: unknown argument {unknown[0]!r}"
                                f"{suggest(unknown[0], takes)}; block {name!r} takes: "
                                f"{', '.join(takes) or 'nothing'}", path=value_path)
    return tuple(uses)


def _block(name: str, raw: Any, path: str, walk: _Walk) -> Block:
    data = as_mapping(raw, path)
    check_keys(data, BLOCK_KEYS, path)
    if "layers" not in data:
        raise SpecError("missing required field", path=join(path, "layers"))
    layers = as_list(data["layers"], join(path, "layers"))
    if not layers:
        raise SpecError("must list at least one layer", path=join(path, "layers"))
    args, defaults = _arguments_declared(data, path)
    seen, walk.sizes = walk.seen, {}
    uses = _body_uses(name, layers, join(path, "layers"), (*args, *defaults), walk)
    return Block(name, tuple(args), defaults, tuple(layers), path, uses, walk.seen - seen)


def read_blocks(raw: Any) -> dict[str, Block]:
    """Validate a spec's ``blocks:`` section (None: no blocks) into templates by name."""
    if raw is None:
        return {}
    data = as_mapping(raw, "blocks")
    if len(data) > MAX_BLOCKS:
        raise SpecError(f"at most {MAX_BLOCKS} blocks, got {len(data)}", path="blocks")
    blocks: dict[str, Block] = {}
    walk = _Walk()
    for name, body in data.items():
        path = join("blocks", name)
        _identifier(name, path, "a block name")
        if name in SPEC_KINDS:
            raise SpecError(f"{name!r} is a built-in kind; give the block another name", path=path)
        blocks[name] = _block(name, body, path, walk)
    _refuse_cycles(blocks)
    return blocks


def _refuse_cycles(blocks: Mapping[str, Block]) -> None:
    """A block may use other blocks, never itself, directly or through others."""
    uses = {name: [(kind, path) for kind, path in b.uses if kind in blocks]
            for name, b in blocks.items()}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        for used, path in uses[name]:
            if used in trail:
                cycle = " → ".join([*trail[trail.index(used):], used])
                what = "itself" if used == name and len(trail) == 1 else "itself through others"
                raise SpecError(f"block {used!r} uses {what}: {cycle}", path=path)
            if used not in done:
                visit(used, [*trail, used])
        done.add(name)

    for name in blocks:
        if name not in done:
            visit(name, [name])


def _string(text: str, env: Mapping[str, Any], path: str) -> Any:
    """``text`` with its ``${...}`` replaced: a lone ``${name}`` keeps the value's type."""
    found = list(_expressions(text, path))
    if not found:
        return text
    try:
        if len(found) == 1 and found[0][0] == text:
            return _value(found[0][1], env)
        return _joined(text, env)
    except ExprError as err:
        source = found[0][0] if len(found) == 1 else text
        raise SpecError(f"{quote(source)}: {err}", path=path) from None


def _joined(text: str, env: Mapping[str, Any]) -> str:
    """``text`` with each ``${...}`` written as text; refused past MAX_TEXT_CHARS as it grows
    (28 blocks each passing ``"${s}${s}"`` on would otherwise build a GiB string)."""
    parts: list[str] = []
    size = last = 0
    for match in _SUBST.finditer(text):
        piece = str(_value(_parsed(match.group(1)), env))
        size += match.start() - last + len(piece)
        if size > MAX_TEXT_CHARS:
            raise ExprError(f"the string would be longer than {MAX_TEXT_CHARS:,} characters")
        parts += [text[last:match.start()], piece]
        last = match.end()
    return "".join([*parts, text[last:]])


def _value(tree: Expr, env: Mapping[str, Any]) -> Any:
    return env[tree.name] if isinstance(tree, Var) else evaluate(tree, env)


def substitute(value: Any, env: Mapping[str, Any], path: str) -> Any:
    """A copy of raw YAML ``value`` with every ``${...}`` evaluated in ``env`` (kinds kept)."""
    if isinstance(value, str):
        return _string(value, env, path)
    if isinstance(value, list):
        return [substitute(item, env, join(path, i)) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        return {key: item if key == "kind" else substitute(item, env, join(path, str(key)))
                for key, item in value.items()}
    return value


class _Instantiator:
    """Walks layer lists, replacing each use of a block by a ``sequential`` of its body."""

    def __init__(self, blocks: Mapping[str, Block]) -> None:
        self.blocks = blocks
        self.count = 0

    def layers(self, raw: list[Any], prefix: str, local: str, depth: int,
               names: str = "") -> list[RawLayer]:
        """Top-level layers default to the name ``layers.<i>``, a container's to
        ``<names><i>``."""
        out: list[RawLayer] = []
        for i, item in enumerate(raw):
            default = f"layers.{i}" if depth == 0 else f"{names}{i}"
            out.extend(self.layer(item, prefix, join(local, i), default, depth))
        return out

    def layer(self, raw: Any, prefix: str, local: str, default_name: str,
              depth: int) -> list[RawLayer]:
        if depth > MAX_NESTING:
            raise SpecError(f"layers nest deeper than {MAX_NESTING} levels (blocks and "
                            "containers)", path=prefix + local)
        kind = raw.get("kind") if isinstance(raw, Mapping) else None
        if isinstance(kind, str) and kind in self.blocks:
            return self.use(self.blocks[kind], raw, prefix, local, default_name, depth)
        if isinstance(kind, str) and kind not in SPEC_KINDS and self.blocks:
            raise SpecError(f"unknown kind {kind!r}{suggest(kind, [*SPEC_KINDS, *self.blocks])}; "
                            f"valid kinds: {', '.join(SPEC_KINDS)}; blocks: "
                            f"{', '.join(self.blocks)}", path=join(prefix + local, "kind"))
        if not isinstance(raw, Mapping):
            return [RawLayer(raw, prefix + local, default_name)]
        data = dict(raw)
        nested = [key for key in NESTED_LAYER_KEYS if isinstance(data.get(key), list)]
        for key in nested:
            data[key] = self.layers(data[key], prefix, join(local, key), depth + 1,
                                    DEFAULT_PREFIX.get(key, ""))
        if not nested:  # a layer that is no group gives at least one leaf
            self.count += 1
            if self.count > MAX_LEAVES:
                raise SpecError(f"the network would have more than {MAX_LEAVES:,} layers",
                                path=prefix + local)
        return [RawLayer(data, prefix + local, default_name)]

    def use(self, block: Block, raw: Mapping[str, Any], prefix: str, local: str,
            default_name: str, depth: int) -> list[RawLayer]:
        path = prefix + local
        env = {**block.defaults, **_arguments_given(block, raw, path)}
        repeat = as_int(raw.get("repeat", 1), join(path, "repeat"))
        name = raw.get("name", default_name)
        out: list[RawLayer] = []
        for i in range(repeat):
            if i > 0 and "stride" in env:
                env["stride"] = 1  # the stage rule of `repeat`: copies after the first
            body = substitute(list(block.layers), env, path + CHAIN + join(block.path, "layers"))
            data = {key: raw[key] for key in LAYER_KEYS if key in raw and key != "repeat"}
            if i > 0:  # copies after the first read the previous copy
                data.pop("in_channels", None)
                data.pop("from", None)
            copy = f"{name}.{i}" if repeat > 1 and isinstance(name, str) else name
            data.update(kind="sequential", name=copy,
                        layers=self.layers(body, path + CHAIN, join(block.path, "layers"),
                                           depth + 1))
            alias = name if repeat > 1 and i == repeat - 1 and isinstance(name, str) else None
            out.append(RawLayer(data, path, default_name, block.name, alias))
        return out


def _arguments_given(block: Block, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
    """The arguments written at a use site: every key that is not a layer key."""
    given = {key: value for key, value in raw.items() if key not in LAYER_KEYS}
    for key, value in given.items():
        if key not in block.takes:
            raise SpecError(f"unknown argument{suggest(str(key), block.takes)}; block "
                            f"{block.name!r} takes: {', '.join(block.takes) or 'nothing'}",
                            path=join(path, str(key)))
        _arg_value(value, join(path, key))
    for arg in block.args:
        if arg not in given:
            raise SpecError(f"missing argument of block {block.name!r} "
                            f"(takes: {', '.join(block.takes)})", path=join(path, arg))
    return given


def instantiate(layers: list[Any], blocks: Mapping[str, Block]) -> list[RawLayer]:
    """The spec's ``layers`` as :class:`RawLayer` trees, every use of a block instantiated
    (its size bounded first: :mod:`convcost.spec.template_bound`)."""
    from convcost.spec.template_bound import check_expansion

    check_expansion(layers, blocks)
    return _Instantiator(blocks).layers(layers, "", "layers", 0)
