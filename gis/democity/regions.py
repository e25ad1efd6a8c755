"""Grouping unit grids into villages and towns by growing regions on the adjacency graph.

A multi-source Dijkstra over the grid adjacency graph (edge length = distance between the
grids' seeds) gives every region as a shortest-path tree around its source, so every region
is connected by construction.
"""

from __future__ import annotations

import heapq

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Graph = list[list[tuple[int, float]]]


def build_graph(n: int, pairs: IntArray, xy: FloatArray) -> Graph:
    """Adjacency lists; the weight of an edge is the distance between the nodes' points."""
    graph: Graph = [[] for _ in range(n)]
    for i, j in pairs.tolist():
        w = float(np.hypot(*(xy[i] - xy[j])))
        graph[i].append((j, w))
        graph[j].append((i, w))
    return graph


def grow(
    graph: Graph,
    sources: list[int],
    offsets: list[float] | None = None,
    allowed: NDArray[np.bool_] | None = None,
) -> IntArray:
    """Label each node with the index of its nearest source (plus that source's offset).

    Nodes outside ``allowed`` (or unreachable) get -1. Ties go to the lower source index.
    """
    n = len(graph)
    label = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    heap: list[tuple[float, int, int]] = []
    for k, s in enumerate(sources):
        d0 = 0.0 if offsets is None else offsets[k]
        heapq.heappush(heap, (d0, k, s))
    while heap:
        d, k, node = heapq.heappop(heap)
        if label[node] >= 0:
            continue
        label[node] = k
        dist[node] = d
        for nxt, w in graph[node]:
            if label[nxt] < 0 and (allowed is None or allowed[nxt]):
                heapq.heappush(heap, (d + w, k, nxt))
    return label


def grow_to_areas(
    graph: Graph,
    sources: list[int],
    area: FloatArray,
    target: FloatArray,
    iterations: int = 60,
) -> IntArray:
    """Regions around ``sources`` whose areas approach ``target`` (same units as ``area``).

    Additive source offsets are tuned by a damped fixed-point iteration; the best labelling
    seen (smallest worst relative error) is returned.
    """
    offsets = np.zeros(len(sources))
    best: tuple[float, IntArray] | None = None
    for _ in range(iterations):
        label = grow(graph, sources, offsets.tolist())
        got = np.bincount(label, weights=area, minlength=len(sources))
        err = float(np.max(np.abs(got / target - 1.0)))
        if best is None or err < best[0]:
            best = (err, label)
        # metres of offset per unit of sqrt-area error (areas in m²)
        offsets += 0.6 * (np.sqrt(got) - np.sqrt(target))
        offsets -= offsets.min()
    assert best is not None
    return best[1]


def cluster(
    graph: Graph,
    members: IntArray,
    k: int,
    xy: FloatArray,
    rng: np.random.Generator,
    iterations: int = 10,
) -> IntArray:
    """Split the connected node set ``members`` into ``k`` connected clusters of similar size.

    k-means++ initial sources, then graph Lloyd steps: each source moves to the member
    nearest its cluster's mean position. Returns the cluster index of each member (0..k-1).
    """
    allowed = np.zeros(len(graph), dtype=bool)
    allowed[members] = True
    pts = xy[members]
    first = int(rng.integers(len(members)))
    chosen = [first]
    d2 = np.sum((pts - pts[first]) ** 2, axis=1)
    for _ in range(1, k):
        nxt = int(rng.choice(len(members), p=d2 / d2.sum()))
        chosen.append(nxt)
        d2 = np.minimum(d2, np.sum((pts - pts[nxt]) ** 2, axis=1))
    sources = [int(members[c]) for c in chosen]
    label = grow(graph, sources, allowed=allowed)[members]
    for _ in range(iterations):
        new_sources = []
        for c in range(k):
            inside = np.flatnonzero(label == c)
            mean = pts[inside].mean(axis=0)
            nearest = inside[np.argmin(np.sum((pts[inside] - mean) ** 2, axis=1))]
            new_sources.append(int(members[nearest]))
        if new_sources == sources:
            break
        sources = new_sources
        label = grow(graph, sources, allowed=allowed)[members]
    return _rebalance(graph, members, label, k, xy)


def _connected(graph: Graph, nodes: set[int]) -> bool:
    if not nodes:
        return False
    start = next(iter(nodes))
    seen, stack = {start}, [start]
    while stack:
        for nxt, _ in graph[stack.pop()]:
            if nxt in nodes and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return len(seen) == len(nodes)


def _rebalance(
    graph: Graph, members: IntArray, label: IntArray, k: int, xy: FloatArray, min_size: int = 3
) -> IntArray:
    """Grow clusters smaller than ``min_size`` by taking neighbouring nodes from larger ones.

    A node moves only if its old cluster stays connected and keeps more than ``min_size``
    nodes; the node nearest the small cluster's mean position goes first.
    """
    label = label.copy()
    where = {int(m): i for i, m in enumerate(members.tolist())}
    for _ in range(len(members)):
        sizes = np.bincount(label, minlength=k)
        small = [c for c in np.argsort(sizes, kind="stable").tolist() if sizes[c] < min_size]
        moved = False
        for c in small:
            inside = members[label == c]
            mean = xy[inside].mean(axis=0)
            options = sorted(
                {
                    nxt
                    for node in inside.tolist()
                    for nxt, _ in graph[node]
                    if nxt in where and label[where[nxt]] != c
                },
                key=lambda n: (float(np.hypot(*(xy[n] - mean))), n),
            )
            for cand in options:
                donor = int(label[where[cand]])
                rest = set(members[label == donor].tolist()) - {cand}
                if sizes[donor] > min_size and _connected(graph, rest):
                    label[where[cand]] = c
                    moved = True
                    break
            if moved:
                break
        if not moved:
            return label
    return label


def enclosed_components(graph: Graph, region: NDArray[np.bool_], on_edge: NDArray[np.bool_]) -> int:
    """How many connected groups of nodes outside ``region`` it fully surrounds.

    A group of non-region nodes none of which lies on the city edge (``on_edge``) is a hole
    in the region's polygon.
    """
    seen = region.copy()
    holes = 0
    for start in range(len(graph)):
        if seen[start]:
            continue
        seen[start] = True
        stack, touches_edge = [start], False
        while stack:
            node = stack.pop()
            touches_edge |= bool(on_edge[node])
            for nxt, _ in graph[node]:
                if not seen[nxt]:
                    seen[nxt] = True
                    stack.append(nxt)
        holes += not touches_edge
    return holes
