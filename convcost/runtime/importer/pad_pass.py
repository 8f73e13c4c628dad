"""TensorFlow 'SAME' padding written as ``F.pad`` then a conv without padding (timm's
``Conv2dSame``, ``tf_`` EfficientNets) becomes one conv with ``padding: tf_same``. Pure IR.

The pad must be constant zeros on H and W only, read by the conv alone, and equal to what
TF SAME pads for that conv on that input (the odd pixel after); the conv then keeps the rule,
not the sizes, so the spec runs at any resolution.
"""

from __future__ import annotations

from dataclasses import replace

from convcost.cost.ops.conv import tf_same_pads
from convcost.runtime.importer.ir import IRGraph, IRNode, frozen


def _tf_same(pad: IRNode, conv: IRNode, x: tuple[int, ...]) -> bool:
    a = conv.attrs
    amounts = tuple(pad.attr("pad", ()))
    if conv.op != "conv" or conv.inputs[:1] != (pad.name,) or len(x) != 4 or len(amounts) != 4:
        return False
    if pad.attr("mode", "constant") != "constant" or pad.attr("value", 0) or a["padding"] != (0, 0):
        return False
    left, right, top, bottom = amounts  # F.pad: the last dimension first
    return (tf_same_pads(x[2], a["kernel"][0], a["stride"][0], a["dilation"][0]) == (top, bottom)
            and tf_same_pads(x[3], a["kernel"][1], a["stride"][1], a["dilation"][1]) == (left, right))


def fuse_tf_same_pads(graph: IRGraph) -> IRGraph:
    """``graph`` with each TF-SAME pad folded into the conv that alone reads it."""
    users = graph.consumers()
    fused: dict[str, IRNode] = {}
    for node in graph.nodes:
        readers = users.get(node.name, ())
        if node.op != "pad" or len(readers) != 1 or len(node.inputs) != 1:
            continue
        conv = graph.node(readers[0])
        if _tf_same(node, conv, graph.node(node.inputs[0]).shape):
            fused[node.name] = replace(conv, inputs=(node.inputs[0], *conv.inputs[1:]),
                                       attrs=frozen({**conv.attrs, "padding": "tf_same"}))
    if not fused:
        return graph
    convs = {conv.name: conv for conv in fused.values()}
    return replace(graph, nodes=tuple(convs.get(n.name, n) for n in graph.nodes if n.name not in fused))
