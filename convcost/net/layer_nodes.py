"""The four variants of the ``layer`` command as node trees, for memory, training and bench.

Built by the spec expander's own conv unit (conv, then BN when ``config.bn``), so the trees
carry exactly the costs of :func:`convcost.net.compare.compare`.
"""

from __future__ import annotations

from collections.abc import Callable

from convcost.cost.graph import Node, model_root
from convcost.cost.ops import Shape
from convcost.errors import ConvcostError, SpecError
from convcost.net.analysis import Analysis
from convcost.net.compare import LayerConfig
from convcost.net.expand import Expander, Scaling


def variant_nodes(config: LayerConfig) -> dict[str, Node]:
    """``standard``, ``depthwise``, ``pointwise`` (on the depthwise output) and ``separable``."""
    cfg, ex = config, Expander(Scaling())

    def unit(name: str, groups: int, out: int, pointwise: bool = False) -> Callable[[Shape], Node]:
        if pointwise:
            return lambda x: ex.conv_unit(name, x, "", out=out, bias=cfg.bias, bn=cfg.bn)
        return lambda x: ex.conv_unit(name, x, "", out=out, kernel=cfg.kernel, stride=cfg.stride,
                                      padding=cfg.padding, dilation=cfg.dilation,
                                      groups=groups, bias=cfg.bias, bn=cfg.bn)

    x = cfg.input_shape
    try:
        depthwise = unit("depthwise", cfg.in_channels, cfg.in_channels)(x)
        separable = ex.chain(x, [unit("separable.dw", cfg.in_channels, cfg.in_channels),
                                 unit("separable.pw", 1, cfg.out_channels, pointwise=True)])
        return {
            "standard": unit("standard", 1, cfg.out_channels)(x),
            "depthwise": depthwise,
            "pointwise": unit("pointwise", 1, cfg.out_channels, pointwise=True)(
                depthwise.output_shape),
            "separable": ex.block("separable", "separable", x, separable, ""),
        }
    except SpecError as err:
        raise ConvcostError(err.message) from None


def variant_counts(config: LayerConfig, count: Callable[[Node], int]) -> dict[str, int]:
    """Each variant's ``count`` (e.g. a convention's, BN included with ``config.bn``)."""
    return {name: count(node) for name, node in variant_nodes(config).items()}


def as_analysis(name: str, node: Node) -> Analysis:
    """A one-layer "model" around ``node`` (what :func:`convcost.runtime.build.build` takes)."""
    root = model_root(name, [node])
    return Analysis(name, node.input_shape, 1.0, root)
