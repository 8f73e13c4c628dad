"""The docs cannot drift: every console example marked runnable is run, its numbers compared.

In README.md and docs/*.md, an HTML comment before a ```console block marks it:

    <!-- doctest -->          the numbers printed equal the numbers of the output block
    <!-- doctest excerpt -->  the output block's numbers appear, in order and together
    <!-- doctest torch -->    the same as doctest, run only where torch is installed
    <!-- not run: REASON -->  a console example that is not run, and why

Every console example of convcost must carry one of these markers.

The block's ``$ convcost …`` line is run (from the repository root, 200 columns, as piped);
its output is the rest of the console block, or else the next fenced block.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import ROOT
from typer.testing import CliRunner

from convcost.cli.app import app

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- doctest(?P<flags>(?: [a-z]+)*) -->$")
NOT_RUN = re.compile(r"^<!-- not run: \S.* -->$")
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Example:
    where: str  # file:line of the marker
    command: str
    expected: str
    flags: frozenset[str]


def _fence(lines: list[str], start: int) -> tuple[list[str], int]:
    """The body of the fenced block opening at ``start``, and the index after its closing fence."""
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    return lines[start + 1:end], end + 1


def _examples(path: Path) -> list[Example]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        match = MARKER.match(line.strip())
        if not match:
            continue
        where = f"{path.name}:{i + 1}"
        assert lines[i + 1].startswith("```console"), f"{where}: marker before a non-console block"
        body, after = _fence(lines, i + 1)
        command, rest = body[0], body[1:]
        if not rest:
            start = next(j for j in range(after, len(lines)) if lines[j].startswith("```"))
            rest, _ = _fence(lines, start)
        found.append(Example(where, command.removeprefix("$ "), "\n".join(rest),
                             frozenset(match["flags"].split())))
    return found


EXAMPLES = [example for path in DOCS for example in _examples(path)]


def _numbers(text: str) -> list[str]:
    return [n.replace(",", "") for n in NUMBER.findall(text)]


def _case(example: Example) -> object:
    marks = [pytest.mark.torch] if "torch" in example.flags else []
    return pytest.param(example, id=example.where, marks=marks)


def test_the_docs_mark_their_examples() -> None:
    # README: layer, layer --attention, list, list --sources, model (torch), model --summary,
    # conventions, diff;
    # conventions.md;
    # memory-and-latency.md: roofline, sweep, fit; ci.md: diff
    assert len(EXAMPLES) == 13
    assert all(e.command.startswith("convcost ") for e in EXAMPLES)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_console_example_is_run_or_says_why_not(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    unmarked = [f"{path.name}:{i + 1}" for i, line in enumerate(lines)
                if line.startswith("```console") and lines[i + 1].startswith("$ convcost")
                and not (MARKER.match(lines[i - 1].strip()) or NOT_RUN.match(lines[i - 1].strip()))]
    assert unmarked == []


@pytest.mark.parametrize("example", [_case(e) for e in EXAMPLES])
def test_example_prints_the_numbers_in_the_text(example: Example, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    monkeypatch.chdir(ROOT)
    argv = shlex.split(example.command)[1:]
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "200", "GITHUB_ACTIONS": ""})
    assert result.exit_code == 0, result.output
    assert _numbers(example.expected), f"{example.where}: no numbers to compare"
    assert _agree(example.expected, result.stdout, "excerpt" in example.flags), (
        f"{example.where}: the docs show other numbers than `{example.command}`")


def _agree(text: str, printed: str, excerpt: bool) -> bool:
    """The numbers of ``text`` are those of ``printed`` (excerpt: a run of them, in order)."""
    want, got = _numbers(text), _numbers(printed)
    if not excerpt:
        return want == got
    return any(got[i:i + len(want)] == want for i in range(len(got) - len(want) + 1))


@pytest.mark.parametrize(("text", "printed", "excerpt", "agree"), [
    ("MACs 3.70 G, params 73,728", "MACs 3.70 G, params 73728", False, True),  # commas ignored
    ("MACs 3.70 G", "MACs 3.71 G", False, False),  # a drifted figure
    ("290 M", "290.7 M", False, False),  # rounding in the text is drift too
    ("b 2 c 3", "a 1 b 2 c 3 d 4", True, True),  # an excerpt: a run of the output
    ("b 2 d 4", "a 1 b 2 c 3 d 4", True, False),  # not together: no excerpt
    ("a 1", "a 1 b 2", False, False),  # a whole example shows every number
])
def test_numbers_compare(text: str, printed: str, excerpt: bool, agree: bool) -> None:
    assert _agree(text, printed, excerpt) is agree


PATH_IN_TEXT = re.compile(r"(?<![\w/.])((?:tests|benchmarks|convcost|specs)/[\w/.-]*\w)")
EXAMPLES_ONLY = {"specs/x.yaml"}  # a made-up file in an error message


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_repository_path_in_the_docs_exists(path: Path) -> None:
    """A path the docs name (a test, a benchmark, a module, a spec) is there."""
    named = set(PATH_IN_TEXT.findall(path.read_text(encoding="utf-8")))
    missing = sorted(p for p in named - EXAMPLES_ONLY if not (ROOT / p).exists())
    assert missing == []
