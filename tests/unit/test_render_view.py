"""One view value, one renderer per format: every command's output goes through
``render(view, fmt)`` (convcost/report/render.py), and each format builds only what it shows."""

from __future__ import annotations

import ast
import json
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


def _render_calls(tree: ast.Module) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            and n.func.id == "render"]


def test_commands_render_a_view_and_nothing_else_branches_on_the_format() -> None:
    """No command passes its own JSON/CSV lambdas, and no module but render.py tests
    ``fmt == "json"`` (the HTML report's own html/svg formats aside)."""
    found = []
    for path in sorted((ROOT / "convcost").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        found += [f"{where}:{c.lineno}: render with {len(c.args)} arguments"
                  for c in _render_calls(tree) if len(c.args) + len(c.keywords) != 2]
        if path.name == "render.py":
            continue
        found += [f"{where}:{n.lineno}: {ast.unparse(n)}" for n in ast.walk(tree)
                  if isinstance(n, ast.Compare) and any(
                      isinstance(s, ast.Constant) and s.value in FORMATS
                      for s in (n.left, *n.comparators))
                  and any(isinstance(s, ast.Name) and s.id == "fmt" for s in (n.left, *n.comparators))]
        found += [f"{where}:{n.lineno}: envelope" for n in ast.walk(tree)
                  if isinstance(n, ast.Name) and n.id == "envelope"]
    assert not found, found
