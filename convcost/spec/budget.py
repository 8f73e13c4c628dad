"""Budget syntax: the limits a spec's ``budget:`` or a budgets-file entry sets. Pure.

One validator for every command: ``model`` and ``check`` both read a spec's budget through
:func:`parse_budget` (the loader calls it), so a budget one accepts the other accepts too.
Counts are integers or strings with a K, M or G suffix (10³, 10⁶, 10⁹): ``4.3M`` is exactly
4 300 000; at most :data:`~convcost.limits.MAX_COUNT`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from convcost.errors import SpecError
from convcost.limits import MAX_COUNT, quote
from convcost.spec.fields import as_int, as_mapping, as_number, check_keys, join

QUANTITY_PATTERN = r"^[0-9]{1,19}(\.[0-9]{1,9})?\s*[KMGkmg]?$"
_QUANTITY = re.compile(QUANTITY_PATTERN)
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}

#: metric key -> label with its unit. Counted metrics first, then the per-layer cap.
BUDGET_METRICS: Mapping[str, str] = {
    "params": "params",
    "macs": "MACs",
    "flops": "FLOPs",
    "activations": "peak activations (elements)",
    "max_layer_share": "largest layer share of MACs",
}
REQUIRED_METRICS = ("params", "macs")
SHARE = "max_layer_share"
ALLOW_INCOMPLETE = "allow_incomplete"
ALLOW_INCOMPLETE_DOC = ("true: the model may have opaque layers (MACs not counted), so its "
                        "figures are lower bounds; by default check fails such a model")
BUDGET_KEYS = (*BUDGET_METRICS, ALLOW_INCOMPLETE)
ENTRY_KEYS = ("spec", "input", *BUDGET_KEYS)


def parse_count(value: Any, path: str) -> int:
    """``600000``, ``"600K"``, ``"4.3M"``, ``"1.2G"`` -> an exact integer (K = 10³)."""
    if isinstance(value, str):
        text = value.strip()
        if not _QUANTITY.fullmatch(text):
            raise SpecError(f"must be an integer or a count like 4.3M, 600K or 1.2G, got {quote(value)}",
                            path=path)
        suffix = text[-1].lower() if text[-1].isalpha() else ""
        exact = Decimal(text.rstrip("KMGkmg").strip()) * _SCALE[suffix]
        if exact != exact.to_integral_value():
            raise SpecError(f"must be a whole number, got {quote(value)} = {exact.normalize()}", path=path)
        if exact > MAX_COUNT:
            raise SpecError(f"must be at most {MAX_COUNT:.0e}, got {quote(value)}", path=path)
        return int(exact)
    if isinstance(value, float):
        raise SpecError(f"must be an integer or a count like 4.3M, got {quote(value)}", path=path)
    return as_int(value, path, minimum=0, maximum=MAX_COUNT)


def parse_share(value: Any, path: str) -> Fraction:
    """A fraction in (0, 1], kept exact as written (``0.2`` -> 1/5)."""
    share = as_number(value, path)
    if share > 1:
        raise SpecError(f"must be a fraction in (0, 1], got {quote(value)}", path=path)
    return Fraction(str(value))


@dataclass(frozen=True)
class Limit:
    metric: str
    value: int | Fraction
    path: str  # field path of the limit in its file, e.g. ``budget.macs``


@dataclass(frozen=True)
class Budget:
    """The limits of one model and the file they are written in."""

    limits: tuple[Limit, ...]
    file: str | None
    path: str  # field path of the budget mapping, e.g. ``budget`` or ``budgets[2]``
    allow_incomplete: bool = False  # opaque layers (figures are lower bounds) do not fail check


def parse_budget(raw: Any, path: str, file: str | None, allowed: tuple[str, ...] = BUDGET_KEYS
                 ) -> Budget:
    """Validate a budget mapping (errors name ``path.key``; the caller adds the line)."""
    data = as_mapping(raw, path)
    check_keys(data, allowed, path)
    for key in REQUIRED_METRICS:
        if key not in data:
            raise SpecError("missing required field", path=join(path, key))
    limits = []
    for key in BUDGET_METRICS:
        if key in data:
            where = join(path, key)
            value = parse_share(data[key], where) if key == SHARE else parse_count(data[key], where)
            limits.append(Limit(key, value, where))
    allow = data.get(ALLOW_INCOMPLETE, False)
    if not isinstance(allow, bool):
        raise SpecError(f"must be true or false, got {quote(allow)}", path=join(path, ALLOW_INCOMPLETE))
    return Budget(tuple(limits), file, path, allow)
