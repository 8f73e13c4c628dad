"""Nodes made by the expander's fast constructor and the tree walk it feeds."""

from __future__ import annotations

import pytest

from convcost.cost.graph import Node, new_node
from convcost.cost.ops.norm import BatchNorm
from convcost.net.analysis import analyze
from convcost.spec.loader import load_spec


def test_new_node_equals_the_dataclass() -> None:
    op = BatchNorm(4)
    fast = new_node(8, 0, "b", "bn", (1, 4, 2, 2), (1, 4, 2, 2), op=op, source="layers[0]")
    slow = Node(params=8, macs=0, name="b", label="bn", input_shape=(1, 4, 2, 2),
                output_shape=(1, 4, 2, 2), op=op, source="layers[0]")
    assert fast == slow and hash(fast) == hash(slow)
    assert fast.children == () and fast.shares == "" and fast.flops == 0  # defaults filled in
    with pytest.raises(AttributeError):  # still frozen
        fast.name = "other"  # type: ignore[misc]


def test_new_node_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="childs"):
        new_node(0, 0, "b", "x", (1,), (1,), childs=())


def test_leaves_in_display_order() -> None:
    # mobilenet_v2: 3,504,872 params (torchvision's), spread over its leaves
    root = analyze(load_spec("specs/mobilenet_v2.yaml")).root

    def recursive(node: Node) -> list[Node]:  # the definition: a node, then its children's
        return ([node] if node.is_leaf else []) + [x for c in node.children for x in recursive(c)]

    assert [leaf.name for leaf in root.leaves()] == [leaf.name for leaf in recursive(root)]
    assert sum(leaf.params for leaf in root.leaves()) == root.params == 3_504_872
