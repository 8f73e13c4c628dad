"""Runs of equal layers as one ``repeat:`` layer (the emitted spec, made readable). Pure."""

from __future__ import annotations

from collections.abc import Sequence

from convcost.runtime.importer.emit.leaves import Layer


def collapse_repeats(layers: Sequence[Layer], outputs: Sequence[str] = ()) -> tuple[list[Layer], list[str]]:
    """Runs named ``P.0 … P.n-1`` with equal fields (later copies at stride 1) -> ``repeat: n``.

    ``from:`` and ``outputs`` naming a run's last copy then name ``P`` (a repeated layer's name
    stands for its last copy); a run whose other copies are read elsewhere stays as it is."""
    read = {ref for layer in layers for ref in _refs(layer)} | set(outputs)
    read |= {layer["shares"] for layer in layers if "shares" in layer}
    out: list[Layer] = []
    renamed: dict[str, str] = {}
    i = 0
    while i < len(layers):
        run = _run(layers, i)
        if len(run) > 1 and not any(layer["name"] in read for layer in run[:-1]):
            first = layers[i]
            prefix = first["name"].rsplit(".", 1)[0]
            out.append({"kind": first["kind"], "name": prefix, "repeat": len(run),
                        **_without(first, ("kind", "name"))})
            renamed[run[-1]["name"]] = prefix
        else:
            out += [dict(layer) for layer in run]
        i += max(1, len(run))
    for layer in out:
        if "shares" in layer:
            layer["shares"] = renamed.get(layer["shares"], layer["shares"])
        if "from" in layer:
            refs = [renamed.get(ref, ref) for ref in _refs(layer)]
            layer["from"] = refs if isinstance(layer["from"], list) else refs[0]
    return out, [renamed.get(name, name) for name in outputs]


def _refs(layer: Layer) -> list[str]:
    wires = layer.get("from", [])
    return [wires] if isinstance(wires, str) else list(wires)


def _run(layers: Sequence[Layer], start: int) -> list[Layer]:
    first = layers[start]
    prefix, _, index = first["name"].rpartition(".")
    if index != "0" or not prefix:
        return [first]
    run = [first]
    for j, layer in enumerate(layers[start + 1:], 1):
        if layer["name"] != f"{prefix}.{j}" or not _copy(first, layer):
            break
        run.append(layer)
    return run


def _copy(first: Layer, other: Layer) -> bool:
    """Whether ``other`` is what the expander makes of ``first`` as a later repeat."""
    keep = ("name",) if first["kind"] == "pool" else ("name", "stride")
    stride_ok = first["kind"] == "pool" or other.get("stride", 1) in (1, [1, 1])
    plain = not {"from", "shares"} & {*first, *other} and first["kind"] != "opaque"
    return stride_ok and plain and _without(first, keep) == _without(other, keep)


def _without(layer: Layer, keys: tuple[str, ...]) -> Layer:
    return {k: v for k, v in layer.items() if k not in keys}
