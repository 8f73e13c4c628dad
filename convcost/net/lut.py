"""Per-op lookup tables for a search space, as FBNet, ProxylessNAS and Once-for-All used. Pure.

A *search space* is a spec whose top-level layers may give a field as ``{choices: [...]}``
(``kernel_size: {choices: [3, 5, 7]}``). Its table has one entry per layer, per input shape
that layer can receive (the outputs of the previous layer's choices), per combination of its
own choices. Each entry is a one-layer spec (:func:`entry_spec`), analysed exactly here; its
latency is measured alone by :mod:`convcost.runtime.kernel_timing` (``calibrate --lut``) or
predicted by a latency model. A network of the space then costs the sum of its entries.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convcost.errors import SpecError
from convcost.limits import MAX_LIST_ITEMS
from convcost.net.analysis import Analysis, analyze
from convcost.spec.fields import as_list, as_mapping, join
from convcost.spec.loader import parse_spec

MAX_LUT_ENTRIES = 10_000
CHOICES = "choices"


@dataclass(frozen=True)
class Entry:
    """One layer at one input shape with one combination of its choices."""

    layer: str
    input_shape: tuple[int, ...]
    choice: Mapping[str, Any]
    analysis: Analysis

    @property
    def output_shape(self) -> tuple[int, ...]:
        return tuple(self.analysis.root.output_shape)


def _choices(layer: Mapping[str, Any], path: str) -> dict[str, list[Any]]:
    """The fields of ``layer`` given as ``{choices: [...]}``, with their values."""
    out = {}
    for key, value in layer.items():
        if isinstance(value, Mapping) and CHOICES in value:
            where = join(path, key)
            if set(value) != {CHOICES}:
                raise SpecError("a choice is {choices: [v1, v2, ...]} and nothing else", path=where)
            values = as_list(value[CHOICES], join(where, CHOICES))
            if not 1 <= len(values) <= MAX_LIST_ITEMS:
                raise SpecError(f"needs 1 to {MAX_LIST_ITEMS} values", path=join(where, CHOICES))
            out[key] = list(values)
    return out


def entry_spec(layer: Mapping[str, Any], choice: Mapping[str, Any],
               shape: Sequence[int]) -> dict[str, Any]:
    """The one-layer spec of an entry: the layer with its choices made, on ``shape``."""
    concrete = {**{k: v for k, v in layer.items() if k not in ("repeat", "from")}, **choice}
    concrete.setdefault("name", "op")
    n, c, *hw = shape
    size = {"height": hw[0], "width": hw[1]} if len(hw) == 2 else {"resolution": 1}
    return {"name": "entry", "input": {"channels": c, "batch": n, **size}, "layers": [concrete]}


def _analyze(spec: dict[str, Any], path: str, choice: Mapping[str, Any],
             shape: Sequence[int]) -> Analysis:
    try:
        return analyze(parse_spec(spec))
    except SpecError as err:
        where = err.path.removeprefix("layers[0]").lstrip(".")
        raise SpecError(f"{err.message} (choice {dict(choice)} on input {'x'.join(map(str, shape))})",
                        path=join(path, where) if where else path) from None


def lut_data(table: Sequence[Entry], seconds: Sequence[float], machine: Mapping[str, Any],
             space: str) -> dict[str, Any]:
    """The table as plain data (``calibrate --lut`` writes it as YAML)."""
    return {"format": "convcost-lut/1", "space": space, "machine": dict(machine),
            "entries": [{"layer": e.layer, "input": list(e.input_shape), "choice": dict(e.choice),
                         "output": list(e.output_shape), "params": e.analysis.totals.params,
                         "macs": e.analysis.totals.macs, "seconds": t}
                        for e, t in zip(table, seconds, strict=True)]}


def entries(space: Any) -> list[Entry]:
    """Every entry of the search space's table, layer by layer (bounded: MAX_LUT_ENTRIES)."""
    data = as_mapping(space, "")
    base = parse_spec({**data, "layers": [{"kind": "identity"}]})
    shapes: set[tuple[int, ...]] = {base.input.shape}
    out: list[Entry] = []
    for i, raw in enumerate(as_list(data.get("layers"), "layers")):
        path = f"layers[{i}]"
        layer = as_mapping(raw, path)
        choices = _choices(layer, path)
        combos = [dict(zip(choices, values, strict=True))
                  for values in itertools.product(*choices.values())]
        if len(out) + len(combos) * len(shapes) > MAX_LUT_ENTRIES:
            raise SpecError(f"the table would have more than {MAX_LUT_ENTRIES:,} entries", path=path)
        produced: set[tuple[int, ...]] = set()
        for shape in sorted(shapes):
            for choice in combos:
                result = _analyze(entry_spec(layer, choice, shape), path, choice, shape)
                entry = Entry(str(layer.get("name", f"layers.{i}")), shape, choice, result)
                out.append(entry)
                produced.add(entry.output_shape)
        shapes = produced
    return out
