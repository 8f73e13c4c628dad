"""Random edits of a spec's *text* (not its data): the reader fails only with a ConvcostError.

Covers what data-level fuzzing cannot reach: YAML syntax, anchors and aliases, duplicate keys,
YAML 1.1 number forms, odd scalars, deep nesting, and the locating of each error's line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcost.errors import ConvcostError
from convcost.net.analysis import analyze
from convcost.spec.loader import spec_from
from convcost.spec.yamlsafe import load_yaml
from tests.helpers import examples

TEXT = (Path(__file__).resolve().parents[2] / "specs" / "mobilenet_v2.yaml").read_text()
PIECES = ["&a ", "*a", "<<: *a", "[", "]", "{", "}", ": ", "- ", "\n", "  ", "0064", "1:04", "1e308",
          ".inf", ".nan", "9" * 25, "~", "!!str ", "!!python/name:os.system", '"\\x00"', "'",
          "out_channels: 8, ", "repeat: 100000, ", "name: forward, ", "kind: conv, ", ",", "#"]


@st.composite
def edited(draw: st.DrawFn) -> str:
    text = TEXT
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.sampled_from(PIECES) | st.text(max_size=6))
        cut = draw(st.integers(0, 3))
        text = text[:at] + piece + text[at + cut:]
    return text


@pytest.mark.slow
@settings(max_examples=examples(300), deadline=None)
@given(edited())
def test_edited_text_fails_only_with_convcost_errors(text: str) -> None:
    try:
        spec = spec_from(load_yaml(text, "x.yaml"), text, "x.yaml")
        analyze(spec)
    except ConvcostError as err:
        message = str(err)
        assert "\n" not in message and len(message) < 1000, message
