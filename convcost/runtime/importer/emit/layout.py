"""The IR's module tree -> an ordered list of spec layers in the graph format.

Walking the module paths level by level, each run of ops in one module is a group. A group
with one input and one output becomes a recognised composite or conv unit; else its
sub-modules (and its functional ops, one by one) are placed in turn. A layer that does not
read the previous one names its inputs with ``from:``; a merge of tensors is ``add``,
``concat`` or ``mul``; a chunk whose pieces meet again is a ``split``; a module called again
``shares:`` its first call's weights. What still fits no kind becomes an ``opaque`` layer
with its measured output shape and parameters and no counted MACs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from convcost.cost.ops.opaque import describe
from convcost.cost.ops.recorded import postprocessing_first
from convcost.runtime.importer.emit.blocks import recognise
from convcost.runtime.importer.emit.by_class import class_layers
from convcost.runtime.importer.emit.leaves import Layer, layer_name, leaf_layers, merge_layers
from convcost.runtime.importer.emit.naming import Names
from convcost.runtime.importer.emit.nhwc import nhwc_after, nhwc_layers, opens_view, to_nchw, wrapped
from convcost.runtime.importer.emit.regions import (
    batch_first,
    batch_fold,
    folded_shape,
    peer_counted,
    recorded_parts,
    weightless,
    writable,
)
from convcost.runtime.importer.emit.splits import parallel_layer, split_layer
from convcost.runtime.importer.ir import IRGraph, IRNode, frozen
from convcost.runtime.importer.selfcheck import node_macs

INPUT = "input"  # what ``from:`` calls the model's input
RECORDED = "recorded"  # the tracer of a graph recorded as the model ran (record.TRACER)


@dataclass(frozen=True)
class Opaque:
    """One construct the spec cannot express: its layer, the ops inside, their params."""

    name: str
    ops: str  # "aten.cumsum ×1" or "graph: conv ×2, add ×1"
    shape: tuple[int, ...]
    params: int
    nodes: tuple[str, ...] = ()  # the IR tensors it stands for


@dataclass(frozen=True)
class Emitted:
    """Spec layers in order; per layer the module paths and IR tensor it came from."""

    layers: tuple[Layer, ...]
    origins: Mapping[str, tuple[str, ...]]
    tensors: Mapping[str, str]
    opaque: tuple[Opaque, ...]
    outputs: tuple[str, ...] = ()  # the model's outputs when not just the last layer


@dataclass
class _Group:
    path: str
    nodes: list[IRNode]
    module: bool  # a module of the model (not a functional op's name)


def _key(node: IRNode, depth: int) -> str | None:
    parts = node.module.split(".") if node.module else []
    return ".".join(parts[: depth + 1]) if len(parts) > depth else None


def common_module(path: str, nodes: Sequence[IRNode]) -> str:
    """``path`` extended by the indices of containers that hold every node (``stage1`` ->
    ``stage1.0``, as a spec's ``repeat`` names its copies); named wrappers stay outside."""
    depth = len(path.split("."))
    paths = [n.module.split(".") for n in nodes]
    common = path.split(".")
    for parts in zip(*(p[depth:] for p in paths), strict=False):
        if len(set(parts)) != 1 or not parts[0].isdigit():
            break
        common.append(parts[0])
    return ".".join(common)


def groups(nodes: Sequence[IRNode], depth: int) -> list[_Group]:
    """Consecutive runs of ops in the same module at ``depth``; functional ops stand alone."""
    out: list[_Group] = []
    for node in nodes:
        key = _key(node, depth)
        again = node.shared and node.module == key and any(n.module == key for n in out[-1].nodes) \
            if out else False  # a leaf module run again (a loop): a layer of its own
        if key is not None and out and out[-1].module and out[-1].path == key and not again:
            out[-1].nodes.append(node)
        elif key is not None:
            out.append(_Group(key, [node], True))
        else:
            op = re.sub(r"_\d+$", "", node.name)  # fx numbers each op graph-wide: add_7
            out.append(_Group(f"{node.module}.{op}" if node.module else op, [node], False))
    return out


@dataclass
class _Walk:
    graph: IRGraph
    readers: Mapping[str, tuple[str, ...]]
    produced: dict[str, str]  # IR tensor -> the spec layer holding it ("input": the model's)
    prev: str = INPUT  # the last layer written: what a layer without ``from:`` reads
    layers: list[Layer] = field(default_factory=list)
    origins: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tensors: dict[str, str] = field(default_factory=dict)
    opaque: list[Opaque] = field(default_factory=list)
    names: Names = field(default_factory=Names)
    regions: dict[str, _Group] = field(default_factory=dict)  # opaque layer -> its ops
    nhwc: set[str] = field(default_factory=set)  # channels-last views of NCHW tensors
    calls: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> first call's layer, kind
    classes: Mapping[str, str] = field(default_factory=dict)  # module path -> its class name
    forced: frozenset[str] = frozenset()  # IR ops kept opaque (their layer did not load)

    def shape(self, tensor: str) -> tuple[int, ...]:
        """The tensor's shape as the spec sees it (NCHW, also for a channels-last view)."""
        shape = self.graph.node(tensor).shape
        return to_nchw(shape) if tensor in self.nhwc else shape

    def leaks(self, group: _Group) -> bool:
        """Whether a tensor other than the group's last is read after it (or it splits); an
        unbind tuple no op reads (its pieces read its input, :meth:`unread_tuple`) reads none."""
        inside = {n.name for n in group.nodes}
        return group.nodes[-1].op in ("chunk", "split") or any(
            r not in inside and not self.unread_tuple(self.graph.node(r))
            for n in group.nodes[:-1] for r in self.readers.get(n.name, ()))

    def refs(self, tensors: Sequence[str]) -> dict[str, Any]:
        """``from:`` naming the layers of ``tensors``; nothing when it is the previous layer."""
        names = [self.produced[t] for t in tensors]
        return {} if names == [self.prev] else {"from": names[0] if len(names) == 1 else names}

    def add(self, layers: list[Layer], group: _Group, inputs: Sequence[str]) -> None:
        base = self.unique(layer_name(group.path))
        for i, layer in enumerate(layers):
            name = base if i == 0 else f"{base}_{layer['kind']}"
            wires = self.refs(inputs) if i == 0 else {}
            if len(layers) == 1 and (group.module or layer["kind"] == "split"):
                wires.update(self.shares(group, name, layer["kind"]))
            self.names.take(name)
            self.layers.append({"kind": layer["kind"], "name": name, **wires,
                                **{k: v for k, v in layer.items() if k != "kind"}})
            self.origins[name] = (group.path,) if group.module else ()
            self.tensors[name] = group.nodes[-1].name
            self.prev = name
        self.produced[group.nodes[-1].name] = self.prev

    def shares(self, group: _Group, name: str, kind: str) -> dict[str, str]:
        """``shares:`` the first call's layer, when ``group`` calls a module again (a split
        layer of a module's convs too); an opaque layer's params are 0 then, it shares nothing.
        A first call placed op by op (its constant input apart) is its one layer of this kind."""
        again = any(n.shared for n in group.nodes) and not any(n.params for n in group.nodes)
        if group.path not in self.calls:
            inner = {held for path, held in self.calls.items() if path.startswith(f"{group.path}.")
                     and held[1] == kind}
            self.calls[group.path] = inner.pop() if len(inner) == 1 else (name, kind)
        first = self.calls[group.path][0]
        return {"shares": first} if again and first != name and kind != "opaque" else {}

    def unique(self, base: str) -> str:
        return self.names.fresh(base)

    def add_opaque(self, group: _Group) -> None:
        """One opaque layer; it absorbs an opaque layer right before it that only it reads (a
        recorded one only into a recorded one: post-processing keeps its measured shape)."""
        inputs = outer_inputs(group.nodes)
        last = self.layers[-1]["name"] if self.layers else None
        absorbed = None  # the layer merged into this one: a no-op alias of it is inside now
        if last in self.regions and [self.produced.get(t) for t in inputs] == [last] \
                and self.read_only_by(last, group) and self.absorbs(self.regions[last], group):
            absorbed = last
            previous = self.regions.pop(last)
            group = _Group(previous.path, [*previous.nodes, *group.nodes], previous.module)
            inputs = outer_inputs(group.nodes)
            self.layers.pop()
            if self.opaque and self.opaque[-1].name == last:
                self.opaque.pop()
            self.names.release(last, layer_name(previous.path))
            self.prev = self.layers[-1]["name"] if self.layers else INPUT
        ran = self.ran(group.nodes)
        ops = Counter(n.target if n.op in ("opaque", "recorded") or ran else n.op for n in group.nodes)
        text = describe(postprocessing_first(ops) if ran else ops)
        end, params = group.nodes[-1], sum(n.params for n in group.nodes)
        # every tensor the ops read, one per layer holding it (an unread input would be dropped)
        held: dict[str, str] = {}
        for tensor in inputs:
            if tensor in self.produced and self.produced[tensor] != absorbed:
                held.setdefault(self.produced[tensor], tensor)
        reads = batch_first(list(held.values()), [self.shape(t)[:1] for t in held.values()],
                            None if ran else end.shape[0], self.graph.nodes[0].name)
        fold = 1 if ran else batch_fold(end.shape, self.shape(reads[0])[0] if reads else 0)
        layer = {"kind": "recorded", "op": text, "output_shape": list(end.shape) or [1]} if ran \
            else {"kind": "opaque", "op": text, "output_shape": folded_shape(end.shape, fold)}
        unfold = [{"kind": "reshape", "shape": list(end.shape[1:]), "fold": fold}] if fold > 1 else []
        self.add([{**layer, "params": params}, *unfold], group, reads)
        name = self.layers[-1 - len(unfold)]["name"]
        self.regions[name] = group
        if not ran:
            self.opaque.append(Opaque(name, text, end.shape, params, tuple(n.name for n in group.nodes)))

    def absorbs(self, previous: _Group, group: _Group) -> bool:
        """A recorded region is absorbed into a recorded one only (its measured shape kept)."""
        return self.ran(previous.nodes) <= self.ran(group.nodes)

    def read_only_by(self, layer: str, group: _Group) -> bool:
        """Whether every tensor ``layer`` holds is read by ``group`` alone (so that ``group``
        may absorb it: a tensor read later, a residual's shortcut, must keep its layer)."""
        inside = {n.name for n in group.nodes}
        held = [t for t, name in self.produced.items() if name == layer]
        return all(r in inside for t in held for r in self.readers.get(t, ()))

    def ran(self, nodes: Sequence[IRNode]) -> bool:
        """Whether ``nodes`` are a ``recorded`` layer: recorded as the model ran, no MAC among them."""
        return self.graph.tracer == RECORDED and not any(
            n.op == "opaque" or node_macs(n) or peer_counted(n) for n in nodes)

    def ends(self, region: _Group, after: _Group) -> bool:
        """Whether a region can end on its last tensor: a :func:`_writable` one; a recorded
        layer (its full shape written) also on any other before ops with MACs (RAFT's two images
        in one batch of 2 before the encoder's convs)."""
        shape = region.nodes[-1].shape
        if writable(shape, self.graph.input_shape[0]):
            return True
        return len(shape) > 0 and self.ran(region.nodes) and not self.ran(after.nodes)

    def closes(self, region: _Group, after: _Group) -> bool:
        """Whether ``region`` ends before ``after``: on a tensor it may end on (:meth:`ends`)
        when no other tensor of it is read further on; a recorded region also before ops with
        MACs when its other tensors are (a detector's boxes, read again after the mask head:
        each is then a ``recorded`` layer of its own, :func:`.regions.recorded_parts`)."""
        if not self.leaks(region):
            return self.ends(region, after)
        return self.graph.tracer == RECORDED and len(region.nodes[-1].shape) > 0 \
            and self.ran(region.nodes) and not self.ran(after.nodes)

    def walk(self, nodes: Sequence[IRNode], depth: int) -> None:
        """Place each group; one that fits no kind starts an opaque region, which takes the
        following groups until no tensor of it but its last is read further on."""
        pending = groups(nodes, depth)
        i = 0
        while i < len(pending):
            i += 1
            if self.place(pending[i - 1], depth):
                continue
            region = _Group(pending[i - 1].path, list(pending[i - 1].nodes), pending[i - 1].module)
            while i < len(pending) and not self.closes(region, pending[i]):
                region.nodes += pending[i].nodes
                i += 1
            if self.leaks(region) and self.ran(region.nodes):  # recorded: a layer per tensor read later
                for part in recorded_parts(region.nodes, self.readers):
                    self.add_opaque(_Group(region.path, part, region.module))
                continue
            inputs = outer_inputs(region.nodes)
            split = split_layer(region.nodes) if len(inputs) == 1 and inputs[0] in self.produced \
                and not any(map(weightless, region.nodes)) else None
            if split is not None:
                self.add([split], region, inputs)
            elif not self.cut(region, depth):
                self.add_opaque(region)

    def cut(self, region: _Group, depth: int) -> bool:
        """A chunk/split whose pieces are read apart (CSP, C2f, Res2Net: of the channels; a
        GLU's halves of the last dim): no layer of its own, each piece a ``slice`` of its input;
        then the region's other ops are placed."""
        head = region.nodes[0]
        sizes, dim = head.attr("sizes"), head.attr("dim")
        if head.op not in ("chunk", "split") or not isinstance(dim, int) or dim < 1 or not sizes \
                or len(head.inputs) != 1 or head.inputs[0] not in self.produced:
            return False
        rest = []
        for node in region.nodes[1:]:
            if node.op == "getitem" and node.inputs == (head.name,) and isinstance(node.attr("index"), int):
                start = sum(sizes[:node.attr("index")])
                node = replace(node, op="slice", inputs=head.inputs, attrs=frozen(
                    dict(dim=dim, start=start, end=start + sizes[node.attr("index")], step=1)))
            rest.append(node)
        self.walk(rest, depth)
        return True

    def place(self, group: _Group, depth: int) -> bool:
        """Add ``group`` as spec layers; False when it fits no kind of the spec."""
        inputs = outer_inputs(group.nodes)
        if any(t not in self.produced for t in inputs):
            return False
        if group.module:
            group.path = common_module(group.path, group.nodes)
            # x.unbind(d)[i] in one module: its pieces read x, the tuple itself writes nothing
            group.nodes = [n for n in group.nodes if not self.unread_tuple(n)] or group.nodes
        if len(group.nodes) == 1:
            return self.place_one(group, inputs)
        if any(map(weightless, group.nodes)):  # each op on its own: that conv is opaque
            self.walk(group.nodes, depth + 1)
            return True
        if len(inputs) == 1 and group.module and not self.leaks(group) and self.place_class(group, inputs[0]):
            return True
        if not inputs and group.module and not self.leaks(group) \
                and self.place_class(group, next(iter(self.produced))):  # of sizes only: the
            return True  # model's input for the batch (XCiT's Fourier positions)
        if len(inputs) == 1 and inputs[0] not in self.nhwc and not self.leaks(group):
            middle = wrapped(group.nodes)
            shape = self.shape(inputs[0])
            layers = nhwc_layers(middle, shape) if middle else None
            layers = layers or [layer for layer in [recognise(group.nodes, shape)] if layer]
            layers = layers or [layer for layer in [parallel_layer(group.nodes, inputs[0], shape,
                                                                   group.path)] if layer]
            if layers:
                self.add(layers, group, inputs)
                return True
        self.walk(group.nodes, depth + 1)
        return True

    def unread_tuple(self, node: IRNode) -> bool:
        """An ``unbind`` tuple no op reads (its pieces are read from its input)."""
        return node.op == "unbind" and node.attr("index") is None and not self.readers.get(node.name)

    def place_class(self, group: _Group, source: str) -> bool:
        """A module known by its class (GRN), on an NCHW tensor or a channels-last view of one."""
        nhwc = source in self.nhwc
        layers = class_layers(self.classes.get(group.path, ""), group.nodes, self.shape(source), nhwc)
        if layers:
            self.add(layers, group, [source])
            if nhwc:
                self.nhwc.add(group.nodes[-1].name)
        return bool(layers)

    def place_one(self, group: _Group, inputs: Sequence[str]) -> bool:
        """One op: a merge of several tensors, a leaf, or a no-op (which writes no layer)."""
        node = group.nodes[0]
        if not inputs and node.op == "param" and (
                node.params or node.attr("expand") is False or node.attr("buffer")):
            # a parameter read (class token), a buffer an MLP runs on, a constant (ConViT's)
            inputs = (next(iter(self.produced)),)  # for the batch: the model's input
        if node.op == "opaque" or self.leaks(group) or not inputs or weightless(node):
            return False
        if node.name in self.forced:
            return False
        layers = self.layers_of(node, inputs)
        if layers == []:
            self.produced[node.name] = self.produced[inputs[0]]
        elif layers:
            self.add(layers, group, inputs)
        if layers is not None and nhwc_after(node, layers, inputs[0] in self.nhwc):
            self.nhwc.add(node.name)  # still (or now) channels-last
        return layers is not None

    def layers_of(self, node: IRNode, inputs: Sequence[str]) -> list[Layer] | None:
        """The layers of one op on ``inputs`` ([] for a no-op); None when none fits."""
        shapes = [self.shape(t) for t in inputs]
        if len(inputs) > 1:
            views = [t in self.nhwc for t in inputs]
            alike = all(views) and all(self.graph.node(t).shape == node.shape for t in inputs)
            # channels-last views of one shape, merged into that shape (VOLO's x + attn(x)):
            # elementwise, the same merge of their NCHW tensors; any other mix fits no layer
            if alike:
                return merge_layers(replace(node, shape=to_nchw(node.shape)), shapes)
            return None if any(views) else merge_layers(node, shapes)
        if inputs[0] in self.nhwc:
            return nhwc_layers(node, shapes[0])
        return [] if opens_view(self.graph, self.readers, node) else leaf_layers(node, shapes[0])


def outer_inputs(nodes: Sequence[IRNode]) -> tuple[str, ...]:
    """The tensors ``nodes`` read from outside, in order of first use."""
    inside = {n.name for n in nodes}
    return tuple(dict.fromkeys(t for n in nodes for t in n.inputs if t not in inside))


def emit_layers(graph: IRGraph, forced: frozenset[str] = frozenset()) -> Emitted:
    """The spec layers of ``graph`` (its first input feeds the first layer); the ops in
    ``forced`` stay opaque."""
    first, *others = [n for n in graph.nodes if n.op == "input"]
    walk = _Walk(graph, graph.consumers(), {first.name: INPUT, **{n.name: n.name for n in others}},
                 classes=dict(graph.classes), forced=forced)
    for other in others:  # no layer takes an input's name (inputs:)
        walk.names.take(other.name)
    walk.walk([n for n in graph.nodes if n.op != "input"], 0)
    inputs = {first.name, *(n.name for n in others)}  # an input returned as is: no layer's
    outputs = tuple(dict.fromkeys(walk.produced.get(t, walk.prev) for t in graph.outputs
                                  if t not in inputs))
    return Emitted(tuple(walk.layers), walk.origins, walk.tensors, tuple(walk.opaque),
                   () if outputs in ((), (walk.prev,)) else outputs)

