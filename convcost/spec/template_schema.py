"""The JSON Schema of ``blocks:`` and of layer lists, in which a layer may use a block.

Inside a block every value may be a ``${...}`` expression, so a block's layers get a tolerant
copy of each kind's schema; :mod:`convcost.spec.jsonschema` assembles the whole schema.
"""

from __future__ import annotations

from typing import Any

from convcost.spec.kinds import LAYER_KEYS, LAYER_LISTS, SPEC_KINDS
from convcost.spec.templates import MAX_LIST

LAYERS = "#/$defs/layers"
BLOCK_LAYERS = "#/$defs/block_layers"
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
EXPRESSION = {"type": "string", "pattern": r"\$\{[^}]*\}",
              "description": "${...}: a block argument, or integer arithmetic on arguments"}
_SCALAR = {"type": ["string", "number", "boolean", "null"]}
ARGUMENT = {"anyOf": [_SCALAR, {"type": "array", "maxItems": MAX_LIST, "items": _SCALAR}]}


def _use(common: dict[str, Any]) -> dict[str, Any]:
    """A layer that uses a block: ``kind`` names it, the other keys are its arguments."""
    kind = {"type": "string", "pattern": IDENTIFIER, "not": {"enum": list(SPEC_KINDS)},
            "description": "a block defined under blocks:"}
    return {"type": "object", "required": ["kind"], "properties": {"kind": kind, **common},
            "additionalProperties": ARGUMENT}


def _transform(schema: dict[str, Any]) -> dict[str, Any]:
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {key: value if key == "kind" else _tolerant(value)
                             for key, value in out["properties"].items()}
    if "items" in out:
        out["items"] = _tolerant(out["items"])
    for key in ("anyOf", "oneOf"):
        if key in out:
            out[key] = [_transform(branch) for branch in out[key]]
    return out


def _tolerant(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or a ``${...}`` expression in its place (and in place of its parts)."""
    if "$ref" in schema:
        return schema
    return {"anyOf": [_transform(schema), EXPRESSION]}


def _layer_list(kinds: list[dict[str, Any]], ref: str, use: dict[str, Any]) -> dict[str, Any]:
    variants = []
    for kind in kinds:
        props = kind["properties"]
        lists = {key: {**props[key], "$ref": ref} for key in LAYER_LISTS if key in props}
        if lists:
            kind = {**kind, "properties": {**props, **lists}}
        variants.append(kind)
    return {"type": "array", "minItems": 1, "items": {"oneOf": [*variants, use]}}


def layer_defs(kinds: list[dict[str, Any]]) -> dict[str, Any]:
    """``$defs`` for a spec's layer list and a block's (``kinds``: one schema per kind)."""
    common = {key: value for key, value in kinds[0]["properties"].items()
              if key in LAYER_KEYS and key != "kind"}
    tolerant = [_transform(kind) for kind in kinds]
    return {
        "layers": _layer_list(kinds, LAYERS, _use(common)),
        "block_layers": _layer_list(tolerant, BLOCK_LAYERS,
                                    _use({key: _tolerant(value) for key, value in common.items()})),
    }


def blocks_schema() -> dict[str, Any]:
    """The ``blocks:`` section: templates by name, each with args, defaults and layers."""
    names = {"type": "string", "pattern": IDENTIFIER}
    block = {
        "type": "object", "required": ["layers"], "additionalProperties": False,
        "properties": {
            "args": {"type": "array", "items": names, "uniqueItems": True,
                     "description": "required arguments"},
            "defaults": {"type": "object", "propertyNames": names, "additionalProperties": ARGUMENT,
                         "description": "optional arguments and their values"},
            "layers": {"$ref": BLOCK_LAYERS},
        },
    }
    return {"type": "object", "description": "user-defined blocks (templates) by name",
            "propertyNames": {**names, "not": {"enum": list(SPEC_KINDS)}},
            "additionalProperties": block}
