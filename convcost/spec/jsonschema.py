"""The JSON Schema of the spec format, generated from :data:`convcost.spec.kinds.SPEC_KINDS`.

``convcost schema`` prints it; ``convcost/spec/spec.schema.json`` ships it for editors, and a
test keeps the shipped file equal to what this module generates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convcost.cost.opkind import NO_DEFAULT, Field
from convcost.limits import MAX_COUNT, MAX_FLOAT, MAX_INT, MAX_LIST_ITEMS
from convcost.spec.budget import (
    ALLOW_INCOMPLETE,
    ALLOW_INCOMPLETE_DOC,
    BUDGET_METRICS,
    QUANTITY_PATTERN,
    REQUIRED_METRICS,
    SHARE,
)
from convcost.spec.fields import MAX_RANK
from convcost.spec.kinds import COMMON_FIELDS, INPUT_FIELDS, SE_FIELDS, SPEC_KINDS
from convcost.spec.loader import MAX_INPUTS, NAME_PATTERN, RESERVED_NAMES
from convcost.spec.template_schema import LAYERS, blocks_schema, layer_defs

_INT = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
_COUNT = {"oneOf": [{"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
                    {"type": "string", "pattern": QUANTITY_PATTERN}]}


def _budget() -> dict[str, Any]:
    props: dict[str, Any] = {key: dict(_COUNT, description=label)
                             for key, label in BUDGET_METRICS.items()}
    props[SHARE] = {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                    "description": BUDGET_METRICS[SHARE]}
    props[ALLOW_INCOMPLETE] = {"type": "boolean", "description": ALLOW_INCOMPLETE_DOC}
    return {"type": "object", "properties": props, "required": list(REQUIRED_METRICS),
            "additionalProperties": False}


def _field(field: Field) -> dict[str, Any]:
    nonneg: dict[str, Any] = {"type": "integer", "minimum": field.minimum, "maximum": MAX_INT}
    if field.type == "mapping":
        return _nullable(field, _object(SE_FIELDS))
    if field.type == "layers":
        return {"description": field.doc}  # filled in by layer_defs, inside a block or not
    schema: dict[str, Any] = {
        "int": nonneg,
        "number": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_FLOAT},
        "fraction": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
        "bool": {"type": "boolean"},
        "pair": {"oneOf": [nonneg, {"type": "array", "items": nonneg, "minItems": 2, "maxItems": 2}]},
        "padding": {"oneOf": [{"enum": ["auto", "same", "tf_same"]}, {"type": "integer", "minimum": 0,
                                                            "maximum": MAX_INT},
                              {"type": "array", "items": {"type": "integer", "minimum": 0,
                                                          "maximum": MAX_INT},
                               "minItems": 2, "maxItems": 2}]},
        "choice": {"enum": list(field.choices)},
        "ints": {"type": "array", "items": nonneg, "minItems": 1, "maxItems": MAX_LIST_ITEMS},
        "text": {"type": "string", "minLength": 1, "maxLength": 200},
        "shape": {"type": "array", "items": nonneg, "minItems": 1, "maxItems": 5},
        "sizes": {"oneOf": [nonneg, {"type": "array", "items": nonneg, "minItems": 1, "maxItems": 3},
                            *([{"enum": list(field.choices)}] if field.choices else [])]},
        "dims": {"type": "array", "items": nonneg, "minItems": 2, "maxItems": MAX_RANK},
    }[field.type]
    return _nullable(field, schema)


def _nullable(field: Field, schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    if field.doc:
        schema["description"] = field.doc
    if field.default is not NO_DEFAULT and field.default is not None:
        default = field.default
        schema["default"] = default[0] if isinstance(default, tuple) and len(set(default)) == 1 else default
    if field.nullable:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _object(fields: Mapping[str, Field], **extra: dict[str, Any]) -> dict[str, Any]:
    props = {key: _field(f) for key, f in fields.items()}
    props.update(extra)
    required = [key for key, f in fields.items() if f.default is NO_DEFAULT]
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _names() -> dict[str, Any]:
    """One layer name, or a list of them (``from:``, ``outputs:``)."""
    name = {"type": "string", "maxLength": 200}
    return {"oneOf": [name, {"type": "array", "items": name, "minItems": 1,
                             "maxItems": MAX_LIST_ITEMS}]}


def _kind_schemas() -> list[dict[str, Any]]:
    """One object schema per built-in kind (a container's ``layers`` filled in by the caller)."""
    layer_common = {key: _field(f) for key, f in COMMON_FIELDS.items()}
    layer_common["name"] = {"type": "string", "pattern": f"^{NAME_PATTERN}$", "maxLength": 200,
                            "not": {"pattern": f"(^|\\.)({'|'.join(sorted(RESERVED_NAMES))})(\\.|$)"}}
    layer_common["from"] = dict(_names(), description="the layer(s) it reads: earlier layers "
                                "of the same list, or input (default: the previous layer)")
    layers = []
    for kind, spec in SPEC_KINDS.items():
        obj = _object(spec.fields, kind={"const": kind}, **layer_common)
        obj["required"] = ["kind", *obj.get("required", [])]
        layers.append(obj)
    return layers


def spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a convcost spec."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "convcost network spec",
        "type": "object",
        "additionalProperties": False,
        "required": ["layers"],
        "oneOf": [{"required": ["input"]}, {"required": ["inputs"]}],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "input": _object(INPUT_FIELDS),
            "inputs": {"type": "object", "minProperties": 1, "maxProperties": MAX_INPUTS,
                       "propertyNames": {"pattern": f"^{NAME_PATTERN}$", "maxLength": 200},
                       "additionalProperties": _object(INPUT_FIELDS),
                       "description": "the model's named inputs, in the order its forward "
                                      "takes them (instead of input); a layer reads one with "
                                      "from: NAME"},
            "width_multiplier": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_FLOAT,
                                 "default": 1.0},
            "divisor": _INT,
            "budget": _budget(),
            "blocks": blocks_schema(),
            "layers": {"$ref": LAYERS},
            "outputs": dict(_names(), description="the top-level layers the model returns "
                            "(default: the last one)"),
        },
        "$defs": layer_defs(_kind_schemas()),
    }
