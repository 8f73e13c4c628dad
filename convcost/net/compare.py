"""One layer config, four ways: standard, depthwise, pointwise and separable (dw + pw)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from convcost.cost.ops.conv import Conv2d, conv2d, resolve_padding
from convcost.cost.value import LayerCost, Padding, Pair
from convcost.errors import ConvcostError, ShapeError


@dataclass(frozen=True)
class LayerConfig:
    """A convolution as the ``layer`` command states it (α and ρ already applied)."""

    in_channels: int
    out_channels: int
    kernel: Pair
    height: int
    width: int
    stride: Pair = (1, 1)
    padding: Padding | str = "auto"
    dilation: Pair = (1, 1)
    bias: bool = False
    bn: bool = False
    batch: int = 1

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_channels, self.height, self.width)


def scaled_config(
    cin: int, cout: int, kernel: Pair, height: int, width: int, *, alpha: float = 1.0,
    rho: float = 1.0, **options: object,
) -> LayerConfig:
    """Apply the width multiplier (``int(c·α)``, as in the paper) and ρ (rounded) to H and W."""
    for flag, value in (("--alpha", alpha), ("--rho", rho)):
        if not (math.isfinite(value) and value > 0):  # nan and inf would crash int()/round()
            raise ConvcostError(f"{flag}: must be a finite number > 0, got {value:g}")
    scaled = {"--cin": int(cin * alpha), "--cout": int(cout * alpha),
              "--h": round(height * rho), "--w": round(width * rho)}
    for flag, value in scaled.items():
        if value < 1:
            raise ConvcostError(f"{flag}: must be ≥ 1 after α/ρ scaling, got {value}")
    return LayerConfig(scaled["--cin"], scaled["--cout"], kernel, scaled["--h"], scaled["--w"],
                       **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Comparison:
    config: LayerConfig
    standard: LayerCost
    depthwise: LayerCost
    pointwise: LayerCost

    @property
    def separable(self) -> LayerCost:
        return LayerCost(self.depthwise.params + self.pointwise.params,
                         self.depthwise.macs + self.pointwise.macs, self.pointwise.output_shape)

    @property
    def macs_ratio(self) -> Fraction:
        return Fraction(self.separable.macs, self.standard.macs)

    @property
    def params_ratio(self) -> Fraction:
        return Fraction(self.separable.params, self.standard.params)

    @property
    def theory(self) -> Fraction:
        """``1/N + 1/K²``: N = out channels, K² = kh·kw."""
        kernel = self.config.kernel
        return Fraction(1, self.config.out_channels) + Fraction(1, kernel[0] * kernel[1])

    def rows(self) -> dict[str, LayerCost]:
        return {"standard": self.standard, "depthwise": self.depthwise,
                "pointwise": self.pointwise, "separable": self.separable}


def _with_bn(result: LayerCost, enabled: bool) -> LayerCost:
    if not enabled:
        return result
    return LayerCost(result.params + 2 * result.output_shape[1], result.macs, result.output_shape)


def compare(config: LayerConfig) -> Comparison:
    """Cost the standard conv and its depthwise separable factorisation."""
    cfg = config
    padding = resolve_padding(cfg.padding, cfg.kernel, cfg.dilation)
    x = cfg.input_shape
    try:
        standard = conv2d(Conv2d(cfg.in_channels, cfg.out_channels, cfg.kernel, cfg.stride,
                                 padding, cfg.dilation, 1, cfg.bias), x)
        depthwise = conv2d(Conv2d(cfg.in_channels, cfg.in_channels, cfg.kernel, cfg.stride,
                                  padding, cfg.dilation, cfg.in_channels, cfg.bias), x)
        pointwise = conv2d(Conv2d(cfg.in_channels, cfg.out_channels, (1, 1), bias=cfg.bias),
                           depthwise.output_shape)
    except ShapeError as err:
        raise ConvcostError(str(err)) from None
    return Comparison(cfg, _with_bn(standard, cfg.bn), _with_bn(depthwise, cfg.bn),
                      _with_bn(pointwise, cfg.bn))


def layer_cost(
    in_channels: int, out_channels: int, kernel_size: int | Pair, height: int,
    width: int | None = None, **options: object,
) -> Comparison:
    """Cost one convolution as standard, depthwise, pointwise and separable (the API form)."""
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    config = LayerConfig(in_channels, out_channels, kernel, height,
                         height if width is None else width, **options)  # type: ignore[arg-type]
    return compare(config)
