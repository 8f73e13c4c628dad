"""Before torch runs a network for real: estimate its memory, refuse past a limit, announce.

The estimate for one float32 forward pass is the weights plus twice the peak of live
activations (:func:`convcost.cost.memory.model_memory`): the tensors of the widest step, and
as much again for the workspace of convolutions and tracing. The limit is
``CONVCOST_MEMORY_LIMIT`` (bytes, K/M/G suffixes as in budgets), by default 4 GB or half
the machine's memory if that is less. Nothing here imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from convcost.cost.memory import model_memory
from convcost.errors import ConvcostError, SpecError
from convcost.net.analysis import Analysis

LIMIT_ENV = "CONVCOST_MEMORY_LIMIT"
DEFAULT_LIMIT = 4 * 10**9
#: Above this many MACs (or 1 GB), say what is about to run before running it.
ANNOUNCE_MACS = 10 * 10**9

Notify = Callable[[str], None]


def memory_limit() -> int:
    """The limit in bytes: ``CONVCOST_MEMORY_LIMIT``, or the default."""
    text = os.environ.get(LIMIT_ENV)
    if text:
        from convcost.spec.budget import parse_count

        try:
            return parse_count(text, LIMIT_ENV)
        except SpecError as err:
            raise ConvcostError(f"{LIMIT_ENV}: {err.message}") from None
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return DEFAULT_LIMIT
    return min(DEFAULT_LIMIT, physical // 2)


def estimate_bytes(analysis: Analysis) -> int:
    """Bytes one float32 forward pass of ``analysis`` needs (weights + 2 × peak activations)."""
    memory = model_memory(analysis.root)
    return memory.weight_bytes + 2 * memory.peak_bytes


def gb(count: int) -> str:
    return f"{count / 1e9:.2f} GB" if count >= 10**7 else f"{count / 1e6:.2f} MB"


def guard(analyses: list[Analysis], what: str, skip: str, notify: Notify | None = None) -> None:
    """Refuse ``what`` (e.g. "the torch cross-check") past the memory limit; announce big runs.

    ``skip`` names the way around it (``--no-verify``) for the refusal message.
    """
    limit = memory_limit()
    for analysis in analyses:
        need = estimate_bytes(analysis)
        if need > limit:
            raise ConvcostError(
                f"{what} of {analysis.model} at input {'×'.join(map(str, analysis.input_shape))} "
                f"would need about {gb(need)} of memory, over the limit of {gb(limit)}: "
                f"{skip}, or raise the limit with {LIMIT_ENV}=<bytes, e.g. 16G>")
        if notify is not None and (analysis.totals.macs > ANNOUNCE_MACS or need > 10**9):
            notify(f"note: running {what} of {analysis.model} with torch: "
                   f"{analysis.totals.macs / 1e9:.1f} GMACs, about {gb(need)}; this may take a while")
