"""Source -> IR -> spec: the whole import, returning the spec as data and as YAML text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcost.errors import ConvcostError
from convcost.frontend.network import versions
from convcost.frontend.source import parse_source
from convcost.runtime.importer.average_pass import fuse_averages
from convcost.runtime.importer.blur_pass import fuse_blurs
from convcost.runtime.importer.buffer_pass import lift_buffer_runs
from convcost.runtime.importer.emit.by_class import folded
from convcost.runtime.importer.emit.heads import fixed_heads, fixed_maps
from convcost.runtime.importer.emit.inputs import spec_input, spec_inputs
from convcost.runtime.importer.emit.layout import Emitted, emit_layers
from convcost.runtime.importer.emit.repeats import collapse_repeats
from convcost.runtime.importer.emit.residual import residuals
from convcost.runtime.importer.emit.templates import templated
from convcost.runtime.importer.emit.text import header, spec_yaml
from convcost.runtime.importer.emit.unused import with_unused
from convcost.runtime.importer.expand_pass import drop_broadcast_expands
from convcost.runtime.importer.ir import IRGraph
from convcost.runtime.importer.item_pass import drop_unread_items
from convcost.runtime.importer.pad_pass import fuse_tf_same_pads
from convcost.runtime.importer.rel_pos_pass import fuse_rel_pos_biases
from convcost.runtime.importer.rope_pass import fuse_ropes
from convcost.runtime.importer.selfcheck import UnloadableLayer, check_emitted
from convcost.runtime.importer.shuffle_pass import fuse_shuffles
from convcost.runtime.importer.state_pass import split_state_reads
from convcost.runtime.importer.std_conv_pass import fuse_std_convs


@dataclass(frozen=True)
class Imported:
    """An imported model: its IR, the emitted layers, the spec mapping and its YAML."""

    graph: IRGraph
    emitted: Emitted
    spec: dict[str, Any]
    yaml: str


def model_name(text: str) -> str:
    source = parse_source(text)
    if source.kind == "onnx":
        return Path(source.location).stem or "model"
    return source.name.rsplit(".", 1)[-1]


def tool_versions(graph: IRGraph) -> str:
    """The versions of the packages that read the model."""
    names = ("onnx",) if graph.tracer == "onnx" else ("torch", "torchvision", "timm")
    return ", ".join(f"{name} {found}" for name, found in versions(names).items())


def shared_notes(graph: IRGraph) -> list[str]:
    """One line per module called more than once: the spec repeats its parameters."""
    calls: dict[str, list[int]] = {}  # module -> params at each call
    for node in graph.nodes:
        if node.shared and node.target.startswith("torch.nn"):
            calls.setdefault(node.module, []).append(node.params)
    notes = []
    for module, params in calls.items():
        total: int = sum(params)
        if len(params) > 1 and total:
            notes.append(f"shared weights: {module} runs {len(params)}× with {total:,} params, "
                         "counted once: the later calls' layers say shares:")
    return notes


MAX_REEMITS = 8  # layers that did not load, each kept opaque and the spec emitted again


def to_spec(graph: IRGraph, text: str, strict: bool = False, name: str | None = None) -> Imported:
    """The spec of ``graph`` (read from source ``text``); under ``strict`` opaque is an error.

    A layer the loader refuses (an op on a tensor whose first axis is no batch: Swin-V2's
    position bias from a buffer) keeps its ops opaque, flagged as uncounted, and the spec is
    emitted again (at most :data:`MAX_REEMITS` times); anything else the self-check finds is an
    internal error."""
    fused = fuse_blurs(fuse_averages(fuse_std_convs(fuse_tf_same_pads(drop_broadcast_expands(
        fuse_shuffles(fuse_ropes(drop_unread_items(split_state_reads(lift_buffer_runs(
            fuse_rel_pos_biases(graph)))))))))))
    forced: frozenset[str] = frozenset()
    for _ in range(MAX_REEMITS):
        emitted = emit_layers(fused, forced)
        try:
            return _written(graph, emitted, text, strict, name)
        except UnloadableLayer as err:
            node = emitted.tensors.get(err.layer or "")  # the IR op the layer holds
            if node is None or node in forced:
                raise
            forced = forced | {node}
    return _written(graph, emit_layers(fused, forced), text, strict, name)


def _written(graph: IRGraph, emitted: Emitted, text: str, strict: bool,
             name: str | None) -> Imported:
    """The spec of the emitted layers, checked by loading it (:func:`check_emitted`)."""
    if strict and emitted.opaque:
        listed = "; ".join(f"{o.name}: {o.ops}" for o in emitted.opaque)
        raise ConvcostError(f"{text}: --strict: the spec cannot express {listed}")
    layers, outputs = collapse_repeats(fixed_maps(emitted.layers), emitted.outputs)
    layers, outputs, blocks = templated(residuals(layers, outputs), outputs, dict(graph.classes))
    layers, outputs = collapse_repeats(layers, outputs)  # equal uses of a template in a row
    layers, outputs = with_unused(fixed_heads(layers, outputs), outputs, graph.unused)
    several = spec_inputs(graph)
    spec: dict[str, Any] = {"name": name or model_name(text),
                            **({"inputs": several} if several else {"input": spec_input(graph)})}
    if blocks:
        spec["blocks"] = {b.name: {"args": list(b.args), "layers": b.layers} for b in blocks}
    spec["layers"] = layers
    if outputs:
        spec["outputs"] = outputs
    inputs = [(n.name, n.shape) for n in graph.nodes if n.op == "input"] or [("", graph.input_shape)]
    head = header(text, inputs, graph.tracer, tool_versions(graph),
                  [*graph.notes, *shared_notes(graph)], emitted.opaque)
    yaml_text = spec_yaml(head, spec)
    check_emitted(graph, (t for o in emitted.opaque for t in o.nodes), yaml_text, text,
                  folded(graph, emitted.layers, emitted.origins))
    return Imported(graph, emitted, spec, yaml_text)
