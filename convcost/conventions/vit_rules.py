"""The conventions' rows for the ViT variants' zero-MAC ops (one dict per convention): a pad of
``-inf`` (timm's ``MaxPool2dSame``: ``nn.ConstantPad2d``, which thop and ptflops do not know,
unlike its subclass ``nn.ZeroPad2d``).

Each row was read from the tool and checked by running it on the kind's torch module
(tests/torch/test_conventions.py, the zoo). Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import unsupported, zeros

_CONSTANT_PAD = "nn.ConstantPad2d"


def _rows() -> dict[str, dict[str, Rule]]:
    return {
        "paper": zeros("0: a copy", pad_value=""),
        "fvcore": unsupported(pad_value="aten::pad"),
        "thop": unsupported(pad_value=_CONSTANT_PAD),
        "ptflops": unsupported(pad_value=_CONSTANT_PAD),
        "torchinfo": zeros("0: no parameters", pad_value=""),
        "torch": zeros("0: not a matmul, conv or attention op", pad_value=""),
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(_rows())
"""convention name -> its rows for these kinds."""
