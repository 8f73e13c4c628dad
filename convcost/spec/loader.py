"""YAML spec -> validated frozen dataclasses. The only place that reads spec files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from convcost.errors import SpecError
from convcost.spec.fields import (
    as_int,
    as_list,
    as_mapping,
    as_number,
    check_keys,
    join,
    read_fields,
    suggest,
)
from convcost.spec.kinds import (
    COMMON_FIELDS,
    INPUT_FIELDS,
    KIND_FIELDS,
    LAYER_KEYS,
    MODEL_KEYS,
    SE_FIELDS,
)
from convcost.spec.yamlpos import line_of

_NAME = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")


@dataclass(frozen=True)
class InputSpec:
    channels: int
    height: int
    width: int
    batch: int = 1


@dataclass(frozen=True)
class LayerSpec:
    """One entry of ``layers``: its kind, its name and its validated, normalised fields."""

    kind: str
    name: str
    path: str
    fields: Mapping[str, Any]
    repeat: int = 1
    in_channels: int | None = None


@dataclass(frozen=True)
class Spec:
    name: str
    input: InputSpec
    layers: tuple[LayerSpec, ...]
    width_multiplier: float = 1.0
    divisor: int | None = None
    budget: Mapping[str, Any] | None = None
    source: str | None = field(default=None, compare=False)


def _layer(raw: Any, index: int) -> LayerSpec:
    path = f"layers[{index}]"
    data = as_mapping(raw, path)
    if "kind" not in data:
        raise SpecError("missing required field", path=join(path, "kind"))
    kind = data["kind"]
    if not isinstance(kind, str) or kind not in KIND_FIELDS:
        hint = suggest(kind, KIND_FIELDS) if isinstance(kind, str) else ""
        raise SpecError(
            f"unknown kind {kind!r}{hint}; valid kinds: {', '.join(KIND_FIELDS)}",
            path=join(path, "kind"),
        )
    schema = KIND_FIELDS[kind]
    check_keys(data, [*LAYER_KEYS, *schema], path)
    name = data.get("name", f"layers.{index}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecError(
            f"must be dotted words of letters, digits and _, got {name!r}", path=join(path, "name")
        )
    common = read_fields(data, COMMON_FIELDS, path)
    fields = read_fields(data, schema, path)
    if fields.get("se") is not None:
        se_path = join(path, "se")
        check_keys(fields["se"], SE_FIELDS, se_path)
        fields["se"] = MappingProxyType(read_fields(fields["se"], SE_FIELDS, se_path))
    if kind == "inverted_residual" and (fields["expand_ratio"] is None) == (
        fields["expanded_channels"] is None
    ):
        raise SpecError("give exactly one of expand_ratio and expanded_channels", path=path)
    if kind == "pool":
        adaptive = fields["global"] or fields["output_size"] is not None
        if adaptive == (fields["kernel_size"] is not None):
            raise SpecError("give exactly one of global, output_size and kernel_size", path=path)
    return LayerSpec(
        kind=kind,
        name=name,
        path=path,
        fields=MappingProxyType(fields),
        repeat=common["repeat"],
        in_channels=common["in_channels"],
    )


def _input(raw: Any) -> InputSpec:
    data = as_mapping(raw, "input")
    check_keys(data, INPUT_FIELDS, "input")
    values = read_fields(data, INPUT_FIELDS, "input")
    square, h, w = values["resolution"], values["height"], values["width"]
    if square is not None and (h is not None or w is not None):
        raise SpecError("give resolution or height and width, not both", path="input")
    if square is None and (h is None or w is None):
        raise SpecError("missing required field (resolution, or height and width)", path="input.resolution")
    return InputSpec(
        channels=values["channels"],
        height=square or h,
        width=square or w,
        batch=values["batch"],
    )


def _names_unique(layers: tuple[LayerSpec, ...]) -> None:
    """Names must be unique, and no name may be a dotted prefix of another (torch nesting)."""
    owner: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for layer in layers:
        parts = layer.name.split(".")
        clash = owner.get(layer.name) or prefixes.get(layer.name)
        clash = clash or next((owner[p] for p in (".".join(parts[:i]) for i in range(1, len(parts)))
                               if p in owner), None)
        if clash:
            raise SpecError(f"name {layer.name!r} clashes with the layer at {clash}",
                            path=join(layer.path, "name"))
        owner[layer.name] = layer.path
        for i in range(1, len(parts)):
            prefixes.setdefault(".".join(parts[:i]), layer.path)


def parse_spec(data: Any, *, default_name: str = "model", source: str | None = None) -> Spec:
    """Validate already-loaded YAML data (a mapping) into a :class:`Spec`."""
    try:
        if data is None:
            raise SpecError("the spec is empty")
        model = as_mapping(data, "")
        if not model:
            raise SpecError("the spec is empty")
        check_keys(model, MODEL_KEYS, "")
        for key in ("input", "layers"):
            if key not in model:
                raise SpecError("missing required field", path=key)
        raw_layers = as_list(model["layers"], "layers")
        if not raw_layers:
            raise SpecError("must list at least one layer", path="layers")
        layers = tuple(_layer(raw, i) for i, raw in enumerate(raw_layers))
        _names_unique(layers)
        name = model.get("name", default_name)
        if not isinstance(name, str) or not name:
            raise SpecError(f"must be a non-empty string, got {name!r}", path="name")
        divisor = model.get("divisor")
        budget = model.get("budget")
        return Spec(
            name=name,
            input=_input(model["input"]),
            layers=layers,
            width_multiplier=as_number(model.get("width_multiplier", 1.0), "width_multiplier"),
            divisor=None if divisor is None else as_int(divisor, "divisor"),
            budget=None if budget is None else as_mapping(budget, "budget"),
            source=source,
        )
    except SpecError as err:
        raise err.at(source, None) from None


def locate(err: SpecError, text: str | None = None) -> SpecError:
    """Fill in the line of ``err`` from its file's text (read again when not given)."""
    if err.line is not None or not err.file:
        return err
    if text is None:
        try:
            text = Path(err.file).read_text(encoding="utf-8")
        except OSError:
            return err
    return err.at(err.file, line_of(text, err.path))


def load_spec(path: str | Path) -> Spec:
    """Read, parse and validate a spec file (or a built-in, by name). Errors carry file, line
    and field path."""
    from convcost.spec.zoo import resolve

    path = resolve(path)
    if not path.exists() and len(path.parts) == 1:
        raise SpecError("cannot read spec: no such file, nor a built-in spec of that name "
                        "(convcost list shows them)", file=str(path))
    data, text = read_yaml(path)
    return spec_from(data, text, str(path))


def spec_from(data: Any, text: str, file: str) -> Spec:
    """:func:`parse_spec` for data read by :func:`read_yaml`, errors located in ``text``."""
    try:
        return parse_spec(data, default_name=Path(file).stem, source=file)
    except SpecError as err:
        raise locate(err, text) from None


def safe_load(text: str) -> Any:
    """``yaml.safe_load``, through libyaml's C parser when it is installed (5× faster).

    Both use PyYAML's SafeConstructor: plain data only, never Python object tags.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None:
        return yaml.safe_load(text)
    return yaml.load(text, Loader=fast)


def read_text(path: str | Path, what: str = "spec") -> str:
    """A file's text; an unreadable file is a SpecError ``cannot read <what>: <reason>``."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"cannot read {what}: {reason}", file=str(path)) from None


def read_yaml(path: str | Path, what: str = "spec") -> tuple[Any, str]:
    """``(yaml.safe_load(text), text)`` of a file; errors are SpecErrors with file and line."""
    file = str(path)
    text = read_text(path, what)
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        if mark is not None:
            raise SpecError(
                f"YAML syntax error: {problem} (column {mark.column + 1})",
                file=file,
                line=mark.line + 1,
            ) from None
        raise SpecError(f"YAML syntax error: {problem}", file=file) from None
    return data, text
