"""The conventions' rows for Swin's window attention and patch merging (one dict per convention).

Each row was read from the tool and checked by running it on the kind's torch module and on
torchvision's own ``ShiftedWindowAttention``(``V2``) (tests/torch/test_swin.py): the
module calls ``F.linear`` with the weights of ``qkv`` and ``proj`` (never the modules), so thop
and torchinfo see no linear but V2's ``cpb_mlp``; ptflops sees the patched ``Tensor.matmul``
and ``F.softmax`` (V2's ``q·kᵀ`` is an unpatched ``@``) and V2's ``cpb_mlp`` modules, per image,
whose ``nn.ReLU`` also runs its patched ``F.relu``. timm's Swin V2 window attention
(``cosine_window_attention``) was checked the same way against timm's modules
(tests/torch/test_swin_v2.py). Pure: no torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from types import MappingProxyType

from convcost.conventions.convention import Rule
from convcost.conventions.formulas import paper, twice_paper, unsupported, zero, zeros
from convcost.cost.graph import Node
from convcost.cost.ops.swin import CPB_HIDDEN, ShiftedWindowAttention, effective, table_rows
from convcost.cost.ops.swin_v2 import CosineWindowAttention, bias_rows

_V1, _V2 = "shifted_window_attention", "shifted_window_attention_v2"
_FUNCTION = "shifted_window_attention (F.linear, Tensor.matmul: no module)"


def _sizes(node: Node) -> tuple[ShiftedWindowAttention, int, int, int]:
    """(op, padded tokens T = N·Hp·Wp (3-D ·Dp), window area, bias-table rows)."""
    op = node.op
    assert isinstance(op, ShiftedWindowAttention)
    window, _, padded = effective(op, node.input_shape)
    return op, node.input_shape[0] * math.prod(padded), math.prod(window), table_rows(op.window)


def cpb_linears(node: Node) -> int:
    # V2's cpb_mlp as nn.Linear modules (thop: in·numel(out)): table·(2·512 + 512·heads)
    op, _, _, table = _sizes(node)
    return table * (2 * CPB_HIDDEN + CPB_HIDDEN * op.heads)


def cpb_params(node: Node) -> int:
    # torchinfo: a Linear's mult-adds are its params here (one row of coordinates' batch):
    # 2·512 + 512 (bias) + 512·heads
    op = node.op
    assert isinstance(op, ShiftedWindowAttention)
    return 3 * CPB_HIDDEN + CPB_HIDDEN * op.heads


def swa_ptflops(node: Node) -> Fraction:
    # patched Tensor.matmul: T·w²·C per matmul (V1 both, V2 a·v only: its q·kᵀ is an unpatched @)
    # + F.softmax T·w²·heads; V2: F.relu table·512 + its modules per image:
    # table·512·(3 (Linear 2→512 with bias) + 1 (ReLU) + heads) / N
    op, tokens, area, table = _sizes(node)
    flops = Fraction((1 if op.cosine else 2) * tokens * area * op.channels + tokens * area * op.heads)
    if op.cosine:
        flops += table * CPB_HIDDEN + Fraction(table * CPB_HIDDEN * (4 + op.heads),
                                               node.input_shape[0])
    return flops


def fvcore_skipped(node: Node) -> dict[str, int]:
    """The aten ops fvcore reports unsupported inside one window attention (its jit trace of
    the kind's module), on A = 2 or 3 axes: the pad's sizes (per axis −(−s // w)·w − s: 2 neg,
    a mul, a sub), the scaling (V1 a pow and a mul; V2 the logit scale and 16·sigmoid: 2 mul),
    the bias add, softmax, the pad; V2's normalisation; the shifted windows' mask (when an axis
    shifts: the window count, A mul; 3^A regions filled, a sub, a ne and its add)."""
    op = node.op
    assert isinstance(op, ShiftedWindowAttention)
    axes, shifted = len(op.window), any(effective(op, node.input_shape)[1])
    ops = {"aten::neg": 2 * axes, "aten::sub": axes + shifted, "aten::pad": 1,
           "aten::add": 1 + shifted, "aten::softmax": 1,
           "aten::mul": axes + (2 if op.cosine else 1) + axes * shifted}
    if op.cosine:
        ops |= {"aten::linalg_vector_norm": 2, "aten::clamp_min": 2, "aten::expand_as": 2,
                "aten::div": 2, "aten::exp": 1, "aten::sigmoid": 1}
    else:
        ops |= {"aten::pow": 1}
    if shifted:
        ops |= {"aten::fill_": 3 ** axes, "aten::ne": 1}
    return ops


def _cwa(node: Node) -> tuple[CosineWindowAttention, int, int, int, int]:
    """(op, windows B, tokens n a window, channels C, the bias MLP's rows)."""
    op = node.op
    assert isinstance(op, CosineWindowAttention)
    b, n, c = node.input_shape
    return op, b, n, c, bias_rows(op)


def cwa_thop(node: Node) -> int:
    # nn.Linear modules, in·numel(out): proj B·n·C² (swinv2's qkv is F.linear: unseen; swinv2_cr
    # its nn.Linear, B·n·3C²) + the MLP rows·(2·h + h·heads); swinv2's nn.Softmax B·heads·n·(3n − 1)
    op, b, n, c, rows = _cwa(node)
    mlp = rows * (2 * op.hidden + op.hidden * op.heads)
    if op.variant == "swinv2":
        return b * n * c * c + mlp + b * op.heads * n * (3 * n - 1)
    return 4 * b * n * c * c + mlp


def cwa_ptflops(node: Node) -> Fraction:
    # module hooks, per image (/ B): Linear (in·out + out)·positions (swinv2_cr's qkv too), the
    # MLP's ReLU h·rows; plus per batch its patched F.relu h·rows and swinv2's nn.Softmax's
    # F.softmax B·heads·n²; the matmuls are unpatched @
    op, b, n, c, rows = _cwa(node)
    h, heads = op.hidden, op.heads
    linears = (c * c + c) * b * n + (3 * c * c + 3 * c) * b * n * (op.variant == "swinv2_cr")
    mlp = rows * (3 * h + h + h * heads + heads * (op.variant == "swinv2_cr"))
    extra = b * heads * n * n if op.variant == "swinv2" else 0
    return Fraction(linears + mlp, b) + h * rows + extra


def cwa_torchinfo(node: Node) -> int:
    # each nn.Linear: out.shape[0]·(weight + bias): proj (swinv2_cr's qkv too) B·(C² + C), the
    # MLP's on its coordinates (swinv2 [1, ..]: once; swinv2_cr [n², 2]: n² rows)
    op, b, _, c, rows = _cwa(node)
    h, heads = op.hidden, op.heads
    if op.variant == "swinv2":
        return b * (c * c + c) + 3 * h + h * heads
    return b * (4 * c * c + 4 * c) + rows * (3 * h + h * heads + heads)


_CWA = "cosine_window_attention"


def _cwa_rows() -> dict[str, dict[str, Rule]]:
    linear = "aten::linear, aten::matmul"
    return {
        "paper": {_CWA: Rule(paper, "T·(4·C² + 2·n·C) + the bias MLP rows·(2·h + h·heads)")},
        "fvcore": {_CWA: Rule(paper, "its linears (the MLP's too) and matmuls", tool_op=linear)},
        "thop": {_CWA: Rule(cwa_thop, "its nn.Linear modules (swinv2: not qkv, an F.linear) and "
                            "swinv2's nn.Softmax", tool_op="nn.Linear")},
        "ptflops": {_CWA: Rule(cwa_ptflops, "Linear and ReLU hooks per image, patched F.relu "
                               "(swinv2: and F.softmax) per batch; @ unpatched",
                               tool_op="nn.Linear")},
        "torchinfo": {_CWA: Rule(cwa_torchinfo, "out.shape[0]·params of each nn.Linear called",
                                 tool_op="nn.Linear")},
        "torch": {_CWA: Rule(twice_paper, "2·paper (aten::mm, aten::bmm)", tool_op="aten::bmm")},
    }


def _rows() -> dict[str, dict[str, Rule]]:
    fvcore_op = "aten::linear, aten::matmul"
    return {
        "paper": {_V1: Rule(paper, "T·(4·C² + 2·wh·ww·C), T the padded tokens (3-D: ·wd, "
                                   "each w narrowed to the map)"),
                  _V2: Rule(paper, "V1's + cpb_mlp table·(2·512 + 512·heads)"),
                  **zeros("0: a copy", patch_merge="")},
        "fvcore": {_V1: Rule(paper, "its F.linear and matmuls", tool_op=fvcore_op,
                             skipped=fvcore_skipped),
                   _V2: Rule(paper, "its F.linear, matmuls and cpb_mlp", tool_op=fvcore_op,
                             skipped=fvcore_skipped),
                   **unsupported(patch_merge="aten::pad")},  # its slices and cat: ignored as free
        "thop": {**unsupported(**{_V1: _FUNCTION}),
                 _V2: Rule(cpb_linears, "cpb_mlp's nn.Linear only: table·(2·512 + 512·heads)",
                           tool_op="nn.Linear"),
                 **zeros("0: no module", patch_merge="")},
        "ptflops": {key: Rule(swa_ptflops, "patched Tensor.matmul and F.softmax (+ V2's "
                              "cpb_mlp modules per image and F.relu)", tool_op="Tensor.matmul")
                    for key in (_V1, _V2)} | zeros("0: no module", patch_merge=""),
        "torchinfo": {_V1: Rule(zero, "0: qkv and proj never called", "zero", "nn.Linear"),
                      _V2: Rule(cpb_params, "cpb_mlp's Linear params (its mult-adds)",
                                tool_op="nn.Linear"),
                      **zeros("0: no weight", patch_merge="")},
        "torch": {key: Rule(twice_paper, "2·paper (aten::mm, aten::bmm)", tool_op="aten::bmm")
                  for key in (_V1, _V2)} | zeros("0: not a matmul", patch_merge=""),
    }


ROWS: Mapping[str, Mapping[str, Rule]] = MappingProxyType(
    {name: {**rows, **_cwa_rows()[name]} for name, rows in _rows().items()})
"""convention name -> its rows for this family."""
