"""A channel split, one chain of ops per chunk, and a merge -> one ``split`` layer.

``a, b = x.chunk(2, 1); torch.cat([f(a), b], 1)`` (MixConv, ShuffleNet, GhostNet-style code)
is a ``split`` whose branch i is the chain of ops from chunk i to the merge's i-th input:
no op is an ``identity`` branch, one layer is itself, several a ``sequential``. Anything
else (a chunk read twice, a merge in another order, a chain that forks) is not a split.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcost.runtime.importer.emit.leaves import Layer, conv_unit, leaf_layers, merge_layers
from convcost.runtime.importer.ir import IRNode, Shape


def split_layer(nodes: Sequence[IRNode]) -> Layer | None:
    """The ``split`` layer of a region ``chunk -> getitems -> chains -> merge``, or None."""
    head, merge = nodes[0], nodes[-1]
    if head.op not in ("chunk", "split") or head.attr("dim") != 1 or len(head.shape) != 4:
        return None
    sizes = list(head.attr("sizes"))
    items = {n.name: n.attr("index") for n in nodes if n.op == "getitem" and n.inputs == (head.name,)}
    if sorted(items.values()) != list(range(len(sizes))) or len(merge.inputs) != len(sizes):
        return None
    by_name = {n.name: n for n in nodes}
    used = {head.name, merge.name, *items}
    branches = []
    for index, end in enumerate(merge.inputs):
        chain = _chain(end, items, by_name)
        if chain is None or items[chain[0]] != index:
            return None
        used.update(chain)
        branch = branch_layer([by_name[t] for t in chain[1:]], head.attr("shapes")[index])
        if branch is None:
            return None
        branches.append(branch)
    merged = merge_layers(merge, [by_name[t].shape for t in merge.inputs])
    if used != set(by_name) or not merged or merged[0]["kind"] not in ("add", "mul", "concat") \
            or len(merged[0]) > 1:
        return None  # a container merges by add, mul or concat of the channels (a stack stays a layer)
    layer: Layer = {"kind": "split"}
    if len(set(sizes)) > 1:
        layer["sizes"] = sizes
    return {**layer, "merge": merged[0]["kind"], "branches": branches}


def _chain(end: str, items: dict[str, int], by_name: dict[str, IRNode]) -> list[str] | None:
    """The tensors from a chunk's getitem to ``end``, each reading the one before."""
    chain = [end]
    while chain[-1] not in items:
        node = by_name.get(chain[-1])
        if node is None or len(node.inputs) != 1:
            return None
        chain.append(node.inputs[0])
    return chain[::-1]


def branch_layer(chain: Sequence[IRNode], shape: Shape) -> Layer | None:
    """A chain of ops on one tensor as one layer: identity, a leaf or unit, or a sequential."""
    layers: list[Layer] = []
    i = 0
    while i < len(chain):
        step, found = _step(chain[i:], shape)
        if found is None:
            return None
        layers += found
        shape = chain[i + step - 1].shape
        i += step
    if not layers:
        return {"kind": "identity"}
    return layers[0] if len(layers) == 1 else {"kind": "sequential", "layers": layers}


def _step(chain: Sequence[IRNode], shape: Shape) -> tuple[int, list[Layer] | None]:
    """How many ops the next layer takes (a conv with its BN and activation), and it."""
    for take in (3, 2):
        unit = conv_unit(chain[:take]) if len(chain) >= take else None
        if unit is not None:
            return take, [unit]
    return 1, leaf_layers(chain[0], shape)


def parallel_layer(nodes: Sequence[IRNode], source: str, shape: Shape, path: str) -> Layer | None:
    """A module whose ops are branches from its input into one merge (Inception), as a
    ``parallel`` with each branch named after its sub-module; None when it is not one."""
    merge, by_name = nodes[-1], {n.name: n for n in nodes}
    if merge.op not in ("concat", "add", "mul") or source in merge.inputs or len(merge.inputs) < 2:
        return None
    merged = merge_layers(merge, [by_name[t].shape for t in merge.inputs if t in by_name])
    if not merged or len(merged[0]) > 1 or merge.module not in (path, f"{path}.{merged[0]['kind']}"):
        return None  # a merge layer of another name: the flat form keeps its name
    branches, used = [], {merge.name}
    for end in merge.inputs:
        chain = _chain(end, {source: 0}, by_name)
        branch = named_branch([by_name[t] for t in chain[1:]], path, shape) if chain else None
        if chain is None or branch is None:
            return None
        used.update(chain[1:])
        branches.append(branch)
    names = [b["name"] for b in branches]
    if used != set(by_name) or len(set(names)) != len(names):
        return None
    return {"kind": "parallel", "merge": merged[0]["kind"], "branches": branches}


def named_branch(chain: Sequence[IRNode], path: str, shape: Shape) -> Layer | None:
    """One branch of a parallel, named after the sub-module of ``path`` that runs it:
    one layer, or a sequential of its sub-modules' layers."""
    below = [_below(n.module, path) for n in chain]
    words = [w for w in below if w]
    if not chain or len(words) != len(chain) or len({w[0] for w in words}) != 1:
        return None
    name = words[0][0]
    whole = branch_layer(chain, shape)
    if whole is not None and whole["kind"] != "sequential":
        return _named(name, whole)
    runs: list[tuple[str, list[IRNode]]] = []
    for node, word in zip(chain, words, strict=True):
        part = word[1] if len(word) > 1 else ""
        if runs and runs[-1][0] == part:
            runs[-1][1].append(node)
        else:
            runs.append((part, [node]))
    layers = []
    for part, run in runs:
        layer = branch_layer(run, shape)
        if not part or layer is None or layer["kind"] in ("sequential", "identity"):
            return None
        layers.append(_named(part, layer))
        shape = run[-1].shape
    return {"kind": "sequential", "name": name, "layers": layers}


def _named(name: str, layer: Layer) -> Layer:
    return {"kind": layer["kind"], "name": name, **{k: v for k, v in layer.items() if k != "kind"}}


def _below(module: str, path: str) -> list[str] | None:
    """``module``'s words below ``path``: ``inception3a.branch2.0`` -> [branch2, 0]."""
    return module[len(path) + 1:].split(".") if module.startswith(f"{path}.") else None

