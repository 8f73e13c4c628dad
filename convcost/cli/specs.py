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
    from convcost.frontend.network import Opened
    from convcost.net.analysis import Analysis
    from convcost.runtime.importer.load import Session
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


def load(spec: Path | str, input_shape: tuple[int, ...] | None = None,
         inputs: tuple[tuple[str, tuple[int, ...]], ...] = ()) -> Spec:
    """The spec of a network argument (:func:`convcost.frontend.registry.open_network`: a spec
    file, a built-in name, ``git:REV:path`` or a model to import, traced on ``input_shape`` or
    read on named ``inputs``), checked by :func:`checked`."""
    from convcost.frontend.registry import open_network

    return checked(open_network(spec, input_shape, inputs=inputs))


def checked(opened: Opened) -> Spec:
    """The spec of ``opened``. Says on stderr what the figures leave out: each layer no output
    needs (with the params and MACs it holds) and, in one line, the ops of opaque layers
    (totals are lower bounds; under ``--strict`` that is exit 2)."""
    from convcost.net.analysis import spec_uncounted, unused_warnings

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


def cross_check(result: Analysis, opened: Opened | None = None) -> Verification | None:
    """The torch/fvcore cross-check when both are installed; else a one-line install hint.

    An imported torch model is checked against the original module, not the rebuilt one; at
    another width (``--alpha``) the original is not the model analysed, so the rebuilt one is."""
    from convcost.errors import MissingDependencyError
    from convcost.runtime.verify import verify

    try:
        session = opened.session if opened is not None else None
        if session is not None and session.model is not None and result.alpha == 1:
            return _check_original(result, session)
        return verify(result, notify=say)
    except MissingDependencyError as err:
        say(f"note: not cross-checked: {err}")
        return None
    except ConvcostError:
        raise
    except Exception as err:  # fvcore's TorchScript trace of a detector that was recorded
        if opened is None or opened.session is None or opened.session.imported.graph.tracer != "recorded":
            raise
        say(f"note: not cross-checked: {opened.label} was recorded as it ran (exact against "
            f"FlopCounterMode op by op) and fvcore cannot trace it: {type(err).__name__}")
        return None


def _check_original(result: Analysis, session: Session) -> Verification:
    """The cross-check against the original model: guarded, its stdout kept off ours."""
    from convcost.runtime.guard import guard
    from convcost.runtime.importer.contain import contained
    from convcost.runtime.importer.crosscheck import verify_original

    guard([result], "the torch cross-check", "skip it with --no-verify", say)
    with contained(session.text, "cross-checking") as capture:
        checked = verify_original(result, session)
    if capture.note():
        say(f"note: {capture.note()}")
    return checked


def fail_on_mismatch(checked: Verification | None) -> None:
    """Exit 1 (after the output) when the cross-check found a mismatch."""
    if checked is not None and not checked.ok:
        from convcost.report.verify_view import summary as verify_summary

        raise CheckFailed(verify_summary(checked))


def sweepable(opened: Opened, command: str = "sweep") -> Opened:
    """``opened`` when α/ρ can scale it: an imported model needs every layer as a spec kind
    (no opaque layer)."""
    if opened.session is not None:
        opaque = opened.session.imported.emitted.opaque
        if opaque:
            names = ", ".join(o.name for o in opaque[:3]) + (", …" if len(opaque) > 3 else "")
            raise ConvcostError(f"{command}: {opened.label}: the import did not recognise the "
                                f"channel structure of {len(opaque)} layers ({names}), so α and ρ "
                                "cannot scale them; write those parts in the spec and sweep the spec")
    return opened
