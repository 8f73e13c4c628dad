"""convcost: exact FLOPs, MACs and parameters of convolutional networks.

The public API imports no torch::

    spec = convcost.load_spec("specs/mobilenet_v1.yaml")
    result = convcost.analyze(spec, alpha=0.5, resolution=160)
    result.totals.macs
"""

from .analysis import Analysis, Totals, analyze
from .compare import Comparison, LayerConfig, compare
from .errors import ConvcostError, SpecError
from .formulas import LayerCost
from .spec import Spec, load_spec

__version__ = "0.1.0"


def layer_cost(
    in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], height: int,
    width: int | None = None, **options: object,
) -> Comparison:
    """Cost one convolution as standard, depthwise, pointwise and separable."""
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    config = LayerConfig(in_channels, out_channels, kernel, height,
                         height if width is None else width, **options)  # type: ignore[arg-type]
    return compare(config)


__all__ = [
    "Analysis", "Comparison", "ConvcostError", "LayerConfig", "LayerCost", "Spec", "SpecError",
    "Totals", "analyze", "compare", "layer_cost", "load_spec",
]
