"""Typed field readers for spec mappings: each failure is a SpecError with the field path."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from convcost.cost.opkind import NO_DEFAULT, Field
from convcost.cost.value import Pair
from convcost.errors import SpecError
from convcost.limits import MAX_FLOAT, MAX_INT, MAX_LIST_ITEMS, finite_below, quote


def suggest(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or an empty string."""
    close = difflib.get_close_matches(word[:100], list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _show(value: Any) -> str:
    """A value as quoted in a message: bounded in length (an alias bomb quotes a prefix)."""
    return str(value).lower() if isinstance(value, bool) else quote(value)


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    """Refuse unknown keys, suggesting the closest known one."""
    allowed = list(allowed)
    for key in data:
        if key not in allowed:
            raise SpecError(
                f"unknown key{suggest(str(key), allowed)}; allowed: {', '.join(sorted(allowed))}",
                path=join(path, str(key)),
            )


def join(path: str, key: str | int) -> str:
    """``layers`` + 3 -> ``layers[3]``; ``layers[3]`` + ``stride`` -> ``layers[3].stride``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if not key.isprintable() or not key.strip() or key != key.strip() or len(key) > 40:
        key = quote(key)
    return f"{path}.{key}" if path else key


def as_mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        got = "nothing" if value is None else type(value).__name__
        raise SpecError(f"must be a mapping, got {got}", path=path)
    for key in value:
        if not isinstance(key, str):
            raise SpecError(f"keys must be strings, got {_show(key)}", path=path)
    return value


def as_int(value: Any, path: str, minimum: int = 1, maximum: int = MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"must be an integer, got {_show(value)}", path=path)
    if value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
        raise SpecError(f"must be {what}, got {_show(value)}", path=path)
    if value > maximum:
        raise SpecError(f"must be at most {maximum:,}, got {_show(value)}", path=path)
    return value


def as_number(value: Any, path: str, positive: bool = True, below_one: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"must be a number, got {_show(value)}", path=path)
    if not finite_below(float(value) if abs(value) < 1e300 else math.inf):
        raise SpecError(f"must be a finite number of at most {MAX_FLOAT:g}, got {_show(value)}",
                        path=path)
    if positive and value <= 0:
        raise SpecError(f"must be > 0, got {value}", path=path)
    if below_one and not 0 <= value < 1:
        raise SpecError(f"must be in [0, 1), got {value}", path=path)
    return float(value)


def as_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"must be true or false, got {_show(value)}", path=path)
    return value


def as_pair(value: Any, path: str, minimum: int = 1) -> Pair:
    """An int (square) or an ``[h, w]`` pair."""
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise SpecError(f"must be an integer or an [h, w] pair, got {_show(list(value))}",
                        path=path)
        return (as_int(value[0], f"{path}[0]", minimum), as_int(value[1], f"{path}[1]", minimum))
    number = as_int(value, path, minimum)
    return (number, number)


MAX_TEXT = 200


def as_text(value: Any, path: str) -> str:
    """A printable one-line string of at most :data:`MAX_TEXT` characters."""
    if not isinstance(value, str) or not value.isprintable() or not 0 < len(value) <= MAX_TEXT:
        raise SpecError(f"must be a printable string of 1 to {MAX_TEXT} characters", path=path)
    return value


def as_shape(value: Any, path: str) -> tuple[int, ...]:
    """A tensor shape without the batch: a list of 1 to 5 positive integers (a reshape's or a
    permute's output may have 6 dims: CSATv2's DCT blocks [N, 28, 28, 3, 8, 8])."""
    if not isinstance(value, list) or not 1 <= len(value) <= 5:
        raise SpecError("must be a list of 1 to 5 positive integers, e.g. [64, 28, 28]", path=path)
    return tuple(as_int(v, f"{path}[{i}]") for i, v in enumerate(value))


MAX_RANK = 5
"""The most dims a tensor shape may have: ``[N, C, D, H, W]``."""


def as_dims(value: Any, path: str) -> tuple[int, ...]:
    """A full tensor shape, batch first: a list of 2 to :data:`MAX_RANK` positive integers."""
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_RANK:
        raise SpecError(f"must be a list of 2 to {MAX_RANK} positive integers, batch first, "
                        "e.g. [1, 3, 224, 224]", path=path)
    return tuple(as_int(v, f"{path}[{i}]") for i, v in enumerate(value))


def as_sizes(value: Any, path: str, minimum: int = 1, words: Iterable[str] = ()) -> Any:
    """A size per spatial axis: an int (every axis), a list of 1 to 3, or one of ``words``."""
    if isinstance(value, str) and value in words:
        return value
    if isinstance(value, list):
        if not 1 <= len(value) <= 3:
            raise SpecError(f"must be an integer or a list of 1 to 3 sizes (one per spatial axis), "
                            f"got {_show(value)}", path=path)
        return tuple(as_int(v, f"{path}[{i}]", minimum) for i, v in enumerate(value))
    if isinstance(value, str):
        raise SpecError(f"must be {', '.join(words)}, an integer or a list of sizes, got "
                        f"{_show(value)}", path=path)
    return as_int(value, path, minimum)


def as_choice(value: Any, path: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        hint = suggest(value, choices) if isinstance(value, str) else ""
        raise SpecError(f"must be one of {', '.join(choices)}, got {_show(value)}{hint}", path=path)
    return value


def read_field(field: Field, value: Any, path: str) -> Any:
    """Validate and normalise one value according to its :class:`Field`."""
    if value is None and field.nullable:
        return None
    match field.type:
        case "int":
            return as_int(value, path, field.minimum)
        case "number":
            return as_number(value, path)
        case "fraction":
            return as_number(value, path, positive=False, below_one=True)
        case "bool":
            return as_bool(value, path)
        case "pair":
            return as_pair(value, path, field.minimum)
        case "padding":
            if value in ("auto", "same", "tf_same"):
                return value
            if isinstance(value, str):
                raise SpecError(
                    f"must be auto, same, tf_same, an integer or an [h, w] pair, got {_show(value)}",
                    path=path)
            return as_pair(value, path, minimum=0)
        case "choice":
            return as_choice(value, path, field.choices)
        case "mapping":
            return as_mapping(value, path)
        case "text":
            return as_text(value, path)
        case "shape":
            return as_shape(value, path)
        case "dims":
            return as_dims(value, path)
        case "sizes":
            return as_sizes(value, path, field.minimum, field.choices)
        case "layers":
            if not as_list(value, path):
                raise SpecError("must list at least one layer", path=path)
            return value
        case "ints":
            items = as_list(value, path)
            if not 1 <= len(items) <= MAX_LIST_ITEMS:
                raise SpecError(f"must list 1 to {MAX_LIST_ITEMS} integers", path=path)
            return tuple(as_int(item, join(path, i), field.minimum) for i, item in enumerate(items))
    raise AssertionError(f"unknown field type {field.type}")  # pragma: no cover - programming error


def read_fields(
    data: Mapping[str, Any], schema: Mapping[str, Field], path: str
) -> dict[str, Any]:
    """Read every field of ``schema`` from ``data`` (unknown keys were refused before)."""
    out: dict[str, Any] = {}
    for key, field in schema.items():
        if key in data:
            out[key] = read_field(field, data[key], join(path, key))
        elif field.default is NO_DEFAULT:
            raise SpecError("missing required field", path=join(path, key))
        else:
            out[key] = field.default
    return out


def as_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        got = "nothing" if value is None else type(value).__name__
        raise SpecError(f"must be a list, got {got}", path=path)
    return value
