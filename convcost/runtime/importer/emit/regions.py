"""What an opaque region may end on, and which ops a spec layer cannot stand for alone."""

from __future__ import annotations

from convcost.runtime.importer.ir import IRNode


def weightless(node: IRNode) -> bool:
    """A conv or linear whose weight is no parameter (a registered buffer: TResNet's blur
    filter): a spec layer would count its weights as params; it stays opaque."""
    return node.op in ("conv", "conv_transpose", "linear") and not node.params and not node.shared


def writable(shape: tuple[int, ...], batch: int) -> bool:
    """Whether an opaque layer can end on a tensor of ``shape``: the model's batch, then 1 to 4
    sizes, none 0. An opaque region ending on a 6-D attention tensor, an empty slice (deepseek's
    zero prefix tokens) or windows folded into the batch (efficientvit's [4, C, 7, 7], which a
    layer would read as one image) takes the next ops too."""
    return 2 <= len(shape) <= 5 and 0 not in shape and shape[0] == batch
