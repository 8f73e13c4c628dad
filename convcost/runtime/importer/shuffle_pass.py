"""A channel shuffle written as view / transpose / view becomes one ``shuffle`` op. Pure IR.

ShuffleNet's ``channel_shuffle`` reshapes [N, C, H, W] to [N, g, C/g, H, W], swaps axes 1
and 2 (``.contiguous()`` may follow) and reshapes back; torch.fx and ONNX (Reshape,
Transpose, Reshape) both give these ops, each reading only the one before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from convcost.runtime.importer.ir import IRGraph, IRNode, Shape, frozen

_RESHAPES = ("reshape", "flatten")


def _swaps_axes_1_2(node: IRNode) -> bool:
    dims = tuple(node.attr("dims", ()))
    return node.op == "transpose" and (dims in ((1, 2), (2, 1)) or dims == (0, 2, 1, 3, 4))


def _groups(x: Shape, grouped: Shape) -> int | None:
    """g when ``grouped`` is [N, g, C/g, H, W] of ``x`` = [N, C, H, W]; else None."""
    if len(x) != 4 or len(grouped) != 5 or grouped[1] * grouped[2] != x[1]:
        return None
    return grouped[1] if (grouped[0], *grouped[3:]) == (x[0], *x[2:]) else None


def _chain(graph: IRGraph, node: IRNode, users: Mapping[str, tuple[str, ...]]) -> list[IRNode]:
    """``node`` and the ops after it that each read only the one before, which only they read."""
    chain = [node]
    while len(chain) < 5 and len(users.get(chain[-1].name, ())) == 1:
        after = graph.node(users[chain[-1].name][0])
        if after.inputs != (chain[-1].name,):
            break
        chain.append(after)
    return chain


def _shuffle(chain: list[IRNode], x: Shape) -> IRNode | None:
    """One ``shuffle`` for reshape, transpose(1, 2), [identity ...], reshape back; else None."""
    first, *middle, last = chain
    groups = _groups(x, first.shape) if first.op in _RESHAPES else None
    if not groups or not middle or not _swaps_axes_1_2(middle[0]):
        return None
    if any(n.op != "identity" for n in middle[1:]) or last.op not in _RESHAPES or last.shape != x:
        return None
    return replace(last, op="shuffle", module=middle[0].module, inputs=first.inputs,
                   attrs=frozen({"groups": groups}), target="view/transpose/view")


def fuse_shuffles(graph: IRGraph) -> IRGraph:
    """``graph`` with each view / transpose / view channel shuffle as one ``shuffle`` node."""
    users = graph.consumers()
    fused: dict[str, IRNode] = {}
    dropped: set[str] = set()
    for node in graph.nodes:
        if node.op not in _RESHAPES or len(node.inputs) != 1 or node.name in dropped:
            continue
        chain = _chain(graph, node, users)
        x = graph.node(node.inputs[0]).shape
        found = next(((end, s) for end in range(len(chain), 2, -1)
                      if (s := _shuffle(chain[:end], x))), None)
        if found:
            fused[found[1].name] = found[1]
            dropped.update(n.name for n in chain[:found[0] - 1])
    if not fused:
        return graph
    return replace(graph, nodes=tuple(fused.get(n.name, n) for n in graph.nodes if n.name not in dropped))
