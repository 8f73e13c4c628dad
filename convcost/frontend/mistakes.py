"""Mistakes a user makes on the first day, each answered in one line that says what to do.
Pure: nothing is imported or executed (a ``.py`` file is parsed with :mod:`ast`, never run).

* ``convcost model net.py``: a Python file without ``:Class`` (else read as YAML);
* ``convcost model model.pt``: a checkpoint holds weights, not the network;
* any other binary file given as a spec (never an error naming a "line" of it);
* ``convcost model net:Net`` with ``net.py`` in the current directory (:func:`module_hint`).
"""

from __future__ import annotations

import ast
from pathlib import Path

from convcost.errors import ConvcostError
from convcost.limits import MAX_FILE_BYTES, quote

CHECKPOINTS = (".pt", ".pth", ".ckpt", ".safetensors", ".pkl", ".bin", ".tar", ".h5", ".pb", ".tflite")
_SHOWN = 5  # class names listed


def check_spec_argument(arg: str) -> None:
    """Raise a one-line hint when ``arg`` is a file convcost cannot read as a spec."""
    path = Path(arg)
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return  # the reader says what is wrong with these
        with path.open("rb") as file:
            head = file.read(8192)
    except OSError:
        return  # unreadable, a name too long, ...: the reader's message
    if path.suffix == ".py":
        raise ConvcostError(f"{arg} is Python code: name the model in it, e.g. {arg}:"
                            f"{_classes(path)[0] if _classes(path) else 'Net'}{_listed(path)}")
    if path.suffix.lower() in CHECKPOINTS:
        raise ConvcostError(f"{arg} looks like a checkpoint: weights without the network's code, which "
                            "convcost cannot read; import the model's class (net.py:Net, torchvision:NAME, "
                            "timm:NAME) or export it with torch.onnx.export and pass the .onnx file")
    if b"\x00" in head:
        raise ConvcostError(f"{arg} is a binary file, not a YAML spec (an ONNX model must be named "
                            "*.onnx; a checkpoint cannot be read: import the model's class instead)")


def _classes(path: Path) -> list[str]:
    """Top-level class names of a Python file, those deriving from a ``*Module`` first."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return []
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    modules = [c.name for c in classes if any(ast.unparse(b).endswith("Module") for b in c.bases)]
    return modules + [c.name for c in classes if c.name not in modules]


def _listed(path: Path) -> str:
    names = _classes(path)
    if not names:
        return ""
    more = ", …" if len(names) > _SHOWN else ""
    return f" (classes in it: {', '.join(quote(n).strip(chr(39)) for n in names[:_SHOWN])}{more})"


def module_hint(location: str, name: str) -> str:
    """``; for the file ./net.py write net.py:Net`` when ``location`` is a file here, else ""."""
    file = Path(*location.split(".")).with_suffix(".py")
    try:
        return f"; for the file ./{file} write {file}:{name}" if file.is_file() else ""
    except OSError:  # a name too long for a file
        return ""
