"""The graph of a layer list: ``from:`` names checked, and layers no output needs dropped.

A layer reads the previous layer's output unless its ``from:`` names one or more earlier
layers of the same list, or ``input`` (the list's input: the model's, or its container's).
Names refer to earlier layers only, so a spec graph never has a cycle. A layer that no
output of its list needs (the list's last layer, or the model's ``outputs:``) is dropped and
reported as a warning: totals count what the outputs need.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from convcost.errors import SpecError
from convcost.limits import MAX_LIST_ITEMS, quote
from convcost.spec.fields import join, suggest

INPUT = "input"
"""The name of a layer list's input in ``from:`` (no layer may be called so)."""


class Wired(Protocol):
    """What wiring reads of a layer spec."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def inputs(self) -> tuple[str, ...]: ...

    @property
    def alias(self) -> str | None: ...


def known_names(layer: Wired) -> tuple[str, ...]:
    """What ``from:`` may call a layer: its name, and a repeated template's use-site name."""
    return (layer.name, layer.alias) if layer.alias else (layer.name,)


L = TypeVar("L", bound=Wired)


def read_from(value: Any, path: str) -> tuple[str, ...]:
    """A ``from:`` value: one layer name, or a non-empty list of them."""
    names = [value] if isinstance(value, str) else value
    if (not isinstance(names, list) or not 1 <= len(names) <= MAX_LIST_ITEMS
            or not all(isinstance(name, str) for name in names)):
        raise SpecError(f"must be a layer name or a list of 1 to {MAX_LIST_ITEMS} layer names, "
                        f"got {quote(value)}", path=path)
    return tuple(names)


def _ref_path(layer: Wired, index: int) -> str:
    path = join(layer.path, "from")
    return join(path, index) if len(layer.inputs) > 1 else path


def check_refs(layers: Sequence[Wired], inputs: Sequence[str] = ()) -> None:
    """Every ``from:`` of one list names ``input``, one of the model's named ``inputs`` (the
    top-level list) or an earlier layer of the list."""
    position = {name: i for i, layer in enumerate(layers) for name in known_names(layer)}
    for i, layer in enumerate(layers):
        for j, ref in enumerate(layer.inputs):
            if ref == INPUT or ref in inputs:
                continue
            at = position.get(ref)
            if at is None:
                earlier = [other.name for other in layers[:i]]
                raise SpecError(f"unknown layer {quote(ref)}{suggest(ref, [INPUT, *inputs, *earlier])}; "
                                f"from: names an earlier layer of the same list, or {INPUT}"
                                + "".join(f", {name}" for name in inputs),
                                path=_ref_path(layer, j))
            if at == i:
                raise SpecError(f"layer {ref!r} reads its own output: a cycle",
                                path=_ref_path(layer, j))
            if at > i:
                raise SpecError(f"{ref!r} is a later layer ({layers[at].path}): from: names "
                                "earlier layers only, so the graph has no cycle",
                                path=_ref_path(layer, j))


def check_outputs(value: Any, layers: Sequence[Wired]) -> tuple[str, ...]:
    """The model's ``outputs:``: names of top-level layers, each once."""
    names = read_from(value, "outputs")
    known = [name for layer in layers for name in known_names(layer)]
    for i, name in enumerate(names):
        path = join("outputs", i) if isinstance(value, list) else "outputs"
        if name not in known:
            raise SpecError(f"unknown layer {quote(name)}{suggest(name, known)}; outputs: names "
                            "top-level layers", path=path)
        if name in names[:i]:
            raise SpecError(f"{name!r} is named twice", path=path)
    return names


def prune(layers: Sequence[L], outputs: Sequence[str] = ()) -> tuple[tuple[L, ...], list[SpecError]]:
    """The layers some output needs (default: the last layer), and a warning per other layer."""
    needed = set(outputs) if outputs else {layers[-1].name}
    keep = [False] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        if needed.intersection(known_names(layer)):
            keep[i] = True
            needed.update(layer.inputs or ((layers[i - 1].name,) if i else ()))
    warnings = [SpecError(f"layer {layer.name!r} is not used by any output: not counted",
                          path=layer.path) for layer, kept in zip(layers, keep, strict=True)
                if not kept]
    return tuple(layer for layer, kept in zip(layers, keep, strict=True) if kept), warnings
