"""The importer checks what it writes: the emitted spec, loaded and analysed as any spec is, must
have the traced graph's conv and linear layers (each one's MACs) and its params. Pure: no torch.

The graph side counts only what reaches an output, and leaves out the ops an ``opaque`` layer
stands for (the spec says it does not count them). A spec that does not load, or that counts
other figures, is a bug in the importer: :class:`SelfCheckError`, an internal error (exit 3)
raised before anything is written, never a file that fails or miscounts later.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from math import prod

from convcost.cost.ops.attention import Attention, MultiheadAttention
from convcost.cost.ops.matmul import Einsum
from convcost.cost.ops.recurrent import Lstm
from convcost.cost.ops.rel_pos import rel_pos_parts, traced
from convcost.cost.ops.swin import ShiftedWindowAttention
from convcost.cost.registry import cost, part_nodes
from convcost.errors import ConvcostError, ShapeError
from convcost.runtime.importer.ir import IRGraph, IRNode


class SelfCheckError(RuntimeError):
    """The emitted spec does not reproduce the traced graph: a bug in the importer (exit 3)."""


class UnloadableLayer(SelfCheckError):
    """The emitted spec does not load at one layer (``layer``: its name, when the loader's
    message names it): the importer may keep that layer's ops opaque and emit again."""

    def __init__(self, message: str, layer: str | None) -> None:
        super().__init__(message)
        self.layer = layer


_LAYER = re.compile(r"layers\[\d+\][^:]*: ([A-Za-z0-9_.]+): ")


def node_macs(node: IRNode) -> int:
    """Paper MACs of one IR op: a convolution of any rank (its attrs hold ``kernel`` and
    ``in_channels``: conv, conv3d, ...), a transposed one (``output_padding`` too), linear, the
    contractions and MViT-V2's rel-pos; 0 for every other op."""
    a = node.attrs
    if "kernel" in a and "in_channels" in a:
        if "output_padding" in a:  # every input element meets cout/groups · k kernel weights
            return _transposed_macs(node)
        return int(prod(node.shape) * a["in_channels"] // a["groups"] * prod(a["kernel"]))
    if node.op == "linear":
        return int(prod(node.shape) * a["in_features"])
    if node.op in CONTRACTIONS:
        return _contraction_macs(node)
    if node.op == "rel_pos":
        return sum(part_macs(node))
    if node.op == "lstm" and len(node.shape) == 3 and a.get("features"):
        lstm = Lstm(a["hidden"], a["layers"], a["bidirectional"], a["bias"])
        return cost(lstm, (*node.shape[:2], a["features"])).macs
    return 0


def part_macs(node: IRNode) -> tuple[int, ...]:
    """The MACs of each part of an op its spec layer counts in parts (MViT-V2's decomposed
    rel-pos: two einsums and a matmul, as the analysis lists them); else its :func:`node_macs`."""
    if node.op != "rel_pos":
        return (node_macs(node),)
    try:
        return tuple(cost(part, shape).macs for _, part, shape in rel_pos_parts(*traced(node)))
    except ShapeError:
        return (0,)


CONTRACTIONS = frozenset({"matmul", "einsum", "attention", "multihead_attention",
                          "shifted_window_attention"})


def _contraction_macs(node: IRNode) -> int:
    """matmul, einsum, SDPA, nn.MultiheadAttention: the registry's formula on the traced shapes."""
    a = node.attrs
    try:
        if node.op == "matmul":
            return int(prod(node.shape) * a["other"][-2])
        if node.op == "einsum":
            return cost(Einsum(a["equation"], tuple(a["other"])), tuple(a["first"])).macs
        if node.op == "attention":
            op = Attention(tuple(a["key_shape"]), tuple(a["value_shape"]))
            return cost(op, tuple(a["query_shape"])).macs
        if node.op == "shifted_window_attention":  # the function alone: no cpb_mlp
            swa = ShiftedWindowAttention(a["channels"], a["heads"], tuple(a["window"]), tuple(a["shift"]))
            return cost(swa, node.shape).macs
        kv = tuple(a["kv"]) if a.get("kv") else None
        mha = MultiheadAttention(a["embed_dim"], a["heads"], a["bias"], kv,
                                 batch_first=a.get("batch_first", True),
                                 bias_kv=a.get("bias_kv", False), zero_attn=a.get("zero_attn", False))
        return cost(mha, node.shape).macs
    except ShapeError:
        return 0


def _transposed_macs(node: IRNode) -> int:
    a = node.attrs
    n, cout, *sizes = node.shape
    axes = len(sizes)
    extra = a.get("output_padding") or (0,) * axes
    dilation = a.get("dilation") or (1,) * axes
    inputs = [(size + 2 * p - d * (k - 1) - e - 1) // s + 1 for size, p, d, k, e, s in zip(
        sizes, a["padding"], dilation, a["kernel"], extra, a["stride"], strict=True)]
    return int(n * a["in_channels"] * prod(inputs) * cout // a["groups"] * prod(a["kernel"]))


def live(graph: IRGraph) -> list[IRNode]:
    """The nodes some output of the graph needs, in order."""
    needed = set(graph.outputs)
    kept = []
    for node in reversed(graph.nodes):
        if node.name in needed:
            kept.append(node)
            needed.update(node.inputs)
    return kept[::-1]


def expected(graph: IRGraph, hidden: Iterable[str],
             folded: Sequence[Sequence[str]] = ()) -> tuple[Counter[int], int]:
    """(MACs of each conv/linear op, params) of the graph, without the ops in ``hidden``; the
    ops of each ``folded`` group (one leaf layer: Swin V2's attention and its cpb_mlp) as one."""
    skip = set(hidden)
    group = {name: i for i, names in enumerate(folded) for name in names}
    sums: Counter[int] = Counter()
    macs: Counter[int] = Counter()
    for node in live(graph):
        if node.name in group:
            sums[group[node.name]] += node_macs(node)
        elif node.name not in skip:
            macs.update(m for m in part_macs(node) if m)
    macs.update(m for m in sums.values() if m)
    params = sum(n.params for n in live(graph))  # an opaque layer carries its ops' params
    params += sum(held for _, held in graph.unused)  # modules never run: an unused layer each
    return macs, params


def check_emitted(graph: IRGraph, hidden: Iterable[str], yaml_text: str, source: str,
                  folded: Sequence[Sequence[str]] = ()) -> None:
    """Load and analyse ``yaml_text``; raise :class:`SelfCheckError` unless it has the graph's
    conv/linear layers and params."""
    from convcost.net.analysis import analyze
    from convcost.spec.loader import spec_from
    from convcost.spec.yamlsafe import load_yaml

    try:
        analysis = analyze(spec_from(load_yaml(yaml_text, source), yaml_text, source))
    except ConvcostError as err:
        found = _LAYER.search(str(err))
        raise UnloadableLayer(f"{source}: the spec the importer wrote does not load: {err}",
                              found.group(1) if found else None) from None
    want_macs, want_params = expected(graph, hidden, folded)
    got_macs = Counter(each.macs for leaf in analysis.leaves()  # a leaf of parts (Mobile MQA): each
                       for each in part_nodes(leaf) or (leaf,) if each.macs)
    got_params = analysis.root.params
    if got_macs == want_macs and got_params == want_params:
        return
    missing = sorted((want_macs - got_macs).elements())[:3]
    extra = sorted((got_macs - want_macs).elements())[:3]
    raise SelfCheckError(
        f"{source}: the spec the importer wrote does not reproduce the traced model: "
        f"{sum(got_macs.values())} MAC layers with {got_params:,} params and "
        f"{sum(m * c for m, c in got_macs.items()):,} MACs, the trace has {sum(want_macs.values())} "
        f"with {want_params:,} params and {sum(m * c for m, c in want_macs.items()):,} MACs "
        f"(layers missing: {missing or 'none'} MACs; extra: {extra or 'none'} MACs)")
