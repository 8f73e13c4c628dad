"""Repeated blocks -> ``blocks:`` templates: a post-pass over the emitted layer mappings.

A *site* is a named group of layers: a ``sequential`` or ``parallel`` container, or a run of
flat layers sharing a module path (``features.3.squeeze``, ``features.3.cat``). Sites of one
module class whose bodies differ only in integer fields become one template; the differing
integers are its arguments. A use of a template is a group with the same leaves (names,
kinds, fields), so the analysis is unchanged leaf by leaf.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convcost.spec.kinds import LAYER_KEYS, SPEC_KINDS

Layer = dict[str, Any]
Path = tuple[str | int, ...]
INPUT = "input"
SITE_KEYS = ("from", "in_channels")  # a container's keys that stay at the use site


@dataclass
class _Site:
    """A group in ``owner[start:stop]``, named ``name``, as a body of locally named layers."""

    owner: list[Layer]
    start: int
    stop: int
    name: str
    body: list[Layer]
    keys: dict[str, Any]
    renames: dict[str, str]  # a full layer name read from outside -> the site's name
    path: str = ""  # the module path of the group


def snake(name: str) -> str:
    """``InceptionA`` -> ``inception_a``, ``BasicConv2d`` -> ``basic_conv2d``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).strip("_").lower()


def refs_of(layer: Mapping[str, Any]) -> list[str]:
    value = layer.get("from", [])
    return [value] if isinstance(value, str) else list(value)


def unsafe(value: Any) -> bool:
    """Whether ``value`` holds ``shares:`` or ``repeat:`` (names a template would hide)."""
    text = json.dumps(value)
    return '"shares"' in text or '"repeat"' in text


def _residual_body(layer: Layer) -> list[Layer] | None:
    """A residual as its body, its shortcut reading ``input``, and the merge of the two."""
    body: list[Layer] = copy.deepcopy(layer["layers"])
    shortcut: list[Layer] = copy.deepcopy(layer.get("shortcut") or [])
    names = [name_of(x) for x in [*body, *shortcut]]
    merge = layer.get("merge", "add")
    if "" in names or len(set(names)) < len(names) or merge in names \
            or (shortcut and "from" in shortcut[0]):
        return None
    if shortcut:
        shortcut[0]["from"] = INPUT
    side = shortcut[-1]["name"] if shortcut else INPUT
    return [*body, *shortcut, {"kind": merge, "name": merge, "from": [side, body[-1]["name"]]}]


def _container_body(layer: Layer) -> list[Layer] | None:
    """A sequential's layers, a residual's (:func:`_residual_body`), or a parallel as
    branches reading ``input`` and its merge."""
    keys = set(layer) - {"kind", "name", *SITE_KEYS}
    if layer["kind"] == "sequential" and keys <= {"layers"}:
        layers: list[Layer] = copy.deepcopy(layer["layers"])
        return layers
    if layer["kind"] == "residual" and keys <= {"layers", "shortcut", "merge"}:
        return _residual_body(layer)
    if layer["kind"] != "parallel" or not keys <= {"branches", "merge"}:
        return None
    branches = copy.deepcopy(layer["branches"])
    names = [b.get("name") for b in branches]
    if any(not isinstance(n, str) or "from" in b for n, b in zip(names, branches, strict=True)):
        return None
    body = [branches[0], *({**b, "from": INPUT} for b in branches[1:])]
    merge = layer.get("merge", "concat")
    return [*body, {"kind": merge, "name": merge, "from": names}]


def name_of(layer: Mapping[str, Any]) -> str:
    name = layer.get("name")
    return name if isinstance(name, str) else ""


def module_of(layer: Mapping[str, Any]) -> str:
    """The module path a flat layer belongs to (``features.3`` of ``features.3.squeeze``)."""
    name = name_of(layer)
    return name.rsplit(".", 1)[0] if "." in name else ""


def run_end(layers: Sequence[Layer], start: int, prefix: str) -> int:
    stop = start
    while stop < len(layers) and module_of(layers[stop]) == prefix:
        stop += 1
    return stop


def local_refs(layer: Layer, inside: Mapping[str, str], before: str | None) -> Layer | None:
    """``layer`` with its ``from:`` made local to the run, or None when it reads elsewhere."""
    refs = refs_of(layer)
    local = [inside.get(ref, INPUT if ref == before else "") for ref in refs]
    if "" in local:
        return None
    out = {**layer, "name": inside[layer["name"]]}
    if refs:
        out["from"] = local if isinstance(layer["from"], list) else local[0]
    return out


def _run_site(layers: list[Layer], start: int, stop: int, prefix: str) -> _Site | None:
    """Flat layers ``layers[start:stop]`` of module ``prefix`` as a site, if self-contained."""
    run = layers[start:stop]
    inside = {layer["name"]: layer["name"][len(prefix) + 1:] for layer in run}
    before = name_of(layers[start - 1]) if start else None
    body = [local_refs(layer, inside, before) for layer in run]
    if any(b is None for b in body) or any(name_of(layer) == prefix for layer in layers) \
            or any(name_of(x).startswith(prefix + ".") for x in [*layers[:start], *layers[stop:]]):
        return None  # the group's name, or its children's, would clash
    last = run[-1]["name"]
    if any(ref in inside and ref != last for layer in layers[stop:] for ref in refs_of(layer)):
        return None
    if refs_of(run[0]) and body[0] is not None:
        body[0].pop("from")  # it read the layer just before the run: its input
    return _Site(layers, start, stop, prefix, [b for b in body if b is not None], {},
                 {last: prefix})


def _container_sites(layers: list[Layer], i: int, outer: str) -> list[_Site]:
    """The container ``layers[i]`` as a site (when it is one), then the sites inside it."""
    layer, found = layers[i], []
    body = None if unsafe(layer) or not name_of(layer) else _container_body(layer)
    if body is not None:
        keys = {k: layer[k] for k in SITE_KEYS if k in layer}
        found.append(_Site(layers, i, i + 1, layer["name"], body, keys, {},
                           outer + layer["name"]))
    for key in ("layers", "branches", "shortcut"):
        if isinstance(layer.get(key), list):
            found += _sites(layer[key], set(), f"{outer}{name_of(layer)}.")
    return found


def _sites(layers: list[Layer], read: set[str], outer: str = "") -> list[_Site]:
    """Every candidate site of one layer list (containers and runs), outermost first."""
    found: list[_Site] = []
    i = 0
    while i < len(layers):
        if any(key in layers[i] for key in ("layers", "branches", "shortcut")):
            found += _container_sites(layers, i, outer)
            i += 1
            continue
        prefix = module_of(layers[i])
        stop = run_end(layers, i, prefix) if prefix else i + 1
        run = layers[i:stop]
        if len(run) > 1 and not unsafe(run) and not any(name_of(x) in read for x in run[:-1]):
            site = _run_site(layers, i, stop, prefix)
            if site:
                site.path = outer + prefix
                found.append(site)
        i = max(stop, i + 1)
    return found


def _ints(value: Any, path: Path = ()) -> list[tuple[Path, int]]:
    """Every integer (not bool) in ``value`` with its path."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [(path, value)]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in _ints(item, (*path, i))]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _ints(item, (*path, key))]
    return []


def _shape_key(body: list[Layer]) -> str:
    """The body with every integer blanked: equal keys differ only in integers."""
    def blank(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, list, dict)):
            return value
        if isinstance(value, list):
            return [blank(item) for item in value]
        if isinstance(value, dict):
            return {key: blank(item) for key, item in value.items()}
        return "#"
    return json.dumps(blank(body))


def _arg_word(body: Any, path: Path) -> str:
    """The names of the layers along ``path``, then the field (output widths are implied)."""
    parts: list[str] = []
    value = body
    for step in path:
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            parts.append(value["name"])
        value = value[step]
    if path[-1] not in ("out_channels", "out_features") or not parts:
        parts.append(str(path[-1]))
    return ascii_word("_".join(parts), 56)


def _arg_name(body: Any, paths: Sequence[Path], taken: set[str]) -> str:
    """One argument for the fields at ``paths`` (equal at every site): their words' common
    start when it is a word of its own (``expand`` for expand1x1, expand3x3), else the first."""
    words = [_arg_word(body, path) for path in paths]
    low, high = min(words), max(words)
    size = next((i for i, (a, b) in enumerate(zip(low, high, strict=False)) if a != b), len(low))
    common = low[:size].rstrip("_")
    name = (common if len(words) > 1 and len(common) > 2 else words[0]) or "arg"
    name = f"n{name}" if name[0].isdigit() else name
    base, n = name, 2
    while name in taken or name in LAYER_KEYS or name == "stride":
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _put(body: Any, path: Path, value: Any) -> None:
    for step in path[:-1]:
        body = body[step]
    body[path[-1]] = value


@dataclass(frozen=True)
class Template:
    """One ``blocks:`` entry: its argument names and its layers."""

    name: str
    args: tuple[str, ...]
    layers: list[Layer]


def _template(name: str, sites: Sequence[_Site]) -> tuple[Template, list[dict[str, int]]]:
    """The template of equal-shaped ``sites`` and each site's arguments."""
    values = [_ints(site.body) for site in sites]
    paths = [path for path, _ in values[0]]
    columns = {path: tuple(v[k][1] for v in values) for k, path in enumerate(paths)}
    layers = copy.deepcopy(sites[0].body)
    shared: dict[tuple[int, ...], list[Path]] = {}
    for path, column in columns.items():
        if len(set(column)) > 1:
            shared.setdefault(column, []).append(path)
    args: dict[tuple[int, ...], str] = {}
    taken: set[str] = set()
    for column, where in shared.items():
        args[column] = _arg_name(sites[0].body, where, taken)
        for path in where:
            _put(layers, path, f"${{{args[column]}}}")
    uses = [{arg: column[k] for column, arg in args.items()} for k in range(len(sites))]
    return Template(name, tuple(args.values()), layers), uses


def _nested_lists(layers: Sequence[Layer]) -> set[int]:
    """The ids of every layer list inside ``layers``."""
    found: set[int] = set()
    for layer in layers:
        for key in ("layers", "branches", "shortcut"):
            if isinstance(layer.get(key), list):
                found |= {id(layer[key])} | _nested_lists(layer[key])
    return found


def _groups(sites: Sequence[_Site], classes: Mapping[str, str]) -> list[list[_Site]]:
    """Sites of one module class and one shape, two or more, outer sites first."""
    grouped: dict[tuple[str, str], list[_Site]] = {}
    for site in sites:
        cls = classes.get(site.path, "")
        if cls:
            grouped.setdefault((cls, _shape_key(site.body)), []).append(site)
    chosen: list[list[_Site]] = []
    dead: set[int] = set()
    for group in grouped.values():
        alive = [site for site in group if id(site.owner) not in dead]
        if len(alive) > 1:
            chosen.append(alive)
            for site in alive:
                dead |= _nested_lists(site.owner[site.start:site.stop])
    return chosen


GENERIC = ("Sequential", "ModuleList", "ModuleDict")
"""Container classes that say nothing: their templates are named after the module path."""


def _template_name(cls: str, path: str, taken: set[str]) -> str:
    """The class in snake case; for a generic container, the path's last word."""
    words = [w for w in path.split(".") if not w.isdigit()]
    base = ascii_word((snake(words[-1]) if cls in GENERIC and words else snake(cls)), 56) or "block"
    name, n = base, 2
    while name in taken or name in SPEC_KINDS:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def ascii_word(text: str, limit: int) -> str:
    """``text`` as a template name: accents dropped (``Ünïcode`` -> ``Unicode``), any other
    character an ``_``, a letter or ``_`` first, at most ``limit`` characters."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    word = re.sub(r"[^A-Za-z0-9_]+", "_", plain).strip("_")
    word = f"n{word}" if word[:1].isdigit() else word
    return word[:limit].rstrip("_")


def rename_refs(layers: list[Layer], renames: Mapping[str, str]) -> None:
    for layer in layers:
        refs = refs_of(layer)
        if any(ref in renames for ref in refs):
            new = [renames.get(ref, ref) for ref in refs]
            layer["from"] = new if isinstance(layer["from"], list) else new[0]


def templated(layers: list[Layer], outputs: Sequence[str], classes: Mapping[str, str]
              ) -> tuple[list[Layer], list[str], list[Template]]:
    """``layers`` with repeated groups as uses of templates; the outputs; the templates."""
    layers = copy.deepcopy(layers)
    read = set(outputs)
    templates: list[Template] = []
    taken: set[str] = set()
    edits: list[tuple[_Site, Layer]] = []
    for group in _groups(_sites(layers, read), classes):
        template, uses = _template(_template_name(classes[group[0].path], group[0].path, taken), group)
        templates.append(template)
        edits += [(site, {**site.keys, "kind": template.name, "name": site.name, **args})
                  for site, args in zip(group, uses, strict=True)]
    renames: dict[str, str] = {}
    for site, use in sorted(edits, key=lambda e: -e[0].start):
        site.owner[site.start:site.stop] = [use]
        rename_refs(site.owner, site.renames)
        if site.owner is layers:
            renames.update(site.renames)
    return layers, [renames.get(name, name) for name in outputs], templates
