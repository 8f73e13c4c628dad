"""The conventions' rows for the ViT variants' zero-MAC ops (one dict per convention): a pad of
``-inf`` (timm's ``MaxPool2dSame``: ``nn.ConstantPad2d``, which thop and ptflops do not know,
unlike its subclass ``nn.ZeroPad2d``); ``unfold`` and ``fold`` (``nn.Unfold``/``nn.Fold``: fvcore
reports ``aten::im2col``/``aten::col2im`` unsupported; no rule of thop or ptflops); a pad of the
map's own pixels (``pad_mode``: timm's ``BlurPool2d`` pads by reflection; ``nn.ReflectionPad2d``
and its kin, unknown to thop and ptflops too).

Each row was read from the tool and checked by running it on the kind's torch module
(tests/torch/test_conventions.py, the zoo). Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import unsupported, zeros

_CONSTANT_PAD = "nn.ConstantPad2d"
_MODE_PAD = "nn.ReflectionPad2d, nn.ReplicationPad2d, nn.CircularPad2d"


def _rows() -> dict[str, dict[str, Rule]]:
    free = dict.fromkeys(("pad_value", "pad_mode", "unfold", "fold"), "")
    modules = dict(pad_value=_CONSTANT_PAD, pad_mode=_MODE_PAD, unfold="nn.Unfold", fold="nn.Fold")
    return {
        "paper": zeros("0: a copy", **free),
        "fvcore": unsupported(pad_value="aten::pad", pad_mode="aten::pad", unfold="aten::im2col",
                              fold="aten::col2im"),
        "thop": unsupported(**modules),
        "ptflops": unsupported(**modules),
        "torchinfo": zeros("0: no parameters", **free),
        "torch": zeros("0: not a matmul, conv or attention op", **free),
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(_rows())
"""convention name -> its rows for these kinds."""
