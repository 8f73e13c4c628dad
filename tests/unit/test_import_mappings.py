"""The op registry owns the import mappings (issue 21 §2): each kind declares, in its own
module of cost/ops, the torch modules, functions, aten ops and ONNX op types it is recognised
by; runtime/importer keeps no table of a registered kind's names."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ROOT

from convcost.cost.imports import Imports
from convcost.cost.registry import FRONTS, IMPORT_RULES, OPS, import_rules
from convcost.runtime.importer.ir import IRNode, frozen

IMPORTER = ROOT / "convcost" / "runtime" / "importer"
# how the importer's modules spell the torch namespaces a declared name lives in
ALIASES = {"nn": "torch.nn", "F": "torch.nn.functional", "functional": "torch.nn.functional",
           "torch": "torch", "operator": "operator"}


def _declared() -> dict[str, str]:
    """Every declared name (method names as ``Tensor.x``) -> its kind."""
    return {name: key for key, kind in OPS.items() for front in (*FRONTS, "classes")
            for name in getattr(kind.imports, front)}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return ALIASES.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _names_in(tree: ast.AST) -> Iterator[str]:
    """The strings and dotted names (``nn.Conv2d`` as ``torch.nn.Conv2d``) a module holds;
    a string ``"relu"`` may be a tensor method: it is also given as ``Tensor.relu``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.Attribute) and (name := _dotted(node)):
            yield name


def _methods_in(tree: ast.AST) -> Iterator[str]:
    """The keys of the importer's method tables (``"relu": rule``), as ``Tensor.relu``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            yield from (f"Tensor.{k.value}" for k in node.keys
                        if isinstance(k, ast.Constant) and isinstance(k.value, str))


def _stray(path: Path, declared: dict[str, str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {*_names_in(tree), *_methods_in(tree)}
    return sorted(f"{path.relative_to(ROOT)}: {name} (declared by {declared[name]!r})"
                  for name in found & set(declared) if path.name == "fx_ops.py"
                  or not name.startswith("Tensor."))


def test_the_importer_names_no_declared_kind() -> None:
    """No torch module, function, aten op or ONNX op type a kind declares appears in
    runtime/importer: the kind's own module is the one place that says it."""
    declared = _declared()
    stray = [line for path in sorted(IMPORTER.rglob("*.py")) for line in _stray(path, declared)]
    assert not stray, f"names of registered kinds in the importer: {stray}"


def test_the_check_sees_each_spelling() -> None:
    """The check above finds a module class, a function, a method key, an aten and an ONNX name."""
    tree = ast.parse('R = {nn.Conv2d: a, F.conv2d: b, "aten.conv2d": c, "Conv": d}\n'
                     'M = {"flatten": e}\n')
    assert {"torch.nn.Conv2d", "torch.nn.functional.conv2d", "aten.conv2d", "Conv"} <= set(_names_in(tree))
    assert "Tensor.flatten" in set(_methods_in(tree))


def test_a_name_declared_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from convcost.cost import registry

    twice = replace(OPS["bn"], imports=Imports(onnx=dict(OPS["conv"].imports.onnx)))
    monkeypatch.setattr(registry, "OPS", {**OPS, "bn": twice})
    with pytest.raises(ValueError, match="'Conv' is declared by 'conv' and 'bn'"):
        import_rules("onnx")


def test_a_class_declared_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module class (``Imports.classes``: recognised whatever ops it traces to) has one kind."""
    from dataclasses import replace

    from convcost.cost import registry

    assert set(registry.CLASS_RULES) == {"GlobalResponseNorm", "GRN",  # by grn
                                         "ShiftedWindowAttention", "ShiftedWindowAttentionV2",
                                         "ShiftedWindowAttention3d",  # by swin
                                         "WindowAttention", "WindowMultiHeadAttention",  # swin_v2
                                         "MultiQueryAttention2d",  # by mobile_mqa
                                         "PositionalEncodingFourier",  # by fourier_pos
                                         "RmsNorm2d", "RmsNormAct2d"}  # by rmsnorm
    twice = replace(OPS["bn"], imports=Imports(classes=dict(OPS["grn"].imports.classes)))
    monkeypatch.setattr(registry, "OPS", {**OPS, "bn": twice})
    with pytest.raises(ValueError, match="class 'GlobalResponseNorm' is declared twice"):
        registry.class_rules()


@pytest.mark.parametrize("key", [k for k, kind in OPS.items() if kind.imports != Imports()])
def test_a_kind_that_is_imported_emits_and_names_itself(key: str) -> None:
    """A kind with import mappings says how its IR node becomes spec layers, and every reader
    it declares is the importer's rule for that name."""
    kind = OPS[key].imports
    assert kind.emit is not None or kind.merge is not None or kind.classes
    for front in FRONTS:
        assert set(getattr(kind, front)) <= set(IMPORT_RULES[front])
    assert set(kind.onnx_weights) <= set(kind.onnx)


def test_declared_names_are_spelled_as_their_front_end_says() -> None:
    """Modules and functions are qualified names (``torch.…``, ``operator.…``, ``Tensor.…``, or
    torchvision's fx-wrapped Swin (2-D and 3-D) and MViT functions, the Swin kinds' own and
    timm's MViT-V2 rel-pos function, read by name), aten ops ``aten.…``, ONNX op types CamelCase words."""
    wrapped = ("torchvision.models.swin_transformer.", "torchvision.models.video.mvit.",
               "torchvision.models.video.swin_transformer.", "convcost.cost.ops.swin_torch.",
               "timm.models.mvitv2.")
    for key, kind in OPS.items():
        i = kind.imports
        assert all(n.startswith("torch.") for n in i.modules), key
        assert all(n.split(".")[0] in ("torch", "operator", "Tensor") or n.startswith(wrapped)
                   for n in i.functions), key
        assert all(n.startswith("aten.") for n in i.aten), key
        assert all(n.isidentifier() and n[0].isupper() for n in i.onnx), key


@pytest.mark.parametrize(("weight", "attrs", "key", "fields"), [
    # Conv on [N, C, L]: weight [Cout=8, Cin/g=4, k=5] -> conv1d, pads [begin, end] = [2, 2]
    ((8, 4, 5), {"pads": [2, 2], "strides": [2]}, "conv1d",
     dict(in_channels=4, out_channels=8, kernel=(5,), stride=(2,), padding=(2,), dilation=(1,))),
    # Conv on [N, C, D, H, W]: weight [16, 3, 3, 7, 7], pads begins (1, 3, 3) = ends -> conv3d
    ((16, 3, 3, 7, 7), {"pads": [1, 3, 3, 1, 3, 3], "strides": [1, 2, 2]}, "conv3d",
     dict(in_channels=3, out_channels=16, kernel=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3))),
    # an asymmetric 1-D padding (begin 1, end 2): no spec field says it
    ((8, 4, 4), {"pads": [1, 2]}, "conv1d", dict(padding="asymmetric")),
    # the 4-D weight stays the 2-D kind's
    ((8, 4, 3, 3), {"pads": [1, 1, 1, 1]}, "conv", dict(kernel=(3, 3), padding=(1, 1))),
])
def test_onnx_conv_is_read_by_the_kind_of_its_input_rank(
        weight: tuple[int, ...], attrs: dict[str, object], key: str, fields: dict[str, object]) -> None:
    from convcost.cost.imports import OnnxCall

    x = (1, weight[1], *([9] * (len(weight) - 2)))
    call = OnnxCall("Conv", attrs, (x, weight, None), (None, None, None), ((1, weight[0]),))
    got_key, got = IMPORT_RULES["onnx"]["Conv"](call)
    assert got_key == key
    assert {name: got[name] for name in fields} == fields


def test_onnx_pools_and_global_pools_of_every_rank() -> None:
    from convcost.cost.imports import OnnxCall

    pool = OnnxCall("MaxPool", {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]},
                    ((1, 8, 4, 8, 8),), (None,), ((1, 8, 2, 4, 4),))
    assert IMPORT_RULES["onnx"]["MaxPool"](pool) == ("pool3d", dict(
        mode="max", kernel=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0), ceil_mode=False))
    glob = OnnxCall("GlobalAveragePool", {}, ((1, 8, 100),), (None,), ((1, 8, 1),))
    assert IMPORT_RULES["onnx"]["GlobalAveragePool"](glob) == (
        "adaptive_pool1d", dict(mode="avg", output_size=(1,)))
    four = OnnxCall("Conv", {}, ((1, 2, 3, 3, 3, 3), (1, 2, 1, 1, 1, 1)), (None, None),
                    ((1, 1, 3, 3, 3, 3),))  # no kind reads a conv over 4 axes: opaque
    assert IMPORT_RULES["onnx"]["Conv"](four) == ("opaque", {"shapes": ((1, 1, 3, 3, 3, 3),)})


def _traced(op: str, attrs: dict[str, object], shape: tuple[int, ...], inputs: int = 1) -> IRNode:
    return IRNode("y", op, "m", tuple(f"x{i}" for i in range(inputs)), shape, attrs=frozen(attrs))


@pytest.mark.parametrize(("node", "signature"), [
    (_traced("conv", dict(in_channels=8, out_channels=16, kernel=(3, 3), stride=(2, 2), padding=(1, 1),
                          dilation=(1, 1), groups=8, bias=False), (1, 16, 4, 4)),
     ("conv", 8, 16, (3, 3), (2, 2), (1, 1), (1, 1), 8, False)),
    (_traced("bn", dict(affine=True), (1, 8, 8, 8)), ("bn", 8)),
    (_traced("act", dict(fn="hardswish"), (1, 8, 8, 8)), ("act", "hardswish")),
    (_traced("adaptive_pool", dict(kind="avg", output_size=(1, 1)), (1, 8, 1, 1)), ("gpool",)),
    (_traced("adaptive_pool", dict(kind="max", output_size=(1, 1)), (1, 8, 1, 1)),
     ("other", "adaptive_pool")),
    (_traced("mean", dict(dims=(2, 3), keepdim=True), (1, 8, 1, 1)), ("gmean",)),
    (_traced("shuffle", dict(groups=2), (1, 8, 8, 8)), ("shuffle",)),
])
def test_a_traced_op_and_its_expansion_have_one_block_signature(
        node: IRNode, signature: tuple[object, ...]) -> None:
    """emit/blocks.py keeps a composite when convcost's expansion has the traced ops' signatures:
    each kind declares both (``Imports.signature`` of the IR node, ``OpKind.signature`` of the
    op); the layer the kind emits for the node, expanded alone, has the node's signature."""
    from convcost.runtime.importer.emit.blocks import expand_one, ir_signature, node_signature

    x = (1, 8, 8, 8)
    assert ir_signature(node) == signature
    emit = OPS[node.op].imports.emit
    assert emit is not None
    [layer] = emit(node, x) or [{}]
    expanded = expand_one(layer, x)
    assert expanded is not None
    [leaf] = expanded.leaves()
    assert node_signature(leaf) == signature


@pytest.mark.parametrize(("node", "signature"), [
    (_traced("add", {}, (1, 8, 8, 8), 2), ("add",)),  # x + y
    (_traced("mul", {}, (1, 8, 8, 8), 2), ("mul",)),  # x * gate: the expansion's scale
    (_traced("concat", dict(dim=1), (1, 16, 8, 8), 2), ("concat",)),
    (_traced("add", dict(scalar=1.0), (1, 8, 8, 8)), ("other", "add")),  # x + 1: no merge
    (_traced("transpose", dict(dims=(1, 2)), (1, 2, 4, 8, 8)), ("shuffle",)),  # [N, g, C/g, H, W]
    (_traced("transpose", dict(dims=(1, 2)), (1, 64, 8, 8)), ("other", "transpose")),
    (_traced("dropout", dict(p=0.1), (1, 8, 8, 8)), None),  # bookkeeping: no signature
    (_traced("reshape", dict(shape=(8, 64)), (1, 8, 64)), None),
    (_traced("getitem", dict(index=0), (1, 8, 8, 8)), None),
    (_traced("div", dict(scalar=2.0), (1, 8, 8, 8)), ("other", "div")),  # an importer-only op
])
def test_the_signatures_of_merges_and_bookkeeping(node: IRNode, signature: tuple[object, ...] | None) -> None:
    from convcost.runtime.importer.emit.blocks import ir_signature

    assert ir_signature(node) == signature


@pytest.mark.parametrize(("key", "signature"), [("add", ("add",)), ("scale", ("mul",)),
                                                ("concat", ("concat",)), ("mul", None)])
def test_a_merge_kind_declares_its_block_signature(key: str, signature: tuple[object, ...] | None) -> None:
    """A traced binary mul is the SE gate an expansion's ``scale`` says; the ``mul`` kind (a
    broadcasting product of two branches) adds no signature of its own."""
    declared = OPS[key].signature
    assert (declared(None) if declared else None) == signature
