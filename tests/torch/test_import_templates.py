"""Repeated blocks of an imported model become ``blocks:`` templates, figure for figure.

The templated spec must analyse, leaf by leaf (name, kind, shape, params, MACs), exactly like
the same import written flat.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import graph_of

from convcost.errors import MissingDependencyError
from convcost.net.analysis import Analysis, analyze
from convcost.runtime.importer.convert import Imported, to_spec
from convcost.runtime.importer.emit.repeats import collapse_repeats
from convcost.runtime.importer.emit.templates import snake
from convcost.runtime.importer.emit.text import spec_yaml
from convcost.runtime.importer.resolve import import_torchvision
from convcost.spec.loader import parse_spec
from convcost.spec.yamlsafe import load_yaml


def _import(source: str, shape: tuple[int, ...]) -> Imported:
    try:
        import_torchvision()
    except MissingDependencyError as err:
        pytest.skip(str(err))
    return to_spec(graph_of(source, shape), source)


def _flat(imported: Imported) -> Analysis:
    layers, outputs = collapse_repeats(imported.emitted.layers, imported.emitted.outputs)
    spec: dict[str, Any] = {**imported.spec, "layers": layers}
    spec.pop("blocks", None)
    if outputs:
        spec["outputs"] = outputs
    return analyze(parse_spec(load_yaml(spec_yaml([], spec))))


def _leaves(analysis: Analysis) -> list[tuple[Any, ...]]:
    return [(n.name, n.label, n.output_shape, n.params, n.macs) for n in analysis.leaves()]


# (source, input size, template, uses, its args)
MODELS = [
    # Fire: squeeze 1x1, expand 1x1 and 3x3 of equal width (one argument, their common
    # start), concat: the arguments of specs/squeezenet1_1.yaml's hand-written fire
    ("torchvision:squeezenet1_1", 224, "fire", 8, ["squeeze", "expand"]),
    # Inception: 6 widths (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5 (written 3x3), pool proj)
    ("torchvision:googlenet(aux_logits=False, init_weights=False)", 224, "inception", 9,
     ["branch1", "branch2_0", "branch2_1", "branch3_0", "branch3_1", "branch4_1"]),
]


@pytest.mark.parametrize(("source", "size", "template", "uses", "args"), MODELS)
def test_repeated_blocks_become_templates_with_the_same_leaves(
        source: str, size: int, template: str, uses: int, args: list[str]) -> None:
    imported = _import(source, (1, 3, size, size))
    assert imported.spec["blocks"][template]["args"] == args
    assert sum(layer["kind"] == template for layer in imported.spec["layers"]) == uses
    again = analyze(parse_spec(load_yaml(imported.yaml)))
    assert _leaves(again) == _leaves(_flat(imported))
    assert f"  {template}:\n    args: [" in imported.yaml


@pytest.mark.slow
@pytest.mark.parametrize(("source", "size", "template"), [
    ("torchvision:densenet121", 64, "dense_layer"),
    ("torchvision:inception_v3(aux_logits=False, init_weights=False)", 75, "inception_a"),
    ("torchvision:convnext_tiny", 64, "cnblock"),  # a residual: body, layer scale, add
])
def test_large_models_keep_their_leaves_under_templates(source: str, size: int,
                                                        template: str) -> None:
    imported = _import(source, (1, 3, size, size))
    assert template in imported.spec["blocks"]
    assert _leaves(analyze(parse_spec(load_yaml(imported.yaml)))) == _leaves(_flat(imported))


@pytest.mark.parametrize(("cls", "name"), [
    ("Fire", "fire"), ("InceptionA", "inception_a"), ("BasicConv2d", "basic_conv2d"),
    ("_DenseLayer", "dense_layer"),
])
def test_template_names_are_snake_case_class_names(cls: str, name: str) -> None:
    assert snake(cls) == name
