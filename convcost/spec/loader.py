"""YAML spec -> validated frozen dataclasses. The only place that reads spec files."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from convcost.cost.layout import default_layout
from convcost.cost.value import Shape
from convcost.errors import SpecError
from convcost.limits import MAX_FILE_BYTES, MAX_LEAVES, MAX_YAML_NODES, quote
from convcost.spec.budget import Budget, parse_budget
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
from convcost.spec.inputs import InputSpec, read_input
from convcost.spec.kinds import (
    COMMON_FIELDS,
    CONTAINERS,
    LAYER_KEYS,
    LAYER_LISTS,
    LEAF_BOUND,
    MODEL_KEYS,
    SE_FIELDS,
    SPEC_KINDS,
)
from convcost.spec.templates import RawLayer, instantiate, read_blocks
from convcost.spec.wiring import INPUT, check_outputs, check_refs, prune, read_from
from convcost.spec.yamlpos import locate_path
from convcost.spec.yamlsafe import load_yaml, read_text

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_]*(\.[A-Za-z0-9][A-Za-z0-9_]*)*"
_NAME = re.compile(NAME_PATTERN)
_NAME_CHARS = 200
MAX_INPUTS = 16
"""The most named inputs a spec may declare."""
#: Attribute names of a torch ``nn.Module`` (and of convcost's block module): a layer named so
#: could not be registered as a submodule. Names starting with ``_`` are refused as well.
#: tests/torch/test_build_verify.py checks this list against ``dir(nn.Module())``.
RESERVED_NAMES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children",
    "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward",
    "get_buffer", "get_extra_state", "get_parameter", "get_submodule", "half", "ipu",
    "load_state_dict", "modules", "mtia", "named_buffers", "named_children", "named_modules",
    "named_parameters", "parameters", "register_backward_hook", "register_buffer",
    "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_",
    "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train",
    "training", "type", "xpu", "zero_grad", "groups",
})


@dataclass(frozen=True)
class LayerSpec:
    """One entry of ``layers``: its kind, its name and its validated, normalised fields."""

    kind: str
    name: str
    path: str
    fields: Mapping[str, Any]
    repeat: int = 1
    in_channels: int | None = None
    inputs: tuple[str, ...] = ()  # ``from:``: earlier layers of its list, or ``input``; (): previous
    shares: str | None = None  # an earlier layer of its list whose weights it reuses
    alias: str | None = None  # the last copy of a repeated template answers to its use's name


@dataclass(frozen=True)
class Spec:
    name: str
    input: InputSpec
    layers: tuple[LayerSpec, ...]
    width_multiplier: float = 1.0
    divisor: int | None = None
    budget: Budget | None = None  # validated here, for every command
    outputs: tuple[str, ...] = ()  # top-level layers the model returns; (): the last one
    warnings: tuple[SpecError, ...] = field(default=(), compare=False)  # unused layers
    unpruned: tuple[LayerSpec, ...] = field(default=(), compare=False, repr=False)  # the top-level
    # layers before those no output needs were dropped (set only when some were)
    source: str | None = field(default=None, compare=False)
    text: str | None = field(default=None, compare=False, repr=False)  # to locate later errors
    input_name: str = INPUT  # the first input's name (``inputs:``), read by the first layer
    extra_inputs: tuple[tuple[str, InputSpec], ...] = ()  # the other named inputs (``inputs:``)

    @property
    def inputs(self) -> tuple[tuple[str, InputSpec], ...]:
        """Every input by name, the first first."""
        return ((self.input_name, self.input), *self.extra_inputs)

    def with_inputs(self, shapes: Sequence[tuple[str, Shape]]) -> Spec:
        """The spec at other input shapes: one bare ``input`` shape (for the first input), or
        shapes by input name. A shape of another rank than its input takes the channels-first
        layout of its rank."""
        named = dict(self.inputs)
        if [name for name, _ in shapes] == [INPUT]:
            shapes = [(self.input_name, shapes[0][1])]
        for name, _ in shapes:
            if name not in named:
                raise SpecError(f"the model has no input {name!r} (its inputs: "
                                f"{', '.join(named)})", path="--input")
        for name, shape in shapes:
            layout = named[name].layout
            named[name] = InputSpec(shape, layout if len(layout) == len(shape)
                                    else default_layout(len(shape)))
        first, *rest = named.items()
        return replace(self, input=first[1], extra_inputs=tuple(rest))


def _layer(item: RawLayer, warnings: list[SpecError]) -> LayerSpec:
    path = item.path
    data = as_mapping(item.data, path)
    if "kind" not in data:
        raise SpecError("missing required field", path=join(path, "kind"))
    kind = data["kind"]
    if not isinstance(kind, str) or kind not in SPEC_KINDS:
        hint = suggest(kind, SPEC_KINDS) if isinstance(kind, str) else ""
        raise SpecError(
            f"unknown kind {quote(kind)}{hint}; valid kinds: {', '.join(SPEC_KINDS)}",
            path=join(path, "kind"),
        )
    schema = SPEC_KINDS[kind].fields
    check_keys(data, [*LAYER_KEYS, *schema], path)
    name = check_name(data.get("name", item.default_name), join(path, "name"))
    common = read_fields(data, COMMON_FIELDS, path)
    fields = read_fields(data, schema, path)
    if fields.get("se") is not None:
        se_path = join(path, "se")
        check_keys(fields["se"], SE_FIELDS, se_path)
        fields["se"] = MappingProxyType(read_fields(fields["se"], SE_FIELDS, se_path))
    if kind in CONTAINERS:
        _contents(kind, fields, path, warnings)
        fields["block"] = item.block
    check = SPEC_KINDS[kind].check
    if check is not None:
        check(fields, path)
    return LayerSpec(
        kind=kind,
        name=name,
        path=path,
        fields=MappingProxyType(fields),
        repeat=common["repeat"],
        in_channels=common["in_channels"],
        shares=common["shares"],
        alias=item.alias,
        inputs=read_from(data["from"], join(path, "from")) if "from" in data else (),
    )


def _wired(raw: Any, warnings: list[SpecError]) -> tuple[LayerSpec, ...]:
    """A container's list of layers, its ``from:`` names checked, unused layers dropped."""
    layers = tuple(_layer(child, warnings) for child in raw)
    check_refs(layers)
    kept, unused = prune(layers)
    warnings.extend(unused)
    return kept


def _contents(kind: str, fields: dict[str, Any], path: str, warnings: list[SpecError]) -> None:
    """Read the layer lists of a container (sequential, residual, parallel, split)."""
    lists = [key for key in LAYER_LISTS if fields.get(key) is not None]
    if kind in ("parallel", "split"):
        fields["branches"] = tuple(_layer(child, warnings) for child in fields["branches"])
        _branches(kind, fields, path)
    else:
        for key in lists:
            fields[key] = _wired(fields[key], warnings)
    children = tuple(child for key in lists for child in fields[key])
    _names_unique(children)
    merge = fields.get("merge")
    for child in children:
        if merge is not None and child.name.split(".")[0] == merge:
            raise SpecError(f"{merge!r} names the container's merge; rename the layer",
                            path=join(child.path, "name"))


def _branches(kind: str, fields: Mapping[str, Any], path: str) -> None:
    """A parallel's or split's branches: one layer each, on the input (no ``from:``)."""
    branches = fields["branches"]
    for branch in branches:
        if branch.inputs:
            raise SpecError(f"a branch of a {kind} reads its {'chunk' if kind == 'split' else 'input'}"
                            "; from: is not allowed here", path=join(branch.path, "from"))
    if fields["merge"] == "mul" and len(branches) != 2:
        raise SpecError(f"merge mul takes 2 branches, got {len(branches)}",
                        path=join(path, "branches"))
    if kind == "parallel" and len(branches) < 2:
        raise SpecError("a parallel needs at least 2 branches", path=join(path, "branches"))
    sizes = fields.get("sizes")
    if sizes is not None and len(sizes) != len(branches):
        raise SpecError(f"{len(sizes)} sizes for {len(branches)} branches: give one size per "
                        "branch", path=join(path, "sizes"))


def check_name(name: Any, path: str) -> str:
    """A layer name: dotted words of letters, digits and _, none a torch module attribute."""
    if not isinstance(name, str) or len(name) > _NAME_CHARS or not _NAME.fullmatch(name):
        raise SpecError("must be dotted words of letters, digits and _ (not starting with _), "
                        f"at most {_NAME_CHARS} characters, got {quote(name)}", path=path)
    if name == INPUT:
        raise SpecError(f"{INPUT!r} is reserved (from: {INPUT} names a list's input); rename it",
                        path=path)
    reserved = [part for part in name.split(".") if part in RESERVED_NAMES]
    if reserved:
        raise SpecError(f"{reserved[0]!r} is reserved (an attribute of torch modules); "
                        f"rename it, e.g. {reserved[0]}_", path=path)
    return name


def _leaf_bound(layer: LayerSpec) -> int:
    """At most how many leaf ops one copy of ``layer`` expands to."""
    own = LEAF_BOUND[layer.kind]
    if layer.kind in CONTAINERS:
        own += sum(child.repeat * _leaf_bound(child) for key in LAYER_LISTS
                   for child in layer.fields.get(key) or ())
    return own


def _size_bounded(layers: tuple[LayerSpec, ...]) -> None:
    """Refuse a network of more than MAX_LEAVES leaf ops, before anything is expanded."""
    total = 0
    for layer in layers:
        total += layer.repeat * _leaf_bound(layer)
        if total > MAX_LEAVES:
            raise SpecError(f"the network would have more than {MAX_LEAVES:,} layers "
                            f"(repeat {layer.repeat:,} of {layer.kind} here)",
                            path=join(layer.path, "repeat" if layer.repeat > 1 else "kind"))


def produced(layer: LayerSpec) -> list[str]:
    """The names a layer gives its nodes: ``name``, or ``name.0`` … ``name.{repeat-1}``."""
    if layer.repeat == 1:
        return [layer.name]
    return [f"{layer.name}.{i}" for i in range(layer.repeat)]


def _names_unique(layers: tuple[LayerSpec, ...]) -> None:
    """Node names must be unique, and none a dotted prefix of another (torch nesting).

    A repeated layer produces ``name.0`` … ``name.{repeat-1}``: those are what must not clash.
    """
    owner: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for layer in layers:
        for name in produced(layer):
            parts = name.split(".")
            above = (".".join(parts[:i]) for i in range(1, len(parts)))
            clash = owner.get(name) or prefixes.get(name) or next(
                (owner[p] for p in above if p in owner), None)
            if clash:
                raise SpecError(f"name {name!r} clashes with the layer at {clash}",
                                path=join(layer.path, "name"))
            owner[name] = layer.path
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
        inputs = read_inputs(model)
        if "layers" not in model:
            raise SpecError("missing required field", path="layers")
        raw_layers = as_list(model["layers"], "layers")
        if not raw_layers:
            raise SpecError("must list at least one layer", path="layers")
        blocks = read_blocks(model.get("blocks"))
        warnings: list[SpecError] = []
        layers = tuple(_layer(item, warnings) for item in instantiate(raw_layers, blocks))
        _size_bounded(layers)
        _names_unique(layers)
        _inputs_unique(inputs, layers)
        check_refs(layers, [name for name, _ in inputs])
        outputs = check_outputs(model["outputs"], layers) if "outputs" in model else ()
        unpruned = layers
        layers, unused = prune(layers, outputs)
        name = model.get("name", default_name)
        if not isinstance(name, str) or not name or len(name) > _NAME_CHARS:
            raise SpecError(f"must be a non-empty string of at most {_NAME_CHARS} characters, "
                            f"got {quote(name)}", path="name")
        divisor = model.get("divisor")
        budget = model.get("budget")
        return Spec(
            name=name,
            input=inputs[0][1],
            input_name=inputs[0][0],
            extra_inputs=tuple(inputs[1:]),
            layers=layers,
            width_multiplier=as_number(model.get("width_multiplier", 1.0), "width_multiplier"),
            divisor=None if divisor is None else as_int(divisor, "divisor"),
            budget=None if budget is None else parse_budget(budget, "budget", source),
            outputs=outputs,
            warnings=tuple(err.at(source, None) for err in [*warnings, *unused]),
            unpruned=unpruned if unused else (),
            source=source,
        )
    except SpecError as err:
        raise err.at(source, None) from None


def read_inputs(model: Mapping[str, Any]) -> list[tuple[str, InputSpec]]:
    """The model's input (``input:``, named ``input``), or its named inputs in order
    (``inputs: {image: {shape: [...]}, image2: {...}}``): one of the two, never both."""
    if "input" in model and "inputs" in model:
        raise SpecError("give input: (one tensor) or inputs: (named tensors), not both",
                        path="inputs")
    if "inputs" not in model:
        if "input" not in model:
            raise SpecError("missing required field (input:, or inputs: for several)", path="input")
        return [(INPUT, read_input(model["input"]))]
    raw = as_mapping(model["inputs"], "inputs")
    if not 1 <= len(raw) <= MAX_INPUTS:
        raise SpecError(f"must name 1 to {MAX_INPUTS} inputs, got {len(raw)}", path="inputs")
    named = []
    for name, value in raw.items():
        path = join("inputs", str(name))
        named.append((check_name(name, path), read_input(value, path)))
    return named


def _inputs_unique(inputs: Sequence[tuple[str, InputSpec]], layers: Sequence[LayerSpec]) -> None:
    """An input name is no top-level layer's: ``from:`` could not tell them apart."""
    for name, _ in inputs:
        clash = next((layer for layer in layers if name in produced(layer)
                      or name == layer.alias), None)
        if clash is not None:
            raise SpecError(f"input {name!r} has the name of the layer at {clash.path}; rename "
                            "one", path=join("inputs", name))


def locate(err: SpecError, text: str | None = None) -> SpecError:
    """Fill in the line of ``err`` from its file's text (never read again: no text, no line)."""
    if err.line is not None or not err.file or text is None:
        return err
    line, path = locate_path(text, err.path, err.file)
    return SpecError(err.message, path=path, file=err.file, line=line)


def load_spec(path: str | Path) -> Spec:
    """Read, parse and validate a spec file (or a built-in, by name). Errors carry file, line
    and field path."""
    file, data, text = read_spec(path)
    return spec_from(data, text, file)


def read_spec(path: str | Path) -> tuple[str, Any, str]:
    """``(file, data, text)`` of a spec file, or of the built-in spec ``path`` names."""
    from convcost.spec.zoo import resolve

    path = resolve(path)
    if len(path.parts) == 1 and not os.path.lexists(path):
        raise SpecError("cannot read spec: no such file, nor a built-in spec of that name "
                        "(convcost list shows them)", file=str(path))
    data, text = read_yaml(path)
    return str(path), data, text


def spec_from(data: Any, text: str, file: str) -> Spec:
    """:func:`parse_spec` for data read by :func:`read_yaml`, errors located in ``text``."""
    try:
        spec = parse_spec(data, default_name=Path(file).stem, source=file)
        return replace(spec, text=text, warnings=tuple(locate(w, text) for w in spec.warnings))
    except SpecError as err:
        raise locate(err, text) from None


def read_yaml(path: str | Path, what: str = "spec", max_bytes: int = MAX_FILE_BYTES,
              max_nodes: int = MAX_YAML_NODES) -> tuple[Any, str]:
    """``(data, text)`` of a YAML file, read once and checked (:mod:`convcost.spec.yamlsafe`);
    a small file kind (a latency model) gives smaller bounds."""
    text = read_text(path, what, max_bytes)
    return load_yaml(text, str(path), max_nodes), text
