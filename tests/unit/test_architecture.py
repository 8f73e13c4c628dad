"""The package's layers, checked: import order, no cycles, torch only where it belongs, short
functions. docs/architecture.md describes the layers these tests enforce."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ROOT, blocked_env, run

PACKAGE = ROOT / "convcost"
# Each layer may import (at module level) only layers of the same or a lower rank.
RANK = {"exit_codes": 0, "errors": 0, "limits": 0, "outfile": 0, "cost": 1, "spec": 2, "net": 3,
        "conventions": 4, "check": 5, "runtime": 5, "report": 6, "cli": 7, "api": 8, "__init__": 8,
        "__main__": 8}
PURE = ("cost", "spec", "net", "conventions")  # never import runtime/, not even in a function
MAX_FUNCTION_LINES = 50


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = {_module(p): ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _top_imports(tree: ast.Module) -> Iterator[str]:
    """The convcost modules imported when the module is imported (not TYPE_CHECKING, not lazy)."""
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("convcost"):
            names = [f"{node.module}.{a.name}" for a in node.names]
            yield from (n if n in MODULES else node.module for n in names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("convcost"))


def _all_imports(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("convcost"):
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("convcost"))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module: str) -> None:
    upward = [target for target in _top_imports(MODULES[module])
              if RANK[_layer(target)] > RANK[_layer(module)]]
    assert not upward, f"{module} imports a higher layer at module level: {upward}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in PURE))
def test_pure_layers_never_import_runtime(module: str) -> None:
    runtime = [t for t in _all_imports(MODULES[module]) if t.startswith("convcost.runtime")]
    assert not runtime, f"{module} imports {runtime}"


def test_no_import_cycles() -> None:
    graph = {m: {t for t in _top_imports(tree) if t in MODULES and t != m} for m, tree in MODULES.items()}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join((*path[path.index(module):], module)))
        if module not in done:
            for target in sorted(graph[module]):
                visit(target, (*path, module))
            done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_every_module_imports_with_torch_blocked(tmp_path: Path) -> None:
    """Every module of the package imports (so nothing imports torch at module level)."""
    names = sorted(m for m in MODULES if not m.endswith("__main__"))
    code = (f"import importlib, sys\nfor name in {names!r}:\n    importlib.import_module(name)\n"
            "assert 'torch' not in sys.modules and 'fvcore' not in sys.modules\nprint('ok')")
    proc = run([sys.executable, "-c", code], blocked_env(tmp_path))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_functions_are_short() -> None:
    long = [f"{module}.{fn.name}: {fn.end_lineno - fn.lineno + 1} lines"  # type: ignore[operator]
            for module, tree in MODULES.items() for fn in _functions(tree)
            if fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES]  # type: ignore[operator]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


MAX_MODULE_LINES = 400


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved against ``module``."""
    if not node.level:
        return node.module or ""
    package = module.split(".")[: -node.level] if node.level else []
    return ".".join([*package, *([node.module] if node.module else [])])


def _private_imports(module: str, tree: ast.Module) -> Iterator[str]:
    """Private names taken from another convcost module: ``from m import _x``, and ``m._x``
    on a name bound to a convcost module (``import convcost.m as m``, ``from convcost import m``)."""
    modules: set[str] = set()  # local names bound to convcost modules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if not source.startswith("convcost") or source == module:
                continue
            for alias in node.names:
                if _private(alias.name):
                    yield f"{source}.{alias.name}"
                if f"{source}.{alias.name}" in MODULES:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name.startswith("convcost") and a.asname}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                and node.value.id in modules):
            yield f"{node.value.id}.{node.attr}"


def test_no_private_name_is_imported_across_modules() -> None:
    """A name with a leading underscore is its module's own: another module that needs it gets
    a public name (or the code moves). Tests may reach in; the package may not."""
    taken = {f"{module}: {name}" for module, tree in MODULES.items()
             for name in _private_imports(module, tree)}
    assert not taken, f"private names imported across modules: {sorted(taken)}"


def test_private_imports_are_seen() -> None:
    """The check above sees each spelling (so that it can fail)."""
    tree = ast.parse("from convcost.report.model_view import _rows\nfrom . import _x\n"
                     "from convcost.report import model_view as mv\nmv._tree(1)\n")
    assert sorted(_private_imports("convcost.report.memory_view", tree)) == [
        "convcost.report._x", "convcost.report.model_view._rows", "mv._tree"]


def test_modules_are_short() -> None:
    """No module of the package over MAX_MODULE_LINES lines: split it by what it does."""
    long = {str(path.relative_to(ROOT)): n for path in sorted(PACKAGE.rglob("*.py"))
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


_PATH = re.compile(r"(?<![\w:/.\"'])((?:tests|convcost|docs|benchmarks|specs|scripts)/[\w./-]*\w)")


def test_paths_named_in_the_code_exist() -> None:
    """A docstring or comment naming a file (``tests/unit/test_formulas.py``) names one that
    exists: a moved or deleted file leaves no stale reference behind (an example after a colon
    or in quotes, ``git:HEAD~1:specs/net.yaml``, is not a reference)."""
    stale = sorted({f"{path.relative_to(ROOT)}: {name}" for path in PACKAGE.rglob("*.py")
                    for name in _PATH.findall(path.read_text(encoding="utf-8"))
                    if not (ROOT / name).exists() and not any(c in name for c in "*{")})
    assert not stale, f"paths that do not exist: {stale}"
