"""The options that add figures to ``model``, ``layer``, ``sweep`` and ``report``: ``--memory``,
``--dtype``, ``--fuse-bn``, the roofline (``--roofline``, ``--peak-gflops``/``--bandwidth-gbs``)
and ``--training``, turned into what to compute (:class:`convcost.net.figures.FigureRequest`).
Their typer option types are in :mod:`convcost.cli.options`; the views of the figures in
:mod:`convcost.report.extras_view`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convcost.cost.roofline import Roofline
    from convcost.net.figures import FigureRequest


@dataclass(frozen=True)
class CostOptions:
    """The figure options of one command, as given."""

    memory: bool = False
    dtype: str = "float32"
    fuse_bn: bool = False
    roofline: str | None = None  # a roofline preset
    device: str | None = None  # its deprecated spelling
    peak_gflops: float | None = None
    bandwidth_gbs: float | None = None
    training: bool = False

    @property
    def wants_memory(self) -> bool:
        return (self.memory or self.fuse_bn or self.dtype != "float32" or self.preset is not None
                or self.peak_gflops is not None or self.bandwidth_gbs is not None)

    @property
    def preset(self) -> str | None:
        return self.roofline or self.device

    def request(self) -> FigureRequest:
        """What to compute for these options (their roofline resolved, ``--dtype`` checked)."""
        from convcost.net.figures import FigureRequest

        return FigureRequest(self.wants_memory, self.dtype, self.fuse_bn,
                             self.estimate() if self.wants_memory else None, self.training)

    def estimate(self) -> Roofline | None:
        """The roofline these options ask for (None: no estimate)."""
        from convcost.cost.memory import element_bytes
        from convcost.cost.roofline import resolve

        element_bytes(self.dtype)  # validate --dtype first
        if self.device is not None:
            from convcost.cli.terminal import say

            say(f"warning: --device {self.device} is deprecated: write --roofline {self.device} "
                "(--device is the torch device of bench and profile)")
        return resolve(self.preset, self.peak_gflops, self.bandwidth_gbs, self.dtype)
