"""Map a field path such as ``layers[3].stride`` to its line in a YAML text.

Only used when an error is reported: the text is composed (never constructed) with
the safe loader, and the node tree gives line numbers.
"""

from __future__ import annotations

import re
from functools import lru_cache

import yaml

_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """``layers[3].se.reduction`` -> ``["layers", 3, "se", "reduction"]``."""
    return [int(index) if index else key for key, index in _STEP.findall(path)]


CHAIN = " → "
"""Joins a template's use site and its lines in one path: ``layers[3] → blocks.fire.layers[1]``."""


@lru_cache(maxsize=2)  # a spec's warnings are located one by one in the same text
def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None


def _line(node: yaml.Node, path: str) -> int:
    line = node.start_mark.line + 1
    for step in split_path(path):
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == step:
                    line = key.start_mark.line + 1
                    child = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            child = node.value[step]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def line_of(text: str, path: str) -> int | None:
    """1-based line of the deepest node of ``path`` found in ``text`` (None if unparsable).

    For a chained path (a layer made from a template) it is the line of the use site.
    """
    node = _compose(text)
    return None if node is None else _line(node, path.split(CHAIN)[0])


def locate_path(text: str, path: str, file: str) -> tuple[int | None, str]:
    """``(line, path)`` for an error at ``path``: the line of the (first) use site, and the path
    with each template step of a chain followed by its own ``(file:line)``."""
    node = _compose(text)
    if node is None:
        return None, path
    first, *steps = path.split(CHAIN)
    shown = [first, *(f"{step} ({file}:{_line(node, step)})" for step in steps)]
    return _line(node, first), CHAIN.join(shown)
