"""A command's SPEC argument: loaded, cross-checked, and a mismatch turned into exit 1.

Free of typer and click, so that :mod:`convcost.cli.model_command` runs without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

from convcost.cli.terminal import say
from convcost.errors import CheckFailed, ConvcostError

if TYPE_CHECKING:
    from convcost.net.analysis import Analysis
    from convcost.runtime.verify import Verification
    from convcost.spec.loader import Spec

MAX_WARNINGS = 10
"""Unused-layer warnings shown one by one; the rest are counted on one line."""
_STRICT: ContextVar[bool] = ContextVar("convcost_strict", default=False)


@contextmanager
def strictly(strict: bool) -> Iterator[None]:
    """``--strict`` for the command running inside: a spec with an opaque layer is exit 2."""
    token = _STRICT.set(strict)
    try:
        yield
    finally:
        _STRICT.reset(token)


def is_strict() -> bool:
    return _STRICT.get()


def load(spec: Path | str, input_shape: tuple[int, ...] | None = None) -> Spec:
    """A spec file, a built-in name, a spec at a git revision (``git:REV:path``) or a model to
    import (``torchvision:resnet50``, ...), traced on ``input_shape`` (default: the model's
    own, else 1×3×224×224): :func:`convcost.runtime.sources.open_model`.

    Says on stderr what the figures leave out: each layer no output needs (with the params
    and MACs it holds) and, in one line, the ops of opaque layers (totals are lower bounds;
    under ``--strict`` that is exit 2)."""
    from convcost.net.analysis import spec_uncounted, unused_warnings
    from convcost.runtime.sources import open_model

    opened = open_model(str(spec), input_shape)
    for note in opened.notes:  # BatchNorm folded, ...
        say(f"note: {note}")
    loaded = opened.spec()
    warnings = unused_warnings(loaded)
    for warning in warnings[:MAX_WARNINGS]:  # layers no output needs, with what they held
        say(f"warning: {warning}")
    if len(warnings) > MAX_WARNINGS:
        say(f"warning: ... and {len(warnings) - MAX_WARNINGS:,} more layers not used by "
            "any output: not counted")
    uncounted = spec_uncounted(loaded)
    if uncounted and is_strict():
        raise ConvcostError(uncounted.refusal(loaded.name))
    if uncounted:
        say(uncounted.message(loaded.name))
    return loaded


def cross_check(result: Analysis, spec: Path | None = None,
                input_shape: tuple[int, ...] | None = None) -> Verification | None:
    """The torch/fvcore cross-check when both are installed; else a one-line install hint.

    An imported torch model is checked against the original module, not the rebuilt one."""
    from convcost.errors import MissingDependencyError
    from convcost.runtime.importer.load import open_source
    from convcost.runtime.sources import is_model_source
    from convcost.runtime.verify import verify

    try:
        if (spec is not None and is_model_source(str(spec))
                and open_source(str(spec), input_shape).model is not None):
            return _check_original(result, str(spec), input_shape)
        return verify(result, notify=say)
    except MissingDependencyError as err:
        say(f"note: not cross-checked: {err}")
        return None


def _check_original(result: Analysis, text: str, input_shape: tuple[int, ...] | None) -> Verification:
    """The cross-check against the original model: guarded, its stdout kept off ours."""
    from convcost.runtime.guard import guard
    from convcost.runtime.importer.contain import contained
    from convcost.runtime.importer.crosscheck import verify_original
    from convcost.runtime.importer.load import open_source

    guard([result], "the torch cross-check", "skip it with --no-verify", say)
    with contained(text, "cross-checking") as capture:
        checked = verify_original(result, open_source(text, input_shape))
    if capture.note():
        say(f"note: {capture.note()}")
    return checked


def fail_on_mismatch(checked: Verification | None) -> None:
    """Exit 1 (after the output) when the cross-check found a mismatch."""
    if checked is not None and not checked.ok:
        from convcost.report.verify_view import summary as verify_summary

        raise CheckFailed(verify_summary(checked))


def sweepable(spec: Path, command: str = "sweep") -> None:
    """α/ρ sweeps of an imported model need every layer as a spec kind (no opaque layer)."""
    from convcost.runtime.importer.load import is_source, open_source

    if is_source(spec):
        opaque = open_source(str(spec)).imported.emitted.opaque
        if opaque:
            names = ", ".join(o.name for o in opaque[:3]) + (", …" if len(opaque) > 3 else "")
            raise ConvcostError(f"{command}: {spec}: the import did not recognise the channel "
                                f"structure of {len(opaque)} layers ({names}), so α and ρ cannot "
                                "scale them; write those parts in the spec and sweep the spec")
