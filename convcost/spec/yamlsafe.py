"""Reading YAML (and JSON) input safely: every bound of :mod:`convcost.limits` applies here.

A file is read once, only if it is a regular file below the size limit (a FIFO or
``/dev/zero`` is refused, never waited on). The YAML is composed into a node tree first and
checked before any value is constructed:

* duplicate keys are refused (PyYAML would silently keep the last);
* YAML 1.1 number forms that read differently from what they look like are refused:
  ``0064`` (octal, 52) and ``1:04`` (base 60, 64). Write ``64``;
* ``1e5`` is a number (YAML 1.2; YAML 1.1 reads it as a string);
* integer literals longer than :data:`~convcost.limits.MAX_INT_DIGITS` digits are refused;
* nesting deeper than :data:`~convcost.limits.MAX_YAML_DEPTH`, and more than
  :data:`~convcost.limits.MAX_YAML_NODES` nodes once aliases are expanded (an alias bomb),
  are refused. Each check costs time linear in the *text*, not in the expansion.

Construction is PyYAML's SafeConstructor (plain data only), through libyaml when installed.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from convcost.errors import SpecError
from convcost.limits import MAX_FILE_BYTES, MAX_INT_DIGITS, MAX_YAML_DEPTH, MAX_YAML_NODES, quote
from convcost.spec.templates import unquoted_expression_hint


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, plus YAML 1.2's exponent floats: ``1e308`` is a number, not a string."""


#: YAML 1.2's exponent floats, which YAML 1.1 (PyYAML) reads as strings; a writer quotes them.
EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(\.[0-9_]*)?[eE][-+]?[0-9]+$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, list("-+0123456789"))
_LOADER: Any = _Loader
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_OCTAL = re.compile(r"[-+]?0[0-7_]+")
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?")


def read_text(path: str | Path, what: str = "spec", max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``, read once."""
    file = str(path)
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SpecError(f"cannot read {what}: {exc.strerror or exc}", file=file) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "is a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise SpecError(f"cannot read {what}: {kind}", file=file)
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise SpecError(f"cannot read {what}: {exc.strerror or exc}", file=file) from None
    if len(data) > max_bytes:
        size = f"{max_bytes // 2**20} MiB" if max_bytes >= 2**20 else f"{max_bytes:,} bytes"
        raise SpecError(f"cannot read {what}: larger than {size}",
                        file=file)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"cannot read {what}: not UTF-8 (byte {exc.start + 1})", file=file) from None


def compose(text: str, file: str | None = None) -> yaml.Node | None:
    """The node tree of one YAML document; syntax errors are SpecErrors with file and line."""
    loader = _LOADER(text)
    try:
        return loader.get_single_node()  # type: ignore[no-any-return]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        line = mark.line + 1 if mark is not None else None
        column = f" (column {mark.column + 1})" if mark is not None else ""
        hint = unquoted_expression_hint(text, line)
        raise SpecError(f"YAML syntax error: {problem}{column}{hint}", file=file,
                        line=line) from None
    except RecursionError:
        raise SpecError(f"nested deeper than {MAX_YAML_DEPTH} levels", file=file) from None
    finally:
        loader.dispose()


def load_yaml(text: str, file: str | None = None, max_nodes: int = MAX_YAML_NODES) -> Any:
    """Compose, check (:func:`check_nodes`) and construct one YAML document."""
    node = compose(text, file)
    if node is None:
        return None
    check_nodes(node, file, max_nodes)
    loader = _LOADER("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpecError(f"YAML syntax error: {problem}", file=file,
                        line=mark.line + 1 if mark is not None else None) from None
    finally:
        loader.dispose()


def check_nodes(root: yaml.Node, file: str | None = None, max_nodes: int = MAX_YAML_NODES) -> None:
    """Refuse duplicate keys, ambiguous YAML 1.1 numbers, huge literals and alias bombs."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, str, int, bool]] = [(root, "", 0, False)]
    while stack:  # iterative post-order: deep input never meets Python's recursion limit
        node, path, depth, done = stack.pop()
        if id(node) in sizes:
            continue
        if depth > MAX_YAML_DEPTH:
            raise SpecError(f"nested deeper than {MAX_YAML_DEPTH} levels", path=path, file=file,
                            line=node.start_mark.line + 1)
        children = list(_children(node, path, file))
        if done or not children:
            size = 1 + sum(sizes[id(child)] for child, _ in children)
            if size > max_nodes:
                raise SpecError(f"expands to more than {max_nodes:,} values (aliases?)",
                                path=path, file=file, line=node.start_mark.line + 1)
            sizes[id(node)] = size
            continue
        stack.append((node, path, depth, True))
        stack.extend((child, where, depth + 1, False) for child, where in children
                     if id(child) not in sizes)


def _children(node: yaml.Node, path: str, file: str | None) -> list[tuple[yaml.Node, str]]:
    """A node's children with their field paths; scalars are checked here."""
    from convcost.spec.fields import join

    if isinstance(node, yaml.ScalarNode):
        _check_scalar(node, path, file)
        return []
    if isinstance(node, yaml.SequenceNode):
        return [(child, join(path, i)) for i, child in enumerate(node.value)]
    out: list[tuple[yaml.Node, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else "?"
        where = join(path, name[:40])
        if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
            if (key.tag, key.value) in seen:
                raise SpecError(f"duplicate key (first at line {seen[key.tag, key.value]})",
                                path=where, file=file, line=key.start_mark.line + 1)
            seen[key.tag, key.value] = key.start_mark.line + 1
        out += [(key, where), (value, where)]
    return out


def _check_scalar(node: yaml.ScalarNode, path: str, file: str | None) -> None:
    text = node.value
    line = node.start_mark.line + 1
    if node.tag in (_INT, _FLOAT) and not node.style:  # plain (unquoted) scalars
        if node.tag == _INT and _OCTAL.fullmatch(text):
            raise SpecError(f"{quote(text)} is octal in YAML 1.1 (= {int(text.replace('_', ''), 8)}); "
                            "write it without leading zeros", path=path, file=file, line=line)
        if _BASE60.fullmatch(text):
            raise SpecError(f"{quote(text)} is a base-60 number in YAML 1.1; write a decimal number",
                            path=path, file=file, line=line)
        digits = sum(c.isdigit() for c in text)
        if node.tag == _INT and digits > MAX_INT_DIGITS:
            raise SpecError(f"integer of {digits} digits (at most {MAX_INT_DIGITS})",
                            path=path, file=file, line=line)
