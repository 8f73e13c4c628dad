"""The memory estimate and refusal before torch runs a network (no torch needed)."""

from __future__ import annotations

import pytest

from convcost.errors import ConvcostError
from convcost.net.analysis import Analysis, analyze
from convcost.runtime.guard import estimate_bytes, guard, memory_limit
from convcost.spec.loader import parse_spec


def _one_conv(resolution: int, channels: int = 256) -> Analysis:
    return analyze(parse_spec({"input": {"channels": channels, "resolution": resolution},
                               "layers": [{"kind": "conv", "out_channels": channels}]}))


def test_estimate_is_weights_plus_twice_the_peak() -> None:
    # 256→256 3×3 conv, no bias: 589,824 weights; input and output 256·2048² elements live
    # at once: peak 2·256·2048²·4 bytes; estimate = 4·589,824 + 2·peak = 17,182,228,480 bytes
    assert estimate_bytes(_one_conv(2048)) == 4 * 589_824 + 2 * (2 * 256 * 2048 * 2048 * 4)


@pytest.mark.parametrize(("limit", "expected"), [("1G", 10**9), ("16G", 16 * 10**9),
                                                 ("123456", 123_456)])
def test_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch, limit: str,
                                    expected: int) -> None:
    monkeypatch.setenv("CONVCOST_MEMORY_LIMIT", limit)
    assert memory_limit() == expected


@pytest.mark.parametrize("limit", ["lots", "-1", "1e9", "99999999999999999999G"])
def test_bad_limit_is_bad_input(monkeypatch: pytest.MonkeyPatch, limit: str) -> None:
    monkeypatch.setenv("CONVCOST_MEMORY_LIMIT", limit)
    with pytest.raises(ConvcostError, match="CONVCOST_MEMORY_LIMIT"):
        memory_limit()


def test_refusal_names_the_way_around(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVCOST_MEMORY_LIMIT", "4G")
    with pytest.raises(ConvcostError) as info:
        guard([_one_conv(2048)], "the torch cross-check", "skip it with --no-verify")
    assert ("about 17.18 GB of memory, over the limit of 4.00 GB: skip it with --no-verify"
            in str(info.value))


def test_big_runs_are_announced_small_ones_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVCOST_MEMORY_LIMIT", "100G")
    said: list[str] = []
    guard([_one_conv(8)], "the benchmark", "-", said.append)
    assert said == []
    # 256·256·9·1024² = 618,475,290,624 MACs > 10 G: announced before it runs
    guard([_one_conv(1024)], "the benchmark", "-", said.append)
    assert len(said) == 1 and said[0].startswith("note: running the benchmark of model")
    assert "618.5 GMACs" in said[0]
