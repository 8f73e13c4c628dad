"""torch.fx's ShapeProp as the importer runs it (torch imported inside functions only)."""

from __future__ import annotations

from typing import Any

SIZES = "convcost_sizes"
"""The fx node meta key of the int or list of ints a node computed (see :func:`shape_prop`)."""


def shape_prop() -> Any:
    """ShapeProp giving each called function lists it may change (fx hands a wrapped function
    its list arguments as immutable lists, which torchvision's ``_get_window_and_shift_size``
    assigns into: Swin3D), and keeping the lists of ints the nodes compute (``SIZES``)."""
    from torch.fx.immutable_collections import immutable_list
    from torch.fx.passes.shape_prop import ShapeProp

    def mutable(value: Any) -> Any:
        return list(value) if isinstance(value, immutable_list) else value

    class MutableArgsShapeProp(ShapeProp):
        def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
            return super().call_function(target, tuple(map(mutable, args)),
                                         {k: mutable(v) for k, v in kwargs.items()})

        def run_node(self, n: Any) -> Any:
            result = super().run_node(n)
            if isinstance(result, list | tuple) and result and all(type(v) is int for v in result):
                n.meta[SIZES] = tuple(result)
            elif type(result) is int:  # one size (torchvision MViT's T, H, W = x.shape[2:])
                n.meta[SIZES] = result
            return result

    return MutableArgsShapeProp


def resolved(arg: Any) -> Any:
    """``arg`` with each fx node that computed an int or a list of ints (``SIZES``) as that value:
    HaloNet's ``x_pad[:, :W, win_size - 1:]`` of sizes traced from tensors, Swin3D's window."""
    from torch.fx.node import map_arg

    return map_arg(arg, lambda n: n.meta.get(SIZES, n))
