"""Single-kernel configurations to time: random over the range the zoo spans, then adaptive
(more samples near the worst-predicted ones, as nn-Meter does). Pure and seeded.

The ranges (:func:`zoo_ranges`) are read off the kernels of the given networks: per class, the
smallest and largest input channels, output channels and input size, and every kernel as an
*anchor* (channels, size, kernel size, stride, activation). A random configuration is an
anchor with its channels and size scaled, its kind of kernel kept. A configuration is a one-layer spec
(:meth:`KernelConfig.spec_data`), so the builder that builds networks builds it too, and its
features come from the same detection (:func:`convcost.net.kernels.detect`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from convcost.net.kernels import ELEMENTWISE, KERNEL_CLASSES, Kernel, act_fn, is_bn, kernel_form

MAX_MACS = 400_000_000  # per sample and batch element: keeps one timing under ~20 ms
MAX_ELEMENTS = 2_000_000  # input elements per batch element (8 MB of float32)
SAME_CHANNELS = ("dwconv", "add", "pool", "elementwise")  # (attention: cin heads, cout head width)
ACTS = ("relu", "relu6", "hardswish", "silu", "sigmoid", "gelu")


@dataclass(frozen=True)
class Range:
    """What a class spans in the zoo."""

    cin: tuple[int, int]
    cout: tuple[int, int]
    size: tuple[int, int]
    kernels: tuple[int, ...] = (1,)
    strides: tuple[int, ...] = (1,)
    acts: tuple[str, ...] = ("",)
    anchors: tuple[tuple[int, int, int, int, int, str, bool], ...] = ()  # the zoo's kernels


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
    bn: bool = True  # conv, dwconv: a BatchNorm after it (else a bias, as VGG's convs have)

    def spec_data(self) -> dict[str, Any]:
        """The one-kernel network, as spec data."""
        act = {"act": self.act} if self.act else {}
        layers: list[dict[str, Any]]
        size = self.size
        norm = {"bn": self.bn, "bias": not self.bn}
        if self.kernel_class == "conv":
            layers = [{"kind": "conv", "out_channels": self.cout, "kernel_size": self.kernel,
                       "stride": self.stride, **norm, **act}]
        elif self.kernel_class == "dwconv":
            layers = [{"kind": "dwconv", "kernel_size": self.kernel, "stride": self.stride,
                       **norm, **act}]
        elif self.kernel_class == "linear":
            size = 1
            layers = [{"kind": "flatten"}, {"kind": "linear", "out_features": self.cout}]
        elif self.kernel_class == "add":
            layers = [{"kind": "add", "name": "add", "from": ["input", "input"]},
                      *([{"kind": "act", "fn": self.act}] if self.act else [])]
        elif self.kernel_class == "attention":  # self-attention on q = k = v [batch, heads, L, d]
            return {"name": self.name(), "input": {"shape": [self.batch, self.cin, size, self.cout]},
                    "layers": [{"kind": "attention", "from": ["input", "input", "input"]}]}
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
                f"s{self.stride}_{self.act or 'none'}_b{self.batch}{'' if self.bn else '_nobn'}")

    def macs(self) -> int:
        """An upper estimate of the MACs (to keep timings bounded)."""
        out = math.ceil(self.size / self.stride) ** 2
        if self.kernel_class == "conv":
            return self.batch * out * self.cin * self.cout * self.kernel ** 2
        if self.kernel_class == "attention":
            return self.batch * self.cin * self.size ** 2 * 2 * self.cout
        return self.batch * self.size * self.size * self.cin * self.kernel ** 2


def _span(values: Sequence[int]) -> tuple[int, int]:
    return (min(values), max(values))


Anchor = tuple[int, int, int, int, int, str, bool]


def _anchor(kernel: Kernel) -> Anchor:
    """``(cin, cout, size, kernel size, stride, act, bn)`` of one zoo kernel (act: the first
    of :data:`ACTS` in its span, or a 2-D pool's mode; bn: a BatchNorm in its span)."""
    head = next(kernel.groups[0].leaves())
    form = kernel_form(head) or ELEMENTWISE
    if form.cls == "attention":  # (heads, head width, tokens)
        return form.heads, form.head_width, head.input_shape[-2], 1, 1, "", False
    size = head.input_shape[-1] if len(head.input_shape) == 4 else 1
    k, s = (form.kernel_stride[0][0], form.kernel_stride[1][0]) if form.kernel_stride else (1, 1)
    act: str
    if form.pool and len(head.input_shape) == 4:  # a 2-D pool: its mode, or global (adaptive)
        act = form.pool if form.window else "global"
    else:
        act = next((fn for g in kernel.groups for leaf in g.leaves()
                    if (fn := act_fn(leaf)) is not None and fn in ACTS), "")
    bn = any(is_bn(leaf) for g in kernel.groups for leaf in g.leaves())
    return head.input_shape[1], kernel.groups[-1].output_shape[1], size, k, s, act, bn


def _square(kernel: Kernel) -> bool:
    """A 2-D kernel with a square kernel and stride (a 1×7 conv, a 3-D conv are sampled as
    nothing: configurations are square images)."""
    head = next(kernel.groups[0].leaves())
    form = kernel_form(head) or ELEMENTWISE
    if len(head.input_shape) not in (2, 4) and form.cls != "attention":
        return False
    window = form.kernel_stride
    return window is None or (window[0][0] == window[0][1] and window[1][0] == window[1][1])


def zoo_ranges(kernels: Sequence[Kernel]) -> dict[str, Range]:
    """Per class, what the given kernels span (classes without kernels are left out)."""
    out = {}
    for cls in KERNEL_CLASSES:
        anchors = sorted({_anchor(k) for k in kernels if k.kernel_class == cls and _square(k)})
        if not anchors:
            continue
        cin, cout, size, ks, strides, acts, _ = zip(*anchors, strict=True)
        out[cls] = Range(_span(cin), _span(cout), _span(size), tuple(sorted(set(ks))),
                         tuple(sorted(set(strides))), tuple(sorted(set(acts))), tuple(anchors))
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
    channels and size scaled by ½ … 2 (log-uniform, inside the zoo's range), its kernel size,
    stride, activation and BN kept (a 4×4 stride-4 patchify stem stays one, a 1×1 stays 1×1).
    Every other draw picks a kernel size and stride pair of the class first (all alike), so
    the rare ones are sampled too."""
    rng = random.Random(seed)
    out = []
    for cls, r in ranges.items():
        shapes = sorted({(a[3], a[4]) for a in r.anchors})
        made = 0
        while made < per_class:
            shape = rng.choice(shapes)  # half the draws: every kernel size and stride alike
            cin, cout, size, kernel, stride, act, bn = rng.choice(
                [a for a in r.anchors if a[3:5] == shape] if made % 2 else r.anchors)
            cin = _near(rng, cin, r.cin)
            config = KernelConfig(cls, cin, cin if cls in SAME_CHANNELS else _near(rng, cout, r.cout),
                                  _near(rng, size, r.size), kernel, stride, act, batch, bn)
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
