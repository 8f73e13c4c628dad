"""Every import mapping a kind declares (cost/ops, ``imports``) is live in its front end: the
name exists in this torch / onnx, and the importer's table maps it to the kind's reader."""

from __future__ import annotations

import pytest

from convcost.cost.registry import IMPORT_RULES
from convcost.runtime.importer.export_trace import aten_rules, op_name
from convcost.runtime.importer.fx_ops import METHOD, foreign, function_rule, resolve, tables
from convcost.runtime.importer.onnx_ops import RULES


@pytest.mark.parametrize("name", sorted(IMPORT_RULES["modules"]))
def test_a_declared_module_is_read_by_fx(name: str) -> None:
    from torch import nn

    cls = resolve(name)
    assert isinstance(cls, type) and issubclass(cls, nn.Module), name
    assert tables().modules[cls] is IMPORT_RULES["modules"][name]


@pytest.mark.parametrize("name", sorted(IMPORT_RULES["functions"]))
def test_a_declared_function_is_read_by_fx(name: str) -> None:
    import torch

    rule = IMPORT_RULES["functions"][name]
    if name.startswith(METHOD):
        assert callable(getattr(torch.Tensor, name.removeprefix(METHOD)))
        assert tables().methods[name.removeprefix(METHOD)] is rule
    elif foreign(name):  # torchvision's fx-wrapped Swin functions: read by qualified name
        from convcost.runtime.importer.resolve import import_torchvision

        import_torchvision()
        assert callable(resolve(name)), name
        assert function_rule(resolve(name)) is rule
    else:
        assert callable(resolve(name)), name
        assert tables().functions[resolve(name)] is rule


@pytest.mark.parametrize("name", sorted(IMPORT_RULES["aten"]))
def test_a_declared_aten_op_is_read_by_export(name: str) -> None:
    import torch

    assert hasattr(torch.ops.aten, op_name(name).removeprefix("aten.")), name
    assert aten_rules()[op_name(name)] is IMPORT_RULES["aten"][name]


@pytest.mark.parametrize("name", sorted(IMPORT_RULES["dispatch"]))
def test_a_declared_dispatch_op_is_read_by_the_recorder(name: str) -> None:
    import torch

    from convcost.runtime.importer.record_ops import dispatch_rules

    assert hasattr(torch.ops.aten, op_name(name).removeprefix("aten.")), name
    assert dispatch_rules()[op_name(name)] is IMPORT_RULES["dispatch"][name]


@pytest.mark.parametrize("op_type", sorted(IMPORT_RULES["onnx"]))
def test_a_declared_onnx_op_type_is_read(op_type: str) -> None:
    defs = pytest.importorskip("onnx.defs")
    assert defs.has(op_type), op_type
    assert RULES[op_type] is IMPORT_RULES["onnx"][op_type]


def test_no_two_declared_names_are_one_torch_object() -> None:
    """``F.relu_`` is ``torch.relu_``: a name per object, else one reader silently wins."""
    objects = [resolve(name) for front in ("modules", "functions") for name in IMPORT_RULES[front]
               if not name.startswith(METHOD) and not foreign(name)]
    assert len({id(o) for o in objects}) == len(objects)
