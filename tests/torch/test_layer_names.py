"""Every layer name the loader accepts builds in torch; the ones that could not are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcost.cost.graph import Node, model_root
from convcost.cost.ops import Shuffle
from convcost.cost.ops.views import Identity
from convcost.cost.registry import OPS
from convcost.errors import SpecError
from convcost.net.analysis import analyze
from convcost.runtime.build import _classes, build
from convcost.spec.loader import RESERVED_NAMES, parse_spec


def _spec(name: str) -> dict[str, object]:
    return {"input": {"channels": 3, "resolution": 8}, "layers": [
        {"kind": "inverted_residual", "name": name, "expand_ratio": 2, "out_channels": 3,
         "se": {}},
        {"kind": "pool", "name": "pool", "op": "avg", "global": True}]}


def test_reserved_names_cover_every_module_attribute() -> None:
    from torch import nn

    leaf = Node(params=0, macs=0, name="x", label="identity", input_shape=(1, 4),
                output_shape=(1, 4), op=Identity())
    block = _classes().Block(model_root("block", [leaf]), [])
    shuffle = OPS["shuffle"].module(Shuffle(2), (1, 4, 2, 2))
    attributes = set(dir(nn.Module())) | set(dir(block)) | set(dir(shuffle))
    public = {a for a in attributes if not a.startswith("_")}
    assert public <= RESERVED_NAMES, sorted(public - RESERVED_NAMES)


@pytest.mark.parametrize("name", ["forward", "training", "blocks.eval", "to.x", "groups"])
def test_reserved_names_are_refused(name: str) -> None:
    with pytest.raises(SpecError, match="is reserved"):
        parse_spec(_spec(name))


_WORD = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_]{0,8}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(_WORD | st.sampled_from(sorted(RESERVED_NAMES)), min_size=1, max_size=3))
def test_any_accepted_name_builds(words: list[str]) -> None:
    name = ".".join(words)
    try:
        spec = parse_spec(_spec(name))
    except SpecError:
        assert any(w in RESERVED_NAMES for w in words) or name.startswith("pool")
        return
    modules = dict(build(analyze(spec)).named_modules())
    assert f"{name}.se.fc1" in modules
