"""The baseline: committed params and MACs per model and per layer, and what grew since.

The file is JSON: models sorted by name, keys sorted, one line per layer (the layers with
params or MACs, in execution order), so that a change is a one-line diff::

    {
      "models": {
        "mobilenet_v1": {
          "layers": [
            {"name": "conv1.conv", "kind": "conv", "params": 864, "macs": 10838016},
            ...
          ],
          "macs": 568740352,
          "params": 4231976
        }
      },
      "version": 2
    }

Version 1 files (totals only, no ``layers``) are read as they are; a model without layers
is compared by its totals, and ``--update-baseline`` rewrites the file as version 2. It is
updated under a lock (:func:`baseline_lock`): re-read, merged with the current figures,
written to a temporary file in the same directory, then ``os.replace``d.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from convcost.cost.value import Cost
from convcost.errors import ConvcostError, SpecError
from convcost.limits import MAX_COUNT, MAX_LEAVES, quote
from convcost.net.diff import LayerChange, LayerFigures, ModelDiff, Profile, Totals, diff
from convcost.outfile import write_text
from convcost.spec.fields import as_int, as_list, as_mapping, check_keys, join
from convcost.spec.loader import locate
from convcost.spec.yamlsafe import check_nodes, compose, read_text

VERSION = 2
VERSIONS = (1, 2)  # versions read; version 1 has no layers
BASELINE_METRICS = ("params", "macs")
LAYER_KEYS = ("name", "kind", "params", "macs")
MAX_NAME = 1000


@dataclass(frozen=True, kw_only=True)
class Entry(Cost):
    """One model of the baseline: its totals and (None in a version 1 file) its layers."""

    layers: tuple[LayerFigures, ...] | None = None


@dataclass(frozen=True)
class Baseline:
    file: str
    models: Mapping[str, Cost]  # Entry for every model read from a file


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.isprintable() or not 0 < len(value) <= MAX_NAME:
        raise SpecError(f"must be a printable string of 1 to {MAX_NAME} characters", path=path)
    return value


def _layer(item: Any, where: str) -> LayerFigures:
    """One line of ``layers``: ``{"name", "kind", "params", "macs"}``."""
    entry = as_mapping(item, where)
    check_keys(entry, LAYER_KEYS, where)
    missing = next((k for k in LAYER_KEYS if k not in entry), None)
    if missing:
        raise SpecError("missing required field", path=join(where, missing))
    params, macs = (as_int(entry[k], join(where, k), 0, MAX_COUNT) for k in BASELINE_METRICS)
    return LayerFigures(_name(entry["name"], join(where, "name")),
                        _name(entry["kind"], join(where, "kind")), params, macs)


def _valid(item: Any) -> bool:
    """The common case, checked without building field paths."""
    return (type(item) is dict and len(item) == 4 and all(
        type(item.get(k)) is str and 0 < len(item[k]) <= MAX_NAME and item[k].isprintable()
        for k in ("name", "kind")) and all(
        type(item.get(k)) is int and 0 <= item[k] <= MAX_COUNT for k in BASELINE_METRICS))


def _layers(raw: Any, path: str) -> tuple[LayerFigures, ...]:
    items = as_list(raw, path)
    if len(items) > MAX_LEAVES:
        raise SpecError(f"more than {MAX_LEAVES} layers", path=path)
    layers, seen = [], set()
    for i, item in enumerate(items):
        layer = (LayerFigures(item["name"], item["kind"], item["params"], item["macs"])
                 if _valid(item) else _layer(item, f"{path}[{i}]"))
        if layer.name in seen:
            raise SpecError(f"duplicate layer name {quote(layer.name)}",
                            path=join(f"{path}[{i}]", "name"))
        seen.add(layer.name)
        layers.append(layer)
    return tuple(layers)


def _entry(raw: Any, path: str, version: int) -> Entry:
    entry = as_mapping(raw, path)
    check_keys(entry, (*BASELINE_METRICS, "layers") if version > 1 else BASELINE_METRICS, path)
    for key in BASELINE_METRICS:
        if key not in entry:
            raise SpecError("missing required field", path=join(path, key))
    params, macs = (as_int(entry[k], join(path, k), 0, MAX_COUNT) for k in BASELINE_METRICS)
    layers = _layers(entry["layers"], join(path, "layers")) if "layers" in entry else None
    return Entry(params=params, macs=macs, layers=layers)


def parse_baseline(data: Any, file: str) -> Baseline:
    root = as_mapping(data, "")
    check_keys(root, ("version", "models"), "")
    version = root.get("version")
    if isinstance(version, bool) or version not in VERSIONS:
        raise SpecError(f"unsupported baseline version {quote(version)}, expected "
                        f"{' or '.join(map(str, VERSIONS))}", path="version")
    if "models" not in root:
        raise SpecError("missing required field", path="models")
    models = {name: _entry(raw, join("models", name), version)
              for name, raw in as_mapping(root["models"], "models").items()}
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


def stored(layers: Sequence[LayerFigures]) -> tuple[LayerFigures, ...]:
    """The layers a baseline keeps: those with params or MACs, name, kind, params and MACs."""
    return tuple(LayerFigures(x.name, x.kind, x.params, x.macs) for x in layers
                 if x.params or x.macs)


@dataclass(frozen=True)
class Delta:
    """One metric of one model against the baseline (``base`` None: not in the baseline)."""

    model: str
    metric: str
    value: int
    base: int | None
    tolerance: Fraction  # allowed growth, in percent
    layers: tuple[LayerChange, ...] = ()  # the layers whose figure grew (both sides per layer)

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
    layers: Mapping[str, ModelDiff] | None = None  # model -> its layers against the baseline's

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

    def failed_models(self) -> set[str]:
        return set() if self.updated else {d.model for d in self.deltas if d.grew or d.base is None}

    @property
    def changed(self) -> dict[str, ModelDiff]:
        """The models whose layers changed against the baseline (by name, in check order)."""
        return {name: d for name, d in (self.layers or {}).items() if d.changes}


def layers_of(figures: Cost) -> tuple[LayerFigures, ...] | None:
    """A model's layers: an :class:`Entry`'s, None for totals alone (a plain Cost)."""
    return figures.layers if isinstance(figures, Entry) else None


def _layer_diff(name: str, base: Cost, now: Cost) -> ModelDiff | None:
    before, after = layers_of(base), layers_of(now)
    if before is None or after is None:
        return None
    return diff(Profile(name, "baseline", before, Totals(base.params, base.macs)),
                Profile(name, "", after, Totals(now.params, now.macs)))


def diff_baseline(current: Mapping[str, Cost], baseline: Baseline | None, file: str,
                  tolerance: Fraction, updated: bool = False) -> BaselineDiff:
    """Every model of ``current`` against ``baseline`` (None: no baseline file yet), and
    where both have layers, their layers matched as ``convcost diff`` matches them."""
    known = baseline.models if baseline is not None else {}
    layers = {name: d for name, now in current.items() if name in known
              and (d := _layer_diff(name, known[name], now)) is not None}
    deltas = tuple(
        Delta(name, key, getattr(figures, key),
              getattr(known[name], key) if name in known else None, tolerance,
              layers[name].grown_layers(key) if name in layers else ())
        for name, figures in current.items() for key in BASELINE_METRICS
    )
    stale = tuple(sorted(set(known) - set(current)))
    return BaselineDiff(file, tolerance, deltas, stale, updated, layers)


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


def baseline_text(models: Mapping[str, Cost]) -> str:
    """The file's text: sorted, indented JSON with one line per layer."""
    def line(layer: LayerFigures) -> str:
        return json.dumps({"name": layer.name, "kind": layer.kind, "params": layer.params,
                           "macs": layer.macs}, ensure_ascii=False)

    parts = []
    for name in sorted(models):
        entry, layers = models[name], layers_of(models[name])
        body = []
        if layers is not None:
            rows = ",\n".join(f"        {line(x)}" for x in layers)
            body.append(f'      "layers": [\n{rows}\n      ]' if rows else '      "layers": []')
        body += [f'      "macs": {entry.macs}', f'      "params": {entry.params}']
        parts.append(f"    {json.dumps(name, ensure_ascii=False)}: {{\n" + ",\n".join(body) + "\n    }")
    models_text = "{\n" + ",\n".join(parts) + "\n  }" if parts else "{}"
    return f'{{\n  "models": {models_text},\n  "version": {VERSION}\n}}\n'


def write_baseline(path: str | Path, models: Mapping[str, Cost]) -> None:
    """Write atomically: an interrupted write leaves the old file (or none) untouched.

    An unwritable place (missing or read-only directory) is bad input: exit 2, one line.
    """
    write_text(Path(path), baseline_text(models), "--baseline")
