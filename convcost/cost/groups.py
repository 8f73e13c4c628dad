"""Layer classes and fused groups of a node tree: what ``profile`` times and ``calibrate`` fits.

The class of a leaf is MobileNet's Table 2 class (standard, depthwise, pointwise, grouped
conv; fully connected; other). A fused group is a conv or linear leaf with the BN and
activation leaves that follow it in its unit, which is what a deployment runtime fuses into
one kernel; every other leaf is a group of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from convcost.cost.graph import Node, sequence
from convcost.cost.opkind import Op
from convcost.cost.registry import op_kind

CONV_CLASSES = ("standard", "depthwise", "pointwise", "grouped")


def layer_class(op: Op | None) -> str:
    """MobileNet Table 2 class (the kind's ``layer_class`` trait): a conv's class, ``fully
    connected`` or ``other``; a linear layer per position (ConvNeXt's) is a 1×1 conv on the
    channels: ``pointwise``."""
    classify = op_kind(op).layer_class if op is not None else None
    return classify(op) if classify is not None else "other"


def _fusion(node: Node) -> str:
    return op_kind(node.op).fusion if node.op is not None else ""


def fused_groups(node: Node) -> Iterator[Node]:
    """The leaves of ``node``, with each conv/linear + BN + activation unit as one node.

    A unit is a block that runs, in sequence, a conv or linear leaf followed only by BN and activation
    leaves. Every leaf is in exactly one group.
    """
    if node.is_leaf or _is_unit(node):
        yield node
        return
    for child in node.children:
        yield from fused_groups(child)


def _is_unit(node: Node) -> bool:
    head, *rest = node.children or (None,)
    return (head is not None and node.wiring == sequence(node.children)
            and _fusion(head) == "head" and all(_fusion(c) == "epilogue" for c in rest))


def group_class(node: Node) -> str:
    """The layer class of a fused group: its first leaf's."""
    return layer_class(next(node.leaves()).op)
