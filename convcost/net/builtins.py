"""The built-in specs, analysed: what ``convcost list`` shows (the names and files are
:mod:`convcost.spec.zoo`'s)."""

from __future__ import annotations

from dataclasses import dataclass

from convcost.net.analysis import Analysis, analyze
from convcost.spec.loader import read_yaml, spec_from
from convcost.spec.zoo import ZOO, description, names


@dataclass(frozen=True)
class Entry:
    """One built-in: its name, description and analysis at the spec's own input."""

    name: str
    description: str
    analysis: Analysis


def entries() -> list[Entry]:
    """Every built-in, analysed at its spec's own input (no torch)."""
    out = []
    for name in names():
        path = ZOO / f"{name}.yaml"
        data, text = read_yaml(path)
        out.append(Entry(name, description(text), analyze(spec_from(data, text, str(path)))))
    return out
