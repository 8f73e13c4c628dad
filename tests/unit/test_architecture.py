"""The package's layers, checked: import order, no cycles, torch only where it belongs, short
functions. docs/architecture.md describes the layers these tests enforce."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from helpers import ROOT, blocked_env, run

PACKAGE = ROOT / "convcost"
# Each layer may import (at module level) only layers of the same or a lower rank.
RANK = {"exit_codes": 0, "errors": 0, "limits": 0, "outfile": 0, "cost": 1, "spec": 2, "net": 3,
        "conventions": 4, "check": 5, "frontend": 5, "runtime": 5, "report": 6, "cli": 7, "api": 8,
        "__init__": 8, "__main__": 8}
PURE = ("cost", "spec", "net", "conventions")  # never import runtime/, not even in a function
MAX_FUNCTION_LINES = 50


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


class _Trees(Mapping[str, ast.Module]):
    """Module name -> its syntax tree, parsed when first read: collection needs only the names."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self._paths, self._trees = paths, dict[str, ast.Module]()

    def __getitem__(self, name: str) -> ast.Module:
        if name not in self._trees:
            self._trees[name] = ast.parse(self._paths[name].read_text(encoding="utf-8"))
        return self._trees[name]

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


MODULES = _Trees({_module(p): p for p in sorted(PACKAGE.rglob("*.py"))})


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


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in PURE))
def test_pure_layers_never_import_upward(module: str) -> None:
    """Not even inside a function: spec/zoo.py once imported net.analysis lazily, closing the
    loop loader -> zoo -> analysis -> expand -> loader."""
    upward = sorted({t for t in _all_imports(MODULES[module]) if RANK[_layer(t)] > RANK[_layer(module)]})
    assert not upward, f"{module} imports a higher layer: {upward}"


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


FRONTEND = "convcost.frontend"
ARGUMENT_MARKS = frozenset({".onnx", "git:", "timm:", "torchvision:", ".py"})
"""What an argument's spelling says about it: only the front end reads these."""


def _argument_decisions(tree: ast.Module) -> Iterator[str]:
    """Tests of what an argument is: ``arg.endswith(".onnx")``, ``x.startswith("timm:")``,
    ``":" in arg``, ``path.suffix == ".py"``."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("startswith", "endswith", "removeprefix", "removesuffix")
                and any(isinstance(a, ast.Constant) and a.value in ARGUMENT_MARKS for a in node.args)):
            yield f"line {node.lineno}: .{node.func.attr}({ast.unparse(node.args[0])})"
        elif isinstance(node, ast.Compare):
            consts = [s.value for s in (node.left, *node.comparators) if isinstance(s, ast.Constant)]
            colon = ":" in consts and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
            if colon or any(c in ARGUMENT_MARKS for c in consts):
                yield f"line {node.lineno}: {ast.unparse(node)}"


def test_only_the_front_end_decides_what_an_argument_is() -> None:
    """Whether an argument is an ONNX file, a zoo or Python model, a spec at a git revision or
    a spec file is decided in one place: the readers of ``convcost/frontend/`` and their
    registry (docs/architecture.md, "Where a network comes from")."""
    found = {f"{module}: {hit}" for module, tree in MODULES.items()
             if not module.startswith(FRONTEND) for hit in _argument_decisions(tree)}
    assert not found, f"argument tests outside the front end: {sorted(found)}"


def test_argument_decisions_are_seen() -> None:
    """The check above sees each spelling (so that it can fail)."""
    tree = ast.parse('a.endswith(".onnx")\nb.startswith("timm:")\n":" in c\nd.suffix == ".py"\n'
                     'e.endswith(".yaml")\n"x" in f\n')
    assert len(list(_argument_decisions(tree))) == 4


def _empty_containers(tree: ast.Module) -> Iterator[str]:
    """Module-level names bound to an empty dict, list or set: state kept between calls."""
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if (isinstance(value, ast.Dict) and not value.keys) or (
                isinstance(value, ast.List | ast.Set) and not value.elts) or (
                isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and not value.args
                and value.func.id in ("dict", "list", "set", "defaultdict", "OrderedDict")):
            yield f"line {node.lineno}: {ast.unparse(node)}"


def test_no_module_keeps_state_between_calls() -> None:
    """No module-global cache (the importer's old ``_CACHE``): a command's reads live in the
    values it passes on (:class:`convcost.frontend.network.Opened` carries an import)."""
    found = {f"{module}: {hit}" for module, tree in MODULES.items() for hit in _empty_containers(tree)}
    assert not found, f"module-level state: {sorted(found)}"
    assert len(list(_empty_containers(ast.parse("_CACHE: dict[str, int] = {}\nx = list()\n")))) == 2


REGISTRY = ("convcost.cost.ops", "convcost.cost.opkind", "convcost.cost.registry")


def _kind_dispatch(tree: ast.Module, classes: frozenset[str], keys: frozenset[str]) -> Iterator[str]:
    """Decisions by an op's class or key: ``isinstance(op, BatchNorm | GroupNorm)`` (outside an
    ``assert``, which narrows the op a row keyed by its kind reads) and ``op.key == "permute"``."""
    narrowed = {id(n) for a in ast.walk(tree) if isinstance(a, ast.Assert) for n in ast.walk(a)}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"
                and len(node.args) == 2 and id(node) not in narrowed):
            named = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            if named & classes:
                yield f"line {node.lineno}: {ast.unparse(node)}"
        elif isinstance(node, ast.Compare) and _compares_a_key(node, keys):
            yield f"line {node.lineno}: {ast.unparse(node)}"


def _compares_a_key(node: ast.Compare, keys: frozenset[str]) -> bool:
    """``x.key == "permute"``, ``x.key in ("add", "sub")``: an op key compared with a constant."""
    sides = (node.left, *node.comparators)
    constants = {c.value for s in sides for c in ast.walk(s) if isinstance(c, ast.Constant)}
    return any(isinstance(s, ast.Attribute) and s.attr == "key" for s in sides) and bool(constants & keys)


def _op_kinds() -> tuple[frozenset[str], frozenset[str]]:
    """Every op class's name, every op key."""
    from convcost.cost.registry import OPS

    return frozenset(kind.op.__name__ for kind in OPS.values()), frozenset(OPS)


def test_no_code_dispatches_on_an_op_kind_outside_the_registry() -> None:
    """What a kind is (a norm that learns γ and β, a permute that moves the layout's letters, a
    conv's block signature) is its declaration's trait (cost/opkind.py), read through the
    registry: no module outside the registry tests an op's class or key."""
    kinds = _op_kinds()
    found = {f"{module}: {hit}" for module, tree in MODULES.items()
             if not module.startswith(REGISTRY) for hit in _kind_dispatch(tree, *kinds)}
    assert not found, f"op kind dispatch outside the registry: {sorted(found)}"


def test_kind_dispatch_is_seen() -> None:
    """The check above sees each spelling (so that it can fail), and lets an assert narrow."""
    tree = ast.parse('isinstance(node.op, BatchNorm | GroupNorm)\nop.key == "permute"\n'
                     'op.key in ("add", "sub")\nassert isinstance(op, Conv2d)\nisinstance(x, int)\n'
                     'p.key == other.key\np.key == "pkg.rule_name"\n')
    assert len(list(_kind_dispatch(tree, *_op_kinds()))) == 3


def test_the_module_bound_is_seen(tmp_path: Path) -> None:
    """A 401-line module is over the bound test_modules_are_short enforces; 400 lines are not."""
    assert MAX_MODULE_LINES == 400
    assert [len(("x = 1\n" * n).splitlines()) > MAX_MODULE_LINES for n in (400, 401)] == [False, True]
