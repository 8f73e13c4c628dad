"""The ATen ops the recorder sees (below autograd, after decomposition) -> IR ops, and the
NMS a CUDA build of torchvision lacks beside a CPU torch. torch is imported inside functions.

The rules are torch.export's (:func:`.export_trace.aten_rules`), plus the forms ops take at the
dispatch level, which the kinds declare (``imports.dispatch``): every conv as one op, a linear
as a matrix product (when its weight is a parameter), a max pool with its indices, a mean with
negative dims. An op no rule names is ``recorded`` when torch's FlopCounterMode counts it no
FLOP (post-processing: NMS, top-k, sort, gather, index ops, box arithmetic), else ``opaque``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

from convcost.cost.registry import IMPORT_KINDS, IMPORT_RULES
from convcost.runtime.importer import fx_ops as r
from convcost.runtime.importer.export_trace import aten_rules, op_name

# a linear when the last matrix is a weight: the linear kind's dispatch-level ops (aten.addmm, ...)
LINEAR_OPS = frozenset(name for name, key in IMPORT_KINDS["dispatch"].items() if key == "linear")


@cache
def dispatch_rules() -> Mapping[str, r.Rule]:
    """ATen op name (overload dropped) -> rule, as the recorder sees the ops: torch.export's,
    then the kinds' ``dispatch`` forms (``imports.dispatch`` in cost/ops)."""
    return {**aten_rules(), **{op_name(name): rule for name, rule in IMPORT_RULES["dispatch"].items()}}


def fcm_macs(func: Any, args: Any, kwargs: Any, out: Any) -> int:
    """What torch's FlopCounterMode counts for one op, in MACs (its FLOPs / 2)."""
    from torch.utils.flop_counter import flop_registry

    formula = flop_registry.get(func._overloadpacket)
    return int(formula(*args, **kwargs, out_val=out)) // 2 if formula is not None else 0


def greedy_nms(boxes: Any, scores: Any, iou_threshold: float) -> Any:
    """torchvision's NMS (indices kept, by decreasing score), in plain torch ops. Equal scores keep
    their index order (a stable sort, as torchvision's kernel sorts): which boxes survive never
    depends on how a sort breaks ties."""
    import torch

    order = scores.argsort(descending=True, stable=True)
    b = boxes[order]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    low = torch.maximum(b[:, None, :2], b[None, :, :2])
    high = torch.minimum(b[:, None, 2:], b[None, :, 2:])
    inter = (high - low).clamp(min=0).prod(dim=2)
    over = inter / (area[:, None] + area[None, :] - inter) > iou_threshold
    removed = torch.zeros(len(b), dtype=torch.bool)
    keep = []
    for i in range(len(b)):
        if not removed[i]:
            keep.append(i)
            removed |= over[i]
    return order[torch.tensor(keep, dtype=torch.long)]


@cache
def _nms_library() -> Any:
    """``torchvision::nms`` defined with :func:`greedy_nms` (once; the library stays alive)."""
    import torch

    library: Any = torch.library.Library("torchvision", "FRAGMENT")  # type: ignore[no-untyped-call]
    library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    library.impl("nms", greedy_nms, "CPU")
    return library


@contextmanager
def nms_available() -> Iterator[None]:
    """``torchvision.ops.nms`` working while the model runs, as one op ``torchvision.nms``.

    A torchvision whose C++ ops did not load (a CUDA build beside a CPU torch) has none: the
    op is then defined with a plain-torch kernel, and ``torchvision.ops.boxes.nms`` calls it."""
    import sys

    boxes: Any = sys.modules.get("torchvision.ops.boxes")
    extension: Any = sys.modules.get("torchvision.extension")
    if boxes is None or extension is None or extension._has_ops():
        yield
        return
    import torch

    ops: Any = torch.ops.torchvision
    if not hasattr(ops, "nms"):
        _nms_library()
    original = boxes.nms
    boxes.nms = lambda b, s, t: ops.nms(b, s, t)
    try:
        yield
    finally:
        boxes.nms = original
