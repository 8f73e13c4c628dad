"""The leaf bound (SpecKind.max_leaves) that refuses a huge network before expanding it is an
upper bound of what each layer really expands to, on every shipped spec."""

from __future__ import annotations

import pytest
from helpers import ALL_SPECS, SPECS

from convcost.net.analysis import analyze
from convcost.spec.loader import _leaf_bound, load_spec


@pytest.mark.parametrize("name", ALL_SPECS)
def test_every_layer_expands_to_at_most_its_bound(name: str) -> None:
    spec = load_spec(SPECS / f"{name}.yaml")
    nodes = {node.name: node for node in analyze(spec).root.children}
    for layer in spec.layers:
        names = [layer.name] if layer.repeat == 1 else [f"{layer.name}.{i}" for i in range(layer.repeat)]
        produced = [nodes[n] for n in names]
        leaves = sum(len(list(node.leaves())) for node in produced)
        bound = layer.repeat * _leaf_bound(layer)
        assert 0 < leaves <= bound, f"{layer.path} ({layer.kind}): {leaves} leaves, bound {bound}"
