"""Token composites: ``patch_embed`` (ViT, Swin, DeiT), an expander of
:data:`convcost.net.expand.EXPANDERS`: ``(expander, name, input shape, fields, path) -> node``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from convcost.cost.graph import Node
from convcost.cost.ops.channel_norm import LayerNorm
from convcost.cost.ops.reshape import Permute, Transpose
from convcost.cost.ops.views import Flatten
from convcost.cost.value import Shape

if TYPE_CHECKING:
    from convcost.net.expand import Expander


def patch_embed(e: Expander, name: str, x: Shape, f: Mapping[str, Any], path: str) -> Node:
    """``proj`` (conv k = s = patch, bias) to tokens: ``flatten`` (dims 2, 3) and ``transpose``
    to ``[N, H·W, C]`` (ViT), or ``permute`` to channels-last ``[N, H, W, C]`` (Swin,
    ``tokens: map``); then ``norm`` (LayerNorm over C) when ``norm``."""
    makers: list[Callable[[Shape], Node]] = [
        lambda s: e.conv_unit(f"{name}.proj", s, path, out=e.ch(f, path), kernel=f["patch"],
                              stride=f["patch"], padding=(0, 0), bias=f["bias"])]
    if f["tokens"] == "map":
        makers.append(lambda s: e.leaf(f"{name}.permute", Permute((0, 2, 3, 1)), s, path))
    else:
        makers += [lambda s: e.leaf(f"{name}.flatten", Flatten(2), s, path),
                   lambda s: e.leaf(f"{name}.transpose", Transpose(1, 2), s, path)]
    if f["norm"]:
        makers.append(lambda s: e.leaf(f"{name}.norm", LayerNorm(s[-1], last_dim=True), s, path))
    return e.block(name, "patch_embed", x, e.chain(x, makers), path)
