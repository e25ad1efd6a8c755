"""The planar partition: wiggly Voronoi linework, noded once on a 1e-7 degree grid.

All faces come out of ONE snap-rounded noding of all edges plus the outline boundary
(``shapely.union_all(..., grid_size=1e-7)`` then ``shapely.polygonize``), so neighbouring
faces share identical vertices and any union of faces is a clean coverage.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

GRID_SIZE_DEG = 1e-7
"""Every vertex lies on this lon/lat grid (about 1 cm)."""
_AMPLITUDE = 0.4
"""Peak wiggle as a share of the room an edge has toward the two seeds it separates."""
_MAX_BULGE = 0.16
"""Peak wiggle as a share of the edge's own length (keeps short edges from spiking)."""
_WAVELENGTHS = (0.9, 0.4, 0.18)
"""Wavelengths of the wiggle, as multiples of the local grid side."""
_STRAIGHT_SIDE_M = 1000.0
"""Edges of grids smaller than this side wiggle less (town streets are straighter)."""


def _voronoi_edges(points_m: FloatArray, outline_m: Polygon) -> tuple[FloatArray, IntArray]:
    """Voronoi edges as (m, 2, 2) end points and the (m, 2) indices of the seeds they part."""
    envelope = shapely.buffer(shapely.envelope(outline_m), 20_000.0)
    diagram = shapely.voronoi_polygons(
        shapely.multipoints(points_m), extend_to=envelope, ordered=True
    )
    cells = shapely.get_parts(diagram)
    coords, owner = shapely.get_coordinates(shapely.get_exterior_ring(cells), return_index=True)
    same = owner[:-1] == owner[1:]
    a, b, cell = coords[:-1][same], coords[1:][same], owner[:-1][same]
    ka = np.rint(a * 1000.0).astype(np.int64)
    kb = np.rint(b * 1000.0).astype(np.int64)
    swap = (ka[:, 0] > kb[:, 0]) | ((ka[:, 0] == kb[:, 0]) & (ka[:, 1] > kb[:, 1]))
    ka[swap], kb[swap] = kb[swap], ka[swap].copy()
    a[swap], b[swap] = b[swap], a[swap].copy()
    _, seg, counts = np.unique(np.hstack([ka, kb]), axis=0, return_inverse=True, return_counts=True)
    seg = seg.ravel()
    order = np.argsort(seg, kind="stable")
    paired = (seg[order[:-1]] == seg[order[1:]]) & (counts[seg[order[:-1]]] == 2)
    first, second = order[:-1][paired], order[1:][paired]
    ends = np.stack([a[first], b[first]], axis=1)
    return ends, np.column_stack([cell[first], cell[second]]).astype(np.int64)


def _wiggle(
    va: FloatArray, vb: FloatArray, seed: FloatArray, side: float, rng: np.random.Generator
) -> FloatArray | None:
    vec = vb - va
    length = float(np.hypot(*vec))
    if length == 0.0:
        return None
    n = int(min(max(np.ceil(length / max(0.12 * side, 25.0)), 1), 400)) + 1
    t = np.linspace(0.0, 1.0, n)
    rel = seed - va
    tp = float(rel @ vec) / length**2
    h = abs(float(rel[0] * vec[1] - rel[1] * vec[0])) / length
    room = np.full(n, np.inf)
    if tp > 0:
        room = np.minimum(room, t / tp)
    if tp < 1:
        room = np.minimum(room, (1.0 - t) / (1.0 - tp))
    urban = min(max(side / _STRAIGHT_SIDE_M, 0.4), 1.0)
    amp = urban * np.minimum(_AMPLITUDE * h * room, _MAX_BULGE * length * np.sin(np.pi * t))
    weights = rng.uniform(0.2, 1.0, len(_WAVELENGTHS))
    phases = rng.uniform(0.0, 2.0 * np.pi, len(_WAVELENGTHS))
    arc = t * length
    noise = np.zeros(n)
    for w, lam, ph in zip(weights, _WAVELENGTHS, phases, strict=True):
        noise += w * np.cos(2.0 * np.pi * arc / (lam * side) + ph)
    noise /= weights.sum()
    normal = np.array([-vec[1], vec[0]]) / length
    pts = va + np.outer(t, vec) + np.outer(amp * noise, normal)
    pts[0], pts[-1] = va, vb
    return pts


def wiggly_edges(
    points_m: FloatArray,
    outline_m: Polygon,
    side_m: Callable[[FloatArray, FloatArray], FloatArray],
    rng: np.random.Generator,
) -> NDArray[np.object_]:
    """The Voronoi edges of ``points_m`` bent into smooth wiggly lines, like roads and brooks.

    Each edge is displaced sideways, but only inside its "kite" (the two triangles between
    the edge and the two seeds it separates, scaled by ``_AMPLITUDE``); kites of different
    edges do not overlap, so bent edges do not cross and each seed stays inside its own cell.
    ``side_m`` gives the local grid side (m), which sets the wiggle's wavelengths. Returns
    LineStrings in metres, cut to 300 m around the outline.
    """
    ends, owners = _voronoi_edges(points_m, outline_m)
    mid = ends.mean(axis=1)
    sides = side_m(mid[:, 0], mid[:, 1])
    lines = []
    for (va, vb), (i, _j), side in zip(ends, owners, sides.tolist(), strict=True):
        pts = _wiggle(va, vb, points_m[i], side, rng)
        if pts is not None:
            lines.append(shapely.linestrings(pts))
    reach = shapely.buffer(outline_m, 300.0)
    shapely.prepare(reach)
    arr = np.asarray(lines)
    arr = arr[shapely.intersects(reach, arr)]
    return np.asarray(shapely.intersection(arr, reach))


def build_faces(lines_deg: NDArray[np.object_], outline_deg: MultiPolygon) -> NDArray[np.object_]:
    """Node ``lines_deg`` with the outline boundary on the 1e-7° grid and polygonize.

    Returns the faces inside ``outline_deg`` (CGCS2000 degrees), each a valid Polygon whose
    vertices are shared exactly with its neighbours.
    """
    all_lines = np.concatenate([lines_deg, shapely.get_parts(outline_deg.boundary)])
    noded = shapely.union_all(all_lines, grid_size=GRID_SIZE_DEG)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    shapely.prepare(outline_deg)
    keep = shapely.contains_properly(outline_deg, shapely.point_on_surface(faces))
    faces = faces[keep & (shapely.area(faces) > 0)]
    invalid = ~shapely.is_valid(faces)
    if invalid.any():
        faces[invalid] = shapely.make_valid(faces[invalid])
    return np.asarray(faces)


def face_adjacency(
    faces: NDArray[np.object_],
) -> tuple[IntArray, FloatArray, NDArray[np.bool_]]:
    """Pairs of faces sharing at least one segment, and the shared length (approx. metres).

    Segments are matched exactly on their integer 1e-7° coordinates. Returns ``pairs`` of
    shape (m, 2) with ``pairs[:, 0] < pairs[:, 1]``, ``length_m`` of shape (m,) and
    ``on_edge``, true for faces with a segment on the city outline.
    """
    rings, ring_face = shapely.get_rings(faces, return_index=True)
    coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
    same = ring_idx[:-1] == ring_idx[1:]
    a = np.rint(coords[:-1][same] / GRID_SIZE_DEG).astype(np.int64)
    b = np.rint(coords[1:][same] / GRID_SIZE_DEG).astype(np.int64)
    owner = ring_face[ring_idx[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    a[swap], b[swap] = b[swap], a[swap].copy()
    _, seg_id = np.unique(np.hstack([a, b]), axis=0, return_inverse=True)
    seg_id = seg_id.ravel()
    lat = np.radians(a[:, 1] * GRID_SIZE_DEG)
    dx = (b[:, 0] - a[:, 0]) * GRID_SIZE_DEG * 111_320.0 * np.cos(lat)
    dy = (b[:, 1] - a[:, 1]) * GRID_SIZE_DEG * 110_574.0
    seg_len = np.hypot(dx, dy)
    order = np.argsort(seg_id, kind="stable")
    sid, own, slen = seg_id[order], owner[order], seg_len[order]
    twin = np.flatnonzero(sid[:-1] == sid[1:])
    f1, f2 = own[twin], own[twin + 1]
    keep = f1 != f2
    lo = np.minimum(f1, f2)[keep]
    hi = np.maximum(f1, f2)[keep]
    pairs, inv = np.unique(np.column_stack([lo, hi]), axis=0, return_inverse=True)
    length: FloatArray = np.asarray(
        np.bincount(inv.ravel(), weights=slen[twin][keep], minlength=len(pairs)), dtype=np.float64
    )
    on_edge: NDArray[np.bool_] = np.zeros(len(faces), dtype=bool)
    lonely = np.bincount(seg_id)[seg_id] == 1
    on_edge[owner[lonely]] = True
    return pairs.astype(np.int64), length, on_edge


def _neighbours(n: int, pairs: IntArray, length: FloatArray) -> list[dict[int, float]]:
    adj: list[dict[int, float]] = [{} for _ in range(n)]
    for (i, j), w in zip(pairs.tolist(), length.tolist(), strict=True):
        adj[i][j] = adj[i].get(j, 0.0) + w
        adj[j][i] = adj[j].get(i, 0.0) + w
    return adj


def _components(members: list[int], adj: list[dict[int, float]]) -> list[list[int]]:
    member_set = set(members)
    seen: set[int] = set()
    out: list[list[int]] = []
    for start in members:
        if start in seen:
            continue
        comp, stack = [], [start]
        seen.add(start)
        while stack:
            f = stack.pop()
            comp.append(f)
            for g in adj[f]:
                if g in member_set and g not in seen:
                    seen.add(g)
                    stack.append(g)
        out.append(comp)
    return out


def assign_faces(
    n_faces: int, seed_face: IntArray, pairs: IntArray, length: FloatArray
) -> IntArray:
    """Group faces into grids: grid i grows from face ``seed_face[i]``.

    Faces with no seed (pieces of a Voronoi cell cut off by the outline, tiny faces made by
    rounding) go to the neighbouring grid they share the longest boundary with; pieces of a
    grid not connected to its seed face are handed on the same way, so every grid ends up a
    connected set of faces.
    """
    adj = _neighbours(n_faces, pairs, length)
    grid = np.full(n_faces, -1, dtype=np.int64)
    grid[seed_face] = np.arange(len(seed_face))
    for _ in range(50):
        pending = set(np.flatnonzero(grid < 0).tolist())
        while pending:
            progressed = False
            for f in sorted(pending):
                best = max(((w, grid[g]) for g, w in adj[f].items() if grid[g] >= 0), default=None)
                if best is not None:
                    grid[f] = best[1]
                    pending.discard(f)
                    progressed = True
            if not progressed:
                raise RuntimeError("faces with no assigned neighbour: the linework is broken")
        members: dict[int, list[int]] = {}
        for f, g in enumerate(grid.tolist()):
            members.setdefault(g, []).append(f)
        detached = 0
        for g, faces in members.items():
            comps = _components(faces, adj)
            for comp in comps:
                if seed_face[g] not in comp:
                    grid[comp] = -1
                    detached += len(comp)
        if detached == 0:
            return grid
    raise RuntimeError("could not make every grid connected; try another seed")
