"""ONNX node -> IR op and hyper-parameters, one rule per op type. Pure: rules read plain data.

:data:`RULES` is the op kinds' declared ONNX op types (``imports.onnx`` of each kind in
``cost/ops``) plus the rules of importer-only ops. A rule gets an :class:`OnnxCall`
(attributes, input and output shapes, small constant inputs) and returns ``(op, attrs)``.
Weights are counted by :mod:`.onnx_read` from :data:`WEIGHTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from convcost.cost.imports import OnnxCall
from convcost.cost.registry import IMPORT_RULES, ONNX_WEIGHTS

__all__ = ["RULES", "WEIGHTS", "OnnxCall"]

Rule = Callable[[OnnxCall], tuple[str, dict[str, Any]]]


# -- the importer's own ops (ir.OWN_OPS): no op kind says them -----------------------------

def _split(c: OnnxCall) -> tuple[str, dict[str, Any]]:
    axis = int(c.attrs.get("axis", 0)) % len(c.shape)
    return "split", dict(dim=axis, sizes=tuple(s[axis] for s in c.shapes), shapes=c.shapes)


_RULES: Mapping[str, Rule] = {
    "Split": _split,
}

RULES: Mapping[str, Rule] = {**_RULES, **IMPORT_RULES["onnx"]}
WEIGHTS: Mapping[str, tuple[int, ...]] = ONNX_WEIGHTS  # op type -> inputs holding learnable weights
