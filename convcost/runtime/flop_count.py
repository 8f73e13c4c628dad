"""torch's ``FlopCounterMode``, without the ``torch._dynamo`` import its first dispatch makes.

torch wraps every ``TorchDispatchMode.__torch_dispatch__`` and many decompositions in
``torch._compile._disable_dynamo``: on its first call, the wrapper imports ``torch._dynamo``
(about as long as ``import torch`` itself) only to build ``torch._dynamo.disable(fn)``, a
function that runs ``fn`` with dynamo's frame hook switched off so that ``torch.compile``
never traces into it, and caches it on ``fn``. When ``torch._dynamo`` was never imported no
frame hook can be installed, nothing is compiling, and that disabled function is ``fn`` itself.

So, while convcost counts and only when ``torch._dynamo`` is not imported yet, a stand-in
``torch._dynamo`` whose ``disable`` returns ``fn`` is in ``sys.modules``; on exit every cache it
produced is deleted and the stand-in removed, so torch is left as it found it (a later
``import torch._dynamo`` gets the real one, and wrapped functions build the real wrapper).
torch's formulas, modes and counts are untouched: tests/torch/test_flop_count.py checks that
the counts equal FlopCounterMode's with the real import, and that dynamo is not imported.

Attention is counted on torch's math path (:func:`math_attention`): the math SDPA backend and
``nn.MultiheadAttention``'s fast path off. On CPU the fused SDPA kernels and the MHA fast path
(``aten::_native_multi_head_attention``) are invisible to FlopCounterMode, so the plain count
of a ViT misses its attention matmuls (docs/conventions.md, "How attention is counted").
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_DYNAMO = "torch._dynamo"
_CACHE = "__dynamo_disable"  # the attribute torch._compile._disable_dynamo caches on fn


@contextmanager
def _no_dynamo_import() -> Iterator[None]:
    """A stand-in ``torch._dynamo`` (``disable(fn)`` is ``fn``) while no real one is imported."""
    if _DYNAMO in sys.modules:
        yield
        return
    import torch

    disabled: list[Callable[..., Any]] = []

    def disable(fn: Callable[..., Any], recursive: bool = True, **_: Any) -> Callable[..., Any]:
        disabled.append(fn)
        return fn

    stub = types.ModuleType(_DYNAMO, "convcost's stand-in while counting (runtime/flop_count.py)")
    stub.disable = disable  # type: ignore[attr-defined]
    sys.modules[_DYNAMO] = stub
    try:
        yield
    finally:
        for fn in disabled:
            if getattr(fn, _CACHE, None) is fn:
                delattr(fn, _CACHE)
        if sys.modules.get(_DYNAMO) is stub:
            del sys.modules[_DYNAMO]
        if torch.__dict__.get("_dynamo") is stub:
            delattr(torch, "_dynamo")


@contextmanager
def math_attention() -> Iterator[None]:
    """The math SDPA backend and MHA's fast path off, restored on exit: every attention matmul
    runs as an ``aten::bmm`` FlopCounterMode counts; oneDNN off too, so that an ``nn.LSTM``
    runs its gates as ``aten::mm``/``addmm`` (its fused ``mkldnn_rnn_layer`` counts nothing)."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH), torch.backends.mkldnn.flags(enabled=False):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


@contextmanager
def flop_counter() -> Iterator[Any]:
    """``FlopCounterMode(display=False)``, entered on the math attention path
    (:func:`math_attention`); ``torch._dynamo`` not imported for it."""
    from torch.utils.flop_counter import FlopCounterMode

    with _no_dynamo_import(), math_attention(), FlopCounterMode(display=False) as counter:
        yield counter
