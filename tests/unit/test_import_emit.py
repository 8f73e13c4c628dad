"""The importer's pure back end (runtime/importer/emit, convert.to_spec) on hand-built IR graphs.

Each graph is what a tracer would hand over for a small model; the emitted spec is then loaded
and analysed by convcost itself, so every test checks the round trip: the spec's params equal
the graph's, and its MACs the hand count in the comment. No torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from convcost.errors import ConvcostError
from convcost.net.analysis import Analysis, analyze
from convcost.runtime.importer.convert import Imported, to_spec
from convcost.runtime.importer.emit.inputs import spec_input
from convcost.runtime.importer.emit.layout import emit_layers, outer_inputs
from convcost.runtime.importer.emit.leaves import (
    conv_fields,
    conv_unit,
    layer_name,
    leaf_layers,
    merge_layers,
)
from convcost.runtime.importer.emit.repeats import collapse_repeats
from convcost.runtime.importer.fx_ops import gather_index
from convcost.runtime.importer.ir import OPS, IRGraph, IRNode, Shape, frozen
from convcost.spec.loader import spec_from
from convcost.spec.yamlsafe import load_yaml

SOURCE = "net.py:Net"


@dataclass
class Builder:
    """An IR graph op by op, with shapes and params worked out as torch would."""

    shape: Shape = (1, 3, 16, 16)
    nodes: list[IRNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nodes.append(IRNode("x", "input", "", (), self.shape))

    def of(self, tensor: str) -> Shape:
        return next(n.shape for n in self.nodes if n.name == tensor)

    def op(self, name: str, op: str, module: str, inputs: tuple[str, ...], shape: Shape,
           params: int = 0, target: str = "", shared: bool = False, **attrs: Any) -> str:
        assert op in OPS, f"{op!r} is no IR op (the registry's keys and ir.OWN_OPS)"
        self.nodes.append(IRNode(name, op, module, inputs, shape, params, shared, frozen(attrs), target))
        return name

    def conv(self, module: str, x: str, cout: int, k: int = 3, stride: int = 1, groups: int = 1,
             bias: bool = False, shared: bool = False) -> str:
        n, cin, h, w = self.of(x)
        pad = k // 2
        out = (n, cout, (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1)
        params = 0 if shared else cout * cin // groups * k * k + (cout if bias else 0)
        return self.op(f"{module}#{len(self.nodes)}", "conv", module, (x,), out, params,
                       "torch.nn.Conv2d", shared, in_channels=cin, out_channels=cout, kernel=(k, k),
                       stride=(stride, stride), dilation=(1, 1), groups=groups, bias=bias,
                       padding=(pad, pad))

    def bn(self, module: str, x: str) -> str:
        c = self.of(x)[1]
        return self.op(module, "bn", module, (x,), self.of(x), 2 * c, "torch.nn.BatchNorm2d",
                       channels=c, affine=True)

    def act(self, module: str, x: str, fn: str = "relu") -> str:
        return self.op(f"{module}#{len(self.nodes)}", "act", module, (x,), self.of(x), 0,
                       f"torch.nn.{fn}", fn=fn)

    def graph(self, *outputs: str) -> IRGraph:
        return IRGraph(SOURCE, "torch.fx", self.shape, tuple(self.nodes),
                       outputs or (self.nodes[-1].name,), sum(n.params for n in self.nodes))


def _analysed(imported: Imported) -> Analysis:
    """The emitted YAML through convcost's own loader (what `convcost model` would read)."""
    return analyze(spec_from(load_yaml(imported.yaml, "net"), imported.yaml, "net"))


def _cbr(g: Builder, module: str, x: str, cout: int, k: int = 3, stride: int = 1,
         groups: int = 1) -> str:
    """conv, BN, ReLU as torchvision's Conv2dNormActivation: modules ``module.0/1/2``."""
    return g.act(f"{module}.2", g.bn(f"{module}.1", g.conv(f"{module}.0", x, cout, k, stride, groups)))


def test_conv_bn_relu_chain_is_one_conv_layer_each() -> None:
    g = Builder()
    y = _cbr(g, "stem", "x", 8, stride=2)  # 3->8, k3 s2: 8·3·9 = 216 params; 8x8 out
    _cbr(g, "conv2", y, 16)  # 8->16 k3: 1,152 params; 8x8
    imported = to_spec(g.graph(), SOURCE)
    assert imported.spec["layers"] == [
        {"kind": "conv", "name": "stem", "out_channels": 8, "kernel_size": 3, "stride": 2,
         "bn": True, "act": "relu"},
        {"kind": "conv", "name": "conv2", "out_channels": 16, "kernel_size": 3, "stride": 1,
         "bn": True, "act": "relu", "width": "fixed"},  # the model's output: a head, α keeps it
    ]
    assert imported.spec["input"] == {"channels": 3, "resolution": 16}
    analysis = _analysed(imported)
    # params: 216 + 16 (BN) + 1,152 + 32 (BN) = 1,416 = the graph's
    assert analysis.totals.params == g.graph().params == 1_416
    # MACs: 216·64 + 1,152·64 = 13,824 + 73,728 = 87,552
    assert analysis.totals.macs == 87_552
    assert imported.emitted.origins == {"stem": ("stem",), "conv2": ("conv2",)}


def test_residual_add_and_head() -> None:
    """A ResNet basic block (add of the block's input) and a pool/flatten/linear head."""
    g = Builder((1, 8, 8, 8))
    a = _cbr(g, "layer.0.a", "x", 8)  # 576 + 16 params
    b = g.bn("layer.0.bn2", g.conv("layer.0.conv2", a, 8))  # 576 + 16 params
    s = g.act("layer.0.relu", g.op("add", "add", "layer.0", (b, "x"), g.of(b)))
    p = g.op("pool", "adaptive_pool", "pool", (s,), (1, 8, 1, 1), kind="avg", output_size=(1, 1))
    f = g.op("flatten", "flatten", "", (p,), (1, 8), start_dim=1, end_dim=-1)
    g.op("fc", "linear", "fc", (f,), (1, 10), 90, "torch.nn.Linear", in_features=8,
         out_features=10, bias=True)
    imported = to_spec(g.graph(), SOURCE)
    analysis = _analysed(imported)
    # params: 592 + 592 + 8·10 + 10 = 1,274
    assert analysis.totals.params == g.graph().params == 1_274
    # MACs: two 8->8 k3 convs on 8x8: 2 · 576·64 = 73,728; fc 80: 73,808
    assert analysis.totals.macs == 73_808
    # the block's ops reproduce convcost's own basic_block exactly, so it is one
    assert imported.spec["layers"] == [
        {"kind": "basic_block", "name": "layer.0", "out_channels": 8, "stride": 1},
        {"kind": "pool", "name": "pool", "op": "avg", "global": True},
        {"kind": "flatten", "name": "flatten"},
        {"kind": "linear", "name": "fc", "out_features": 10},
    ]
    assert not imported.emitted.opaque


def test_branches_and_concat_name_their_inputs() -> None:
    g = Builder((1, 4, 8, 8))
    left = g.conv("left", "x", 6, k=1)  # 24 params, 24·64 = 1,536 MACs
    right = g.conv("right", "x", 2, k=3)  # 72 params, 72·64 = 4,608 MACs
    g.op("cat", "concat", "", (left, right), (1, 8, 8, 8), dim=1)
    imported = to_spec(g.graph(), SOURCE)
    layers = imported.spec["layers"]
    assert layers[-1]["kind"] == "concat" and layers[-1]["from"] == ["left", "right"]
    assert any(layer.get("from") == "input" for layer in layers)  # right reads the input again
    analysis = _analysed(imported)
    assert (analysis.totals.params, analysis.totals.macs) == (96, 6_144)
    assert analysis.root.children[-1].output_shape == (1, 8, 8, 8)


def test_equal_copies_collapse_into_a_repeat() -> None:
    g = Builder((1, 8, 8, 8))
    y = "x"
    for i in range(3):
        y = _cbr(g, f"blocks.{i}", y, 8)  # each: 576 + 16 params, 576·64 = 36,864 MACs
    imported = to_spec(g.graph(), SOURCE)
    assert imported.spec["layers"] == [{"kind": "conv", "name": "blocks", "repeat": 3,
                                        "out_channels": 8, "kernel_size": 3, "stride": 1,
                                        "bn": True, "act": "relu"}]
    analysis = _analysed(imported)
    assert (analysis.totals.params, analysis.totals.macs) == (3 * 592, 3 * 36_864)


def test_a_module_called_twice_shares_its_weights() -> None:
    g = Builder((1, 4, 8, 8))
    y = g.act("relu", g.conv("conv", "x", 4))  # 144 params, counted once
    g.conv("conv", y, 4, shared=True)  # the same module again: MACs again, no params
    imported = to_spec(g.graph(), SOURCE)
    first, _, again = imported.spec["layers"]
    assert (first["name"], again["name"], again["shares"]) == ("conv", "conv_2", "conv")
    analysis = _analysed(imported)
    # params once: 144; MACs twice: 2 · 144·64 = 18,432
    assert (analysis.totals.params, analysis.totals.macs) == (144, 18_432)


def test_an_inexpressible_op_is_an_opaque_layer_with_its_shape_and_params() -> None:
    g = Builder((1, 4, 8, 8))
    y = g.conv("conv", "x", 4)
    z = g.op("cumsum", "opaque", "", (y,), (1, 4, 8, 8), target="aten.cumsum")
    g.conv("head", z, 2, k=1)
    imported = to_spec(g.graph(), SOURCE)
    [opaque] = imported.emitted.opaque
    assert (opaque.ops, opaque.shape, opaque.params) == ("aten.cumsum ×1", (1, 4, 8, 8), 0)
    assert "1 opaque layers: shapes and params measured, MACs NOT counted:" in imported.yaml
    analysis = _analysed(imported)
    # the convs' MACs only: 144·64 + 8·64 = 9,728; the cumsum is not counted
    assert (analysis.totals.params, analysis.totals.macs) == (152, 9_728)
    with pytest.raises(ConvcostError, match=r"--strict: the spec cannot express .*aten\.cumsum"):
        to_spec(g.graph(), SOURCE, strict=True)


def test_an_opaque_layer_read_later_is_never_absorbed_by_the_next() -> None:
    """gcvit/sam2: an opaque op (a channels-last add) whose output a later residual add reads,
    then another opaque op on it. The second must not swallow the first: the add would read the
    second's 8-channel output as the first's 4 (a spec that does not load, exit 3)."""
    g = Builder((1, 4, 8, 8))
    y = g.conv("conv", "x", 4)
    t1 = g.op("cumsum", "opaque", "", (y,), (1, 4, 8, 8), target="aten.cumsum")
    t2 = g.op("repeat", "opaque", "", (t1,), (1, 8, 8, 8), target="aten.repeat")
    back = g.conv("back", t2, 4, k=1)
    g.op("add", "add", "", (t1, back), (1, 4, 8, 8), target="operator.add")
    imported = to_spec(g.graph(), SOURCE)
    assert [o.ops for o in imported.emitted.opaque] == ["aten.cumsum ×1", "aten.repeat ×1"]
    add = imported.spec["layers"][-1]
    assert (add["kind"], add["from"]) == ("add", ["cumsum", "back"])
    analysis = _analysed(imported)
    # conv 4·4·9 = 144 params, 144·64 = 9,216 MACs; back 8·4 = 32 params, 32·64 = 2,048 MACs
    assert (analysis.totals.params, analysis.totals.macs) == (176, 11_264)


def test_an_opaque_module_called_again_on_another_shape_shares_nothing() -> None:
    """coat_tiny: one module (opaque here) runs on tensors of different sizes. Its first call
    holds its 8 params, the second holds 0 and writes no ``shares:`` (whose check of equal
    weights an opaque layer can never pass: a spec that did not load)."""
    g = Builder((1, 4, 8, 8))
    y = g.conv("conv", "x", 4)
    a = g.op("m#1", "opaque", "m", (y,), (1, 4, 8, 8), params=8, target="odd.Op", shared=True)
    p = g.op("pool", "pool", "pool", (a,), (1, 4, 4, 4), kind="max", kernel=(2, 2), stride=(2, 2),
             padding=(0, 0), ceil_mode=False, dilation=(1, 1))
    g.op("m#2", "opaque", "m", (p,), (1, 4, 4, 4), params=0, target="odd.Op", shared=True)
    imported = to_spec(g.graph(), SOURCE)
    assert [(o.params, o.shape) for o in imported.emitted.opaque] == [(8, (1, 4, 8, 8)), (0, (1, 4, 4, 4))]
    assert not any("shares" in layer for layer in imported.spec["layers"])
    assert _analysed(imported).totals.params == 144 + 8  # conv 4·4·9, the opaque module's 8 once


def test_a_split_of_a_module_called_again_shares_its_convs() -> None:
    """coat's conv position encoding: a module splits its input and runs a depthwise conv on
    each piece, called again in the next block. The second split layer shares the first's
    convs (its params once: 2·(2·9) = 36, was 72: a self-check refusal)."""
    g = Builder((1, 4, 8, 8))

    def crpe(x: str, second: bool) -> str:  # fx numbers a functional op's later calls: chunk_1
        chunk = g.op("chunk_1" if second else "chunk", "chunk", "crpe", (x,), (1, 4, 8, 8), dim=1,
                     sizes=(2, 2), shapes=((1, 2, 8, 8), (1, 2, 8, 8)))
        pieces = [g.op(f"getitem_{2 * second + i}", "getitem", "crpe", (chunk,), (1, 2, 8, 8), index=i)
                  for i in range(2)]
        convs = [g.conv(f"crpe.conv_list.{i}", piece, 2, groups=2, shared=second)
                 for i, piece in enumerate(pieces)]
        return g.op("cat_1" if second else "cat", "concat", "crpe", tuple(convs), (1, 4, 8, 8), dim=1)

    crpe(crpe("x", False), True)
    nodes = [replace(n, shared=True) if n.op == "conv" else n for n in g.nodes]
    imported = to_spec(replace(g.graph(), nodes=tuple(nodes)), SOURCE)
    first, second = imported.spec["layers"]
    assert (first["kind"], second["kind"], second.get("shares")) == ("split", "split", first["name"])
    analysis = _analysed(imported)
    # params 2 convs · 2·1·9 = 36 once; MACs each call 2 · 18·64 = 2,304, twice 4,608
    assert (analysis.totals.params, analysis.totals.macs) == (36, 4_608)


def test_an_opaque_region_never_ends_on_an_empty_tensor() -> None:
    """deepseek_vit: an opaque slice that is empty (no prefix tokens, 0 rows), read by a later
    op: no layer can have a size 0, so the region takes ops until its last tensor has none. (A
    cat with an empty tensor is the other tensor: rope_pass, tests/unit/test_import_rope.py.)"""
    g = Builder((1, 4, 8, 8))
    y = g.conv("conv", "x", 4)
    empty = g.op("prefix", "opaque", "", (y,), (1, 0, 8, 8), target="aten.odd")
    rest = g.op("tokens", "opaque", "", (y,), (1, 4, 8, 8), target="aten.odd")
    g.op("both", "opaque", "", (empty, rest), (1, 4, 8, 8), target="aten.odd")
    imported = to_spec(g.graph(), SOURCE)
    assert [(o.ops, o.shape) for o in imported.emitted.opaque] == [("aten.odd ×3", (1, 4, 8, 8))]
    assert _analysed(imported).totals.params == 144  # conv 4·4·3·3


def test_an_opaque_region_at_the_end_of_a_module_may_end_on_six_dims() -> None:
    """csatv2's DCT stem: a module whose last op fits no kind ends on [N, 28, 28, 3, 8, 8]
    (its region cannot take the ops after the module). The opaque layer keeps that 6-D shape,
    and a spec shape holds up to 5 sizes after the batch: it loaded nowhere before (exit 3)."""
    g = Builder((1, 4, 8, 8))
    y = g.conv("conv", "x", 4)
    z = g.op("m.a", "opaque", "m", (y,), (1, 4, 8, 8), target="aten.odd")
    blocks = g.op("m.b", "opaque", "m", (z,), (1, 2, 2, 2, 4, 4), target="aten.odd")
    g.op("back", "opaque", "", (blocks,), (1, 4, 8, 8), target="aten.odd2")
    imported = to_spec(g.graph(), SOURCE)
    assert [o.shape for o in imported.emitted.opaque] == [(1, 2, 2, 2, 4, 4), (1, 4, 8, 8)]
    analysis = _analysed(imported)
    # the conv alone: 4·4·3·3 = 144 params, 144·64 = 9,216 MACs; the opaque ops not counted
    assert (analysis.totals.params, analysis.totals.macs) == (144, 9_216)


def test_an_opaque_region_never_ends_on_windows_folded_into_the_batch() -> None:
    """efficientvit_m0: windows partitioned into the batch ([4, C, 4, 4] of a 1-image model),
    a conv on them, then merged back. A layer after an opaque [4, ...] would count one image:
    the region takes the conv too (its MACs uncounted, said), never a quarter of them."""
    g = Builder((1, 4, 8, 8))
    y = g.conv("conv", "x", 4)
    windows = g.op("partition", "opaque", "", (y,), (4, 4, 4, 4), target="aten.odd")
    inner = g.conv("inner", windows, 4)
    g.op("reverse", "opaque", "", (inner,), (1, 4, 8, 8), target="aten.odd")
    imported = to_spec(g.graph(), SOURCE)
    [region] = imported.emitted.opaque
    assert (region.ops, region.shape, region.params) == ("aten.odd ×2, conv ×1", (1, 4, 8, 8), 144)
    analysis = _analysed(imported)
    assert (analysis.totals.params, analysis.totals.macs) == (288, 9_216)  # the first conv's 144·64


def _grn(g: Builder, x: str, dims: tuple[int, ...]) -> str:
    """timm's channels-last GlobalResponseNorm as torch.fx traces it (module ``grn``): a norm
    over H×W, a mean over C, a division, addcmul with γ and β (4 each, read through views)."""
    n, _, _, c = g.of(x)
    norm = g.op("norm", "opaque", "grn", (x,), (n, 1, 1, c), target="Tensor.norm")
    mean = g.op("mean", "mean", "grn", (norm,), (n, 1, 1, 1), dims=dims, keepdim=True)
    eps = g.op("add", "add", "grn", (mean,), (n, 1, 1, 1), scalar=1e-6)
    scaled = g.op("mul", "mul", "grn", (x, g.op("truediv", "div", "grn", (norm, eps), (n, 1, 1, c))), g.of(x))
    weight = g.op("view", "reshape", "grn", (), (1, 1, 1, c), params=c)
    bias = g.op("view_1", "reshape", "grn", (), (1, 1, 1, c), params=c)
    out = g.op("addcmul", "opaque", "grn", (bias, weight, scaled), g.of(x), target="torch.addcmul")
    return g.op("add_1", "add", "grn", (x, out), g.of(x))


@pytest.mark.parametrize(("dims", "grn"), [((-1,), True), ((1,), False)])
def test_a_global_response_norm_module_is_one_grn_layer(dims: tuple[int, ...], grn: bool) -> None:
    """ConvNeXt-V2's GRN on a channels-last view (timm's MLP): one ``grn`` layer, 2·C params.
    Its mean must be over the channels (the last axis here): over another axis it is not a GRN
    and stays opaque."""
    g = Builder((1, 3, 8, 8))
    y = g.conv("stem", "x", 4)
    nhwc = g.op("permute", "transpose", "", (y,), (1, 8, 8, 4), dims=(0, 2, 3, 1), permute=True)
    back = g.op("permute_1", "transpose", "", (_grn(g, nhwc, dims),), (1, 4, 8, 8), dims=(0, 3, 1, 2),
                permute=True)
    g.conv("head", back, 4, k=1)
    graph = replace(g.graph(), classes=(("stem", "Conv2d"), ("grn", "GlobalResponseNorm")))
    imported = to_spec(graph, SOURCE)
    kinds = [layer["kind"] for layer in imported.spec["layers"]]
    assert (kinds[0], kinds[-1], "grn" in kinds) == ("conv", "pwconv", grn)
    assert kinds == ["conv", "grn", "pwconv"] or not grn
    analysis = _analysed(imported)
    # stem 3·4·9 = 108 params, 108·64 = 6,912 MACs; GRN γ, β: 2·4 = 8 params, 0 MACs;
    # head 4·4 = 16 params, 16·64 = 1,024 MACs
    assert (analysis.totals.params, analysis.totals.macs) == (132, 7_936)
    assert bool(imported.emitted.opaque) is not grn


@pytest.mark.parametrize(("divisor", "average"), [(2, True), (3, False)])
def test_averaged_heads_are_one_average_layer(divisor: int, average: bool) -> None:
    """RepViT/LeViT/DeiT distilled: ``(head(x) + head_dist(x)) / 2`` is one ``average`` of the
    two linear heads; divided by anything but the count it stays opaque (never miscounted)."""
    g = Builder((1, 4, 1, 1))
    flat = g.op("flatten", "flatten", "", ("x",), (1, 4), start_dim=1, end_dim=-1)
    heads = [g.op(name, "linear", f"head.{name}", (flat,), (1, 10), params=50, in_features=4,
                  out_features=10, bias=True) for name in ("head", "head_dist")]
    total = g.op("add", "add", "head", tuple(heads), (1, 10))
    g.op("truediv", "div", "head", (total,), (1, 10), scalar=divisor)
    imported = to_spec(g.graph(), SOURCE)
    assert (imported.spec["layers"][-1]["kind"] == "average") is average
    assert bool(imported.emitted.opaque) is not average
    analysis = _analysed(imported)
    # two heads of 4·10 + 10 = 50 params, 40 MACs each
    assert (analysis.totals.params, analysis.totals.macs) == (100, 80)


@pytest.mark.parametrize(("op", "dims", "merged"), [
    ("mean", (0,), "average"), ("mean", (1,), None), ("sum", (0,), "add"), ("sum", (1,), None)])
def test_stacked_heads_meaned_over_the_stack_are_one_average(op: str, dims: tuple[int, ...],
                                                             merged: str | None) -> None:
    """CrossViT: ``torch.mean(torch.stack(heads, dim=0), dim=0)`` is one ``average`` of the two
    heads, EfficientViM's ``torch.stack(logits).sum(0)`` one ``add``; a mean or sum over another
    dim stays opaque (never miscounted)."""
    g = Builder((1, 4, 1, 1))
    flat = g.op("flatten", "flatten", "", ("x",), (1, 4), start_dim=1, end_dim=-1)
    heads = [g.op(f"head_{i}", "linear", f"head.{i}", (flat,), (1, 10), params=50, in_features=4,
                  out_features=10, bias=True) for i in range(2)]
    stacked = g.op("stack", "stack", "", tuple(heads), (2, 1, 10), dim=0)
    g.op(op, op, "", (stacked,), (1, 10) if dims == (0,) else (2, 10), dims=dims, keepdim=False)
    imported = to_spec(g.graph(), SOURCE)
    kinds = [layer["kind"] for layer in imported.spec["layers"]]
    # over dim 1: an opaque [2, 10] of a stand-in of batch 1, written [1, 20] then unfolded
    assert kinds[-1:] == [merged] if merged else kinds[-2:] == ["opaque", "reshape"]
    assert bool(imported.emitted.opaque) is not bool(merged)
    # two heads of 4·10 + 10 = 50 params, 40 MACs each
    assert (_analysed(imported).totals.params, _analysed(imported).totals.macs) == (100, 80)


def test_a_depthwise_conv_whose_weight_is_a_buffer_is_a_blur() -> None:
    """TResNet's anti-aliasing: ``F.conv2d(x, self.filt, groups=C)`` with a registered buffer,
    no parameter. A dwconv layer would count C·9 params the model does not have (the self-check
    refused it, exit 3): it is a ``blur`` layer, its MACs counted, no params."""
    g = Builder((1, 4, 8, 8))
    y = g.conv("conv", "x", 4)
    blur = g.conv("blur", y, 4, groups=4)
    g.nodes[-1] = replace(g.nodes[-1], params=0)  # the weight is a buffer
    g.conv("head", blur, 4, k=1)
    imported = to_spec(g.graph(), SOURCE)
    assert not imported.emitted.opaque
    assert [layer["kind"] for layer in imported.spec["layers"]] == ["conv", "blur", "pwconv"]
    analysis = _analysed(imported)
    # conv 4·4·9 = 144 and head 4·4 = 16 params; MACs 144·64 + 4·9·64 (blur) + 16·64 = 12,544
    assert (analysis.totals.params, analysis.totals.macs) == (160, 12_544)


def test_a_dense_conv_whose_weight_is_a_buffer_is_opaque_never_counted_as_params() -> None:
    """A fixed filter mixing channels (groups 1) is no blur: opaque, its MACs uncounted and said."""
    g = Builder((1, 4, 8, 8))
    y = g.conv("conv", "x", 4)
    fixed = g.conv("fixed", y, 4)
    g.nodes[-1] = replace(g.nodes[-1], params=0)  # the weight is a buffer
    g.conv("head", fixed, 4, k=1)
    imported = to_spec(g.graph(), SOURCE)
    assert [o.ops for o in imported.emitted.opaque] == ["conv ×1"]
    analysis = _analysed(imported)
    # conv 4·4·9 = 144 and head 4·4 = 16 params; MACs 144·64 + 16·64 = 10,240 (fixed's not counted)
    assert (analysis.totals.params, analysis.totals.macs) == (160, 10_240)


def test_several_outputs_are_listed() -> None:
    g = Builder((1, 4, 8, 8))
    a = g.conv("a", "x", 4)
    b = g.conv("b", a, 4)
    imported = to_spec(g.graph(a, b), SOURCE)
    assert imported.spec["outputs"] == ["a", "b"]
    assert "outputs" not in to_spec(g.graph(b), SOURCE).spec  # the last layer: implied


def _conv_node(cin: int, cout: int, k: tuple[int, int] = (3, 3), stride: int = 1,
               groups: int = 1, padding: Any = (1, 1), dilation: int = 1, bias: bool = False) -> IRNode:
    return IRNode("c", "conv", "c", ("x",), (1, cout, 8, 8), attrs=frozen(dict(
        in_channels=cin, out_channels=cout, kernel=k, stride=(stride, stride),
        dilation=(dilation, dilation), groups=groups, bias=bias, padding=padding)))


@pytest.mark.parametrize(("node", "fields"), [
    (_conv_node(8, 16), {"kind": "conv", "out_channels": 16, "kernel_size": 3, "stride": 1}),
    (_conv_node(8, 8, groups=8), {"kind": "dwconv", "kernel_size": 3, "stride": 1}),
    (_conv_node(8, 16, groups=8), {"kind": "dwconv", "multiplier": 2, "kernel_size": 3, "stride": 1}),
    (_conv_node(8, 16, (1, 1), padding=(0, 0)), {"kind": "pwconv", "out_channels": 16}),
    (_conv_node(8, 16, groups=2, bias=True),
     {"kind": "conv", "out_channels": 16, "kernel_size": 3, "stride": 1, "groups": 2, "bias": True}),
    (_conv_node(8, 16, (1, 7), padding=(0, 3)),  # auto padding of a 1x7 kernel
     {"kind": "conv", "out_channels": 16, "kernel_size": [1, 7], "stride": 1}),
    (_conv_node(8, 16, padding=(2, 2), dilation=2),
     {"kind": "conv", "out_channels": 16, "kernel_size": 3, "stride": 1, "dilation": 2}),
    (_conv_node(8, 16, padding=(0, 0), stride=2),
     {"kind": "conv", "out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 0}),
    (_conv_node(8, 16, padding="same"),
     {"kind": "conv", "out_channels": 16, "kernel_size": 3, "stride": 1, "padding": "same"}),
    (_conv_node(8, 16, (3, 3, 3), padding=(1, 1, 1)), None),  # a 3-D kernel: not a spec conv
])
def test_conv_fields(node: IRNode, fields: dict[str, Any] | None) -> None:
    assert conv_fields(node) == fields


def test_conv_unit_takes_conv_bn_act_only() -> None:
    conv = _conv_node(8, 16)
    bn = IRNode("b", "bn", "b", ("c",), (1, 16, 8, 8), attrs=frozen({"affine": True}))
    relu = IRNode("r", "act", "r", ("b",), (1, 16, 8, 8), attrs=frozen({"fn": "relu"}))
    assert conv_unit([conv, bn, relu]) == {"kind": "conv", "out_channels": 16, "kernel_size": 3,
                                           "stride": 1, "bn": True, "act": "relu"}
    assert conv_unit([conv, relu]) == {"kind": "conv", "out_channels": 16, "kernel_size": 3,
                                       "stride": 1, "act": "relu"}
    assert conv_unit([conv, relu, bn]) is None  # BN after the activation: not a unit
    assert conv_unit([bn, relu]) is None


@pytest.mark.parametrize(("node", "layers"), [
    (IRNode("i", "identity", "", ("x",), (1, 4, 8, 8)), []),  # no layer
    (IRNode("a", "act", "", ("x",), (1, 4, 8, 8), attrs=frozen({"fn": "gelu"})),
     [{"kind": "act", "fn": "gelu"}]),
    (IRNode("p", "pool", "", ("x",), (1, 4, 4, 4), attrs=frozen(dict(
        kind="max", kernel=(3, 3), stride=(2, 2), padding=(1, 1), ceil_mode=False, dilation=(1, 1)))),
     [{"kind": "pool", "op": "max", "kernel_size": 3, "stride": 2, "padding": 1}]),
    (IRNode("m", "mean", "", ("x",), (1, 4), attrs=frozen({"dims": (2, 3), "keepdim": False})),
     [{"kind": "mean"}]),
    (IRNode("f", "flatten", "", ("x",), (1, 256), attrs=frozen({"start_dim": 1, "end_dim": -1})),
     [{"kind": "flatten"}]),
    (IRNode("f", "flatten", "", ("x",), (256,), attrs=frozen({"start_dim": 0, "end_dim": -1})),
     None),  # the batch folded in: not the spec's flatten
    (IRNode("z", "add", "", ("x",), (1, 4, 8, 8), attrs=frozen({"scalar": 0})), []),  # 0 + x
    # 1 + x: a shift by 1 (no kind said it before the shift kind: it was opaque)
    (IRNode("o", "add", "", ("x",), (1, 4, 8, 8), attrs=frozen({"scalar": 1})),
     [{"kind": "shift", "value": 1.0}]),
    (IRNode("o", "add", "", ("x",), (1, 4, 8, 8), attrs=frozen({"scalar": -1})), None),  # x - 1
    # a / b of one tensor: b a [1, 4, 8, 1] buffer (state), x / b: a param divided by
    (IRNode("d", "div", "", ("x",), (1, 4, 8, 8), attrs=frozen({"state": ((1, 4, 8, 1),)})),
     [{"kind": "residual", "layers": [{"kind": "param", "shape": [4, 8, 1], "params": 0}],
       "merge": "div"}]),
    # b / x, the weight on the left: not x / b, opaque
    (IRNode("d", "div", "", ("x",), (1, 4, 8, 8),
            attrs=frozen({"state": ((1, 4, 8, 1),), "state_first": True})), None),
    (IRNode("d", "div", "", ("x",), (1, 4, 8, 8), attrs=frozen({"scalar": 2})), None),  # x / 2
    # CSATv2's x - mean, mean a [1, 4, 8, 8] buffer: a param subtracted; mean - x: opaque
    (IRNode("s", "sub", "", ("x",), (1, 4, 8, 8), attrs=frozen({"state": ((1, 4, 8, 8),)})),
     [{"kind": "residual", "layers": [{"kind": "param", "shape": [4, 8, 8], "params": 0}],
       "merge": "sub"}]),
    (IRNode("s", "sub", "", ("x",), (1, 4, 8, 8),
            attrs=frozen({"state": ((1, 4, 8, 8),), "state_first": True})), None),
    # Gemma4's x - 0.5, a number: a scalar of op sub (was opaque); x - (-1): no positive number
    (IRNode("s", "sub", "", ("x",), (1, 4, 8, 8), attrs=frozen({"scalar": 0.5})),
     [{"kind": "scalar", "value": 0.5, "op": "sub"}]),
    (IRNode("s", "sub", "", ("x",), (1, 4, 8, 8), attrs=frozen({"scalar": -1})), None),
    # timm's Gemma4ClippableLinear: torch.clamp(x, input_min, input_max), the bounds buffers
    # (folded into the op): one clamp; one reading a second computed tensor: opaque
    (IRNode("c", "clamp", "", ("x",), (1, 4, 8, 8)), [{"kind": "clamp"}]),
    (IRNode("c", "clamp", "", ("x", "y"), (1, 4, 8, 8)), None),
    # EfficientViT's F.pad(v, (0, 1), value=1) on [B, heads, N, d]: a column of ones, the last
    # dim's pair completed with the one before it
    (IRNode("p", "pad", "", ("x",), (1, 4, 8, 9), attrs=frozen({"pad": (0, 1), "value": 1.0})),
     [{"kind": "pad", "pad": [0, 1, 0, 0], "value": "one"}]),
    (IRNode("p", "pad", "", ("x",), (1, 4, 8, 9), attrs=frozen({"pad": (0, 1), "value": 2.0})),
     None),  # a value no field says
    # F.pad on W and H: zeros (the default mode), -inf before a max pool (timm's MaxPool2dSame,
    # NASNet), reflect (TResNet's blur pool), ones (EfficientViT's v); another constant has no
    # spec value: opaque
    *[(IRNode("p", "pad", "", ("x",), (1, 4, 9, 10), attrs=frozen(
        {"pad": (1, 1, 0, 1), "mode": mode, "value": value})), layers) for mode, value, layers in (
        ("constant", 0.0, [{"kind": "pad", "pad": [1, 1, 0, 1]}]),
        ("constant", -math.inf, [{"kind": "pad", "pad": [1, 1, 0, 1], "value": "-inf"}]),
        ("reflect", 0.0, [{"kind": "pad", "pad": [1, 1, 0, 1], "mode": "reflect"}]),
        ("replicate", 0.0, [{"kind": "pad", "pad": [1, 1, 0, 1], "mode": "replicate"}]),
        ("constant", 1.0, [{"kind": "pad", "pad": [1, 1, 0, 1], "value": "one"}]),
        ("constant", 2.0, None))],
    # SAM's window partition, F.pad(x, (0, 0, 0, 2, 0, 1)) on W and H of [N, H, W, C] = [1, 4, 8, 8]
    # (the channels' pair zero): to NCHW, the pad, back; the channels padded too: opaque
    (IRNode("p", "pad", "", ("x",), (1, 5, 10, 8), attrs=frozen({"pad": (0, 0, 0, 2, 0, 1), "value": 0.0})),
     [{"kind": "permute", "dims": [0, 3, 1, 2]}, {"kind": "pad", "pad": [0, 2, 0, 1]},
      {"kind": "permute", "dims": [0, 2, 3, 1]}]),
    (IRNode("p", "pad", "", ("x",), (1, 5, 10, 9), attrs=frozen({"pad": (1, 0, 0, 2, 0, 1), "value": 0.0})),
     None),
    (IRNode("s", "softmax", "", ("x",), (1, 4, 8, 8), attrs=frozen({"dim": -1, "form": "module"})),
     [{"kind": "softmax", "dim": -1, "form": "module"}]),
    # the same reading 9 params (CoAtNet's attention, its mask a bias gathered from a table):
    # no softmax holds them, so opaque, never a spec short of them
    (IRNode("s", "softmax", "", ("x",), (1, 4, 8, 8), 9,
            attrs=frozen({"dim": -1, "form": "module"})), None),
])
def test_leaf_layers(node: IRNode, layers: list[dict[str, Any]] | None) -> None:
    assert leaf_layers(node, (1, 4, 8, 8)) == layers


_SCORES = (4, 3, 49, 49)  # Swin's window scores: 4 windows, 3 heads, 7·7 tokens


@pytest.mark.parametrize(("params", "state", "shape", "layers"), [
    # x + table[index]: the bias gathered from a (2·7 − 1)²·3 = 507-element table
    (507, ((1, 3, 49, 49),), _SCORES, [{"kind": "param", "shape": [3, 49, 49], "params": 507}]),
    # x + mask, a buffer: no params
    (0, ((1, 1, 49, 49),), _SCORES, [{"kind": "param", "shape": [3, 49, 49], "params": 0}]),
    (0, (), _SCORES, None),  # x + x (one input, no state): not a param
    (0, ((1, 3, 49, 49),), (8, 3, 49, 49), None),  # the state widens x: not x's shape
    (7_204, ((1, 3, 49, 49),), _SCORES, None),  # more params than the tensor: never
])
def test_an_add_of_module_state_is_a_param(params: int, state: Any, shape: tuple[int, ...],
                                           layers: list[dict[str, Any]] | None) -> None:
    add = IRNode("a", "add", "", ("x",), shape, params, attrs=frozen({"state": state} if state else {}))
    expected = None if layers is None else [{"kind": "residual", "layers": layers, "merge": "add"}]
    assert leaf_layers(add, _SCORES) == expected


def test_an_add_of_a_resized_table_holds_all_its_params() -> None:
    # SAM at 224: its 64×64×768 positions (3,145,728 params) resized to the 14×14 grid, added:
    # a param of the whole table's params though it reads 14·14·768 = 150,528 elements
    x = (1, 14, 14, 768)
    add = IRNode("a", "add", "", ("x",), x, 3_145_728,
                 attrs=frozen({"state": (x,), "resized": True}))
    assert leaf_layers(add, x) == [{"kind": "residual", "layers": [
        {"kind": "param", "shape": [14, 14, 768], "params": 3_145_728}], "merge": "add"}]


def _weight(shape: list[int], params: int | None = None) -> list[dict[str, Any]]:
    param = {"kind": "param", "shape": shape, **({} if params is None else {"params": params})}
    return [{"kind": "residual", "layers": [param], "merge": "matmul"}]


@pytest.mark.parametrize(("node", "layers"), [
    # SwiftFormer's query @ w_g: [1, 196, 48] @ a [48, 1] parameter of 48 params -> [1, 196, 1]
    (IRNode("m", "matmul", "", ("x",), (1, 196, 1), 48, attrs=frozen({"other": (48, 1)})),
     _weight([48, 1])),
    # the same weight read again (its 48 params counted at the first read): a param of none
    (IRNode("m", "matmul", "", ("x",), (1, 196, 1), 0, attrs=frozen({"other": (48, 1)})),
     _weight([48, 1], 0)),
    # a [1, 48, 1] weight: its leading 1 dropped (the param adds the batch)
    (IRNode("m", "matmul", "", ("x",), (1, 196, 1), 48, attrs=frozen({"other": (1, 48, 1)})),
     _weight([48, 1])),
    # w @ x, the weight on the left: [196, 196] @ [1, 196, 48] -> [1, 196, 48], not x @ w
    (IRNode("m", "matmul", "", ("x",), (1, 196, 48), 0, attrs=frozen({"other": (196, 196)})), None),
    # a table partly read (12 of 48 params): never a spec short of or over them
    (IRNode("m", "matmul", "", ("x",), (1, 196, 1), 12, attrs=frozen({"other": (48, 1)})), None),
    # CSATv2's F.linear(x, basis), a [8, 8] buffer: x @ basisᵀ, a param of no params
    (IRNode("l", "linear", "", ("x",), (1, 196, 8), target="torch.nn.functional.linear",
            attrs=frozen({"in_features": 48, "out_features": 8, "bias": False})), _weight([48, 8], 0)),
])
def test_a_product_by_a_weight_is_a_param_merged_by_matmul(node: IRNode, layers: Any) -> None:
    assert leaf_layers(node, (1, 196, 48)) == layers


@pytest.mark.parametrize(("params", "state", "x", "param"), [
    # EfficientViM's sigmoid(alpha)[0] * y: a [4, 8] table read first, as a [8, 1, 1] piece
    (32, (8, 1, 1), (1, 8, 4, 4), {"shape": [8, 1, 1], "params": 32}),
    # the same table read again (its params counted): a param of none
    (0, (8, 1, 1), (1, 8, 4, 4), {"shape": [8, 1, 1], "params": 0}),
    # h * D, D a [1] parameter, on [N, C, L]: a [1, 1] param of its 1 param
    (1, (1,), (1, 8, 16), {"shape": [1, 1]}),
    # x.mul(std), std a [1, 3, 1, 1] buffer: its leading 1 dropped, no params
    (0, (1, 3, 1, 1), (1, 3, 4, 4), {"shape": [3, 1, 1], "params": 0}),
    (0, (4, 1, 1), (1, 8, 4, 4), None),  # 4 channels do not broadcast over 8
    (0, (2, 8, 1, 1), (1, 8, 4, 4), None),  # a first size of 2 would widen the batch
])
def test_a_product_by_a_weight_read_alone_is_a_param_merged_by_mul(
        params: int, state: Any, x: tuple[int, ...], param: dict[str, Any] | None) -> None:
    mul = IRNode("m", "mul", "", ("x",), x, params, attrs=frozen({"state": (state,)}))
    expected = None if param is None else [
        {"kind": "residual", "layers": [{"kind": "param", **param}], "merge": "mul"}]
    assert leaf_layers(mul, x) == expected


@pytest.mark.parametrize(("b", "layers"), [
    ((1, 8, 196, 1), [{"kind": "div"}]),  # EfficientViT: out[..., :16] / (out[..., 16:] + eps)
    ((1, 8, 196), None),  # of another rank: no spec layer's broadcast
    ((1, 8, 195, 1), None),  # sizes that do not broadcast
])
def test_a_division_of_two_tensors_is_a_div(b: tuple[int, ...], layers: Any) -> None:
    node = IRNode("d", "div", "", ("a", "b"), (1, 8, 196, 16))
    assert merge_layers(node, [(1, 8, 196, 16), b]) == layers


@pytest.mark.parametrize(("index", "picked"), [
    ((slice(None), slice(None), [0, 8, 1]), {"dim": 2, "size": 3}),  # CSATv2's zigzag list
    ((slice(None), [True, False]), None),  # a mask: not an index list
    ((slice(None), []), None),  # nothing picked
    ((slice(None), slice(1, None), [0, 1]), None),  # a slice before it
])
def test_an_index_list_is_a_gather(index: Any, picked: dict[str, int] | None) -> None:
    assert gather_index(index, {}) == picked


def test_linear_reads_features_only() -> None:
    linear = IRNode("l", "linear", "", ("x",), (1, 10), attrs=frozen(
        {"in_features": 256, "out_features": 10, "bias": False}))
    assert leaf_layers(linear, (1, 256)) == [{"kind": "linear", "out_features": 10, "bias": False}]
    assert leaf_layers(linear, (1, 4, 8, 8)) is None  # on a 4-D tensor: not the spec's linear


@pytest.mark.parametrize(("text", "name"), [
    ("features.3.conv", "features.3.conv"),
    ("_orig_mod.features", "orig_mod.features"),  # a leading underscore goes
    ("blocks.0.attn-proj[1]", "blocks.0.attn_proj_1_"),  # anything else becomes _
    ("..", "layer"),
])
def test_layer_names_are_safe_spec_names(text: str, name: str) -> None:
    assert layer_name(text) == name


def test_collapse_repeats_keeps_a_run_that_is_read_elsewhere() -> None:
    run = [{"kind": "pwconv", "name": f"b.{i}", "out_channels": 8} for i in range(3)]
    assert collapse_repeats(run) == ([{"kind": "pwconv", "name": "b", "repeat": 3, "out_channels": 8}], [])
    read = [*run, {"kind": "add", "name": "sum", "from": ["b.0", "b.2"]}]
    assert collapse_repeats(read)[0] == read  # b.0 is read: the copies stay apart
    # a from: or an output naming the run's last copy names the repeated layer
    tail = [*run, {"kind": "add", "name": "sum", "from": ["b.2", "b.2"]}]
    layers, outputs = collapse_repeats(tail, ["b.2"])
    assert layers[-1]["from"] == ["b", "b"] and outputs == ["b"]


def test_outer_inputs_and_spec_input() -> None:
    g = Builder((2, 3, 16, 24))
    a = g.conv("a", "x", 4)
    b = g.op("add", "add", "", (a, "x2"), g.of(a))
    assert outer_inputs([n for n in g.nodes if n.name in (a, b)]) == ("x", "x2")
    assert spec_input(g.graph()) == {"channels": 3, "height": 16, "width": 24, "batch": 2}


def test_emit_layers_records_where_each_layer_came_from() -> None:
    g = Builder((1, 4, 8, 8))
    y = _cbr(g, "stem", "x", 8)
    emitted = emit_layers(g.graph())
    assert [layer["name"] for layer in emitted.layers] == ["stem"]
    assert emitted.tensors == {"stem": y} and emitted.outputs == ()


def test_inverted_residual_with_se_is_one_composite() -> None:
    """MobileNetV3's block as torchvision writes it: expand, depthwise, SE, project, add."""
    g = Builder((1, 16, 8, 8))
    e = g.act("blk.conv.0.2", g.bn("blk.conv.0.1", g.conv("blk.conv.0.0", "x", 64, k=1)), "hardswish")
    d = g.act("blk.conv.1.2", g.bn("blk.conv.1.1", g.conv("blk.conv.1.0", e, 64, groups=64)),
              "hardswish")
    p = g.op("blk.se.pool", "adaptive_pool", "blk.se.avgpool", (d,), (1, 64, 1, 1), kind="avg",
             output_size=(1, 1))
    r = g.act("blk.se.relu", g.conv("blk.se.fc1", p, 16, k=1, bias=True))
    s = g.act("blk.se.gate", g.conv("blk.se.fc2", r, 64, k=1, bias=True), "hardsigmoid")
    m = g.op("mul", "mul", "blk.se", (s, d), (1, 64, 8, 8))
    y = g.bn("blk.conv.3.1", g.conv("blk.conv.3.0", m, 16, k=1))
    g.op("add", "add", "blk", (y, "x"), (1, 16, 8, 8))
    imported = to_spec(g.graph(), SOURCE)
    assert imported.spec["layers"] == [{
        "kind": "inverted_residual", "name": "blk", "expand_ratio": 4, "out_channels": 16,
        "kernel_size": 3, "stride": 1, "act": "hardswish",
        "se": {"reduction": 4, "divisor": 8, "base": "expanded", "act": "relu", "gate": "hardsigmoid"}}]
    analysis = _analysed(imported)
    # params: expand 1,024 + 128, dw 576 + 128, SE 1,040 + 1,088, project 1,024 + 32 = 5,040
    # MACs: expand 1,024·64 + dw 576·64 + SE 1,024 + 1,024 + project 1,024·64 = 169,984
    assert (analysis.totals.params, analysis.totals.macs) == (g.graph().params, 169_984) == (5_040, 169_984)


def test_branches_inside_one_module_are_a_parallel_layer() -> None:
    g = Builder((1, 8, 8, 8))
    s = g.conv("stem", "x", 8, k=1)  # 64 params, 64·64 = 4,096 MACs
    g.op("inc.cat", "concat", "inc", (g.conv("inc.b1", s, 4, k=1), g.conv("inc.b2", s, 4)), (1, 8, 8, 8),
         dim=1)
    imported = to_spec(g.graph(), SOURCE)
    assert imported.spec["layers"][1] == {
        "kind": "parallel", "name": "inc", "merge": "concat", "branches": [
            {"kind": "pwconv", "name": "b1", "out_channels": 4},
            {"kind": "conv", "name": "b2", "out_channels": 4, "kernel_size": 3, "stride": 1}]}
    analysis = _analysed(imported)
    # b1 32 params, 2,048 MACs; b2 288 params, 18,432 MACs: 384 and 24,576 in all
    assert (analysis.totals.params, analysis.totals.macs) == (384, 24_576)


def test_a_channels_last_layernorm_is_one_layernorm() -> None:
    """ConvNeXt's permute, LayerNorm over channels, permute back."""
    g = Builder((1, 8, 8, 8))
    s = g.conv("stem", "x", 8, k=1)
    p = g.op("permute", "transpose", "blk", (s,), (1, 8, 8, 8), dims=(0, 2, 3, 1), permute=True)
    n = g.op("blk.norm", "layernorm", "blk.norm", (p,), (1, 8, 8, 8), 16, "torch.nn.LayerNorm",
             affine=True, normalized=(8,))
    q = g.op("permute_1", "transpose", "blk", (n,), (1, 8, 8, 8), dims=(0, 3, 1, 2), permute=True)
    g.conv("head", q, 4, k=1)
    imported = to_spec(g.graph(), SOURCE)
    assert [layer["kind"] for layer in imported.spec["layers"]] == ["pwconv", "layernorm", "pwconv"]
    analysis = _analysed(imported)
    # params 64 + 16 (γ, β over 8 channels) + 32 = 112; MACs 4,096 + 2,048 = 6,144
    assert (analysis.totals.params, analysis.totals.macs) == (112, 6_144)


def test_a_permute_to_channels_last_for_good_is_a_layer() -> None:
    """Swin's stem: permute to [N, H, W, C] with no permute back before the output (windows,
    attention and the head run channels-last): a ``permute`` layer, and the LayerNorm reads the
    real channels-last shape (not a view of NCHW, which the cross-check would refuse)."""
    g = Builder((1, 8, 8, 8))
    s = g.conv("stem", "x", 8, k=1)
    p = g.op("permute", "transpose", "stem_p", (s,), (1, 8, 8, 8), dims=(0, 2, 3, 1), permute=True)
    g.op("norm", "layernorm", "norm", (p,), (1, 8, 8, 8), 16, "torch.nn.LayerNorm", affine=True,
         normalized=(8,))
    imported = to_spec(g.graph(), SOURCE)
    layers = imported.spec["layers"]
    assert [layer["kind"] for layer in layers] == ["pwconv", "permute", "layernorm"]
    assert layers[1]["dims"] == [0, 2, 3, 1] and layers[2]["last_dim"] is True
    analysis = _analysed(imported)
    # params 64 + 16 (γ, β over 8 channels) = 80; MACs 8·8·64 = 4,096; output [1, 8, 8, 8] NHWC
    assert (analysis.totals.params, analysis.totals.macs) == (80, 4_096)


def test_a_chunk_whose_pieces_meet_again_is_a_split() -> None:
    """ShuffleNet V2's stride-1 unit without the shuffle: half passes, half is convolved."""
    g = Builder((1, 8, 8, 8))
    c = g.op("chunk", "chunk", "", ("x",), (1, 8, 8, 8), dim=1, sizes=(4, 4),
             shapes=((1, 4, 8, 8), (1, 4, 8, 8)))
    a = g.op("getitem", "getitem", "", (c,), (1, 4, 8, 8), index=0)
    b = g.op("getitem_1", "getitem", "", (c,), (1, 4, 8, 8), index=1)
    g.op("cat", "concat", "", (a, g.conv("branch", b, 4)), (1, 8, 8, 8), dim=1)
    imported = to_spec(g.graph(), SOURCE)
    assert imported.spec["layers"] == [{
        "kind": "split", "name": "chunk", "merge": "concat",
        "branches": [{"kind": "identity"},
                     {"kind": "conv", "out_channels": 4, "kernel_size": 3, "stride": 1}]}]
    analysis = _analysed(imported)
    assert (analysis.totals.params, analysis.totals.macs) == (144, 9_216)  # 4·4·9; 144·64


def test_a_chunk_of_the_last_dim_is_two_slices_and_a_cat_of_it_a_concat() -> None:
    """A GLU on tokens [N, L, C]: ``a, b = x.chunk(2, -1)``, ``cat((a * b, b), -1)``: slices and
    a concat of dim 2, never a channel split container."""
    g = Builder((1, 4, 8))
    c = g.op("chunk", "chunk", "", ("x",), (1, 4, 8), dim=2, sizes=(4, 4),
             shapes=((1, 4, 4), (1, 4, 4)))
    a = g.op("getitem", "getitem", "", (c,), (1, 4, 4), index=0)
    b = g.op("getitem_1", "getitem", "", (c,), (1, 4, 4), index=1)
    m = g.op("mul", "mul", "", (a, b), (1, 4, 4))
    g.op("cat", "concat", "", (m, b), (1, 4, 8), dim=2)
    layers = to_spec(g.graph(), SOURCE).spec["layers"]
    assert [(layer["kind"], layer.get("dim"), layer.get("start"), layer.get("end")) for layer in layers] \
        == [("slice", 2, 0, 4), ("slice", 2, 4, None), ("mul", None, None, None), ("concat", 2, None, None)]


@pytest.mark.parametrize("target", ["Tensor.expand_as", "aten.expand_as"])
def test_a_kept_sum_expanded_for_a_mul_is_a_sum_and_a_broadcast(target: str) -> None:
    """MobileViT-v2's linear attention: ``v * k.sum(-1, keepdim=True).expand_as(v)`` (fx and
    torch.export name the expand alike): a ``sum`` with keepdim, the mul's own broadcast
    (the reader turns dim -1 into dims (3,))."""
    g = Builder((1, 4, 2, 8))
    s = g.op("sum", "sum", "", ("x",), (1, 4, 2, 1), dims=(3,), keepdim=True, dtype=None)
    e = g.op("expand_as", "opaque", "", (s, "x"), (1, 4, 2, 8), target=target)
    g.op("mul", "mul", "", ("x", e), (1, 4, 2, 8))
    imported = to_spec(g.graph(), SOURCE)
    assert [layer["kind"] for layer in imported.spec["layers"]] == ["sum", "mul"]
    assert imported.spec["layers"][0]["keepdim"] is True
    assert _analysed(imported).root.children[0].output_shape == (1, 4, 2, 1)  # 8 summed, kept as 1


def test_a_gamma_on_a_channels_last_view_is_a_layer_scale() -> None:
    """EdgeNeXt's ConvEncoder: permute, ``gamma * x`` (γ of the C channels), permute back."""
    g = Builder((1, 8, 8, 8))
    s = g.conv("stem", "x", 6, k=1)
    p = g.op("permute", "transpose", "blk", (s,), (1, 8, 8, 6), dims=(0, 2, 3, 1), permute=True)
    m = g.op("mul", "mul", "blk", (p,), (1, 8, 8, 6), 6)
    q = g.op("permute_1", "transpose", "blk", (m,), (1, 6, 8, 8), dims=(0, 3, 1, 2), permute=True)
    g.conv("head", q, 4, k=1)
    imported = to_spec(g.graph(), SOURCE)
    assert [layer["kind"] for layer in imported.spec["layers"]] == ["pwconv", "layer_scale", "pwconv"]
    # params 48 + 6 (γ) + 24 = 78; MACs 64·48 + 64·24 = 4,608
    assert (_analysed(imported).totals.params, _analysed(imported).totals.macs) == (78, 4_608)


def test_a_grid_sample_reads_its_grid_and_a_cornered_resize_is_an_upsample() -> None:
    """RAFT's lookup and flow upsampling: features sampled at a grid a 1×1 conv predicts (put
    channels last), then resized ×2 with align_corners: a grid_sample reading both tensors and
    a bilinear upsample with align_corners (before, both opaque)."""
    g = Builder((1, 4, 8, 8))
    grid = g.op("grid", "transpose", "", (g.conv("offsets", "x", 2, k=1),), (1, 8, 8, 2),
                dims=(0, 2, 3, 1), permute=True)
    s = g.op("sample", "grid_sample", "", ("x", grid), (1, 4, 8, 8), mode="bilinear",
             padding_mode="zeros", align_corners=True)
    g.op("up", "interpolate", "", (s,), (1, 4, 16, 16), mode="bilinear", size=(16, 16), scale=2.0,
         align_corners=True)
    imported = to_spec(g.graph(), SOURCE)
    assert imported.spec["layers"][2:] == [
        {"kind": "grid_sample", "name": "sample", "from": ["input", "grid"], "align_corners": True},
        {"kind": "upsample", "name": "up", "scale": 2.0, "mode": "bilinear", "align_corners": True}]
    assert not imported.emitted.opaque
    analysis = _analysed(imported)
    # params 4·2 = 8; MACs the 1×1 conv's 2·4·64 = 512 only: sampling and resizing count none
    assert (analysis.totals.params, analysis.totals.macs) == (8, 512)
    assert analysis.root.children[-1].output_shape == (1, 4, 16, 16)
