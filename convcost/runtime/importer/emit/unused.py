"""Modules the forward never runs (GoogLeNet's auxiliary heads in eval) keep their params.

Params are ``sum(p.numel())`` over the whole model, so each such module becomes one ``unused``
layer named by its path (made a safe spec name), holding its parameter count; it passes the
model's output on (a layer no output needs would be dropped), so it changes no shape and no
MACs. Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcost.runtime.importer.emit.leaves import Layer, layer_name


def with_unused(layers: Sequence[Layer], outputs: Sequence[str],
                unused: Sequence[tuple[str, int]]) -> tuple[list[Layer], list[str]]:
    """``layers`` then an ``unused`` layer per (module path, params), chained after the first
    output (which the last of them becomes); ``outputs`` renamed so."""
    if not unused:
        return list(layers), list(outputs)
    taken = {layer["name"] for layer in layers}
    added: list[Layer] = []
    for path, params in unused:
        name = layer_name(path)
        while name in taken:
            name += "_unused"
        taken.add(name)
        added.append({"kind": "unused", "name": name, "params": params})
    if outputs:
        added[0] = {**added[0], "from": outputs[0]}
        outputs = [added[-1]["name"], *outputs[1:]]
    return [*layers, *added], list(outputs)
