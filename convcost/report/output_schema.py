"""The JSON Schema of every command's ``--format json`` output (``convcost schema output``).

Every object lists all its keys as required: a figure that was not computed is ``null``,
never absent. The tests validate every command's JSON against this schema.
"""

from __future__ import annotations

from typing import Any

from convcost.report.render import SCHEMA_VERSION
from convcost.report.rows import KEYS

INT: dict[str, Any] = {"type": "integer"}
NUM: dict[str, Any] = {"type": "number"}
STR: dict[str, Any] = {"type": "string"}
BOOL: dict[str, Any] = {"type": "boolean"}
SHAPE: dict[str, Any] = {"type": "array", "items": {"type": "integer", "minimum": 1}}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Any], closed: bool = True) -> dict[str, Any]:
    """An object with every listed key required (and, when ``closed``, no other)."""
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": not closed}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


MAP_OF_INT = {"type": "object", "additionalProperties": INT}
AXES: dict[str, Any] = {"type": "array", "items": NUM, "minItems": 1, "maxItems": 3}
RF = obj({"size": AXES, "jump": AXES, "padding": AXES, "whole": BOOL})  # per spatial axis
_ROW_TYPES: dict[str, dict[str, Any]] = {
    "name": STR, "parent": nullable(STR), "kind": STR, "op_class": nullable(STR),
    "out_c": nullable(INT), "out_h": nullable(INT), "out_w": nullable(INT),
    "out_shape": array(INT), "layout": STR, "params": INT,
    "macs": INT, "flops": INT, "depth": INT, "count": INT,
    "intensity": nullable(NUM), "memory_status": nullable(STR),
    "time_s": nullable(NUM), "compute_s": nullable(NUM), "memory_s": nullable(NUM),
    "bound": nullable({"enum": ["compute", "memory"]}),
    "receptive_field": nullable(RF),
}


def row_schema() -> dict[str, Any]:
    """A tidy row (:mod:`convcost.report.rows`): the base keys, then the flags' (or null)."""
    return obj({key: _ROW_TYPES.get(key, nullable(INT)) for key in KEYS})


CONVENTION = obj({"name": STR, "unit": {"enum": ["MACs", "FLOPs"]}, "source": STR, "doc": STR,
                  "total": nullable(INT)})
VERIFY = obj({"ok": BOOL, "layers": INT, "tools": STR,
              "mismatches": array(obj({"layer": nullable(STR), "figure": STR, "convcost": {},
                                       "tool": {}})),
              "direct": array(STR),  # forward called directly: compared in the parent
              "unsupported_ops": MAP_OF_INT, "ignored_ops": MAP_OF_INT,
              "totals": obj({"params": INT, "fvcore": INT, "flop_counter_flops": INT})})
# Whether every op is counted; else the opaque layers and the ops whose MACs the totals leave
# out (the totals are lower bounds). `check` fails such a model unless its budget allows it.
COMPLETENESS: dict[str, Any] = {"complete": BOOL, "opaque_layers": INT, "uncounted": MAP_OF_INT}
ROOFLINE_SUMMARY = obj({"device": STR, "peak_gflops": NUM, "bandwidth_gbs": NUM, "ridge": NUM,
                        "time_s": NUM, "memory_bound_time_s": NUM})
MEMORY_SUMMARY = obj({
    "dtype": STR, "bytes_per_element": INT, "fused_bn": BOOL, "params": INT, "macs": INT,
    "weight_bytes": INT, "model_size_bytes": MAP_OF_INT, "input_bytes": INT,
    "output_bytes": INT, "peak_activation_bytes": INT, "peak_at": nullable(STR),
    "mem_access_bytes": INT, "intensity": nullable(NUM),
    "roofline": nullable(ROOFLINE_SUMMARY)}, closed=False)
# complete: every leaf's backward counted; else the kinds whose backward is not (lower bounds)
TRAINING_SUMMARY = obj({**{key: INT for key in ("forward_macs", "grad_input_macs", "grad_weight_macs",
                                                "backward_macs", "total_macs", "total_flops")},
                        "complete": BOOL, "no_backward_rule": MAP_OF_INT})


def _model() -> dict[str, Any]:
    return {
        "model": STR, "input": SHAPE, "alpha": NUM, "depth": nullable(INT),
        "inputs": array(obj({"name": STR, "shape": SHAPE, "layout": STR})),  # the first: input
        "totals": obj({"params": INT, "macs": INT, "flops": INT, **COMPLETENESS}),
        "convention": CONVENTION,
        "layers": nullable(array(row_schema())), "blocks": nullable(array(row_schema())),
        "by_kind": nullable({"type": "object",
                             "additionalProperties": obj({"params": INT, "macs": INT})}),
        "separable": nullable(array(obj({"depthwise": STR, "pointwise": STR, "macs": INT,
                                         "standard_macs": INT, "ratio": NUM, "theory": NUM}))),
        "standard_equivalent": nullable(obj({"params": INT, "macs": INT, "pairs": INT})),
        "receptive_field": nullable(RF),  # null: no spatial axes (tokens)
        "memory": nullable(MEMORY_SUMMARY), "training": nullable(TRAINING_SUMMARY),
        "verify": nullable(VERIFY),
        "latency": nullable(obj({  # --latency-model: the predicted time (convcost calibrate)
            "model": STR, "total_s": NUM, "layers_s": NUM, "overhead_s": NUM,
            "groups": array(obj({"name": STR, "predicted_s": NUM}))})),
    }


def _per_variant(schema: dict[str, Any]) -> dict[str, Any]:
    return nullable(obj({name: schema for name in ("standard", "depthwise", "pointwise",
                                                   "separable")}))


def _layer() -> dict[str, Any]:
    config = obj({"in_channels": INT, "out_channels": INT, "kernel": SHAPE, "input_shape": SHAPE,
                  "stride": SHAPE, "dilation": SHAPE,
                  "padding": {"anyOf": [STR, array(INT)]}, "bias": BOOL, "bn": BOOL})
    return {"config": config, "convention": CONVENTION, "variants": array(row_schema()),
            "ratio": obj({"macs": NUM, "params": NUM, "theory": NUM}),
            "memory": _per_variant(MEMORY_SUMMARY), "training": _per_variant(TRAINING_SUMMARY)}


def _layer_attention() -> dict[str, Any]:
    config = obj({"in_channels": INT, "out_channels": INT, "kernel": INT, "input_shape": SHAPE,
                  "heads": INT, "kv_stride": INT, "tokens": INT, "key_tokens": INT})
    block = obj({"name": STR, "out_c": INT, "out_h": INT, "out_w": INT, "params": INT,
                 "macs": INT, "flops": INT, "activation_bytes": INT})
    side = nullable(INT)
    return {"config": config, "blocks": array(block),
            "crossover": obj({"standard": side, "separable": side}),
            "formulas": obj({key: STR for key in ("standard", "separable", "attention",
                                                  "crossover")})}


def _conventions() -> dict[str, Any]:
    row = obj({"name": STR, "unit": STR, "source": STR, "doc": STR, "total": INT,
               "paper_total": INT, "gap": INT, "gap_percent": nullable(NUM),
               "params": nullable(INT), "params_rule": STR, "by_class": MAP_OF_INT,
               "gap_by_class": MAP_OF_INT, "explanation": nullable(STR),
               "unsupported": MAP_OF_INT})
    return {"model": STR, "input": SHAPE, "conventions": array(row),
            "uncounted_classes": array(STR)}


def _check() -> dict[str, Any]:
    value = nullable({"type": ["integer", "number"]})
    metric = obj({"metric": STR, "value": value, "limit": value, "headroom": value,
                  "over": BOOL, "layer": nullable(STR)})
    model = obj({"name": STR, "spec": STR, "convention": STR, "budget_file": nullable(STR),
                 "failed": BOOL, "metrics": array(metric), "verify": nullable(VERIFY),
                 **COMPLETENESS, "allow_incomplete": BOOL})
    grown = obj({"name": STR, "old_name": nullable(STR),
                 "status": {"enum": ["added", "removed", "changed", "renamed", "same"]},
                 "baseline": INT, "current": INT, "change": INT})
    delta = obj({"model": STR, "metric": STR, "baseline": nullable(INT), "current": INT,
                 "change": nullable(INT), "grew": BOOL, "layers": array(grown)})
    baseline = obj({"file": STR, "tolerance_percent": NUM, "updated": BOOL, "failed": BOOL,
                    "new": array(STR), "stale": array(STR), "deltas": array(delta)})
    error = obj({"message": STR, "file": nullable(STR), "line": nullable(INT)})
    return {"status": STR, "summary": STR, "models": array(model),
            "baseline": nullable(baseline), "errors": array(error)}


def _diff() -> dict[str, Any]:
    figure = nullable({"type": ["integer", "number"]})
    layer = nullable(obj({"name": STR, "kind": STR, "params": INT, "macs": INT,
                          "output_shape": nullable(SHAPE), "memory_bytes": nullable(INT),
                          "latency_s": nullable(NUM), "counted": BOOL}))
    metrics = ("params", "macs", "memory", "latency")
    row = obj({"status": {"enum": ["added", "removed", "changed", "renamed", "same"]},
               "name": STR, "old_name": nullable(STR), "kind": STR,
               "matched_by": nullable({"enum": ["name", "structure"]}), "before": layer,
               "after": layer, "changes": obj({m: figure for m in metrics})})
    model = obj({"model": STR, "source": STR, "input": nullable(SHAPE), "dtype": STR,
                 "layers": INT, "totals": obj({"params": INT, "macs": INT,
                                               "peak_memory_bytes": nullable(INT),
                                               "latency_s": nullable(NUM)}),
                 "latency_model": nullable(STR), "uncounted": array(STR)})
    total = obj({"metric": {"enum": list(metrics)}, "before": figure, "after": figure,
                 "change": figure, "ratio": nullable(NUM)})
    limit = obj({"metric": {"enum": list(metrics)}, "percent": NUM, "grew": BOOL})
    return {"status": {"enum": ["pass", "fail"]}, "before": model, "after": model,
            "totals": array(total),
            "counts": obj({s: INT for s in ("added", "removed", "changed", "renamed", "same")}),
            "all_layers": BOOL, "layers": array(row), "limits": array(limit)}


def _sweep() -> dict[str, Any]:
    point = obj({"alpha": NUM, "resolution": INT, "params": INT, "macs": INT, "flops": INT,
                 "time_s": nullable(NUM), "latency_s": nullable(NUM)})
    return {"model": STR, "base_resolution": INT, "alphas": array(NUM), "resolutions": array(INT),
            "roofline": nullable(STR), "latency_model": nullable(STR), "points": array(point)}


def _bench() -> dict[str, Any]:
    timing = obj({"name": STR, **{k: NUM for k in ("median_s", "q1_s", "q3_s", "iqr_s", "min_s",
                                                   "max_s", "gflops_per_s", "gb_per_s")},
                  "times_s": nullable(array(NUM)), "macs": INT, "flops": INT, "mem_access_bytes": INT,
                  "speedup": nullable(NUM), "macs_ratio": nullable(NUM)})
    return {"title": STR, "device": STR, "threads": INT, "torch": STR, "warmup": INT,
            "repeats": INT, "base": nullable(STR), "model": nullable(STR), "input": SHAPE,
            "config": nullable({"type": "object"}), "timings": array(timing)}


def _list() -> dict[str, Any]:
    entry = obj({"name": STR, "description": STR, "input": SHAPE, "params": INT, "macs": INT,
                 "flops": INT})
    return {"models": array(entry)}


def _list_sources() -> dict[str, Any]:
    source = obj({"order": INT, "name": STR, "syntax": STR, "imports": BOOL,
                  "tools": {"type": "object", "additionalProperties": nullable(STR)}})
    return {"sources": array(source)}


def _verify() -> dict[str, Any]:
    return {"models": array(obj({"spec": STR, "model": STR, **VERIFY["properties"]}))}


def _profile() -> dict[str, Any]:
    timing = {k: NUM for k in ("median_s", "q1_s", "q3_s", "iqr_s")} | {"times_s": array(NUM)}
    group = obj({"name": STR, "kind": STR, "class": STR, "macs": INT, "mem_access_bytes": INT,
                 **timing, "roofline_s": NUM, "bound": {"enum": ["compute", "memory", ""]},  # "": free
                 "macs_share": NUM, "time_share": NUM})
    share = obj({"class": STR, "groups": INT, "macs": INT, "seconds": NUM, "macs_share": NUM,
                 "time_share": NUM})
    machine = obj({"cpu": STR, "device": STR, "threads": INT, "torch": STR, "dtype": STR,
                   "backend": STR})
    return {"model": STR, "input": SHAPE, "machine": machine, "warmup": INT, "repeats": INT,
            "roofline": obj({"label": STR, "peak_gflops": NUM, "bandwidth_gbs": NUM}),
            "layers": array(group), "by_class": array(share),
            "totals": obj({"end_to_end": obj(timing), "layers_s": NUM, "overhead_s": NUM,
                           "pass_sums_s": nullable(array(NUM))})}


def _calibrate() -> dict[str, Any]:
    fit = obj({"spec": STR, "measured_s": NUM, "predicted_s": NUM})
    return {"output": STR, "latency_model": {"type": "object"}, "fit": array(fit)}


def _fit() -> dict[str, Any]:
    design = obj({"alpha": NUM, "resolution": INT, "rho": NUM, "depths": MAP_OF_INT,
                  "params": INT, "macs": INT, "flops": INT, "latency_s": nullable(NUM)})
    return {"model": STR, "base_resolution": INT,
            "budget": obj({"macs": nullable(INT), "params": nullable(INT),
                           "latency_s": nullable(NUM)}),
            "alphas": array(NUM), "resolutions": array(INT),
            "stages": array(obj({"name": STR, "max_depth": INT})), "fixed_stages": array(STR),
            "searched": INT, "fitting": INT, "front_size": INT, "latency_model": nullable(STR),
            "latency": nullable({"const": "predicted"}), "front": array(design)}


COMMANDS = {"model": _model, "layer": _layer, "layer_attention": _layer_attention,
            "conventions": _conventions, "check": _check,
            "diff": _diff,
            "sweep": _sweep, "bench": _bench, "list": _list, "list_sources": _list_sources, "verify": _verify,
            "profile": _profile, "calibrate": _calibrate, "fit": _fit}


def command_schema(command: str) -> dict[str, Any]:
    head = {"schema_version": {"const": SCHEMA_VERSION}, "command": {"const": command}}
    return obj({**head, **COMMANDS[command]()})


def output_schema() -> dict[str, Any]:
    """One schema for all commands: the ``command`` key selects the branch."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://convcost.dev/output.schema.json",
        "title": f"convcost --format json output, schema_version {SCHEMA_VERSION}",
        "oneOf": [command_schema(name) for name in COMMANDS],
    }
