"""The built-in zoo: the specs shipped inside the package, found by name.

``convcost/zoo`` is a symlink to the repository's ``specs/`` (their one source); the wheel
holds real copies. A spec argument that names no file but a built-in (``mobilenet_v2``, or
``mobilenet_v2.yaml``) resolves to the shipped spec.
"""

from __future__ import annotations

from pathlib import Path

ZOO = Path(__file__).resolve().parent.parent / "zoo"


def names() -> list[str]:
    """The built-in spec names, sorted."""
    if not ZOO.is_dir():
        return []
    return sorted(p.stem for p in ZOO.glob("*.yaml"))


def builtin(name: str) -> Path | None:
    """The shipped spec called ``name`` (with or without ``.yaml``), or None."""
    stem = name[:-5] if name.endswith(".yaml") else name
    if not stem or "/" in stem or "\\" in stem or stem.startswith(".") or stem not in names():
        return None
    return ZOO / f"{stem}.yaml"


def resolve(path: str | Path) -> Path:
    """``path`` itself when it exists (or names no built-in); else the built-in it names."""
    given = Path(path)
    try:
        if given.exists():
            return given
    except (OSError, ValueError):  # a name too long, a NUL byte: read_text reports it
        return given
    return builtin(str(path)) or given


def description(text: str) -> str:
    """A spec's one-line description: the first line of its header comment."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            return ""
        body = stripped.lstrip("#").strip()
        if body and not body.startswith("yaml-language-server:"):
            return body
    return ""
