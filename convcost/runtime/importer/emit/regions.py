"""What an opaque region may end on, and which ops a spec layer cannot stand for alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from convcost.cost.ops.linear import buffer_weight
from convcost.runtime.importer.ir import IRNode

# Ops that hold no MAC for FlopCounterMode but that fvcore counts (its default handles: 4 per
# output of a bilinear upsample or a grid sample, 1 of a nearest one, the norms', an adaptive
# average pool's): a ``recorded`` layer, 0 under every convention, must not hold one, or the
# fvcore figure would be short without a word. The kinds, and the ATen ops no kind declares.
PEER_COUNTED_KINDS = frozenset({"bn", "groupnorm", "instancenorm", "layernorm", "interpolate", "upsample",
                                "adaptive_pool", "grid_sample"})
PEER_COUNTED_OPS = frozenset({"aten.native_batch_norm",
                              "aten._native_batch_norm_legit", "aten.native_group_norm",
                              "aten.native_layer_norm", "aten.instance_norm", "aten._adaptive_avg_pool2d"})


def peer_counted(node: IRNode) -> bool:
    """Whether fvcore counts ``node`` though FlopCounterMode does not (:data:`PEER_COUNTED_OPS`)."""
    return node.op in PEER_COUNTED_KINDS or node.target in PEER_COUNTED_OPS


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



def _owners(nodes: Sequence[IRNode], ends: set[str]) -> dict[str, int]:
    """Each op -> the first end (in the order they ran) that needs it."""
    index = {n.name: n for n in nodes}
    owner: dict[str, int] = {}
    for part, end in enumerate(n.name for n in nodes if n.name in ends):
        todo = [end]
        while todo:
            name = todo.pop()
            if name in index and name not in owner:
                owner[name] = part
                todo.extend(index[name].inputs)
    return owner


def recorded_parts(nodes: Sequence[IRNode], readers: Mapping[str, tuple[str, ...]]) -> list[list[IRNode]]:
    """A recorded region cut into parts, one per tensor read after it (a detector's boxes, read
    again by the paste of masks after the mask head) or by no op (an output): each part holds
    the ops its last tensor needs that no earlier part holds, in the order they ran. A tensor
    one part reads from another ends a part too, so that every read is of a part's last."""
    inside = {n.name for n in nodes}
    ends = {nodes[-1].name} | {n.name for n in nodes if not readers.get(n.name)
                               or any(r not in inside for r in readers[n.name])}
    while True:
        owner = _owners(nodes, ends)
        crossing = {t for n in nodes for t in n.inputs if t in inside and owner[t] != owner[n.name]}
        if crossing <= ends:
            break
        ends |= crossing
    parts: dict[int, list[IRNode]] = {}
    for node in nodes:
        parts.setdefault(owner[node.name], []).append(node)
    return list(parts.values())


def batch_fold(shape: tuple[int, ...], batch: int) -> int:
    """How many times an opaque layer's output batch holds the batch of the tensor its stand-in
    takes the batch from (HaloNet's rel logits [8, 4, 49, 121] at a model batch of 1): its
    stand-in then writes them folded into the next dim, a reshape unfolding them (1: none)."""
    if len(shape) < 2 or batch < 1 or shape[0] == batch or shape[0] % batch:
        return 1
    return shape[0] // batch


def folded_shape(shape: tuple[int, ...], fold: int) -> list[int]:
    """An opaque layer's ``output_shape`` (batch excluded), ``fold`` batches in its first dim."""
    return [fold * shape[1], *shape[2:]] if fold > 1 else list(shape[1:])
