"""The shipped JSON Schema is generated from the validator's own table, and agrees with it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from helpers import every_spec

from convcost.errors import SpecError
from convcost.spec.loader import parse_spec

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = json.loads((ROOT / "convcost" / "spec" / "spec.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SHIPPED)  # check the schema once, not per case


@pytest.mark.parametrize("spec", every_spec(sorted((ROOT / "specs").glob("*.yaml"))), ids=lambda p: p.stem)
def test_shipped_specs_validate(spec: Path) -> None:
    VALIDATOR.validate(yaml.safe_load(spec.read_text()))


@pytest.mark.parametrize(("layer", "valid"), [
    ({"kind": "conv", "out_channels": 8}, True),
    ({"kind": "conv", "out_channels": 8, "strdie": 2}, False),       # unknown key
    ({"kind": "conv"}, False),                                       # missing out_channels
    ({"kind": "pool", "op": "avg", "global": True}, True),
    ({"kind": "dwconv", "kernel_size": [3, 5], "padding": "same"}, True),
    ({"kind": "dwconv", "kernel_size": [3, 5, 7]}, False),           # not a pair
    ({"kind": "inverted_residual", "out_channels": 8, "expand_ratio": 6,
      "se": {"reduction": 4, "gate": "sigmoid"}}, True),
    ({"kind": "inverted_residual", "out_channels": 8, "expand_ratio": 6, "se": {"gat": "x"}}, False),
])
def test_schema_accepts_and_refuses_like_the_loader(layer: dict, valid: bool) -> None:
    spec = {"input": {"resolution": 8}, "layers": [layer]}
    errors = list(VALIDATOR.iter_errors(spec))
    assert (not errors) == valid
    try:
        parse_spec(spec)
        loads = True
    except SpecError:
        loads = False
    assert loads == valid
