"""Compile, once at install, the bytecode every test process needs: convcost's own modules and
the pure packages the fast loop imports (a plain ``pip install`` compiles what it installs; the
Makefile installs with ``--no-compile``, which spares torch's ~2,400 files). Without this the
first ``make fast`` or ``make test`` compiles them in the pytest controller and in each worker at
once. Run from the project root: ``python scripts/warm_bytecode.py``."""

from __future__ import annotations

import compileall
import importlib
import sys

PURE = ("pytest", "xdist", "hypothesis", "jsonschema", "onnx", "numpy", "rich.console", "rich.table",
        "typer", "yaml", "markdown_it", "pygments.lexers", "convcost.cli.app")


def main() -> int:
    """Compile ``convcost/``, then import :data:`PURE` (which writes their bytecode)."""
    ok = compileall.compile_dir("convcost", quiet=1, workers=2)
    for name in PURE:
        importlib.import_module(name)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
