"""The figures the options add to an analysis (``--memory``, the roofline, ``--training``),
computed before any view is built: for a network, and for the variants of one layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # each loads only when its figure is asked for (model's fast path)
    from convcost.cost.graph import Node
    from convcost.cost.memory import ModelMemory
    from convcost.cost.roofline import ModelEstimate, Roofline
    from convcost.cost.training import Training
    from convcost.net.compare import LayerConfig


@dataclass(frozen=True)
class FigureRequest:
    """What to compute: memory at ``dtype`` (BN folded under ``fuse_bn``), a roofline
    estimate on ``roofline``, backward MACs."""

    memory: bool = False
    dtype: str = "float32"
    fuse_bn: bool = False
    roofline: Roofline | None = None
    training: bool = False


@dataclass(frozen=True)
class ModelFigures:
    """One network's figures: each None when not asked for."""

    memory: ModelMemory | None = None
    estimate: ModelEstimate | None = None
    training: Training | None = None


@dataclass(frozen=True)
class LayerFigures:
    """The figures of each variant of one layer (``layer``): variant name -> figures."""

    nodes: dict[str, Node] = field(default_factory=dict)
    memory: dict[str, ModelMemory] | None = None
    estimates: dict[str, ModelEstimate] | None = None
    training: dict[str, Training] | None = None


def model_figures(root: Node, request: FigureRequest) -> ModelFigures:
    if not (request.memory or request.training):
        return ModelFigures()
    from convcost.cost.memory import model_memory
    from convcost.cost.roofline import model_estimate
    from convcost.cost.training import training

    mem = model_memory(root, request.dtype, request.fuse_bn) if request.memory else None
    est = model_estimate(mem, request.roofline) if mem is not None and request.roofline else None
    return ModelFigures(mem, est, training(root) if request.training else None)


def layer_figures(config: LayerConfig, request: FigureRequest) -> LayerFigures:
    if not (request.memory or request.training):
        return LayerFigures()
    from convcost.cost.memory import model_memory
    from convcost.cost.roofline import model_estimate
    from convcost.cost.training import training
    from convcost.net.layer_nodes import variant_nodes

    nodes = variant_nodes(config)
    mems = ests = results = None
    if request.memory:
        mems = {name: model_memory(node, request.dtype, request.fuse_bn) for name, node in nodes.items()}
        roof = request.roofline
        ests = {name: model_estimate(m, roof) for name, m in mems.items()} if roof else None
    if request.training:
        results = {name: training(node, input_needs_grad=True) for name, node in nodes.items()}
    return LayerFigures(nodes, mems, ests, results)
