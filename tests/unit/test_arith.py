"""The ``${...}`` arithmetic of block templates: a small recursive-descent parser, never eval."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcost.limits import MAX_EXPR_CHARS as MAX_CHARS
from convcost.limits import MAX_EXPR_DEPTH as MAX_DEPTH
from convcost.limits import MAX_EXPR_VALUE as MAX_VALUE
from convcost.spec.arith import ExprError, evaluate, names, parse

ENV = {"squeeze": 16, "expand": 64, "c": 3, "neg": -7, "act": "relu", "flag": True}


@pytest.mark.parametrize(("text", "value"), [
    ("42", 42),
    ("expand", 64),
    ("expand * 2", 128),                  # 64 * 2
    ("expand // 4", 16),                  # 64 // 4
    ("expand // squeeze", 4),             # 64 // 16
    ("squeeze + expand", 80),             # 16 + 64
    ("expand - squeeze", 48),             # 64 - 16
    ("squeeze + expand * 2", 144),        # 16 + 128: * binds tighter than +
    ("(squeeze + expand) * 2", 160),      # 80 * 2
    ("expand - squeeze - c", 45),         # (64 - 16) - 3: left-associative
    ("expand // 4 // 2", 8),              # (64 // 4) // 2
    ("expand * c // 2", 96),              # (64 * 3) // 2 = 192 // 2
    ("expand * (c // 2)", 64),            # 64 * 1
    ("-c", -3),
    ("--c", 3),                           # -(-3)
    ("2 - -c", 5),                        # 2 - (-3)
    ("neg // 2", -4),                     # floor(-7 / 2) = floor(-3.5): Python's //
    ("7 // -2", -4),                      # floor(-3.5)
    ("  expand*2  ", 128),                # spaces anywhere
    ("((((c))))", 3),
    ("0", 0),
    (str(MAX_VALUE), MAX_VALUE),
])
def test_evaluates_like_integer_arithmetic(text: str, value: int) -> None:
    assert evaluate(parse(text), ENV) == value


@pytest.mark.parametrize(("text", "message"), [
    ("", "expected a number, a name or '(' at column 1, got the end"),
    ("expand *", "expected a number, a name or '(' at column 9, got the end"),
    ("expand +* 2", "expected a number, a name or '(' at column 9, got '*'"),
    ("expand / 2", "unexpected '/' at column 8 (use // for integer division)"),
    ("expand % 2", "unexpected '%' at column 8"),
    ("expand ** 2", "expected a number, a name or '(' at column 9, got '*'"),
    ("(expand", "missing ')' for the '(' at column 1"),
    ("expand)", "unexpected ')' at column 7"),
    ("expand 2", "unexpected '2' at column 8"),
    ("2.5", "unexpected '.' at column 2"),
    ("0064", "leading zero in '0064' at column 1"),   # YAML 1.1 would read 52 (octal)
    ("1" * 14, "number too large at column 1"),
    ("__import__('os')", "unexpected \"'\" at column 12"),
    ("x" * (MAX_CHARS + 1), f"longer than {MAX_CHARS} characters"),
    ("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels"),
    ("-" * (MAX_DEPTH + 1) + "1", f"nested deeper than {MAX_DEPTH} levels"),
])
def test_malformed_expressions_are_refused_with_the_column(text: str, message: str) -> None:
    with pytest.raises(ExprError) as err:
        parse(text)
    assert str(err.value) == message


@pytest.mark.parametrize(("text", "message"), [
    ("expand // (squeeze - 16)", "division by zero"),             # 16 - 16 = 0
    ("act * 2", "act is 'relu', not an integer"),
    ("flag + 1", "flag is True, not an integer"),                 # a boolean is not a number
    (f"{MAX_VALUE} + 1", f"value out of range (|x| > {MAX_VALUE:,})"),
    ("999999 * 999999 * 999999", f"value out of range (|x| > {MAX_VALUE:,})"),
])
def test_evaluation_errors(text: str, message: str) -> None:
    with pytest.raises(ExprError) as err:
        evaluate(parse(text), ENV)
    assert str(err.value) == message


@pytest.mark.parametrize(("text", "found"), [
    ("1 + 2", set()),
    ("expand * 2", {"expand"}),
    ("(a + b) // -a - c", {"a", "b", "c"}),
])
def test_names_lists_the_arguments_used(text: str, found: set[str]) -> None:
    assert names(parse(text)) == found


# Random expressions, fully parenthesised, against (value, largest intermediate) computed alongside.
Case = tuple[str, int, int]
_leaf = st.one_of(st.integers(0, 99).map(lambda n: (str(n), n, n)),
                  st.sampled_from(["squeeze", "expand", "c"]).map(lambda n: (n, ENV[n], ENV[n])))


def _combine(children: st.SearchStrategy[Case]) -> st.SearchStrategy[Case]:
    def build(op: str, left: Case, right: Case) -> Case:
        (lt, lv, lp), (rt, rv, rp) = left, right
        if op == "//":
            divisor = rv * rv + 1  # ≥ 1
            value = lv // divisor
            return (f"({lt}) // (({rt}) * ({rt}) + 1)", value,
                    max(lp, rp, abs(rv * rv), divisor, abs(value)))
        value = {"+": lv + rv, "-": lv - rv, "*": lv * rv}[op]
        return f"({lt}) {op} ({rt})", value, max(lp, rp, abs(value))
    return st.builds(build, st.sampled_from(["+", "-", "*", "//"]), children, children)


@settings(suppress_health_check=[HealthCheck.too_slow])  # generation is slow only on a loaded host
@given(st.recursive(_leaf, _combine, max_leaves=6))
def test_random_expressions_match_python(case: Case) -> None:
    text, value, peak = case
    if len(text) <= MAX_CHARS and peak <= MAX_VALUE:
        assert evaluate(parse(text), ENV) == value
