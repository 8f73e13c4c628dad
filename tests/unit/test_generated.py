"""Checked-in generated files (docs tables, JSON Schema) equal what the declarations generate.

Regenerate after an intended change with ``CONVCOST_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from convcost.report.reference import TABLES, refreshed
from convcost.spec.jsonschema import spec_schema

ROOT = Path(__file__).resolve().parents[2]
UPDATE = os.environ.get("CONVCOST_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("name", list(TABLES))
def test_docs_table_is_current(name: str) -> None:
    path = ROOT / TABLES[name][0]
    text = path.read_text(encoding="utf-8")
    fresh = refreshed(text, name)
    if UPDATE:
        path.write_text(fresh, encoding="utf-8")
    assert text == fresh or UPDATE, f"{path.name}: table {name} is stale: run with CONVCOST_UPDATE_GOLDEN=1"


def test_shipped_schema_is_current() -> None:
    path = ROOT / "convcost" / "spec" / "spec.schema.json"
    fresh = json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        path.write_text(fresh, encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == spec_schema(), (
        "stale schema: run with CONVCOST_UPDATE_GOLDEN=1")


def test_refresh_needs_its_markers() -> None:
    with pytest.raises(ValueError, match="no <!-- generated: rules --> block"):
        refreshed("no markers here", "rules")
