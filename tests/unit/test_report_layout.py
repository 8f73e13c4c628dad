"""The layered DAG layout of `convcost report` (convcost/report/html_layout.py)."""

from __future__ import annotations

import itertools

import pytest

from convcost.report.html_layout import GAP, NODE_W, ROW, layout, rows_of

# (edges, rows): a node sits one row below its lowest predecessor
ROWS = [
    ([(0, 1), (1, 2), (2, 3)], [0, 1, 2, 3]),  # a chain
    ([(0, 1), (1, 2), (0, 2)], [0, 1, 2]),  # a residual: the merge waits for the long path
    ([(0, 1), (0, 2), (1, 3), (2, 3)], [0, 1, 1, 2]),  # a diamond: two branches side by side
    ([(0, 2), (1, 2)], [0, 0, 1]),  # two sources
]


@pytest.mark.parametrize(("edges", "rows"), ROWS)
def test_rows(edges: list[tuple[int, int]], rows: list[int]) -> None:
    assert rows_of(len(rows), edges) == rows


def test_an_edge_against_the_order_is_refused() -> None:
    with pytest.raises(ValueError, match="topological"):
        rows_of(3, [(2, 1)])


def test_a_chain_is_one_straight_column() -> None:
    drawn = layout(4, [(0, 1), (1, 2), (2, 3)])
    assert len(set(drawn.x)) == 1
    assert [b - a for a, b in zip(drawn.y, drawn.y[1:], strict=False)] == [ROW] * 3


def test_branches_sit_side_by_side_without_overlap() -> None:
    drawn = layout(4, [(0, 1), (0, 2), (1, 3), (2, 3)])
    assert drawn.y[1] == drawn.y[2]
    assert abs(drawn.x[1] - drawn.x[2]) >= NODE_W + GAP  # two full slots apart
    assert drawn.x[0] == drawn.x[3] == pytest.approx((drawn.x[1] + drawn.x[2]) / 2)  # merge centred


def test_a_skip_edge_bends_beside_the_main_path() -> None:
    """A residual 0 -> 3 over 1, 2: one bend point per row crossed, off the main column."""
    edges = [(0, 1), (1, 2), (2, 3), (0, 3)]
    drawn = layout(4, edges)
    skip = drawn.routes[3]
    assert len(skip) == 4  # source, bends on rows 1 and 2, target
    assert skip[0] == (drawn.x[0], drawn.y[0]) and skip[-1] == (drawn.x[3], drawn.y[3])
    assert all(x != drawn.x[1] for x, _ in skip[1:-1])  # the bends avoid the main path's boxes
    assert [len(r) for r in drawn.routes[:3]] == [2, 2, 2]


def test_every_node_is_inside_the_drawing() -> None:
    edges = [(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4), (4, 5), (0, 5)]
    drawn = layout(6, edges)
    assert all(NODE_W / 2 <= x <= drawn.width - NODE_W / 2 for x in drawn.x)
    assert all(0 < y < drawn.height for y in drawn.y)
    assert len(drawn.routes) == len(edges)


def test_no_two_nodes_of_a_row_overlap() -> None:
    edges = [(0, i) for i in range(1, 7)] + [(i, 7) for i in range(1, 7)]  # a fan-out of 6, merged
    drawn = layout(8, edges)
    xs = sorted(drawn.x[1:7])
    assert all(b - a >= NODE_W + GAP - 1e-9 for a, b in itertools.pairwise(xs))
