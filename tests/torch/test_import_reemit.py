"""A layer the loader refuses is kept opaque and the spec emitted again: flagged, never exit 3.

Swin-V2 (timm's swinv2_cr) computes its position bias from a buffer: ``meta_mlp(coords)`` is
[L·L, heads], ``.transpose(1, 0).reshape(heads, L, L)``, a tensor whose first axis is no batch;
read as a batch, the reshape does not load. Here the loader's refusal is injected on a small
model, so the test does not depend on which op a real model trips on.
"""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


def _imported(monkeypatch: pytest.MonkeyPatch, refused: str) -> tuple[Any, list[str]]:
    from convcost.runtime.importer import convert
    from convcost.runtime.importer.selfcheck import UnloadableLayer
    from convcost.runtime.importer.trace import trace
    from tests.torch.import_models import TokenMean

    real = convert.check_emitted
    seen: list[str] = []

    def check(graph: Any, hidden: Any, yaml_text: str, *args: Any) -> None:
        seen.append(yaml_text)
        if f"kind: layernorm, name: {refused}" in yaml_text or refused == "no_such_layer":
            raise UnloadableLayer(f"net.py:Net:9: layers[1]: {refused}: cannot load", refused)
        real(graph, hidden, yaml_text, *args)

    monkeypatch.setattr(convert, "check_emitted", check)
    graph = trace(TokenMean().eval(), (1, 3, 16, 16), "net.py:Net", "auto")
    return convert.to_spec(graph, "net.py:Net", name="net"), seen


def test_a_layer_that_does_not_load_is_emitted_again_as_opaque(monkeypatch: pytest.MonkeyPatch) -> None:
    imported, seen = _imported(monkeypatch, "norm")
    assert len(seen) == 2  # emitted, refused at `norm`, emitted again
    # the norm's op is now an opaque layer, flagged: totals are lower bounds, never a quiet total
    assert [o.ops for o in imported.emitted.opaque] == ["layernorm ×1"]
    assert "kind: layernorm" not in imported.yaml and "kind: opaque, name: norm" in imported.yaml


def test_a_refusal_the_importer_cannot_place_stays_an_internal_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from convcost.runtime.importer.selfcheck import SelfCheckError

    with pytest.raises(SelfCheckError, match="cannot load"):
        _imported(monkeypatch, "no_such_layer")
