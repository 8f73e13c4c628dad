"""Flat runs that add a body to their input (or to a shortcut chain) -> ``residual`` containers.

A post-pass over the emitted layer mappings. A run of one module (``P.conv1 … P.add``) is a
residual when its last layer is ``P.add`` of exactly two things: its body (the run's first
layers, a chain from the run's input) and either the run's input or a shortcut (the layers
between the body and the add, a chain from the run's input). The container ``P`` gives its
leaves the same names, in the same order, so the analysis is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convcost.runtime.importer.emit.templates import (
    INPUT,
    Layer,
    local_refs,
    module_of,
    name_of,
    refs_of,
    rename_refs,
    run_end,
    unsafe,
)


def _chain(run: Sequence[Layer], prefix: str, before: str | None) -> list[Layer] | None:
    """``run`` as a layer list reading the container's input, names made local."""
    inside = {layer["name"]: layer["name"][len(prefix) + 1:] for layer in run}
    body = [local_refs(layer, inside, before) for layer in run]
    if not body or any(b is None for b in body):
        return None
    out = [b for b in body if b is not None]
    if out[0].get("from") == INPUT:
        out[0].pop("from")
    return out


def _split(run: Sequence[Layer], merge: Mapping[str, Any], before: str | None) -> int | None:
    """Where the shortcut starts in ``run`` (len(run) when the add reads the input)."""
    refs = refs_of(merge)
    for cut in range(1, len(run) + 1):
        ends = {run[cut - 1]["name"], run[-1]["name"] if cut < len(run) else before}
        if len(refs) == 2 and set(refs) == ends and (cut == len(run)
                                                     or refs_of(run[cut]) == [before]):
            return cut
    return None


def _residual(layers: list[Layer], start: int, stop: int, prefix: str) -> Layer | None:
    """``layers[start:stop]`` of module ``prefix`` as a residual container, when it is one."""
    run, merge = layers[start:stop - 1], layers[stop - 1]
    before = name_of(layers[start - 1]) if start else None
    if merge["kind"] != "add" or merge["name"] != f"{prefix}.add" or unsafe(layers[start:stop]) \
            or before is None or any(name_of(layer) == prefix for layer in layers):
        return None
    inside = {layer["name"] for layer in run}
    if any(ref in inside for layer in layers[stop:] for ref in refs_of(layer)):
        return None
    cut = _split(run, merge, before)
    if cut is None:
        return None
    body, shortcut = _chain(run[:cut], prefix, before), _chain(run[cut:], prefix, before)
    if body is None or (shortcut is None and cut < len(run)):
        return None
    return {"kind": "residual", "name": prefix, "layers": body,
            **({"shortcut": shortcut} if shortcut else {})}


def residuals(layers: list[Layer], outputs: Sequence[str]) -> list[Layer]:
    """``layers`` with every exact residual run written as a ``residual`` container."""
    out = list(layers)
    read = set(outputs)
    i = 0
    while i < len(out):
        prefix = module_of(out[i])
        stop = run_end(out, i, prefix) if prefix else i + 1
        made = _residual(out, i, stop, prefix) if stop - i > 1 else None
        if made is not None and not any(name_of(x) in read for x in out[i:stop]):
            last = out[stop - 1]["name"]
            out[i:stop] = [made]
            rename_refs(out, {last: prefix})
        i = i + 1 if made is not None else max(stop, i + 1)
    return out
