"""``recorded``: ops a model ran that hold no MAC and no kind expresses (written by the recorder).

When neither torch.fx nor torch.export can trace a model (data-dependent control flow,
detection post-processing, iterative refinement), convcost records the ops as the model runs
(:mod:`convcost.runtime.importer.record`). A run of those ops that no kind expresses and in
which no op multiplies-accumulates (NMS, top-k, sort, gather, index ops, box arithmetic,
reshapes to 3-D) is one ``recorded`` layer: its ops are listed (``name ×count``, as an
``opaque`` layer's), its full output shape and its parameters were measured, and it counts
0 MACs under every convention, exactly: torch's FlopCounterMode counts none of its ops. Unlike
``opaque`` it leaves the totals complete. The shape holds for the recorded input only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from convcost.cost.opkind import Field, OpKind, SpecKind, fields
from convcost.cost.ops.opaque import StandIn, lower_stand_in, stand_in
from convcost.cost.value import LayerCost, Shape

CLASS = "recorded (ran, no MACs: post-processing, index and shape ops)"


@dataclass(frozen=True)
class Recorded(StandIn):
    """The ops listed, the measured output shape (batch included) and parameters."""

    key: ClassVar[str] = "recorded"
    batch_first: ClassVar[bool] = False


_POSTPROCESS = ("nms", "topk", "sort", "gather", "index", "nonzero", "where", "unique", "roi")


def postprocessing_first(ops: Mapping[str, int]) -> dict[str, int]:
    """The ops of a recorded layer, post-processing first (NMS, top-k, sort, gather, index),
    then by count: a long list ends ``other ops ×N`` (:func:`.opaque.describe`)."""
    return dict(sorted(ops.items(), key=lambda item: (
        not any(word in item[0] for word in _POSTPROCESS), -item[1])))


def recorded(op: Recorded, x: Shape) -> LayerCost:
    # [...] -> shape, as measured (a detector's [K, 4] boxes too); no MACs: none of its ops has any
    return LayerCost(op.params, 0, op.shape)


RECORDED = OpKind(
    Recorded, recorded, stand_in, {"recorded": CLASS}, learnable=True, variadic=True,
    spec=SpecKind(fields(
        op=Field("text", doc="the ops that ran here, `name ×count, ...`"),
        output_shape=Field("ints", minimum=0, doc="measured output shape, batch included "
                           "(a detector's boxes: [K, 4]); it holds for the recorded input only"),
        params=Field("int", 0, minimum=0, doc="measured parameters"),
    ), "written by the recorder (`convcost import` of a model neither torch.fx nor torch.export "
       "traces) for ops that ran, hold **no MACs** and fit no kind (NMS, top-k, sort, gather, "
       "index ops, box arithmetic): listed, 0 MACs under every convention, the totals stay "
       "complete; reads every tensor the ops read; built as a stand-in holding `params` "
       "parameters"),
    lower=lower_stand_in(Recorded),
)

KINDS = (RECORDED,)
