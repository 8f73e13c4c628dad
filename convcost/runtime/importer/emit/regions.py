"""What an opaque region may end on, and which ops a spec layer cannot stand for alone."""

from __future__ import annotations

from convcost.cost.ops.linear import buffer_weight
from convcost.runtime.importer.ir import IRNode


def weightless(node: IRNode) -> bool:
    """A conv or linear whose weight is no parameter (a registered buffer: TResNet's blur
    filter): a spec layer would count its weights as params; it stays opaque. A functional
    linear on a buffer is none: it is written as a matmul by a ``param`` of no params."""
    return node.op in ("conv", "conv_transpose", "linear") and not node.params and not node.shared \
        and not buffer_weight(node)


def writable(shape: tuple[int, ...], batch: int) -> bool:
    """Whether an opaque layer can end on a tensor of ``shape``: the model's batch, then 1 to 4
    sizes, none 0. An opaque region ending on a 6-D attention tensor, an empty slice (deepseek's
    zero prefix tokens) or windows folded into the batch (efficientvit's [4, C, 7, 7], which a
    layer would read as one image) takes the next ops too."""
    return 2 <= len(shape) <= 5 and 0 not in shape and shape[0] == batch


def batch_first(reads: list[str], sizes: list[tuple[int, ...]], batch: int | None,
                model_input: str) -> list[str]:
    """An opaque layer's inputs (``sizes``: each one's first size in the spec, as a tuple) led
    by one of the model's ``batch`` (None: any), as its stand-in takes the batch from its first
    input; after a permute that moved the batch (``qkv.permute(2, 0, 3, 1, 4)``: 3 first) the
    model's input leads, as it does for a layer that reads nothing."""
    carrier = next((t for t, size in zip(reads, sizes, strict=True)
                    if batch is None or size == (batch,)), None)
    if carrier is None:
        return [model_input, *reads]
    return [carrier, *(t for t in reads if t != carrier)]
