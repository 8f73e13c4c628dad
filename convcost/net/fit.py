"""Design fitting: the widths α, resolutions and stage depths that fit a budget. Pure.

The search grid is every α × resolution × depth combination, where a stage is a top-level
layer with ``repeat: R`` and its depth runs over 1 … R (``repeat`` keeps the stride on the
first copy only, so copies 2 … R are alike). Each (α, resolution) is analysed once at full
depth; a shallower stage is that analysis minus the copies it drops, which is exact when the
copies after the first have the same shapes, params and MACs as each other and no other
layer reads them by name (checked per stage at every analysis; a stage that fails stays at
its written depth). MACs and params are exact integers; latency, with a model, is that
model's prediction (the copies' predicted group times and group count dropped likewise).

A design *fits* when it is within every budget given. The front is the fitting designs that
no other fitting design dominates: none is at least as wide, as high-resolution and as deep
in every stage (and larger in one). Growing any knob of a front design breaks the budget.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from convcost.cost.graph import Node
from convcost.cost.value import Cost
from convcost.errors import ConvcostError
from convcost.limits import MAX_FIT_POINTS, MAX_SWEEP_POINTS
from convcost.net.analysis import analyze
from convcost.net.latency import LatencyModel, predict

if TYPE_CHECKING:
    from convcost.net.kernel_model import KernelModel
from convcost.spec.loader import Spec

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Stage:
    """A repeated top-level layer: its name and the most copies (its written ``repeat``)."""

    name: str
    repeat: int


@dataclass(frozen=True)
class FitBudget:
    """The limits a design must meet (None: no limit on that figure)."""

    macs: int | None = None
    params: int | None = None
    latency_s: float | None = None

    def admits(self, design: Design) -> bool:
        return ((self.macs is None or design.macs <= self.macs)
                and (self.params is None or design.params <= self.params)
                and (self.latency_s is None or (design.latency_s is not None
                                                and design.latency_s <= self.latency_s)))


@dataclass(frozen=True, kw_only=True)
class Design(Cost):
    """One grid point: α, resolution, the depth of every searched stage, exact params and
    MACs, and the predicted latency (None without a latency model)."""

    alpha: float
    resolution: int
    depths: tuple[int, ...]
    latency_s: float | None = None


@dataclass(frozen=True)
class FitResult:
    model: str
    base_resolution: int
    alphas: tuple[float, ...]
    resolutions: tuple[int, ...]
    stages: tuple[Stage, ...]  # searched
    fixed: tuple[str, ...]  # repeated stages kept at their written depth (copies differ)
    budget: FitBudget
    searched: int
    fitting: int
    front: tuple[Design, ...]  # largest MACs first
    latency_model: str | None = None


@dataclass(frozen=True)
class _Copy:
    """What one droppable copy of a stage costs at one (α, resolution)."""

    macs: int = 0
    params: int = 0
    seconds: float = 0.0
    groups: int = 0


@dataclass(frozen=True)
class _Base:
    """One (α, resolution) at full depth: totals and the per-stage copy cost (None: fixed)."""

    alpha: float
    resolution: int
    params: int
    macs: int
    layers_s: float
    groups: int
    copies: tuple[_Copy | None, ...]


def repeated_stages(spec: Spec) -> tuple[Stage, ...]:
    """Top-level layers with ``repeat`` > 1 that no layer or output reads by name."""
    read = {name for layer in spec.layers for name in layer.inputs} | set(spec.outputs)
    return tuple(Stage(layer.name, layer.repeat) for layer in spec.layers
                 if layer.repeat > 1 and not any(n == layer.name or n.startswith(layer.name + ".")
                                                 for n in read))


def with_depths(spec: Spec, stages: Sequence[Stage], depths: Sequence[int]) -> Spec:
    """``spec`` with each stage's ``repeat`` set to its depth (what a design is)."""
    depth = {s.name: d for s, d in zip(stages, depths, strict=True)}
    return replace(spec, layers=tuple(replace(layer, repeat=depth[layer.name])
                                      if layer.name in depth else layer for layer in spec.layers))


def _alike(copies: Sequence[Node]) -> bool:
    """Copies 2 … R have one shape, params and MACs: dropping any of them is exact."""
    first = copies[1]
    return all((c.input_shape, c.output_shape, c.params, c.macs, c.label) ==
               (first.input_shape, first.output_shape, first.params, first.macs, first.label)
               for c in copies[1:]) and first.input_shape == first.output_shape


def _base(spec: Spec, alpha: float, resolution: int, batch: int | None, stages: Sequence[Stage],
          latency: LatencyModel | KernelModel | None) -> _Base:
    result = analyze(spec, alpha=alpha, resolution=resolution, batch=batch)
    children = {c.name: c for c in result.root.children}
    prediction = None if latency is None else predict(latency, result.root)
    copies: list[_Copy | None] = []
    for stage in stages:
        nodes = [children.get(f"{stage.name}.{j}") for j in range(stage.repeat)]
        if any(n is None for n in nodes) or not _alike(nodes):  # type: ignore[arg-type]
            copies.append(None)
            continue
        node = nodes[1]
        assert node is not None
        copies.append(_Copy(node.macs, node.params,
                            prediction.of(node) if prediction else 0.0,
                            prediction.count_in(node) if prediction else 0))
    return _Base(alpha, resolution, result.totals.params, result.totals.macs,
                 prediction.layers_s if prediction else 0.0,
                 prediction.group_count if prediction else 0, tuple(copies))


def _designs(base: _Base, stages: Sequence[Stage], searched: Sequence[bool],
             latency: LatencyModel | KernelModel | None) -> list[Design]:
    """Every depth combination at one (α, resolution), stages in grid order."""
    ranges = [range(1, s.repeat + 1) if on else range(s.repeat, s.repeat + 1)
              for s, on in zip(stages, searched, strict=True)]
    out = []
    for depths in itertools.product(*ranges):
        macs, params, seconds, groups = base.macs, base.params, base.layers_s, base.groups
        for stage, depth, copy in zip(stages, depths, base.copies, strict=True):
            if copy is not None and depth < stage.repeat:
                drop = stage.repeat - depth
                macs -= drop * copy.macs
                params -= drop * copy.params
                seconds -= drop * copy.seconds
                groups -= drop * copy.groups
        predicted = None if latency is None else latency.total(seconds, groups)
        out.append(Design(params=params, macs=macs, alpha=base.alpha, resolution=base.resolution,
                          depths=tuple(d for d, on in zip(depths, searched, strict=True) if on),
                          latency_s=predicted))
    return out


def grid(spec: Spec, alphas: Sequence[float], resolutions: Sequence[int], *,
         depth: bool = True, batch: int | None = None, latency: LatencyModel | KernelModel | None = None,
         progress: Progress | None = None) -> tuple[tuple[Stage, ...], tuple[str, ...], list[Design]]:
    """Every design of the grid (α-major, then resolution, then depths), with the searched
    stages and the repeated stages kept fixed."""
    stages = repeated_stages(spec) if depth else ()
    size = len(alphas) * len(resolutions)
    total = size
    for stage in stages:
        total *= stage.repeat
    if size > MAX_SWEEP_POINTS or total > MAX_FIT_POINTS:
        raise ConvcostError(f"fit: {len(alphas)} α × {len(resolutions)} resolutions × depths = "
                            f"{total:,} designs, more than {MAX_FIT_POINTS:,} (or more than "
                            f"{MAX_SWEEP_POINTS:,} α × resolution pairs); narrow the grid or "
                            "give --no-depth")
    bases = []
    for alpha in alphas:
        for resolution in resolutions:
            bases.append(_base(spec, alpha, resolution, batch, stages, latency))
            if progress is not None:
                progress(len(bases), size)
    searched = [all(b.copies[i] is not None for b in bases) for i in range(len(stages))]
    kept = tuple(s for s, on in zip(stages, searched, strict=True) if on)
    fixed = tuple(s.name for s, on in zip(stages, searched, strict=True) if not on)
    designs = [d for b in bases for d in _designs(b, stages, searched, latency)]
    return kept, fixed, designs


def maximal(fits: Sequence[bool], dims: Sequence[int]) -> list[int]:
    """Indices of the fitting grid points no other fitting point dominates (row-major grid
    of ``dims``, each axis ascending): a suffix-OR over each axis, then one step per axis."""
    above = list(fits)
    strides = [1] * len(dims)
    for k in range(len(dims) - 2, -1, -1):
        strides[k] = strides[k + 1] * dims[k + 1]
    for size, stride in zip(dims, strides, strict=True):
        for i in range(len(above) - 1, -1, -1):
            if (i // stride) % size < size - 1 and above[i + stride]:
                above[i] = True
    front = []
    for i, fit in enumerate(fits):
        if fit and not any((i // stride) % size < size - 1 and above[i + stride]
                           for size, stride in zip(dims, strides, strict=True)):
            front.append(i)
    return front


def fit(spec: Spec, alphas: Sequence[float], resolutions: Sequence[int], budget: FitBudget, *,
        depth: bool = True, batch: int | None = None, latency: LatencyModel | KernelModel | None = None,
        progress: Progress | None = None) -> FitResult:
    """The front of the designs of ``spec`` that fit ``budget`` (see the module doc)."""
    if not alphas or not resolutions:
        raise ConvcostError("--alpha/--resolution: give at least one value each")
    if budget.latency_s is not None and latency is None:
        raise ConvcostError("--max-latency: needs --latency-model FILE (convcost calibrate)")
    alphas, resolutions = sorted(set(alphas)), sorted(set(resolutions))
    stages, fixed, designs = grid(spec, alphas, resolutions, depth=depth, batch=batch,
                                  latency=latency, progress=progress)
    fits = [budget.admits(d) for d in designs]
    dims = [len(alphas), len(resolutions), *(s.repeat for s in stages)]
    front = sorted((designs[i] for i in maximal(fits, dims)),
                   key=lambda d: (-d.macs, -d.params, -d.alpha, -d.resolution))
    return FitResult(spec.name, spec.input.height, tuple(alphas), tuple(resolutions), stages,
                     fixed, budget, len(designs), sum(fits), tuple(front),
                     latency.label() if latency else None)
