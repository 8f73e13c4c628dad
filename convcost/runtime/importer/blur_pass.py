"""A conv whose weight is no parameter and holds one filter per channel (timm's ``BlurPool2d``:
``F.conv2d(x, filt, stride, groups=C)`` on a registered buffer) becomes one ``blur`` node: a
depthwise conv's MACs, no params. Pure IR.

Only that form: no params (nor a bias), not a module run again, ``groups == in_channels ==
out_channels``, no dilation; any other conv of a fixed weight stays opaque (never a guess).
"""

from __future__ import annotations

from dataclasses import replace

from convcost.runtime.importer.ir import IRGraph, IRNode


def is_blur(node: IRNode) -> bool:
    """Whether ``node`` is a depthwise conv of a fixed (buffer) filter."""
    a = node.attrs
    return (node.op == "conv" and not node.params and not node.shared and not a["bias"]
            and a["groups"] == a["in_channels"] == a["out_channels"] and tuple(a["dilation"]) == (1, 1)
            and len(node.inputs) == 1)


def fuse_blurs(graph: IRGraph) -> IRGraph:
    """``graph`` with each fixed depthwise filter one ``blur`` node."""
    if not any(map(is_blur, graph.nodes)):
        return graph
    return replace(graph, nodes=tuple(replace(n, op="blur") if is_blur(n) else n for n in graph.nodes))
