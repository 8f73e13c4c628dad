"""Model sources as typed by the user, parsed without importing anything. Pure.

``path/to/file.py:Name``, ``package.module:Name``, ``torchvision:resnet34``,
``timm:mobilenetv3_large_100``, each optionally called with literal keyword arguments
(``'net.py:UNet(classes=2)'``, read with :func:`ast.literal_eval`, never ``eval``); or
``model.onnx``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from convcost.errors import ConvcostError

MAX_SOURCE = 1000  # characters: a source is typed by a person
ZOOS = ("torchvision", "timm")
_TARGET = re.compile(r"^(?P<target>[^:()\s]+):(?P<call>\S.*)$", re.DOTALL)
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Source:
    """Where a model comes from: ``kind`` is file, module, torchvision, timm or onnx."""

    kind: str
    location: str  # file path, module name, zoo name, or ONNX path
    name: str = ""  # class or factory (file / module / zoo sources)
    kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    text: str = ""

    @property
    def is_torch(self) -> bool:
        return self.kind != "onnx"


def is_onnx(text: str) -> bool:
    """Whether ``text`` names an ONNX file."""
    return text.endswith(".onnx") and ":" not in text


def is_target(text: str) -> bool:
    """Whether ``text`` is ``TARGET:NAME(...)``: a zoo name, a Python file or module's model."""
    return _TARGET.match(text) is not None


def parse_source(text: str) -> Source:
    """Parse a source string; a malformed one is a one-line ConvcostError."""
    if len(text) > MAX_SOURCE:
        raise ConvcostError(f"model source is {len(text)} characters long; at most {MAX_SOURCE}")
    if not text.isprintable():
        raise ConvcostError(f"model source {text!r} has control characters")
    if is_onnx(text):
        return Source("onnx", text, text=text)
    match = _TARGET.match(text)
    if match is None:
        raise ConvcostError(f"cannot read model source {text!r}: expected FILE.py:NAME, "
                            "package.module:NAME, torchvision:NAME, timm:NAME or FILE.onnx")
    target = match["target"]
    name, kwargs = _call(match["call"], text)
    if target in ZOOS:
        kind = target
    elif target.endswith(".py"):
        kind = "file"
    elif _DOTTED.match(target):
        kind = "module"
    else:
        raise ConvcostError(f"model source {text!r}: {target!r} is neither a .py file nor a "
                            "dotted module name")
    return Source(kind, target, name, kwargs, text)


def _call(call: str, text: str) -> tuple[str, Mapping[str, Any]]:
    """``Name`` or ``Name(k=literal, ...)`` -> (name, kwargs); never evaluates code."""
    try:
        tree = ast.parse(call.strip(), mode="eval").body
    except SyntaxError:
        raise ConvcostError(f"model source {text!r}: cannot parse {call!r} as NAME(key=value, ...)"
                            ) from None
    func, args, keywords = (tree.func, tree.args, tree.keywords) if isinstance(tree, ast.Call) \
        else (tree, [], [])
    name = ast.unparse(func)
    if not all(part.isidentifier() for part in name.split(".")):  # Python's names: Ünïcode too
        raise ConvcostError(f"model source {text!r}: {name!r} is not a name")
    if args or any(k.arg is None for k in keywords):
        raise ConvcostError(f"model source {text!r}: give arguments as key=value only")
    kwargs: dict[str, Any] = {}
    for keyword in keywords:
        try:
            kwargs[str(keyword.arg)] = ast.literal_eval(keyword.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ConvcostError(
                f"model source {text!r}: {keyword.arg}= must be a literal (number, string, "
                f"True/False/None, list, tuple or dict), got {ast.unparse(keyword.value)!r}"
            ) from None
    return name, MappingProxyType(kwargs)
