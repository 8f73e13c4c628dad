"""Map a field path such as ``layers[3].stride`` to its line in a YAML text.

Only used when an error is reported: the text is composed (never constructed) with
the safe loader, and the node tree gives line numbers.
"""

from __future__ import annotations

import re

import yaml

_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """``layers[3].se.reduction`` -> ``["layers", 3, "se", "reduction"]``."""
    return [int(index) if index else key for key, index in _STEP.findall(path)]


def line_of(text: str, path: str) -> int | None:
    """1-based line of the deepest node of ``path`` found in ``text`` (None if unparsable)."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    if node is None:
        return None
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
