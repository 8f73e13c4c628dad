"""Random and randomly mutated specs never raise anything but convcost's own error."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcost.errors import ConvcostError
from convcost.net.analysis import analyze
from convcost.spec.loader import load_spec
from tests.helpers import examples

SPECS = Path(__file__).resolve().parents[2] / "specs"

@functools.cache
def _bases() -> list[Any]:
    """The shipped specs as data: read when a property first draws (not at collection)."""
    return [yaml.safe_load(p.read_text()) for p in sorted(SPECS.glob("*.yaml"))]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 600), st.floats(allow_nan=True),
    st.text(max_size=6), st.sampled_from(["same", "auto", "relu", "avg", "conv", "se", "1.2G"]),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                        max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated_specs(draw: st.DrawFn) -> Any:
    spec = copy.deepcopy(draw(st.sampled_from(_bases())))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(spec) if p]
        path = draw(st.sampled_from(paths))
        parent = spec
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
        else:
            parent[path[-1]] = draw(values)
    return spec


def _run(path: Path) -> None:
    try:
        analyze(load_spec(path), resolution=32)
    except ConvcostError as err:
        assert str(err)
        assert "\n" not in str(err)


@pytest.mark.slow
@settings(max_examples=examples(300), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=mutated_specs())
def test_mutated_specs_fail_only_with_convcost_errors(spec: Any, tmp_path: Path) -> None:
    path = tmp_path / "mutated.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    _run(path)


# ~60 ms of CPU a draw: the fast loop draws 12 (each run anew), make test 100, make test-all 200
@settings(max_examples=examples(200, fast=12), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200) | values.map(yaml.safe_dump))
def test_random_yaml_fails_only_with_convcost_errors(text: str, tmp_path: Path) -> None:
    path = tmp_path / "random.yaml"
    path.write_text(text, encoding="utf-8")
    _run(path)
