"""How the MAC-free norms are read and emitted, without torch: F.normalize's fields, ONNX's
LpNormalization, and the calls no spec field says (they stay opaque)."""

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
