"""The ATen ops the recorder sees (below autograd, after decomposition) -> IR ops, and the
NMS a CUDA build of torchvision lacks beside a CPU torch. torch is imported inside functions.

The rules are torch.export's (:func:`.export_trace.aten_rules`), plus the forms ops take at the
dispatch level: ``aten.convolution`` for every conv, ``aten.addmm``/``aten.mm`` for a linear
(when its weight is a parameter), ``aten.max_pool2d_with_indices``, ``aten.mean.dim`` with
negative dims. An op no rule names is ``recorded`` when torch's FlopCounterMode counts it no
FLOP (post-processing: NMS, top-k, sort, gather, index ops, box arithmetic), else ``opaque``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

from convcost.runtime.importer import fx_ops as r
from convcost.runtime.importer.export_trace import aten_rules

LINEAR_OPS = frozenset({"aten.addmm", "aten.mm"})  # a linear when the last matrix is a weight


def _convolution(c: r.Call) -> tuple[str, dict[str, Any]]:
    # aten.convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
    weight, groups, transposed = c.in_shapes[1], int(c.args[8]), bool(c.args[6])
    bias = c.args[2] is not None
    if transposed:
        return "conv_transpose", dict(
            in_channels=weight[0], out_channels=weight[1] * groups, kernel=tuple(weight[2:]),
            stride=r.pair(c.args[3]), padding=r.pair(c.args[4]), output_padding=r.pair(c.args[7]),
            groups=groups, dilation=r.pair(c.args[5]), bias=bias)
    return "conv", dict(in_channels=weight[1] * groups, out_channels=weight[0], kernel=tuple(weight[2:]),
                        stride=r.pair(c.args[3]), padding=r.pair(c.args[4]), dilation=r.pair(c.args[5]),
                        groups=groups, bias=bias)


def _linear(c: r.Call) -> tuple[str, dict[str, Any]]:
    # aten.addmm(bias, input, weight.t()) / aten.mm(input, weight.t())
    weight = c.in_shapes[-1]
    return "linear", dict(in_features=weight[0], out_features=weight[1], bias=len(c.in_shapes) > 2)


def _mean(c: r.Call) -> tuple[str, dict[str, Any]]:
    op, attrs = r.mean_rule(c)
    rank = len(c.in_shapes[0])
    return op, {**attrs, "dims": tuple(sorted(d % rank for d in attrs["dims"]))}


def _bilinear(c: r.Call) -> tuple[str, dict[str, Any]]:
    # aten.upsample_bilinear2d(input, output_size, align_corners, scales_h, scales_w)
    scale = c.args[3] if len(c.args) > 3 and c.args[3] == c.args[-1] else None
    return "interpolate", dict(mode="bilinear", size=tuple(c.shape[2:]), align_corners=bool(c.args[2]),
                               scale=r.scale_of(scale))


@cache
def dispatch_rules() -> Mapping[str, r.Rule]:
    """ATen op name (overload dropped) -> rule, as the recorder sees the ops."""
    return {**aten_rules(), "aten.convolution": _convolution, "aten.addmm": _linear, "aten.mm": _linear,
            "aten.max_pool2d_with_indices": r.f_pool_rule("max"), "aten.mean": _mean,
            "aten.upsample_bilinear2d": _bilinear, "aten.alias": r.same_rule("identity"),
            "aten.detach": r.same_rule("identity"), "aten._to_copy": r.same_rule("identity")}


def fcm_macs(func: Any, args: Any, kwargs: Any, out: Any) -> int:
    """What torch's FlopCounterMode counts for one op, in MACs (its FLOPs / 2)."""
    from torch.utils.flop_counter import flop_registry

    formula = flop_registry.get(func._overloadpacket)
    return int(formula(*args, **kwargs, out_val=out)) // 2 if formula is not None else 0


def _greedy_nms(boxes: Any, scores: Any, iou_threshold: float) -> Any:
    """torchvision's NMS (indices kept, by decreasing score), in plain torch ops."""
    import torch

    order = scores.argsort(descending=True)
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
    """``torchvision::nms`` defined with :func:`_greedy_nms` (once; the library stays alive)."""
    import torch

    library: Any = torch.library.Library("torchvision", "FRAGMENT")  # type: ignore[no-untyped-call]
    library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    library.impl("nms", _greedy_nms, "CPU")
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
