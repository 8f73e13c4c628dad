"""Property tests: the analytic conv formula against a real ``torch.nn.Conv2d``, fvcore and
``FlopCounterMode``, and the separable ratio against the theory ``1/N + 1/K²``.

torch and fvcore are imported inside the tests only: the package never needs them.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

from helpers import ConvCase, conv_cases, examples
from hypothesis import given, settings

from convcost.cost.ops import Conv2d, Pair
from convcost.cost.ops.conv import conv2d
from convcost.net.compare import LayerConfig, compare


def _torch_conv(op: Conv2d) -> Any:
    import torch

    return torch.nn.Conv2d(op.in_channels, op.out_channels, op.kernel, op.stride, op.padding,
                           op.dilation, op.groups, op.bias)


def _fvcore_twin(conv: Any, op: Conv2d) -> Any:
    """What fvcore can count. It counts torch's string padding (``aten::_convolution_mode``) as 0,
    so ``same`` becomes torch's explicit padding: d·(k-1) in all, the odd pixel right/bottom."""
    import torch

    if op.padding != "same":
        return conv
    (kh, kw), (dh, dw) = op.kernel, op.dilation
    th, tw = dh * (kh - 1), dw * (kw - 1)
    pads = (tw // 2, tw - tw // 2, th // 2, th - th // 2)  # left, right, top, bottom
    twin = _torch_conv(Conv2d(op.in_channels, op.out_channels, op.kernel, op.stride, (0, 0),
                              op.dilation, op.groups, op.bias))
    return torch.nn.Sequential(torch.nn.ZeroPad2d(pads), twin)


@dataclass(frozen=True)
class TorchCount:
    output_shape: tuple[int, ...]
    params: int
    fvcore_macs: int
    counter_flops: int


def _torch_count(case: ConvCase) -> TorchCount:
    """Build the conv, run it on zeros and count it with FlopCounterMode and fvcore."""
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fvcore's import-time jit.script, 'same' with even kernels
        import torch
        from fvcore.nn import FlopCountAnalysis
        from torch.utils.flop_counter import FlopCounterMode

        conv = _torch_conv(case.op)
        x = torch.zeros(case.input_shape)
        with torch.no_grad():
            with FlopCounterMode(display=False) as counter:
                y = conv(x)
            twin = _fvcore_twin(conv, case.op)
            assert tuple(twin(x).shape) == tuple(y.shape)
            fvcore = FlopCountAnalysis(twin, x)
            fvcore_macs = fvcore.unsupported_ops_warnings(False).uncalled_modules_warnings(False).total()
    return TorchCount(tuple(y.shape), sum(p.numel() for p in conv.parameters()), fvcore_macs,
                      counter.get_total_flops())


@settings(max_examples=examples(300), deadline=None)
@given(conv_cases())
def test_conv_matches_torch_and_fvcore(case: ConvCase) -> None:
    got = conv2d(case.op, case.input_shape)
    torch_count = _torch_count(case)
    assert got.output_shape == torch_count.output_shape
    assert got.params == torch_count.params
    assert got.macs == torch_count.fvcore_macs  # fvcore: one per multiply-accumulate, no bias
    assert got.macs == torch_count.counter_flops // 2
    assert got.flops == torch_count.counter_flops


def _as_layer(case: ConvCase) -> LayerConfig:
    op = case.op
    return LayerConfig(op.in_channels, op.out_channels, op.kernel, case.height, case.width,
                       op.stride, op.padding, op.dilation, batch=case.batch)


@settings(max_examples=examples(300), deadline=None)
@given(conv_cases())
def test_separable_ratio_is_theory(case: ConvCase) -> None:
    cmp = compare(_as_layer(case))  # no bias, no BN
    assert cmp.macs_ratio == cmp.theory
    assert cmp.params_ratio == cmp.theory  # (M·K² + M·N) / (N·M·K²) = 1/N + 1/K² as well
    kernel: Pair = case.op.kernel
    assert cmp.standard.macs == cmp.separable.macs * case.op.out_channels * kernel[0] * kernel[1] // (
        kernel[0] * kernel[1] + case.op.out_channels)
