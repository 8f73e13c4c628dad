"""``convcost layer --attention``: the conv against a self-attention block at the same input."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from convcost.cli import options as opts
from convcost.cli.emit import emit
from convcost.errors import ConvcostError
from convcost.net.compare import LayerConfig

Attention = Annotated[bool, typer.Option(
    "--attention", rich_help_panel=opts.SHAPE,
    help="compare the standard and separable conv with a self-attention block (tokens = H·W) "
         "at the same input: params, MACs, activations, crossover resolution")]
Heads = Annotated[int, typer.Option("--heads", min=1, rich_help_panel=opts.SHAPE,
                                    help="--attention: heads (divide --cin)")]
KvStride = Annotated[int, typer.Option(
    "--kv-stride", min=1, rich_help_panel=opts.SHAPE,
    help="--attention: keys/values downsampled by a depthwise 3×3 conv of this stride")]


def attention_layer(config: LayerConfig, heads: int, kv_stride: int, fmt: str,
                    output: Path | None) -> None:
    """Render the three blocks of ``config`` (its conv shape at stride 1) in ``fmt``."""
    from convcost.net.attention_compare import AttentionConfig, compare_attention
    from convcost.report.attention_view import attention_output
    from convcost.report.render import render

    kh, kw = config.kernel
    if kh != kw or config.stride != (1, 1) or config.dilation != (1, 1) or config.bias or config.bn:
        raise ConvcostError("--attention compares a square kernel at stride 1, no dilation, "
                            "bias or BN: drop --stride/--dilation/--bias/--bn")
    cfg = AttentionConfig(config.in_channels, config.out_channels, kh, config.height,
                          config.width, heads, kv_stride, config.batch)
    cmp = compare_attention(cfg)
    emit(render(attention_output(cmp), fmt), output)
