"""The leaf op kinds, one module per family; each module declares its ``KINDS``.

:mod:`convcost.cost.registry` collects them. The op classes are re-exported here.
"""

from convcost.cost.opkind import Op
from convcost.cost.ops.act import ACTIVATIONS, Activation
from convcost.cost.ops.conv import Conv2d
from convcost.cost.ops.linear import Linear
from convcost.cost.ops.merge import Add, Concat, Mul, Scale
from convcost.cost.ops.norm import BatchNorm
from convcost.cost.ops.opaque import Opaque
from convcost.cost.ops.pool import AdaptivePool, Pool
from convcost.cost.ops.shuffle import Shuffle
from convcost.cost.ops.views import Dropout, Flatten
from convcost.cost.value import Padding, Pair, Shape

__all__ = [
    "ACTIVATIONS", "Activation", "AdaptivePool", "Add", "BatchNorm", "Concat", "Conv2d",
    "Dropout", "Flatten", "Linear", "Mul", "Op", "Opaque", "Padding", "Pair", "Pool", "Scale",
    "Shape", "Shuffle",
]
