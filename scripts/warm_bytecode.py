"""Compile, once at install, the bytecode every test process needs: convcost's own modules and
the pure packages the fast loop imports (a plain ``pip install`` compiles what it installs; the
Makefile installs with ``--no-compile``, which spares torch's ~2,400 files). Without this the
first ``make fast`` or ``make test`` compiles them in the pytest controller and in each worker at
once. Run from the project root: ``python scripts/warm_bytecode.py``."""

from __future__ import annotations

import compileall
import importlib.util
import sys
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


def main() -> int:
    """Compile ``convcost/`` and the packages of :data:`PURE`, two processes at a time."""
    ok = compileall.compile_dir("convcost", quiet=1, workers=2)
    for path in package_dirs():
        ok = compileall.compile_dir(path, quiet=1, workers=2) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
