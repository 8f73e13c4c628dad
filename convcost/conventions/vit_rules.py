"""The conventions' rows for the ViT variants' zero-MAC ops (one dict per convention): a pad of
``-inf`` (timm's ``MaxPool2dSame``: ``nn.ConstantPad2d``, which thop and ptflops do not know,
unlike its subclass ``nn.ZeroPad2d``); ``unfold`` and ``fold`` (``nn.Unfold``/``nn.Fold``: fvcore
reports ``aten::im2col``/``aten::col2im`` unsupported; no rule of thop or ptflops); ``max``
(``x.max(dim)[0]``: fvcore ignores ``aten::max`` as free; thop has no rule for the module,
ptflops does not patch ``Tensor.max``); a bicubic ``nn.Upsample`` (CrossViT's input resize:
fvcore has no handle for ``aten::upsample_bicubic2d``, thop's ``count_upsample`` counts
(224 + 35)·numel of the output, ptflops its upsample hook and patched ``F.interpolate``); a pad of
the map's own pixels (``pad_mode``: timm's ``BlurPool2d`` pads by reflection;
``nn.ReflectionPad2d`` and its kin, unknown to thop and ptflops too); ``sliding``,
``repeat_interleave`` and ``expand`` (``x.unfold``, ``x.repeat_interleave``, ``x.expand`` in
forward: fvcore reports ``aten::unfold``/``aten::repeat_interleave`` unsupported and ignores
``aten::expand``; no module of thop's, ptflops' or torchinfo's, no MACs of FlopCounterMode's).

Each row was read from the tool and checked by running it on the kind's torch module
(tests/torch/test_conventions.py, the zoo). Pure: no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import numel_out, ptflops_upsample, unsupported, zeros
from convcost.conventions.rope_rules import ROWS as ROPE_ROWS
from convcost.cost.graph import Node

_CONSTANT_PAD = "nn.ConstantPad2d"
_MODE_PAD = "nn.ReflectionPad2d, nn.ReplicationPad2d, nn.CircularPad2d"


def thop_bicubic(node: Node) -> int:
    # thop's calculate_upsample for bicubic: numel(out)·(224 + 35) (solving A: 128 muls + 96
    # adds, then p: 16 + 12 + 4 + 3)
    return 259 * numel_out(node)


def _rows() -> dict[str, dict[str, Rule]]:
    free = dict.fromkeys(("pad_value", "pad_mode", "unfold", "fold", "max", "upsample_bicubic",
                          "sliding", "repeat_interleave", "expand"), "")
    modules = dict(pad_value=_CONSTANT_PAD, pad_mode=_MODE_PAD, unfold="nn.Unfold", fold="nn.Fold",
                   sliding="TensorMethod (x.unfold)",
                   repeat_interleave="TensorMethod (x.repeat_interleave)",
                   expand="TensorMethod (x.expand)")
    return {
        "paper": zeros("0: a copy", **free) | zeros("0: a view", sliding="", expand=""),
        "fvcore": unsupported(pad_value="aten::pad", pad_mode="aten::pad", unfold="aten::im2col",
                              fold="aten::col2im", upsample_bicubic="aten::upsample_bicubic2d",
                              sliding="aten::unfold", repeat_interleave="aten::repeat_interleave")
        | zeros("0: ignored as free", max="aten::max", expand="aten::expand"),
        "thop": unsupported(**modules, max="MaxModule (x.max)")
        | {"upsample_bicubic": Rule(thop_bicubic, "259·numel of the output (count_upsample)",
                                    tool_op="nn.Upsample")},
        "ptflops": unsupported(**modules, max="x.max (not patched)")
        | {"upsample_bicubic": Rule(ptflops_upsample, "hook numel(out) / N², plus patched "
                                    "F.interpolate: numel(out) by size, numel(in)·s² by scale "
                                    "(float)", tool_op="nn.Upsample")},
        "torchinfo": zeros("0: no parameters", **free),
        "torch": zeros("0: not a matmul, conv or attention op", **free),
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(
    {name: {**rows, **ROPE_ROWS[name]} for name, rows in _rows().items()})
"""convention name -> its rows for these kinds (and ``rope``'s, conventions/rope_rules.py)."""
