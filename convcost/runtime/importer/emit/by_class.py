"""Modules recognised by their class, whatever ops they trace to: ConvNeXt-V2's GRN.

timm's ``GlobalResponseNorm`` (and the ConvNeXt-V2 repository's ``GRN``) trace to a norm, a
mean, a division and an addcmul that no leaf kind says one by one; the module as a whole is the
``grn`` kind. Its statistics run over H×W and its mean over the channels: on a channels-last
view (timm's MLP of ConvNeXt-V2) the mean is over the last axis, on NCHW over axis 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcost.runtime.importer.emit.leaves import Layer
from convcost.runtime.importer.ir import IRNode, Shape

GRN_CLASSES = frozenset({"GlobalResponseNorm", "GRN"})


def class_layers(cls: str, nodes: Sequence[IRNode], shape: Shape, nhwc: bool) -> list[Layer] | None:
    """The layers of a module of class ``cls`` run on one tensor of NCHW ``shape`` (``nhwc``:
    a channels-last view of it); None when its class is not one known here, or its ops disagree."""
    if cls not in GRN_CLASSES or len(shape) != 4:
        return None
    means = [n for n in nodes if n.op == "mean"]
    channel_axis = 3 if nhwc else 1
    if len(means) != 1 or [d % 4 for d in means[0].attr("dims", ())] != [channel_axis]:
        return None
    same = nodes[-1].shape == ((shape[0], *shape[2:], shape[1]) if nhwc else shape)
    return [{"kind": "grn"}] if same and sum(n.params for n in nodes) == 2 * shape[1] else None
