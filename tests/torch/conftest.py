"""Every test under tests/torch needs torch and fvcore: marked ``torch``, skipped without them."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/torch/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.torch)
