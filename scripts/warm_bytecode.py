"""Compile, once at install, the bytecode every test process needs: convcost's own modules and
the pure packages the fast loop imports (a plain ``pip install`` compiles what it installs; the
Makefile installs with ``--no-compile``, which spares torch's ~2,400 files). Without this the
first ``make fast`` or ``make test`` compiles them in the pytest controller and in each worker at
once. The test modules are compiled too, as pytest's assertion rewriting caches them (each of
the two workers of a fresh clone's first run rewrote all of them: ~2.3 s of CPU each). Run from
the project root: ``python scripts/warm_bytecode.py``."""

from __future__ import annotations

import compileall
import importlib.util
import sys
import types
from pathlib import Path

# The packages a fast-loop run imports (listed from a run with PYTHONPYCACHEPREFIX set): torch,
# sympy and the model zoos are left to compile on first use, as the suite imports few of theirs.
PURE = ("pytest", "_pytest", "pluggy", "iniconfig", "xdist", "execnet", "hypothesis",
        "sortedcontainers", "attr", "attrs", "jsonschema", "jsonschema_specifications",
        "referencing", "rpds", "onnx", "google", "numpy", "ml_dtypes", "rich", "markdown_it",
        "mdurl", "pygments", "typer", "click", "shellingham", "annotated_doc", "yaml",
        "playwright", "greenlet", "anyio", "idna")


def package_dirs() -> list[Path]:
    """The installed directories of :data:`PURE` (a name not installed is left out)."""
    dirs = []
    for name in PURE:
        spec = importlib.util.find_spec(name)
        for where in (spec.submodule_search_locations or []) if spec else []:
            dirs.append(Path(where))
    return dirs


def rewrite_tests(root: Path = Path("tests")) -> int:
    """Cache the assertion-rewritten bytecode of every test module and conftest under ``root``,
    as pytest's import hook writes it (its pyc is keyed by a hash of the source, so a later
    edit is recompiled). Uses pytest internals: if they change, nothing is cached and pytest
    compiles the modules itself as before. Returns the number of modules cached."""
    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return 0
    state = types.SimpleNamespace(trace=lambda *_: None)
    done = 0
    for path in sorted(root.resolve().rglob("*.py")):
        if not (path.name.startswith("test_") or path.name == "conftest.py"):
            continue
        try:
            source_hash, code = rewrite._rewrite_test(path, None)  # type: ignore[arg-type]
            cache = rewrite.get_cache_dir(path)
            cache.mkdir(exist_ok=True)
            done += rewrite._write_pyc(state, code, source_hash,  # type: ignore[arg-type]
                                       cache / (path.name[:-3] + rewrite.PYC_TAIL))
        except (AttributeError, TypeError, OSError, SyntaxError):
            return done
    return done


def main() -> int:
    """Compile ``convcost/``, the test modules and the packages of :data:`PURE`, two processes
    at a time (the test modules in this one)."""
    ok = compileall.compile_dir("convcost", quiet=1, workers=2)
    rewrite_tests()
    for path in package_dirs():
        ok = compileall.compile_dir(path, quiet=1, workers=2) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
