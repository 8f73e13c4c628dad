"""A table drawn plain (``Report.plain``, piped output) is what rich prints, character for character."""

from __future__ import annotations

import io
from operator import itemgetter

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from convcost.report.render import Column, Report
from convcost.report.safe_text import Markup
from tests.helpers import examples

# narrow characters, as in convcost's tables: ASCII plus × → µ ² ✓ Δ α ρ ━ —
CHARS = st.sampled_from(list("abcXYZ019 .,:%()-_/+") + list("×→µ²✓Δαρ—"))
WORDS = st.text(CHARS, min_size=1, max_size=12).map(lambda s: s.strip() or "x")


def rich_text(report: Report) -> str:
    out = io.StringIO()
    Console(file=out, width=200, highlight=False, emoji=False, no_color=True).print(report.rich())
    return out.getvalue()


@st.composite
def reports(draw: st.DrawFn) -> Report:
    n_cols = draw(st.integers(1, 6))
    justify = [draw(st.sampled_from(["left", "right"])) for _ in range(n_cols)]
    headers = [draw(WORDS) for _ in range(n_cols)]
    rows = draw(st.lists(st.lists(WORDS, min_size=n_cols, max_size=n_cols), max_size=6))
    columns = [Column(h, itemgetter(i), justify=j)
               for i, (h, j) in enumerate(zip(headers, justify, strict=True))]
    title = " ".join(draw(st.lists(WORDS, min_size=1, max_size=12)))
    notes = draw(st.lists(st.sampled_from([
        "plain note", "a × b → c", "m[alpha=0.5] is text", "[bold]not markup[/] in a str",
        Markup("ratio [bold]0.118924[/]"), Markup("[bold]8.41×[/] fewer")]), max_size=2))
    return Report(title, columns, rows, notes)


@settings(max_examples=examples(300), deadline=None)
@given(reports())
def test_plain_table_is_riches_drawing(report: Report) -> None:
    plain = report.plain()
    if plain is not None:
        assert plain == rich_text(report)


def test_typical_table_is_drawn_plain() -> None:
    report = Report("mobilenet_v1: input 1×3×224×224, α = 1",
                    [Column("layer", lambda r: r[0], justify="left"),
                     Column("MACs", lambda r: r[1])],
                    [("stem", "10.84 M"), ("fc", "1.02 M")], ["[bold]total[/] 568.74 M"])
    text = report.plain()
    assert text == rich_text(report)
    # the title is wider than the table: it wraps, each line centred over the 19 columns
    assert text is not None and text.splitlines()[:2] == ["mobilenet_v1: input", "1×3×224×224, α = 1 "]


def test_falls_back_where_rich_would_differ() -> None:
    wide = Report("t", [Column("c", lambda r: r)], ["x" * 300])  # wider than the page
    link = Report("t", [Column("c", lambda r: r)], ["a"], [Markup("[link=https://x]x[/link]")])
    emoji = Report("t", [Column("c", lambda r: r)], ["猫"])  # two cells wide
    assert wide.plain() is link.plain() is emoji.plain() is None
    assert wide.plain(page=400) is not None  # a wider page (COLUMNS) fits it


def test_user_text_is_never_markup_and_never_a_control() -> None:
    report = Report("m[alpha=0.5]", [Column("name", lambda r: r, justify="left")],
                    ["evil[/]", "x\n::error file=a.py::injected", "\x1b[31mred"], ["model m[bold]x[/]"])
    text = report.plain()
    assert text == rich_text(report)
    assert text is not None and "\x1b" not in text and "\\x1b[31mred" in text
    assert "m[bold]x[/]" in text  # a plain note keeps its brackets


@settings(max_examples=examples(300), deadline=None)
@given(st.integers(-10**30, 10**30), st.integers(1, 10**30), st.integers(0, 6))
def test_percent_takes_a_shortcut_to_the_same_digits(part: int, whole: int, digits: int) -> None:
    """int / int, or a Fraction over 1, prints what the exact Fraction prints (both are the
    correctly rounded float of the same rational)."""
    from fractions import Fraction

    from convcost.report.render import percent

    exact = f"{float(Fraction(part) / Fraction(whole)) * 100:.{digits}f} %"
    assert percent(part, whole, digits) == exact
    assert percent(Fraction(part, whole), 1, digits) == exact
    assert percent(Fraction(part, whole), Fraction(1), digits) == exact
