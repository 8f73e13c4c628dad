"""The latency-model file (``device.yaml``) that ``calibrate`` writes and ``--latency-model``
reads. User input: every key is checked, unknown and duplicate keys are refused, every
number is bounded, and each error is one SpecError naming file, line and field path.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from convcost.errors import SpecError
from convcost.limits import MAX_LATENCY_FILE_BYTES, MAX_LATENCY_NODES, quote
from convcost.net.latency import BACKENDS, CLASSES, PROFILE_DTYPES, ClassFit, LatencyModel
from convcost.spec.fields import as_choice, as_int, as_list, as_mapping, check_keys, join
from convcost.spec.loader import locate, read_yaml

if TYPE_CHECKING:
    from convcost.cost.graph import Node
    from convcost.net.kernel_model import KernelModel
    from convcost.net.latency import Prediction

FORMAT = "convcost-latency/1"
KERNEL_FORMAT = "convcost-latency/2"
TOP_KEYS = ("format", "machine", "calibrated_on", "pass_factor", "overhead_per_group_s", "classes")
MACHINE_KEYS = ("cpu", "device", "threads", "torch", "dtype", "backend")
FIT_KEYS = ("per_mac_s", "per_byte_s", "per_layer_s", "samples")
LIMIT_S = 1.0  # no coefficient or overhead beyond a second per MAC, byte or layer
MAX_TEXT = 200
MAX_SPECS = 1000
MAX_FACTOR = 100.0


def latency_data(model: LatencyModel) -> dict[str, Any]:
    """The file's content as plain data (what :func:`dump` writes)."""
    return {
        "format": FORMAT,
        "machine": dict(model.machine),
        "calibrated_on": list(model.calibrated_on),
        "pass_factor": model.pass_factor,
        "overhead_per_group_s": model.overhead_per_group_s,
        "classes": {name: {"per_mac_s": f.per_mac_s, "per_byte_s": f.per_byte_s,
                           "per_layer_s": f.per_layer_s, "samples": f.samples}
                    for name, f in model.classes.items()},
    }


def with_header(what: str, rule: str, data: Any) -> str:
    """A model file: a comment naming it and its rule (``what`` and ``rule`` are one line
    each), the use line, then the data as YAML."""
    return (f"# convcost {what} (convcost calibrate):\n# {rule}\n"
            "# Use: convcost model SPEC --latency-model FILE\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def dump(model: LatencyModel) -> str:
    return with_header("latency model", "per fused layer group of a class, t = per_mac_s·MACs + "
                       "per_byte_s·bytes + per_layer_s; end to end, T = pass_factor·Σt + "
                       "overhead_per_group_s·groups", latency_data(model))


def text_field(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.isprintable() or len(value) > MAX_TEXT:
        raise SpecError(f"must be printable text of at most {MAX_TEXT} characters", path=path)
    return value


def seconds_field(value: Any, path: str, high: float = LIMIT_S, unit: str = " seconds") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"must be a number, got {quote(value)}", path=path)
    if not 0 <= value <= high:
        raise SpecError(f"must be in [0, {high:g}]{unit}, got {quote(value)}", path=path)
    return float(value)


def machine_field(raw: Any, keys: tuple[str, ...] = MACHINE_KEYS) -> dict[str, str | int]:
    """The ``machine`` mapping: every key of ``keys`` present, checked; no other."""
    data = as_mapping(raw, "machine")
    check_keys(data, keys, "machine")
    out: dict[str, str | int] = {}
    for key in keys:
        path = f"machine.{key}"
        if key not in data:
            raise SpecError("missing required field", path=path)
        if key in ("threads", "batch"):
            out[key] = as_int(data[key], path)
            if out[key] > 4096:  # type: ignore[operator]
                raise SpecError(f"must be at most 4096, got {out[key]}", path=path)
        elif key == "dtype":
            out[key] = as_choice(data[key], path, PROFILE_DTYPES)
        elif key == "backend":
            out[key] = as_choice(data[key], path, BACKENDS)
        else:
            out[key] = text_field(data[key], path)
    return out


def _fit(raw: Any, path: str) -> ClassFit:
    data = as_mapping(raw, path)
    check_keys(data, FIT_KEYS, path)
    missing = [key for key in FIT_KEYS if key not in data]
    if missing:
        raise SpecError("missing required field", path=join(path, missing[0]))
    samples = as_int(data["samples"], join(path, "samples"), minimum=0)
    if samples > 10**7:
        raise SpecError(f"must be at most 10000000, got {samples}", path=join(path, "samples"))
    a, b, c = (seconds_field(data[k], join(path, k)) for k in FIT_KEYS[:3])
    return ClassFit(a, b, c, samples)


def _classes(raw: Any) -> dict[str, ClassFit]:
    data = as_mapping(raw, "classes")
    check_keys(data, ("all", *CLASSES), "classes")
    if "all" not in data:
        raise SpecError("missing required field", path="classes.all")
    return {name: _fit(value, f"classes.{name}") for name, value in data.items()}


def parse_latency_model(data: Any) -> LatencyModel | KernelModel:
    """Validate loaded YAML data into a :class:`LatencyModel` (format 1) or a
    :class:`~convcost.net.kernel_model.KernelModel` (format 2)."""
    top = as_mapping(data, "")
    if "layers" in top and "classes" not in top:
        raise SpecError("a network spec, not a latency model: give the file `convcost calibrate -o FILE` "
                        "writes")
    if top.get("format") == KERNEL_FORMAT:
        from convcost.net.kernel_file import parse_kernel_model

        return parse_kernel_model(top)
    check_keys(top, TOP_KEYS, "")
    for key in TOP_KEYS:
        if key not in top:
            raise SpecError("missing required field", path=key)
    if top["format"] != FORMAT:
        raise SpecError(f"must be {FORMAT!r} or {KERNEL_FORMAT!r}, got {quote(top['format'])}",
                        path="format")
    specs = as_list(top["calibrated_on"], "calibrated_on")
    if len(specs) > MAX_SPECS:
        raise SpecError(f"at most {MAX_SPECS} names, got {len(specs)}", path="calibrated_on")
    names = tuple(text_field(s, f"calibrated_on[{i}]") for i, s in enumerate(specs))
    factor = seconds_field(top["pass_factor"], "pass_factor", MAX_FACTOR, "")
    overhead = seconds_field(top["overhead_per_group_s"], "overhead_per_group_s")
    return LatencyModel(MappingProxyType(machine_field(top["machine"])),
                        MappingProxyType(_classes(top["classes"])), factor, overhead, names)


def load_latency_model(path: str | Path) -> LatencyModel | KernelModel:
    """Read and validate a latency-model file; errors carry file, line and field path."""
    file = str(path)
    data, text = read_yaml(path, "latency model", MAX_LATENCY_FILE_BYTES, MAX_LATENCY_NODES)
    try:  # duplicate keys were refused by read_yaml, as in a spec
        return parse_latency_model(data)
    except SpecError as err:
        raise locate(err.at(file, None), text) from None


def given_model(path: Path | None) -> LatencyModel | KernelModel | None:
    """The model of ``--latency-model PATH``, or None without the option."""
    return None if path is None else load_latency_model(path)


def predicted(path: Path | None, root: Node) -> Prediction | None:
    """The latency ``--latency-model PATH`` predicts for the network ``root``, or None."""
    if path is None:
        return None
    from convcost.net.latency import predict

    return predict(load_latency_model(path), root)
