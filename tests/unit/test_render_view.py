"""One view value, one renderer per format: every command's output goes through
``render(view, fmt)`` (convcost/report/render.py), and each format builds only what it shows."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT

from convcost.cli.options import choice
from convcost.report.render import FORMATS, RENDERERS, Column, Report, View, render

ROWS = [("conv", 864), ("fc", 1_281_000)]
TABLE = Report("net", [Column("layer", lambda r: r[0], justify="left"),
                       Column("MACs", lambda r: r[1], lambda v: f"{v / 1e6:.2f} M")], ROWS, ["a note"])
EXACT = Report("net (exact)", TABLE.columns, ROWS)


def _view(built: list[str], **parts: Any) -> View:
    def part(name: str, value: Any) -> Any:
        def make() -> Any:
            built.append(name)
            return value
        return make

    return View("model", part("tables", [TABLE]), part("data", {"macs": 1_281_864}),
                **{k: part(k, v) for k, v in parts.items()}, after=("verdict",))


def test_every_format_has_one_renderer() -> None:
    assert FORMATS == tuple(RENDERERS) == ("table", "json", "csv", "markdown")
    assert tuple(choice(*FORMATS).choices) == FORMATS  # --format offers exactly these


@pytest.mark.parametrize(("fmt", "built", "first"), [
    ("table", ["tables"], TABLE),
    ("json", ["data"], '{\n  "schema_version": 1,\n  "command": "model",\n  "macs": 1281864\n}'),
    ("csv", ["exact"], "layer,macs\nconv,864\nfc,1281000\n"),  # the exact report's rows
    ("markdown", ["exact"], "### net (exact)\n\n| layer | MACs |\n| :--- | ---: |\n| conv | 864 |\n"
                            "| fc | 1281000 |\n"),
])
def test_each_format_builds_only_what_it_renders(fmt: str, built: list[str], first: Any) -> None:
    made: list[str] = []
    items = render(_view(made, exact=[EXACT]), fmt)
    assert made == built and items[0] == first
    assert items[1:] == (["verdict"] if fmt == "table" else [])  # lines after the tables


def test_a_view_may_give_its_own_csv_and_markdown() -> None:
    made: list[str] = []
    view = _view(made, csv="a,b\n1,2\n", markdown="## page\n")
    assert render(view, "csv") == ["a,b\n1,2\n"] and render(view, "markdown") == ["## page\n"]
    assert made == ["csv", "markdown"]
    without = _view([])
    assert render(without, "csv") == [TABLE.tidy_csv()]  # no exact form: the tables' rows
    assert json.loads(render(without, "json")[0])["command"] == "model"


def _format_branch(node: ast.AST) -> bool:
    """``fmt == "json"`` (either side, any comparison, any format name)."""
    sides = (node.left, *node.comparators) if isinstance(node, ast.Compare) else ()
    return (any(isinstance(s, ast.Constant) and s.value in FORMATS for s in sides)
            and any(isinstance(s, ast.Name) and s.id == "fmt" for s in sides))


def _findings(tree: ast.Module, where: Path) -> Iterator[str]:
    """What the test below refuses in one module, in one walk of its tree (three walks of every
    tree were ~0.5 s of the fast loop's CPU)."""
    branches = where.name != "render.py"
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "render" \
                and len(n.args) + len(n.keywords) != 2:
            yield f"{where}:{n.lineno}: render with {len(n.args)} arguments"
        elif branches and _format_branch(n):
            yield f"{where}:{n.lineno}: {ast.unparse(n)}"
        elif branches and isinstance(n, ast.Name) and n.id == "envelope":
            yield f"{where}:{n.lineno}: envelope"


def test_commands_render_a_view_and_nothing_else_branches_on_the_format() -> None:
    """No command passes its own JSON/CSV lambdas, and no module but render.py tests
    ``fmt == "json"`` (the HTML report's own html/svg formats aside)."""
    found = []
    for path in sorted((ROOT / "convcost").rglob("*.py")):
        found += _findings(ast.parse(path.read_text(encoding="utf-8")), path.relative_to(ROOT))
    assert not found, found
