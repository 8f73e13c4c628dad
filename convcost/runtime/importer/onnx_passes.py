"""Rewrites of the IR read from ONNX where the exporter split one torch op into several:
``x * sigmoid(x)`` back to one SiLU, a decomposed adaptive pool or GroupNorm back to one, a
Resize to a fixed size back to ``F.interpolate(x, size=ref.shape[-2:])``, a 2-D Conv with
asymmetric pads (the dynamo exporter's fusion of ``F.pad`` into the conv) back to the pad and
the conv. Pure."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from convcost.cost.registry import IMPORT_KINDS
from convcost.runtime.importer.ir import IRNode, frozen

# torch module class -> the IR op it is, when the exporter wrote it as several ONNX ops: the
# adaptive pools of every rank (AdaptiveAvgPool1d: Unsqueeze, ReduceMean, Squeeze), GroupNorm
WHOLE = {**{name.rsplit(".", 1)[-1]: key for name, key in IMPORT_KINDS["modules"].items()
            if key.startswith("adaptive_pool")}, "GroupNorm": "groupnorm"}


def _whole(cls: str, run: list[IRNode], source: str) -> IRNode:
    last = run[-1]
    attrs: dict[str, Any]
    if cls == "GroupNorm":  # reshape to [N, groups, ·], normalise, reshape back, · γ + β
        params = sum(n.params for n in run if n.op in ("mul", "add"))
        attrs = {"groups": run[0].shape[1] if len(run[0].shape) == 3 else None, "affine": params > 0}
    else:
        mode = "kind" if WHOLE[cls] == "adaptive_pool" else "mode"  # the 2-D kind's field name
        params, attrs = 0, {mode: "max" if "Max" in cls else "avg", "output_size": last.shape[2:]}
    return IRNode(last.name, WHOLE[cls], last.module, (source,), last.shape, params,
                  attrs=frozen(attrs), target=f"{cls} (decomposed)")


def collapse_modules(nodes: list[IRNode], parts: dict[str, str]) -> list[IRNode]:
    """Each run of ops the exporter made of one torch module (``parts``: IR node -> its class,
    one of :data:`WHOLE`) -> one node: an adaptive pool whose output does not divide its input
    (Gathers, slices, sums), a GroupNorm (reshape, InstanceNormalization, reshape, ·γ, +β)."""
    readers = Counter(name for node in nodes for name in node.inputs)
    out: list[IRNode] = []
    i = 0
    while i < len(nodes):
        run = [nodes[i]]
        while (run[0].name in parts and i + len(run) < len(nodes)
               and nodes[i + len(run)].name in parts and nodes[i + len(run)].module == run[0].module):
            run.append(nodes[i + len(run)])
        inside = {n.name for n in run}
        outer = {name for n in run for name in n.inputs if name not in inside}
        inner_reads = sum(1 for n in run for name in n.inputs if name in inside)
        if len(run) > 1 and len(outer) == 1 and inner_reads == sum(readers[n.name] for n in run[:-1]):
            out.append(_whole(parts[run[-1].name], run, outer.pop()))
        else:
            out.extend(run)
        i += len(run)
    return out


def fuse_silu(nodes: list[IRNode]) -> tuple[IRNode, ...]:
    """``Mul(x, Sigmoid(x))`` -> one ``act silu`` node (the Sigmoid read by nothing else)."""
    by_name = {node.name: node for node in nodes}
    readers: dict[str, int] = {}
    for node in nodes:
        for name in node.inputs:
            readers[name] = readers.get(name, 0) + 1
    dropped: set[str] = set()
    out: list[IRNode] = []
    for node in nodes:
        sig = next((by_name[n] for n in node.inputs if n in by_name and by_name[n].op == "act"
                    and by_name[n].attr("fn") == "sigmoid"), None) if node.op == "mul" else None
        if sig is not None and readers[sig.name] == 1 and set(node.inputs) == {sig.name, *sig.inputs}:
            dropped.add(sig.name)
            node = IRNode(node.name, "act", sig.module, sig.inputs, node.shape,
                          attrs=frozen({"fn": "silu"}), target="Sigmoid+Mul")
        out.append(node)
    return tuple(node for node in out if node.name not in dropped)


def fuse_bias(nodes: Sequence[IRNode]) -> list[IRNode]:
    """``MatMul(x, W)`` then ``Add(·, b)`` (how the exporter writes ``nn.Linear`` on a tensor of
    more than two dimensions), the Add the MatMul's only reader -> one linear with a bias."""
    readers = Counter(name for node in nodes for name in node.inputs)
    by_name = {node.name: node for node in nodes}
    fused: dict[str, IRNode] = {}  # the Add -> the linear it becomes
    for node in nodes:
        matmul = by_name.get(node.inputs[0]) if node.op == "add" and len(node.inputs) == 1 else None
        if (matmul is not None and matmul.op == "linear" and not matmul.attr("bias")
                and readers[matmul.name] == 1 and node.params == matmul.attr("out_features")):
            fused[node.name] = replace(matmul, name=node.name, params=matmul.params + node.params,
                                       attrs=frozen({**matmul.attrs, "bias": True}))
    dropped = {by_name[name].inputs[0] for name in fused}  # the MatMuls
    return [fused.get(node.name, node) for node in nodes if node.name not in dropped]


def refer_sizes(nodes: Sequence[IRNode]) -> list[IRNode]:
    """A Resize to fixed ``sizes`` (what the exporter writes for ``F.interpolate(x,
    size=ref.shape[-2:])``) reads as its reference the nearest tensor it derives from that has
    its H×W, as torch.fx gives it; with none it stays an upsample to that size."""
    by_name = {node.name: node for node in nodes}
    out = []
    for node in nodes:
        ref = _reference(node, by_name) if node.op == "interpolate" and node.attr("sized") else None
        out.append(replace(node, inputs=(*node.inputs, ref)) if ref else node)
    return out


def _reference(node: IRNode, by_name: dict[str, IRNode]) -> str | None:
    """The nearest ancestor of ``node``'s input (breadth first) of ``node``'s H×W, or None."""
    queue, seen = deque(by_name[node.inputs[0]].inputs), set(node.inputs)
    while queue:
        name = queue.popleft()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        shape = by_name[name].shape
        if len(shape) == 4 and shape[2:] == node.shape[2:]:
            return name
        queue.extend(by_name[name].inputs)
    return None


def split_pads(nodes: Sequence[IRNode]) -> list[IRNode]:
    """A 2-D conv whose ONNX pads are asymmetric (top, left, bottom, right) -> a constant ``pad``
    of the excess, then the conv with the symmetric part: ``[1, 1, 2, 2]`` -> ``F.pad(x, (0, 1,
    0, 1))`` and ``padding=(1, 1)``, the same output and MACs."""
    shapes = {node.name: node.shape for node in nodes}
    out: list[IRNode] = []
    for node in nodes:
        padding = node.attr("padding") if node.op == "conv" else None
        if not (isinstance(padding, tuple) and len(padding) == 4 and node.inputs[0] in shapes):
            out.append(node)
            continue
        top, left, bottom, right = padding
        both = (min(top, bottom), min(left, right))
        excess = (left - both[1], right - both[1], top - both[0], bottom - both[0])  # F.pad order
        x = shapes[node.inputs[0]]
        padded = (*x[:-2], x[-2] + excess[2] + excess[3], x[-1] + excess[0] + excess[1])
        pad = IRNode(f"{node.name}:pad", "pad", node.module.rpartition(".")[0], node.inputs[:1], padded,
                     attrs=frozen({"mode": "constant", "pad": excess}), target="Conv pads")
        out += [pad, replace(node, inputs=(pad.name, *node.inputs[1:]),
                             attrs=frozen({**node.attrs, "padding": both}))]
    return out
