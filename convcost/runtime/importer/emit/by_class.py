"""Modules recognised by their class, whatever ops they trace to (ConvNeXt-V2's GRN): the
classes the op kinds declare (``Imports.classes``, collected in ``registry.CLASS_RULES``)."""

from __future__ import annotations

from collections.abc import Sequence

from convcost.cost.registry import CLASS_RULES
from convcost.runtime.importer.emit.leaves import Layer
from convcost.runtime.importer.ir import IRNode, Shape


def class_layers(cls: str, nodes: Sequence[IRNode], shape: Shape, nhwc: bool) -> list[Layer] | None:
    """The layers of a module of class ``cls`` run on one tensor of NCHW ``shape`` (``nhwc``:
    a channels-last view of it); None when no kind declares its class, or its ops disagree."""
    whole = CLASS_RULES.get(cls)
    return whole(nodes, shape, nhwc) if whole is not None else None
