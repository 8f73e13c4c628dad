"""The importer's template pass on emitted layer mappings (pure: no torch)."""

from __future__ import annotations

from typing import Any

from convcost.runtime.importer.emit.templates import templated


def _unit(module: str, squeeze: int, expand: int) -> list[dict[str, Any]]:
    return [{"kind": "pwconv", "name": f"{module}.squeeze", "out_channels": squeeze},
            {"kind": "pwconv", "name": f"{module}.expand1x1", "out_channels": expand},
            {"kind": "conv", "name": f"{module}.expand3x3", "from": f"{module}.squeeze",
             "out_channels": expand},
            {"kind": "concat", "name": f"{module}.cat",
             "from": [f"{module}.expand1x1", f"{module}.expand3x3"]}]


CLASSES = {"a": "Fire", "b": "Fire", "c": "Fire"}
STEM: dict[str, Any] = {"kind": "conv", "name": "stem", "out_channels": 8}


def test_two_runs_of_one_class_become_one_template() -> None:
    layers, outputs, blocks = templated([STEM, *_unit("a", 4, 8), *_unit("b", 6, 12)],
                                        ["b.cat"], CLASSES)
    assert [b.name for b in blocks] == ["fire"]
    # expand1x1 and expand3x3 are equal at both sites (8, 12): one argument, their common start
    assert blocks[0].args == ("squeeze", "expand")
    assert blocks[0].layers[2] == {"kind": "conv", "name": "expand3x3", "from": "squeeze",
                                   "out_channels": "${expand}"}
    assert layers[1:] == [{"kind": "fire", "name": "a", "squeeze": 4, "expand": 8},
                          {"kind": "fire", "name": "b", "squeeze": 6, "expand": 12}]
    assert outputs == ["b"]  # the group's name stands for its last layer


def test_a_run_whose_module_has_other_layers_elsewhere_stays_flat() -> None:
    later = {"kind": "act", "name": "a.relu", "fn": "relu"}
    layers, _, blocks = templated([STEM, *_unit("a", 4, 8), *_unit("b", 6, 12), later],
                                  [], CLASSES)
    assert not blocks and len(layers) == 10  # 'a' as a group would clash with a.relu


def test_a_run_read_from_outside_but_for_its_end_stays_flat() -> None:
    tail = {"kind": "add", "name": "sum", "from": ["a.expand1x1", "b.cat"]}
    _, _, blocks = templated([STEM, *_unit("a", 4, 8), *_unit("b", 6, 12), tail], [], CLASSES)
    assert not blocks
