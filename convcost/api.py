"""The Python API: :func:`analyze` a spec or a torch module, :func:`import_spec` a module.

``convcost.analyze(spec)`` costs a loaded :class:`~convcost.spec.loader.Spec` (a path or a
source string such as ``"torchvision:resnet18"`` is loaded first); ``convcost.analyze(model,
input_shape=(1, 3, 224, 224))`` (or with example inputs, ``convcost.analyze(model, (x,))`` as
fvcore takes them) imports an ``nn.Module`` exactly as ``convcost import`` does and returns the
same :class:`~convcost.net.analysis.Analysis` the CLI renders. torch is imported only for a
module, inside the functions: ``import convcost`` stays torch-free.
"""

from __future__ import annotations

import warnings
from numbers import Real
from pathlib import Path
from typing import Any

from convcost.errors import ConvcostError
from convcost.net.analysis import Analysis
from convcost.net.analysis import analyze as analyze_spec
from convcost.spec.loader import Spec

DEFAULT_SHAPE = (1, 3, 224, 224)


class IncompleteWarning(UserWarning):
    """An analysed module has opaque layers: its totals are lower bounds."""


def _shapes(model: Any, input_shape: Any, example_inputs: Any) -> list[tuple[str, tuple[int, ...]]]:
    """The input shapes, named: ``input_shape`` (batch first, any rank; a mapping of the
    forward's inputs by name to shapes for several), else the example tensors' (several: named
    as the forward's parameters)."""
    from convcost.spec.inputs import parse_shape
    from convcost.spec.loader import check_name

    if example_inputs is not None:
        if input_shape is not None:
            raise ConvcostError("give input_shape or example_inputs, not both")
        inputs = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
        if not inputs or not all(hasattr(x, "shape") for x in inputs):
            raise ConvcostError("example_inputs: give a tensor, or a tuple of the forward's "
                                f"tensors, got {type(example_inputs).__name__}")
        names = _forward_names(model, len(inputs))
        return [(name, tuple(int(n) for n in x.shape)) for name, x in zip(names, inputs, strict=True)]
    if isinstance(input_shape, dict):
        return [(check_name(name, f"input_shape[{name!r}]"), parse_shape(shape, f"input_shape[{name!r}]"))
                for name, shape in input_shape.items()]
    return [("x", DEFAULT_SHAPE if input_shape is None else parse_shape(input_shape, "input_shape"))]


def _forward_names(model: Any, count: int) -> list[str]:
    """The names of the first ``count`` parameters of ``model.forward`` (``x``, ``image2``);
    ``input_1`` … where they cannot be read. A forward of fewer tensors is an error."""
    import inspect

    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if params and len(names) < count and not any(p.kind == p.VAR_POSITIONAL for p in params):
        raise ConvcostError(f"example_inputs: its forward takes {len(names)} input"
                            f"{'s' * (len(names) != 1)} ({', '.join(names)}), got {count} tensors")
    names = names[:count]
    return names if len(names) == count and "input" not in names else \
        [f"input_{i + 1}" for i in range(count)]


def _imported(model: Any, input_shape: Any, example_inputs: Any, name: str | None,
              strict: bool, tracer: str) -> Any:
    """The :class:`~convcost.runtime.importer.convert.Imported` of a module, traced in eval
    mode (its mode is restored)."""
    from convcost.runtime.importer.convert import to_spec
    from convcost.runtime.importer.trace import record_inputs, trace

    if tracer not in ("auto", "fx", "export", "record"):
        raise ConvcostError(f"tracer: must be auto, fx, export or record, got {tracer!r}")
    title = name or type(model).__name__
    shapes = _shapes(model, input_shape, example_inputs)
    training = bool(getattr(model, "training", False))
    model.eval()
    try:  # a forward of several tensors is recorded as it runs on them
        graph = record_inputs(model, shapes, title) if len(shapes) > 1 else \
            trace(model, shapes[0][1], title, tracer)
    finally:
        model.train(training)
    return to_spec(graph, title, strict, title)


def import_spec(model: Any, input_shape: Any = None, *, example_inputs: Any = None,
                name: str | None = None, strict: bool = False, tracer: str = "auto") -> str:
    """The spec YAML of a torch ``nn.Module``, as ``convcost import`` writes it.

    ``input_shape`` is every size, batch first: ``(N, C, H, W)``, ``(N, C, L)``, ``(N, C, D, H, W)``
    or a text ``1x3x224x224`` (default 1×3×224×224), or give
    ``example_inputs`` (one tensor, or a 1-tuple: only its shape is used). A forward of several
    tensors takes ``input_shape`` as a mapping by name (``{"image1": (1, 3, 128, 128),
    "image2": ...}``, its order) or ``example_inputs`` as a tuple of them: it is recorded as it
    runs on them, and the spec says ``inputs:``. ``strict`` raises
    :class:`~convcost.errors.ConvcostError` where the spec cannot express an op."""
    return str(_imported(model, input_shape, example_inputs, name, strict, tracer).yaml)


def _is_inputs(value: Any) -> bool:
    """Whether a second positional argument is fvcore-style inputs (not α)."""
    return value is not None and not isinstance(value, Real)


def analyze(model: Any, alpha: Any = None, resolution: int | None = None,
            rho: float | None = None, batch: int | None = None, *, input_shape: Any = None,
            example_inputs: Any = None, strict: bool = False, tracer: str = "auto") -> Analysis:
    """The :class:`~convcost.net.analysis.Analysis` of a spec, a spec file or model source
    (``"specs/mobilenet_v2.yaml"``, ``"torchvision:resnet18"``), or a torch ``nn.Module``.

    A spec or source string is read at ``input_shape`` when given (one shape, or a mapping by
    input name: an ONNX graph's inputs, a spec's ``inputs:``, a forward's several tensors).
    A module is traced on ``input_shape`` (default 1×3×224×224) or ``example_inputs`` (also
    positional, as fvcore takes them: ``analyze(model, (x,))``; several: ``(left, right)``, or
    ``input_shape={"left": ..., "right": ...}``, see :func:`import_spec`). When some op is opaque (its
    MACs not counted) an :class:`IncompleteWarning` says so (``analysis.complete`` is False);
    ``strict`` raises instead. ``alpha``, ``resolution``, ``rho``, ``batch`` override the spec's.
    """
    if isinstance(model, Spec):
        spec = model
    elif isinstance(model, (str, Path)):
        spec = _load(str(model), input_shape, strict, tracer)
    else:
        if _is_inputs(alpha):
            example_inputs, alpha = alpha, None
        imported = _imported(model, input_shape, example_inputs, None, strict, tracer)
        from convcost.spec.loader import spec_from
        from convcost.spec.yamlsafe import load_yaml

        title = str(imported.spec["name"])
        spec = spec_from(load_yaml(imported.yaml, title), imported.yaml, title)
    result = analyze_spec(spec, alpha, resolution, rho, batch)
    if result.uncounted and strict:
        raise ConvcostError(result.uncounted.refusal(result.model))
    if result.uncounted:
        warnings.warn(result.uncounted.message(result.model), IncompleteWarning, stacklevel=2)
    return result


def _load(text: str, input_shape: Any = None, strict: bool = False, tracer: str = "auto") -> Spec:
    """A spec file, a built-in name, ``git:REV:path`` or a model source (imports torch), at
    ``input_shape`` when given: one shape, or a mapping by input name (a model source's
    forward inputs, an ONNX graph's, a spec's ``inputs:``), as ``--input`` gives them."""
    from convcost.frontend.registry import open_network
    from convcost.spec.wiring import INPUT

    if input_shape is None:
        spec: Spec = open_network(text, strict=strict, tracer=tracer).spec()
        return spec
    shapes = _shapes(None, input_shape, None)
    named = tuple(shapes) if isinstance(input_shape, dict) else ()
    one = None if named else shapes[0][1]
    spec = open_network(text, one, strict=strict, tracer=tracer, inputs=named).spec()
    return spec.with_inputs(named or [(INPUT, shapes[0][1])])
