"""A parsed :class:`~.source.Source` -> an ``nn.Module`` in eval mode. Never downloads weights.

torchvision from the registry is a CUDA build; beside the CPU torch its C++ ops
(``torchvision::nms``) do not exist and its import fails while registering their fake
kernels. :func:`import_torchvision` imports it with ``torch.library.register_fake`` made a
no-op for ``torchvision::*`` names: the model code does not use those ops.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from convcost.errors import ConvcostError, MissingDependencyError
from convcost.frontend.mistakes import module_hint
from convcost.frontend.source import Source
from convcost.runtime.importer.contain import allocation_failed, memory_error

if TYPE_CHECKING:
    from torch import nn


def close_matches(word: str, options: Iterable[str], n: int = 3) -> str:
    """`` (did you mean a, b?)`` with up to ``n`` close options, or an empty string."""
    close = difflib.get_close_matches(word, list(options), n=n, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


@contextmanager
def _torchvision_fakes_tolerated() -> Iterator[None]:
    import torch.library

    original = torch.library.register_fake

    def register_fake(op: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(op, str) and op.startswith("torchvision::"):
            return args[0] if args and callable(args[0]) else (lambda fn: fn)
        return original(op, *args, **kwargs)

    torch.library.register_fake = register_fake
    try:
        yield
    finally:
        torch.library.register_fake = original


def import_torchvision() -> ModuleType:
    """``torchvision``, imported even when its C++ ops do not match the installed torch."""
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    if importlib.util.find_spec("torchvision") is None:
        raise MissingDependencyError("torchvision is not installed: pip install --no-deps "
                                     "torchvision (the release matching your torch)")
    try:
        with _torchvision_fakes_tolerated():
            return importlib.import_module("torchvision")
    except Exception as err:
        sys.modules.pop("torchvision", None)
        raise MissingDependencyError(f"cannot import torchvision: {err}".splitlines()[0]) from None


def _torchvision(source: Source) -> Any:
    import_torchvision()
    models = importlib.import_module("torchvision.models")
    names = models.list_models()
    if source.name not in names:
        raise ConvcostError(f"unknown torchvision model {source.name!r}"
                            f"{close_matches(source.name, names)}")
    builder = models.get_model_builder(source.name)
    never = {"weights": None}  # nor a backbone's (segmentation and detection models)
    never.update(dict.fromkeys(n for n in inspect.signature(builder).parameters if n.startswith("weights_")))
    return builder(**{**source.kwargs, **never})


def _timm(source: Source) -> Any:
    if importlib.util.find_spec("timm") is None:
        raise MissingDependencyError("timm is not installed: pip install --no-deps timm "
                                     "huggingface_hub safetensors")
    import_torchvision()  # timm's data transforms import torchvision
    timm = importlib.import_module("timm")
    names = timm.list_models()
    if source.name not in names:
        raise ConvcostError(f"unknown timm model {source.name!r}{close_matches(source.name, names)}")
    return timm.create_model(source.name, **{**source.kwargs, "pretrained": False})


@contextmanager
def _no_bytecode() -> Iterator[None]:
    """Import the user's code without writing ``__pycache__`` into their folders."""
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before


def _file_module(path: str) -> ModuleType:
    file = Path(path)
    if not file.is_file():
        raise ConvcostError(f"{path}: no such file")
    name = f"convcost_import_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ConvcostError(f"{path}: cannot import as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    with _no_bytecode():
        spec.loader.exec_module(module)
    return module


def _python(source: Source) -> Any:
    if source.kind == "file":
        module = _file_module(source.location)
    else:
        try:
            with _no_bytecode():
                module = importlib.import_module(source.location)
        except ModuleNotFoundError as err:
            raise ConvcostError(f"cannot import module {source.location!r}: {err}"
                                f"{module_hint(source.location, source.name)}") from None
    obj: Any = module
    for part in source.name.split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise ConvcostError(f"{source.location}: no {part!r}{close_matches(part, public)}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConvcostError(f"{source.text}: {source.name} is not a class or a function")
    return obj(**source.kwargs)


LOADERS: dict[str, Callable[[Source], Any]] = {
    "torchvision": _torchvision, "timm": _timm, "file": _python, "module": _python,
}


SEED = 0  # the weights a source is built with: the same in every run (and in the benchmark's reference)


def load_module(source: Source) -> nn.Module:
    """The model of a torch source, in eval mode, with freshly initialised weights drawn from
    torch's generator seeded with :data:`SEED` (the caller's generator state is kept): the
    figures of a model whose work depends on values (a detector's boxes kept by NMS) are the
    same in every run."""
    import torch
    from torch import nn

    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(SEED)
            model = LOADERS[source.kind](source)
    except ConvcostError:
        raise
    except Exception as err:
        if allocation_failed(err):
            raise memory_error(source.text, "building") from None
        raise ConvcostError(f"{source.text}: {type(err).__name__}: {err}".splitlines()[0]) from None
    if not isinstance(model, nn.Module):
        raise ConvcostError(f"{source.text}: gave a {type(model).__name__}, not an nn.Module")
    return model.eval()
