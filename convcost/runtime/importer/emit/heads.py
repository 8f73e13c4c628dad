"""Heads keep their width: an imported conv that computes a model output writes ``width: fixed``.

The rule (docs/spec-format.md, "Imported heads and α"): walking back from each model output
(the last layer, or every ``outputs:`` entry) through layers that keep channels (activations,
norms, pools, resizes, merges, flatten, dropout), the first ``conv``, ``pwconv`` or
``conv_transpose`` met is a head: its channels are the classes, anchors or masks the user asked
for, and ``--alpha`` leaves them as they are (``linear`` is ``fixed`` by default already). A
composite or container met first ends the walk: its own widths scale. A conv of one output
channel (ECA's Conv1d over the channels, a spatial-attention or mask map) is ``fixed`` wherever
it is: one channel is a map, not a width. Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcost.runtime.importer.emit.leaves import Layer
from convcost.spec.kinds import SPEC_KINDS

HEADS = frozenset({"conv", "pwconv", "conv_transpose"})
KEEP_CHANNELS = frozenset({"act", "bn", "pool", "upsample", "interpolate", "flatten", "dropout", "mean",
                           "add", "concat", "mul", "layer_scale", "groupnorm", "instancenorm",
                           "layernorm", "identity"})


def _reads(layers: Sequence[Layer], index: int) -> list[int]:
    """Positions of the layers ``layers[index]`` reads (``interpolate``: its resized input only)."""
    layer = layers[index]
    wires = layer.get("from")
    if wires is None:
        return [index - 1] if index else []
    names = [wires] if isinstance(wires, str) else list(wires)
    if layer["kind"] == "interpolate":
        names = names[:1]
    position = {other["name"]: i for i, other in enumerate(layers[:index])}
    return [position[name] for name in names if name in position]


def fixed_maps(layers: Sequence[Layer]) -> list[Layer]:
    """``layers`` with ``width: fixed`` on every conv of one output channel, in containers too
    (before templating: a repeated block's ECA keeps its one channel)."""
    out = []
    for layer in layers:
        kind = SPEC_KINDS.get(layer["kind"])
        if layer.get("out_channels") == 1 and kind is not None and "width" in kind.fields:
            layer = {**layer, "width": layer.get("width", "fixed")}
        out.append({key: fixed_maps(value) if _is_layers(value) else value
                    for key, value in layer.items()})
    return out


def _is_layers(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(item, dict) and "kind" in item for item in value)


def fixed_heads(layers: Sequence[Layer], outputs: Sequence[str]) -> list[Layer]:
    """``layers`` with ``width: fixed`` on every head conv (see the module doc)."""
    out = [dict(layer) for layer in layers]
    position = {layer["name"]: i for i, layer in enumerate(out)}
    todo = [position[name] for name in outputs if name in position] or [len(out) - 1]
    seen: set[int] = set()
    while todo:
        i = todo.pop()
        if i in seen or i < 0:
            continue
        seen.add(i)
        layer = out[i]
        if layer["kind"] in HEADS and "repeat" not in layer:
            layer.setdefault("width", "fixed")
        elif layer["kind"] in KEEP_CHANNELS:
            todo.extend(_reads(out, i))
    return out
