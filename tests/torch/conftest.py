"""Every test under tests/torch needs torch and fvcore: marked ``torch``, and not even collected
(so never imported) in the fast loop ``-m "not torch"`` or when torch cannot be imported."""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path

import pytest


def _torch_missing() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if config.getoption("markexpr") == "not torch" or _torch_missing():
        return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/torch/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.torch)


@pytest.fixture(autouse=True, scope="session")
def _torchvision_importable() -> None:
    """Import an installed torchvision once, tolerating its C++ ops built for another torch.

    ptflops imports torchvision when it is installed; the registry's build fails to import
    beside the CPU torch unless its fake-kernel registrations are skipped (see the importer).
    """
    if importlib.util.find_spec("torchvision") is None:
        return
    from convcost.errors import MissingDependencyError
    from convcost.runtime.importer.resolve import import_torchvision

    with contextlib.suppress(MissingDependencyError):
        import_torchvision()
