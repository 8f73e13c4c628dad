"""The imported spec as YAML a person can read: a header comment, one flow mapping per layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from convcost.runtime.importer.emit.layout import Opaque
from convcost.spec.yamlsafe import EXPONENT_FLOAT


def header(source: str, inputs: Sequence[tuple[str, Sequence[int]]], tracer: str, tools: str,
           notes: Sequence[str], opaque: Sequence[Opaque]) -> list[str]:
    """Comment lines: where the spec came from, how, and what it could not express;
    ``inputs``: the one input's shape (its name unsaid), or several named."""
    from convcost import __version__

    shapes = ", ".join(f"{name} " * (len(inputs) > 1) + "x".join(map(str, shape))
                       for name, shape in inputs)
    lines = [
        f"Imported by convcost {__version__} from {source}",
        f"input{'s' * (len(inputs) > 1)} {shapes}, read with {tracer} ({tools})",
        "Layer names are the model's module paths; weights are never loaded.",
        *notes,
    ]
    if opaque:
        lines.append(f"{len(opaque)} opaque layers: shapes and params measured, MACs NOT counted:")
        lines += [f"  {o.name}: {o.ops}" for o in opaque]
    from convcost.report.safe_text import clean  # names are data: one comment line each

    return [f"# {clean(line)}".rstrip() for line in lines]


class _Dumper(yaml.SafeDumper):
    """The safe dumper, quoting every string convcost's loader would read as something else
    (``1e3`` is a float to it): a name is written as a string, whatever it looks like."""


_Dumper.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, list("-+0123456789"))


def _flow(value: Any) -> str:
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=1 << 16, sort_keys=False,
                     allow_unicode=True)
    return text.removesuffix("\n...\n").strip()  # a plain scalar ends its document


def _layer(layer: dict[str, Any], indent: str = "  ") -> str:
    """One flow mapping per line; a container in block style, its leaves one per line."""
    if "branches" not in layer and "layers" not in layer:
        return f"{indent}- {_flow(layer)}"
    text = yaml.dump([layer], Dumper=_Dumper, default_flow_style=None, width=100, sort_keys=False,
                     allow_unicode=True)
    return "\n".join(f"{indent}{line}" for line in text.rstrip("\n").splitlines())


def _blocks(blocks: dict[str, Any]) -> list[str]:
    """The ``blocks:`` section: each template's args, then its layers one per line."""
    lines = ["blocks:"]
    for name, block in blocks.items():
        lines += [f"  {name}:", f"    args: {_flow(block['args'])}", "    layers:"]
        lines += [_layer(layer, "      ") for layer in block["layers"]]
    return lines


def spec_yaml(head: Sequence[str], spec: dict[str, Any]) -> str:
    """``spec`` (name, input or inputs, layers) as YAML under the ``head`` comment lines."""
    body = [f"name: {_flow(spec['name'])}"]
    if "inputs" in spec:  # several named inputs, one a line
        body += ["inputs:", *(f"  {name}: {_flow(value)}" for name, value in spec["inputs"].items())]
    else:
        body.append(f"input: {_flow(spec['input'])}")
    body += _blocks(spec["blocks"]) if "blocks" in spec else []
    body.append("layers:")
    body += [_layer(layer) for layer in spec["layers"]]
    if "outputs" in spec:
        body.append(f"outputs: {_flow(spec['outputs'])}")
    return "\n".join([*head, *body]) + "\n"
