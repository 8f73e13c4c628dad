"""A layered drawing of a DAG (the Sugiyama method), computed in Python. Pure: no I/O.

Nodes are ``0..n-1`` in a topological order (the dataflow trace runs them so), edges go from
a lower to a higher index. The steps:

1. **layers**: each node one row below its lowest predecessor (longest path from a source);
2. **dummies**: an edge spanning several rows gets a bend point on each row in between, so
   the ordering sees it and the drawing routes it around nodes;
3. **order**: barycentre sweeps, down then up, to cut crossings;
4. **x**: each node pulled to the mean x of its neighbours, then pushed apart to a minimum gap,
   from the left and from the right, and the two averaged (the order is kept).

Branches and merges are drawn as they are: a residual's skip edge is a polyline through its
bend points beside the main path.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]

NODE_W = 112.0  # the widest box a node may draw (its slot)
DUMMY_W = 14.0  # a bend point's slot
GAP = 14.0  # between two slots on a row
ROW = 34.0  # between two rows
MARGIN = 24.0
SWEEPS = 4


@dataclass(frozen=True)
class Layout:
    """Node centres, one polyline per edge (source, bends, target) and the drawing's size."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    routes: tuple[tuple[Point, ...], ...]  # aligned with the edges given to :func:`layout`
    width: float
    height: float


def rows_of(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """The row of each node: 0 for a source, else one more than its lowest predecessor's."""
    row = [0] * n
    for u, v in sorted(edges, key=lambda e: e[1]):
        if not 0 <= u < v < n:
            raise ValueError(f"edge {u}->{v}: nodes must be in topological order")
        row[v] = max(row[v], row[u] + 1)
    return row


@dataclass
class _Graph:
    """Real nodes then bend points; each edge as its chain of vertices."""

    row: list[int]
    chains: list[list[int]]
    preds: list[list[int]]
    succs: list[list[int]]

    @property
    def size(self) -> int:
        return len(self.row)


def _expand(n: int, edges: Sequence[tuple[int, int]]) -> _Graph:
    row = rows_of(n, edges)
    graph = _Graph(row, [], [[] for _ in range(n)], [[] for _ in range(n)])
    for u, v in edges:
        chain = [u]
        for r in range(row[u] + 1, row[v]):
            graph.row.append(r)
            graph.preds.append([])
            graph.succs.append([])
            chain.append(graph.size - 1)
        chain.append(v)
        for a, b in itertools.pairwise(chain):
            graph.succs[a].append(b)
            graph.preds[b].append(a)
        graph.chains.append(chain)
    return graph


def _initial_order(graph: _Graph, n: int) -> list[list[int]]:
    """Rows of vertices; a bend point sorts just after the edge's source."""
    key: list[float] = list(range(n)) + [0.0] * (graph.size - n)
    for chain in graph.chains:
        for bend in chain[1:-1]:
            key[bend] = chain[0] + 0.5
    rows: list[list[int]] = [[] for _ in range(max(graph.row, default=-1) + 1)]
    for v in sorted(range(graph.size), key=lambda v: key[v]):
        rows[graph.row[v]].append(v)
    return rows


def _sweep(rows: list[list[int]], neighbours: list[list[int]], order: range) -> None:
    """Sort each row of ``order`` by the mean position of the vertices' ``neighbours``."""
    pos: dict[int, float] = {v: i for r in rows for i, v in enumerate(r)}
    for r in order:
        def bary(v: int) -> float:
            near = neighbours[v]
            return sum(pos[u] for u in near) / len(near) if near else pos[v]

        rows[r].sort(key=bary)
        pos.update({v: i for i, v in enumerate(rows[r])})


def _order(graph: _Graph, n: int) -> list[list[int]]:
    rows = _initial_order(graph, n)
    for _ in range(SWEEPS):
        _sweep(rows, graph.preds, range(1, len(rows)))
        _sweep(rows, graph.succs, range(len(rows) - 2, -1, -1))
    return rows


def _place_row(row: list[int], wanted: list[float], width: list[float]) -> list[float]:
    """x of each vertex of a row, in order, as close to ``wanted`` as the gaps allow."""
    k = len(row)
    sep = [(width[row[i]] + width[row[i + 1]]) / 2 + GAP for i in range(k - 1)]
    left = list(wanted)
    for i in range(1, k):
        left[i] = max(left[i], left[i - 1] + sep[i - 1])
    right = list(wanted)
    for i in range(k - 2, -1, -1):
        right[i] = min(right[i], right[i + 1] - sep[i])
    return [(a + b) / 2 for a, b in zip(left, right, strict=True)]


def _xs(graph: _Graph, rows: list[list[int]], width: list[float]) -> list[float]:
    """Rows placed top-down (pulled to their predecessors), up, then down again."""
    x = [0.0] * graph.size
    for r in rows:  # start: each row centred on 0
        offset = 0.0
        for v in r:
            x[v] = offset + width[v] / 2
            offset += width[v] + GAP
        for v in r:
            x[v] -= offset / 2
    passes = ((graph.preds, range(len(rows))), (graph.succs, range(len(rows) - 1, -1, -1)),
              (graph.preds, range(len(rows))))
    for neighbours, order in passes:
        for i in order:
            wanted = [sum(x[u] for u in neighbours[v]) / len(neighbours[v]) if neighbours[v]
                      else x[v] for v in rows[i]]
            for v, value in zip(rows[i], _place_row(rows[i], wanted, width), strict=True):
                x[v] = value
    return x


def layout(n: int, edges: Sequence[tuple[int, int]]) -> Layout:
    """Draw ``n`` nodes joined by ``edges`` (``u < v``: a topological numbering) in rows."""
    graph = _expand(n, edges)
    rows = _order(graph, n)
    width = [NODE_W] * n + [DUMMY_W] * (graph.size - n)
    x = _xs(graph, rows, width)
    left = min((x[v] - width[v] / 2 for v in range(graph.size)), default=0.0)
    x = [value - left + MARGIN for value in x]
    y = [MARGIN + ROW / 2 + ROW * r for r in graph.row]
    routes = tuple(tuple((x[v], y[v]) for v in chain) for chain in graph.chains)
    right = max((x[v] + width[v] / 2 for v in range(graph.size)), default=0.0)
    return Layout(tuple(x[:n]), tuple(y[:n]), routes, right + MARGIN,
                  MARGIN * 2 + ROW * len(rows))
