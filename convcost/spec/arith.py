"""Integer arithmetic for block templates: ``${expand * 2}``, parsed by recursive descent.

Grammar (Python's precedence and floor division; nothing is ever ``eval``-ed)::

    expr  := term (("+" | "-") term)*
    term  := unary (("*" | "//") unary)*
    unary := "-" unary | atom
    atom  := INT | NAME | "(" expr ")"

Hostile input is bounded: the text's length, the nesting depth, the digits of a literal and
the magnitude of every intermediate value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from convcost.limits import MAX_EXPR_CHARS, MAX_EXPR_DEPTH, MAX_EXPR_VALUE

# ASCII only: ``\d`` would read ``৪`` (Bengali four) and ``４`` (fullwidth) as digits
_TOKEN = re.compile(r"\s*(?:(?P<int>[0-9]+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>//|[-+*()]))")


class ExprError(ValueError):
    """A malformed expression or one that cannot be evaluated; the message says why."""


@dataclass(frozen=True)
class Num:
    """An integer literal."""

    value: int


@dataclass(frozen=True)
class Var:
    """An argument's name."""

    name: str


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Expr


@dataclass(frozen=True)
class BinOp:
    """``left op right``, op one of ``+ - * //``."""

    op: str
    left: Expr
    right: Expr


Expr = Num | Var | Neg | BinOp


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """``(type, text, column)`` triples, ``column`` 1-based; anything else is an error."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].isspace():
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            start = len(text) - len(text[pos:].lstrip())
            bad = text[start]
            hint = " (use // for integer division)" if bad == "/" else ""
            raise ExprError(f"unexpected {bad!r} at column {start + 1}{hint}")
        kind = match.lastgroup
        out.append((kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0
        self.end = len(text) + 1

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "", self.end)

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        self.pos += 1
        return token

    def expr(self) -> Expr:
        node = self.term()
        while self.peek()[1] in ("+", "-"):
            node = BinOp(self.take()[1], node, self.term())
        return node

    def term(self) -> Expr:
        node = self.unary()
        while self.peek()[1] in ("*", "//"):
            node = BinOp(self.take()[1], node, self.unary())
        return node

    def unary(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_EXPR_DEPTH:
            raise ExprError(f"nested deeper than {MAX_EXPR_DEPTH} levels")
        try:
            if self.peek()[1] == "-":
                self.take()
                return Neg(self.unary())
            return self.atom()
        finally:
            self.depth -= 1

    def atom(self) -> Expr:
        kind, text, column = self.take()
        if kind == "int":
            if len(text) > 1 and text.startswith("0"):
                raise ExprError(f"leading zero in {text!r} at column {column}")
            if len(text) > len(str(MAX_EXPR_VALUE)):
                raise ExprError(f"number too large at column {column}")
            return Num(int(text))
        if kind == "name":
            return Var(text)
        if text == "(":
            node = self.expr()
            if self.take()[1] != ")":
                raise ExprError(f"missing ')' for the '(' at column {column}")
            return node
        what = "the end" if kind == "end" else repr(text)
        raise ExprError(f"expected a number, a name or '(' at column {column}, got {what}")


def parse(text: str) -> Expr:
    """The syntax tree of ``text``; :class:`ExprError` if it is not a valid expression."""
    if len(text) > MAX_EXPR_CHARS:
        raise ExprError(f"longer than {MAX_EXPR_CHARS} characters")
    parser = _Parser(text)
    node = parser.expr()
    kind, token, column = parser.peek()
    if kind != "end":
        raise ExprError(f"unexpected {token!r} at column {column}")
    return node


def names(node: Expr) -> set[str]:
    """The argument names ``node`` refers to."""
    match node:
        case Var(name):
            return {name}
        case Neg(operand):
            return names(operand)
        case BinOp(_, left, right):
            return names(left) | names(right)
    return set()


def _bounded(value: int) -> int:
    if abs(value) > MAX_EXPR_VALUE:
        raise ExprError(f"value out of range (|x| > {MAX_EXPR_VALUE:,})")
    return value


def _integer(name: str, env: Mapping[str, Any]) -> int:
    value = env[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ExprError(f"{name} is {value!r}, not an integer")
    return _bounded(value)


def _apply(op: str, a: int, b: int) -> int:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise ExprError("division by zero")
    return a // b


def evaluate(node: Expr, env: Mapping[str, Any]) -> int:
    """The integer value of ``node`` with the names bound in ``env`` (all must be bound)."""
    match node:
        case Num(value):
            return _bounded(value)
        case Var(name):
            return _integer(name, env)
        case Neg(operand):
            return -evaluate(operand, env)
        case BinOp(op, left, right):
            return _bounded(_apply(op, evaluate(left, env), evaluate(right, env)))
    raise AssertionError(node)  # pragma: no cover - the four node types are exhaustive
