"""Every test under tests/torch needs torch and fvcore: marked ``torch``, and not even collected
(so never imported) in the fast loop ``-m "not torch"`` or when torch cannot be imported."""

from __future__ import annotations

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
