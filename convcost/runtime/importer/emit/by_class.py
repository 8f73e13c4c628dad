"""Modules recognised by their class, whatever ops they trace to (ConvNeXt-V2's GRN, Swin's
window attention): the classes the op kinds declare (``Imports.classes``, collected in
``registry.CLASS_RULES``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from convcost.cost.registry import CLASS_RULES
from convcost.runtime.importer.emit.leaves import Layer
from convcost.runtime.importer.ir import IRGraph, IRNode, Shape


def class_layers(cls: str, nodes: Sequence[IRNode], shape: Shape, nhwc: bool) -> list[Layer] | None:
    """The layers of a module of class ``cls`` run on one tensor of NCHW ``shape`` (``nhwc``:
    a channels-last view of it); None when no kind declares its class, or its ops disagree."""
    whole = CLASS_RULES.get(cls)
    return whole(nodes, shape, nhwc) if whole is not None else None


_WHOLE = frozenset({"shifted_window_attention", "cosine_window_attention"})
"""The kinds whose one leaf stands for a module's every op (its position-bias MLP's too)."""


def folded(graph: IRGraph, layers: Sequence[Layer],
           origins: Mapping[str, tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The IR tensors of each window-attention layer's module, which the one leaf stands for
    together (Swin V2's attention with its cpb_mlp linears, torchvision's and timm's): the
    importer's self-check sums them."""
    paths = [origins[layer["name"]][0] for layer in layers
             if layer["kind"] in _WHOLE and origins.get(layer["name"])]
    return [tuple(n.name for n in graph.nodes if n.module == path or n.module.startswith(f"{path}."))
            for path in paths]
