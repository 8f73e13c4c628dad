"""The baseline: committed params and MACs per model, and what grew since.

The file is JSON, sorted and indented so that a change is a one-line diff::

    {"models": {"mobilenet_v1": {"macs": 568740352, "params": 4231976}}, "version": 1}

It is updated under a lock (:func:`baseline_lock`): re-read, merged with the current
figures, written to a temporary file in the same directory, then ``os.replace``d.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from convcost.cost.value import Cost
from convcost.errors import ConvcostError, SpecError
from convcost.limits import MAX_COUNT, quote
from convcost.outfile import write_text
from convcost.spec.fields import as_int, as_mapping, check_keys, join
from convcost.spec.loader import locate
from convcost.spec.yamlsafe import check_nodes, compose, read_text

VERSION = 1
BASELINE_METRICS = ("params", "macs")


@dataclass(frozen=True)
class Baseline:
    file: str
    models: Mapping[str, Cost]


def parse_baseline(data: Any, file: str) -> Baseline:
    root = as_mapping(data, "")
    check_keys(root, ("version", "models"), "")
    if root.get("version") != VERSION:
        raise SpecError(f"unsupported baseline version {quote(root.get('version'))}, expected {VERSION}",
                        path="version")
    if "models" not in root:
        raise SpecError("missing required field", path="models")
    models: dict[str, Cost] = {}
    for name, raw in as_mapping(root["models"], "models").items():
        path = join("models", name)
        entry = as_mapping(raw, path)
        check_keys(entry, BASELINE_METRICS, path)
        for key in BASELINE_METRICS:
            if key not in entry:
                raise SpecError("missing required field", path=join(path, key))
        models[name] = Cost(*(as_int(entry[k], join(path, k), 0, MAX_COUNT) for k in BASELINE_METRICS))
    return Baseline(file, models)


class _DuplicateKey(Exception):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: a JSON object may not repeat a key (json keeps the last)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def parse_json(text: str, file: str) -> Any:
    """JSON text -> data; syntax errors and duplicate keys are SpecErrors with file and line."""
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except json.JSONDecodeError as exc:
        raise SpecError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=file,
                        line=exc.lineno) from None
    except RecursionError:
        raise SpecError("invalid JSON: nested too deeply", file=file) from None
    except _DuplicateKey as dup:
        # JSON is YAML: the YAML checks name the duplicate's field path and line
        check_nodes_of(text, file)
        raise SpecError(f"duplicate key {quote(dup.args[0])}", file=file) from None


def check_nodes_of(text: str, file: str) -> None:
    """Run the YAML node checks on ``text`` (raises on the first problem; else nothing)."""
    try:
        node = compose(text, file)
    except SpecError:
        return
    if node is not None:
        check_nodes(node, file)


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline file; errors carry its file, line and field path."""
    file = str(path)
    text = read_text(path, "baseline")
    data = parse_json(text, file)
    try:
        return parse_baseline(data, file)
    except SpecError as err:
        raise locate(err.at(file, None), text) from None


@dataclass(frozen=True)
class Delta:
    """One metric of one model against the baseline (``base`` None: not in the baseline)."""

    model: str
    metric: str
    value: int
    base: int | None
    tolerance: Fraction  # allowed growth, in percent

    @property
    def change(self) -> int | None:
        return None if self.base is None else self.value - self.base

    @property
    def grew(self) -> bool:
        """Grew beyond the tolerance: ``value > base · (1 + tolerance/100)``, exactly."""
        return self.base is not None and self.value * 100 > self.base * (100 + self.tolerance)


@dataclass(frozen=True)
class BaselineDiff:
    file: str
    tolerance: Fraction
    deltas: tuple[Delta, ...]
    stale: tuple[str, ...]  # in the baseline but not checked in this run
    updated: bool = False  # the baseline file was rewritten with the current figures

    @property
    def grew(self) -> tuple[Delta, ...]:
        return tuple(d for d in self.deltas if d.grew)

    @property
    def new(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.model for d in self.deltas if d.base is None))

    @property
    def failed(self) -> bool:
        """Growth or a model missing from the baseline fails, unless the baseline was updated."""
        return not self.updated and bool(self.grew or self.new)


def diff_baseline(current: Mapping[str, Cost], baseline: Baseline | None, file: str,
            tolerance: Fraction, updated: bool = False) -> BaselineDiff:
    """Every model of ``current`` against ``baseline`` (None: no baseline file yet)."""
    known = baseline.models if baseline is not None else {}
    deltas = tuple(
        Delta(name, key, getattr(figures, key),
              getattr(known[name], key) if name in known else None, tolerance)
        for name, figures in current.items() for key in BASELINE_METRICS
    )
    stale = tuple(sorted(set(known) - set(current)))
    return BaselineDiff(file, tolerance, deltas, stale, updated)


def merged(baseline: Baseline | None, current: Mapping[str, Cost]) -> dict[str, Cost]:
    """The baseline with the current figures of the checked models (others kept)."""
    return {**(baseline.models if baseline is not None else {}), **current}


@contextmanager
def baseline_lock(path: str | Path) -> Iterator[str]:
    """Hold an exclusive lock for updating the baseline ``path``; yield the file to write.

    A symlink is followed: its target is locked, re-read and replaced. The lock is an
    ``flock`` on the target's directory (no lock file is left behind), held while the
    caller re-reads, merges and atomically replaces the file, so concurrent updates never
    lose each other's models. A missing or unreadable directory is bad input (exit 2).
    """
    target = os.path.realpath(path) if os.path.islink(path) else str(path)
    folder = os.path.dirname(target) or "."
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        raise ConvcostError(f"--baseline: cannot write {path}: directory {folder}: "
                            f"{exc.strerror or exc}") from None
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no flock; atomic replace only
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield target
    finally:
        os.close(fd)  # closing releases the lock


def write_baseline(path: str | Path, models: Mapping[str, Cost]) -> None:
    """Write atomically: an interrupted write leaves the old file (or none) untouched.

    An unwritable place (missing or read-only directory) is bad input: exit 2, one line.
    """
    target = Path(path)
    data = {"version": VERSION,
            "models": {name: {k: getattr(f, k) for k in BASELINE_METRICS} for name, f in models.items()}}
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_text(target, text, "--baseline")
