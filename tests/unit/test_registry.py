"""The op registry, the spec kinds and the convention rows agree; nothing is left undeclared."""

from __future__ import annotations

import pytest

from convcost.conventions.explain import CLASSES, OPAQUE
from convcost.conventions.rules import CONVENTIONS, FVCORE, PAPER, TORCH, convention
from convcost.cost.memory import model_memory
from convcost.cost.opkind import Op
from convcost.cost.registry import OPS, RULE_CLASSES, RULE_KEYS, SPEC_OPS
from convcost.errors import ConvcostError
from convcost.net.analysis import analyze
from convcost.net.expand import EXPANDERS
from convcost.spec.kinds import BLOCKS, CONV_UNITS, SPEC_KINDS
from convcost.spec.loader import parse_spec


@pytest.mark.parametrize("key", list(OPS))
@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_every_op_has_a_row_in_every_convention(key: str, name: str) -> None:
    missing = [k for k in OPS[key].rule_keys if k not in CONVENTIONS[name].rules]
    assert not missing, f"convention {name} has no row for {missing} of op kind {key}"


def test_conventions_have_no_stray_rows() -> None:
    assert list(CONVENTIONS) == ["paper", "fvcore", "thop", "ptflops", "torchinfo", "torch"]
    for row in CONVENTIONS.values():
        assert set(row.rules) == set(RULE_KEYS), row.name
        assert row.source and row.doc and (row.tool or row is PAPER)
        assert all(rule.doc for rule in row.rules.values()), row.name
    assert TORCH.unit == "FLOPs" and all(c.unit == "MACs" for c in CONVENTIONS.values() if c is not TORCH)
    assert convention("fvcore") is FVCORE
    with pytest.raises(ConvcostError, match="unknown convention 'flops'; known: paper, fvcore"):
        convention("flops")


def test_rule_keys_are_unique_and_classed() -> None:
    declared = [k for kind in OPS.values() for k in kind.rule_keys]
    assert len(declared) == len(set(declared)) == len(RULE_KEYS)
    assert set(RULE_CLASSES.values()) <= {*CLASSES, OPAQUE}  # opaque: shown only when present
    assert CLASSES[:3] == ("conv", "conv bias", "linear")  # the display order of `conventions`


@pytest.mark.parametrize("key", list(OPS))
def test_every_op_kind_is_declared_whole(key: str) -> None:
    kind = OPS[key]
    assert issubclass(kind.op, Op) and kind.op.key == key
    assert kind.rule_keys, key
    assert (kind.spec is None) == (kind.lower is None), key
    assert kind.inputs in (1, 2, 3)  # 3: attention reads q, k and v
    assert not (kind.view and kind.learnable), key  # a view holds no weights


def test_expanders_match_the_spec_kinds() -> None:
    assert set(EXPANDERS) == set(CONV_UNITS) | set(BLOCKS)
    assert not set(EXPANDERS) & set(SPEC_OPS)
    assert set(SPEC_KINDS) == set(EXPANDERS) | set(SPEC_OPS)
    assert list(SPEC_KINDS) == [*CONV_UNITS, *SPEC_OPS, *BLOCKS]
    assert all(spec.doc for spec in SPEC_KINDS.values())


def test_identity_is_a_spec_kind_and_a_view() -> None:
    spec = parse_spec({"input": {"channels": 3, "resolution": 8}, "layers": [
        {"kind": "conv", "name": "c", "out_channels": 4},
        {"kind": "identity", "name": "skip"}]})
    analysis = analyze(spec)
    skip = analysis.leaves()[-1]
    assert (skip.label, skip.input_shape, skip.output_shape) == ("identity", (1, 4, 8, 8), (1, 4, 8, 8))
    assert (skip.params, skip.macs) == (0, 0)
    memory = model_memory(analysis.root)
    assert memory.of(skip).status == "view"  # no new tensor, no bytes moved
    assert memory.of(skip).mem_access_bytes == 0
