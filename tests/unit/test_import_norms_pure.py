"""How the MAC-free ops are read and emitted, without torch: F.normalize's fields, ONNX's
LpNormalization, a strided slice of several dims (LeViT's subsample), and the calls no spec field
says (they stay opaque)."""

from __future__ import annotations

from typing import Any

import pytest

from convcost.cost.imports import OnnxCall, TorchCall
from convcost.cost.registry import IMPORT_RULES, OPS
from convcost.runtime.importer.ir import IRNode, frozen

X = (2, 4, 8, 16)


def _call(*args: Any, **kwargs: Any) -> TorchCall:
    return TorchCall(None, (None, *args), kwargs, (X,), X, (X,))


@pytest.mark.parametrize(("call", "fields"), [
    (_call(), dict(p=2.0, dim=1)),  # F.normalize's defaults
    (_call(dim=-1), dict(p=2.0, dim=-1)),  # XCiT: F.normalize(q, dim=-1)
    (_call(1.0, 2), dict(p=1.0, dim=2)),
])
def test_f_normalize_is_read(call: TorchCall, fields: dict[str, Any]) -> None:
    assert IMPORT_RULES["functions"]["torch.nn.functional.normalize"](call) == ("normalize", fields)


def test_onnx_lp_normalization_is_read() -> None:
    call = OnnxCall("LpNormalization", {"axis": 1, "p": 1}, (X,), (None,), (X,))
    assert IMPORT_RULES["onnx"]["LpNormalization"](call) == ("normalize", dict(p=1, dim=1))


@pytest.mark.parametrize(("attrs", "layers"), [
    (dict(p=2.0, dim=-1), [{"kind": "normalize", "dim": -1}]),
    (dict(p=1, dim=1), [{"kind": "normalize", "dim": 1, "p": 1.0}]),
    (dict(p=float("inf"), dim=1), None),  # the max norm: no field says it
    (dict(p=2.0, dim=0), None),  # over the batch
    (dict(p=2.0, dim=4), None),  # past the rank
])
def test_normalize_is_emitted(attrs: dict[str, Any], layers: list[dict[str, Any]] | None) -> None:
    node = IRNode("y", "normalize", "m", ("x",), X, attrs=frozen(attrs))
    emit = OPS["normalize"].imports.emit
    assert emit is not None and emit(node, X) == layers


_FULL, _HALF = slice(None), slice(None, None, 2)


@pytest.mark.parametrize(("index", "shape", "fields"), [
    # LeViT's x.view(B, 14, 14, C)[:, ::2, ::2]: rows then columns, 0 to 14 by 2
    ((_FULL, _HALF, _HALF), (1, 14, 14, 128), dict(axes=((1, 0, 14, 2), (2, 0, 14, 2)))),
    ((Ellipsis, slice(1, None), slice(None, 5)), (1, 8, 7, 7), dict(axes=((2, 1, 7, 1), (3, 0, 5, 1)))),
    ((_FULL, _HALF), (1, 14, 14, 128), None),  # one dim: channel_slice's
    ((_FULL, _HALF, 0), (1, 14, 14, 128), None),  # an index: no slice
    ((slice(1, None), _HALF, _HALF), (2, 14, 14, 128), None),  # the batch
    ((_FULL, slice(3, 3), _HALF), (1, 14, 14, 128), None),  # empty
])
def test_a_slice_of_several_dims_is_read(index: Any, shape: tuple[int, ...],
                                        fields: dict[str, Any] | None) -> None:
    from convcost.runtime.importer.fx_ops import axis_slices

    assert axis_slices(index, shape) == fields


@pytest.mark.parametrize(("attrs", "layers"), [
    (dict(axes=((1, 0, 14, 2), (2, 0, 14, 2))),
     [{"kind": "slice", "start": 0, "step": 2}, {"kind": "slice", "start": 0, "dim": 2, "step": 2}]),
    (dict(dim=2, start=1, end=13, step=3), [{"kind": "slice", "start": 1, "dim": 2, "step": 3, "end": 13}]),
    (dict(axes=((1, 0, 14, 1), (2, 0, 7, 1))), [{"kind": "slice", "start": 0, "dim": 2, "end": 7}]),
    (dict(axes=((1, 0, 14, 2), (4, 0, 14, 2))), None),  # past the rank
])
def test_a_strided_slice_is_emitted(attrs: dict[str, Any], layers: list[dict[str, Any]] | None) -> None:
    x = (1, 14, 14, 128)
    node = IRNode("y", "slice", "m", ("x",), x, attrs=frozen(attrs))
    emit = OPS["slice"].imports.emit
    assert emit is not None and emit(node, x) == layers
