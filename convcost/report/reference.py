"""The reference tables of the docs, generated from the declarations they describe.

docs/spec-format.md's kinds tables come from :data:`convcost.spec.kinds.SPEC_KINDS`, and
docs/conventions.md's rules table from :data:`convcost.conventions.rules.CONVENTIONS` keyed by
the registry's rule keys. Each table sits between ``<!-- generated: NAME -->`` and
``<!-- end generated: NAME -->``; a test fails when a checked-in copy is stale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from convcost.conventions.convention import Rule
from convcost.conventions.rules import CONVENTIONS
from convcost.cost.opkind import NO_DEFAULT, Field, SpecKind
from convcost.cost.registry import RULE_CLASSES, RULE_KEYS, SPEC_OPS
from convcost.spec.kinds import BLOCKS, CONV_UNITS


def _value(value: Any) -> str:
    if isinstance(value, tuple) and len(set(value)) == 1:
        value = value[0]
    if isinstance(value, bool):
        return str(value).lower()
    return f"`{value}`" if isinstance(value, str) else str(list(value) if isinstance(value, tuple) else value)


def _key(name: str, field: Field) -> str:
    if field.default is NO_DEFAULT:
        return f"`{name}`" + (f": {', '.join(f'`{c}`' for c in field.choices)}" if field.choices else "")
    if field.default is None:
        return f"`{name}`"
    return f"`{name}` ({_value(field.default)})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _kinds_table(kinds: Mapping[str, SpecKind], last: str) -> str:
    rows = [f"| kind | keys (defaults) | {last} |", "|---|---|---|"]
    for kind, spec in kinds.items():
        keys = ", ".join(_key(name, f) for name, f in spec.fields.items()) or "—"
        rows.append(f"| `{kind}` | {_cell(keys)} | {_cell(spec.doc)} |")
    return "\n".join(rows)


def leaf_kinds_table() -> str:
    """The spec kinds that make one op (conv units may add bn/act): keys and torch module."""
    leaves = {k: op.spec for k, op in SPEC_OPS.items() if op.spec is not None}
    return _kinds_table({**CONV_UNITS, **leaves}, "torch module")


def block_kinds_table() -> str:
    """The spec kinds that expand to a block of layers."""
    return _kinds_table(BLOCKS, "expands to")


def _rule(rule: Rule) -> str:
    return _cell(rule.doc + (f" (`{rule.tool_op}`)" if rule.tool_op and rule.tool_op not in rule.doc
                             else ""))


def rules_table() -> str:
    """Every convention's rule for every rule key of the registry."""
    names = list(CONVENTIONS)
    rows = [f"| rule key (op class) | {' | '.join(names)} |", "|---|" + "---|" * len(names)]
    for key in RULE_KEYS:
        cells = [_rule(CONVENTIONS[name].rules[key]) for name in names]
        rows.append(f"| `{key}` ({RULE_CLASSES[key]}) | {' | '.join(cells)} |")
    return "\n".join(rows)


TABLES: Mapping[str, tuple[str, Callable[[], str]]] = MappingProxyType({
    "leaf-kinds": ("docs/spec-format.md", leaf_kinds_table),
    "block-kinds": ("docs/spec-format.md", block_kinds_table),
    "rules": ("docs/conventions.md", rules_table),
})
"""Table name -> (the doc it lives in, its generator)."""


def refreshed(text: str, name: str) -> str:
    """``text`` with the generated table ``name`` replaced by its current content."""
    pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(\n<!-- end generated: {name} -->)",
                         re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"no <!-- generated: {name} --> block")
    return pattern.sub(lambda m: m.group(1) + TABLES[name][1]() + m.group(2), text)
