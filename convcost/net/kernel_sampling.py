"""Single-kernel configurations to time: random over the range the zoo spans, then adaptive
(more samples near the worst-predicted ones, as nn-Meter does). Pure and seeded.

The ranges (:func:`zoo_ranges`) are read off the kernels of the given networks: per class, the
smallest and largest input channels, output channels and input size, and the kernel sizes,
strides and activations that occur. A configuration is a one-layer spec
(:meth:`KernelConfig.spec_data`), so the builder that builds networks builds it too, and its
features come from the same detection (:func:`convcost.net.kernels.detect`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from convcost.cost.ops import Activation, Conv2d
from convcost.cost.ops.pool import AdaptivePool, Pool
from convcost.net.kernels import KERNEL_CLASSES, Kernel

MAX_MACS = 400_000_000  # per sample and batch element: keeps one timing under ~20 ms
MAX_ELEMENTS = 2_000_000  # input elements per batch element (8 MB of float32)
SAME_CHANNELS = ("dwconv", "add", "pool", "elementwise")
ACTS = ("relu", "hardswish", "silu", "sigmoid")


@dataclass(frozen=True)
class Range:
    """What a class spans in the zoo."""

    cin: tuple[int, int]
    cout: tuple[int, int]
    size: tuple[int, int]
    kernels: tuple[int, ...] = (1,)
    strides: tuple[int, ...] = (1,)
    acts: tuple[str, ...] = ("",)
    anchors: tuple[tuple[int, int, int], ...] = ()  # (cin, cout, size) of the zoo's kernels


@dataclass(frozen=True)
class KernelConfig:
    """One kernel to time alone: class, channels, square input size, kernel, stride, act."""

    kernel_class: str
    cin: int
    cout: int
    size: int
    kernel: int = 1
    stride: int = 1
    act: str = ""  # "" none; for pool: "max", "avg" or "global"
    batch: int = 1

    def spec_data(self) -> dict[str, Any]:
        """The one-kernel network, as spec data."""
        act = {"act": self.act} if self.act else {}
        layers: list[dict[str, Any]]
        size = self.size
        if self.kernel_class == "conv":
            layers = [{"kind": "conv", "out_channels": self.cout, "kernel_size": self.kernel,
                       "stride": self.stride, "bn": True, **act}]
        elif self.kernel_class == "dwconv":
            layers = [{"kind": "dwconv", "kernel_size": self.kernel, "stride": self.stride,
                       "bn": True, **act}]
        elif self.kernel_class == "linear":
            size = 1
            layers = [{"kind": "flatten"}, {"kind": "linear", "out_features": self.cout}]
        elif self.kernel_class == "add":
            layers = [{"kind": "add", "name": "add", "from": ["input", "input"]},
                      *([{"kind": "act", "fn": self.act}] if self.act else [])]
        elif self.kernel_class == "pool":
            layers = [{"kind": "pool", "op": "avg", "global": True} if self.act == "global" else
                      {"kind": "pool", "op": self.act or "max", "kernel_size": self.kernel,
                       "stride": self.stride}]
        else:
            layers = [{"kind": "act", "fn": self.act} if self.act else {"kind": "bn"}]
        return {"name": self.name(), "input": {"channels": self.cin, "resolution": size,
                                               "batch": self.batch}, "layers": layers}

    def name(self) -> str:
        return (f"{self.kernel_class}_{self.cin}_{self.cout}_{self.size}_k{self.kernel}"
                f"s{self.stride}_{self.act or 'none'}_b{self.batch}")

    def macs(self) -> int:
        """An upper estimate of the MACs (to keep timings bounded)."""
        out = math.ceil(self.size / self.stride) ** 2
        if self.kernel_class == "conv":
            return self.batch * out * self.cin * self.cout * self.kernel ** 2
        return self.batch * self.size * self.size * self.cin * self.kernel ** 2


def _span(values: Sequence[int]) -> tuple[int, int]:
    return (min(values), max(values))


def zoo_ranges(kernels: Sequence[Kernel]) -> dict[str, Range]:
    """Per class, what the given kernels span (classes without kernels are left out)."""
    out = {}
    for cls in KERNEL_CLASSES:
        mine = [k for k in kernels if k.kernel_class == cls]
        if not mine:
            continue
        heads = [next(k.groups[0].leaves()) for k in mine]
        cin = [h.input_shape[1] for h in heads]
        cout = [k.groups[-1].output_shape[1] for k in mine]
        size = [h.input_shape[-1] if len(h.input_shape) == 4 else 1 for h in heads]
        ops = [h.op for h in heads]
        kernels_ = sorted({op.kernel[0] for op in ops if isinstance(op, Conv2d | Pool)} or {1})
        strides = sorted({op.stride[0] for op in ops if isinstance(op, Conv2d | Pool)} or {1})
        acts = sorted({leaf.op.fn for k in mine for g in k.groups for leaf in g.leaves()
                       if isinstance(leaf.op, Activation)} & set(ACTS)) or [""]
        if cls == "pool":
            acts = sorted({"global" if isinstance(op, AdaptivePool) else op.mode
                           for op in ops if isinstance(op, Pool | AdaptivePool)})
        out[cls] = Range(_span(cin), _span(cout), _span(size), tuple(kernels_), tuple(strides),
                         tuple(acts), tuple(sorted(set(zip(cin, cout, size, strict=True)))))
    return out


def _near(rng: random.Random, value: int, bounds: tuple[int, int]) -> int:
    """``value`` scaled log-uniformly by ½ … 2, kept inside ``bounds``."""
    return max(bounds[0], min(bounds[1], round(value * 2 ** rng.uniform(-1, 1))))


def bounded(config: KernelConfig) -> bool:
    """Small enough to time quickly: MACs and elements per batch element capped."""
    return (config.macs() <= MAX_MACS * config.batch and config.size >= config.kernel
            and config.cin * config.size ** 2 <= MAX_ELEMENTS)


def random_configs(ranges: dict[str, Range], per_class: int, seed: int = 0,
                   batch: int = 1) -> list[KernelConfig]:
    """``per_class`` configurations of every class: a random kernel of the zoo with its
    channels and size scaled by ½ … 2 (log-uniform, inside the zoo's range), and a random
    kernel size, stride and activation of those the zoo uses for the class."""
    rng = random.Random(seed)
    out = []
    for cls, r in ranges.items():
        made = 0
        while made < per_class:
            cin, cout, size = rng.choice(r.anchors)
            cin = _near(rng, cin, r.cin)
            config = KernelConfig(cls, cin, cin if cls in SAME_CHANNELS else _near(rng, cout, r.cout),
                                  _near(rng, size, r.size), rng.choice(r.kernels),
                                  rng.choice(r.strides), rng.choice(r.acts), batch)
            if bounded(config):
                out.append(config)
                made += 1
    return out


def adaptive_configs(configs: Sequence[KernelConfig], errors: Sequence[float], count: int,
                     seed: int = 1) -> list[KernelConfig]:
    """``count`` new configurations near the worst-predicted fifth of ``configs`` (relative
    errors in the same order): channels and size scaled by up to 1.5× either way."""
    rng = random.Random(seed)
    ranked = sorted(range(len(configs)), key=lambda i: -errors[i])
    worst = [configs[i] for i in ranked[:max(1, len(configs) // 5)]]
    out: list[KernelConfig] = []
    while len(out) < count and worst:
        base = rng.choice(worst)
        cin = max(1, round(base.cin * rng.uniform(2 / 3, 1.5)))
        same = base.kernel_class in SAME_CHANNELS
        cout = cin if same else max(1, round(base.cout * rng.uniform(2 / 3, 1.5)))
        config = replace(base, cin=cin, cout=cout,
                         size=max(base.kernel, round(base.size * rng.uniform(2 / 3, 1.5))))
        if bounded(config):
            out.append(config)
    return out
