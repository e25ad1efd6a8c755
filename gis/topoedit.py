"""Edits of a polygon coverage that keep it a tiling (no gap, no overlap): pure shapely.

Design (instead of PostGIS Topology): the grids of a generation are a *coverage* whose
neighbours share identical vertices (one noding; ``shapely.coverage_is_valid`` holds for the
demo city). A boundary is therefore stored once in the sense that matters: every polygon that
has a boundary point has it as the *same* coordinate. An edit is an operation on coordinates,
never on one polygon alone:

- moving a vertex replaces that exact coordinate in every polygon that has it, after first
  inserting it (``node_at``) into any polygon whose boundary passes through it without a vertex
  there (a T-junction, within ``NODE_TOLERANCE_DEG`` ~ 0.1 mm) -- so both neighbours, and a
  third grid at a T-junction, follow;
- moving an edge moves every vertex of the boundary two polygons share by one offset, each
  vertex in every polygon that has it;
- splitting cuts one polygon by a line; the new boundary points are then inserted into the
  neighbours (``node_at``) so the noding stays exact;
- merging and parents are coverage unions (``shapely.coverage_union_all``: the shared edges
  drop out exactly, no overlay snapping), with a general overlay only if the input is not a
  valid coverage.

This is as exact as a topology: no coordinate is ever recomputed for an unchanged point, and
the set of polygons touching a moved point all receive the same new coordinate. It needs no
extension in the database and works on the few polygons an edit touches, which keeps an edit
with its validation well under a second. Coordinates are CGCS2000 lon/lat (EPSG:4490);
offsets and snapping distances are metres in a projected CRS (``metric_srid``, EPSG:4549).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.ops import split as _split

from gis.crs import SRID_METRIC_DEFAULT, from_metric, to_metric

Coord = tuple[float, float]
NODE_TOLERANCE_DEG = 1e-9  # ~0.1 mm: a point this close to a segment lies on it


class TopologyEditError(ValueError):
    """An edit that cannot be made; the message names the reason and the fix."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _polygons(geom: shapely.Geometry) -> list[Polygon]:
    return list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]


def _rebuild(geom: shapely.Geometry, ring_fn: object) -> shapely.Geometry:
    """``geom`` with every ring's coordinate array passed through ``ring_fn``."""
    fn = ring_fn  # (N, 2) array -> (M, 2) array
    polys = [
        Polygon(fn(np.asarray(p.exterior.coords)), [fn(np.asarray(r.coords)) for r in p.interiors])  # type: ignore[operator]
        for p in _polygons(geom)
    ]
    return MultiPolygon(polys) if isinstance(geom, MultiPolygon) else polys[0]


def vertices(geom: shapely.Geometry) -> np.ndarray:
    """All distinct vertex coordinates of ``geom`` as an (N, 2) array (lon, lat)."""
    return np.unique(shapely.get_coordinates(geom), axis=0)


def _insert_points(ring: np.ndarray, points: np.ndarray, tol: float) -> np.ndarray:
    """The ring with each point inserted into the segment it lies on (within ``tol``), unless
    it already is a vertex."""
    out = ring
    for p in points:
        if np.any(np.all(out == p, axis=1)):
            continue
        a, b = out[:-1], out[1:]
        ab = b - a
        len2 = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.where(len2 == 0, 1, len2), 0, 1)
        d = np.hypot(*(a + ab * t[:, None] - p).T)
        k = int(np.argmin(d))
        if d[k] <= tol and 0 < t[k] < 1:
            out = np.insert(out, k + 1, p, axis=0)
    return out


def node_at(
    geoms: Mapping[str, shapely.Geometry],
    points: Iterable[Coord],
    tol_deg: float = NODE_TOLERANCE_DEG,
) -> dict[str, shapely.Geometry]:
    """Insert each point as a vertex into every polygon whose boundary passes through it.

    Returns only the polygons that changed (same shape, one vertex more per point).
    """
    pts = np.asarray(list(points), dtype=float).reshape(-1, 2)
    out: dict[str, shapely.Geometry] = {}
    if not len(pts):
        return out
    for key, g in geoms.items():
        near = pts[shapely.dwithin(g.boundary, shapely.points(pts), tol_deg)]
        if not len(near):
            continue
        new = _rebuild(g, lambda r, near=near: _insert_points(r, near, tol_deg))
        if shapely.get_num_coordinates(new) != shapely.get_num_coordinates(g):
            out[key] = new
    return out


def move_vertices(
    geoms: Mapping[str, shapely.Geometry], moves: Mapping[Coord, Coord]
) -> dict[str, shapely.Geometry]:
    """Move each vertex ``from -> to`` in every polygon that has it or passes through it.

    Parameters
    ----------
    geoms : mapping code -> Polygon/MultiPolygon (EPSG:4490)
        Every polygon that has a moved vertex and all their neighbours (a polygon not given
        does not follow; a neighbour vertex on a deforming edge is inserted into it).
    moves : mapping (lon, lat) -> (lon, lat)
        Exact vertex coordinates (as found by ``snap_vertex``/``shared_vertices``) to new ones.

    Returns
    -------
    dict code -> geometry of the polygons that changed.

    Raises
    ------
    TopologyEditError
        If a moved polygon becomes invalid (self-intersecting, a collapsed ring) or
        overlaps another.
    """
    if not moves:
        return {}
    noded = {**geoms, **node_at(geoms, moves.keys())}
    src = np.array(list(moves.keys()), dtype=float)
    dst = np.array(list(moves.values()), dtype=float)
    # The polygons that deform first take every neighbour vertex lying on their edges (the
    # far end of a T-junction), so their edges bend there exactly as the neighbours' do.
    movers = {k: g for k, g in noded.items() if _has_any(g, src)}
    every = np.unique(np.vstack([shapely.get_coordinates(g) for g in noded.values()]), axis=0)
    noded.update(node_at(movers, map(tuple, every)))

    def ring_fn(ring: np.ndarray) -> np.ndarray:
        out = ring.copy()
        for s, d in zip(src, dst, strict=True):
            out[np.all(ring == s, axis=1)] = d
        # a vertex moved onto its neighbour would repeat; drop consecutive duplicates
        keep = np.r_[True, np.any(out[1:] != out[:-1], axis=1)]
        return out[keep]

    changed: dict[str, shapely.Geometry] = {}
    for key, g in noded.items():
        if key not in movers:
            continue
        try:
            new = _rebuild(g, ring_fn)
        except ValueError as exc:  # a ring with fewer than 4 points
            raise TopologyEditError(
                f"moving the vertex collapses grid {key} ({exc}); move it less far",
                field="to",
            ) from None
        if not new.is_valid:
            reason = shapely.is_valid_reason(new)
            raise TopologyEditError(
                f"the move makes grid {key} invalid ({reason}); move the vertex less far or "
                "move the vertices in between first",
                field="to",
            )
        changed[key] = new
    if overlapping(changed, {**noded, **changed}):
        raise TopologyEditError(
            "the move makes grids overlap (the vertex crosses another boundary); move it less "
            "far, or move the vertices in its way first",
            field="to",
        )
    return changed


OVERLAP_AREA_DEG2 = 1e-12  # ~0.01 m²: below this an "overlap" is floating-point noise


def overlapping(
    changed: Mapping[str, shapely.Geometry], polygons: Mapping[str, shapely.Geometry]
) -> list[tuple[str, str]]:
    """Pairs (changed key, other key) whose interiors overlap by more than floating noise."""
    keys = list(polygons)
    tree = shapely.STRtree(np.array([polygons[k] for k in keys], dtype=object))
    out = []
    for key, g in changed.items():
        for j in tree.query(g, predicate="intersects"):
            other = keys[j]
            if other == key or not g.relate_pattern(polygons[other], "T********"):
                continue
            if shapely.intersection(g, polygons[other]).area > OVERLAP_AREA_DEG2:
                out.append((key, other))
    return out


def _has_any(geom: shapely.Geometry, points: np.ndarray) -> bool:
    coords = shapely.get_coordinates(geom)
    return any(bool(np.any(np.all(coords == p, axis=1))) for p in points)


def snap_vertex(
    geoms: Iterable[shapely.Geometry],
    at: Coord,
    snap_m: float,
    metric_srid: int = SRID_METRIC_DEFAULT,
) -> Coord | None:
    """The existing vertex nearest to ``at`` (lon, lat) within ``snap_m`` metres, or None."""
    verts = np.unique(
        np.vstack([shapely.get_coordinates(g) for g in geoms] or [np.empty((0, 2))]), axis=0
    )
    if not len(verts):
        return None
    x, y = to_metric(verts[:, 0], verts[:, 1], metric_srid)
    ax, ay = to_metric([at[0]], [at[1]], metric_srid)
    d = np.hypot(x - ax[0], y - ay[0])
    k = int(np.argmin(d))
    return (float(verts[k, 0]), float(verts[k, 1])) if d[k] <= snap_m else None


def shared_vertices(
    a: shapely.Geometry, b: shapely.Geometry, tol_deg: float = NODE_TOLERANCE_DEG
) -> list[Coord]:
    """Vertices of either polygon that lie on the other's boundary (their common edge)."""
    out: set[Coord] = set()
    for p, q in ((a, b), (b, a)):
        v = vertices(p)
        on = shapely.dwithin(q.boundary, shapely.points(v), tol_deg)
        out.update((float(x), float(y)) for x, y in v[on])
    return sorted(out)


def offset_moves(
    points: Sequence[Coord], dx_m: float, dy_m: float, metric_srid: int = SRID_METRIC_DEFAULT
) -> dict[Coord, Coord]:
    """Each point moved by (dx_m east, dy_m north) metres in ``metric_srid``."""
    if not points:
        return {}
    arr = np.asarray(points, dtype=float)
    x, y = to_metric(arr[:, 0], arr[:, 1], metric_srid)
    lon, lat = from_metric(x + dx_m, y + dy_m, metric_srid)
    return {p: (float(o), float(a)) for p, o, a in zip(points, lon, lat, strict=True)}


def shares_edge(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    """True if the two polygons' boundaries share a line (not just a point)."""
    return bool(a.relate_pattern(b, "F***1****"))


def _reading_order(parts: Sequence[Polygon]) -> list[Polygon]:
    """Parts ordered west to east, then north to south (the numbering rule), by a point
    inside each part."""
    pts = [p.representative_point() for p in parts]
    order = sorted(range(len(parts)), key=lambda i: (round(pts[i].x, 6), -pts[i].y))
    return [parts[i] for i in order]


def split_polygon(poly: shapely.Geometry, line: LineString) -> list[Polygon]:
    """Cut ``poly`` by ``line`` into parts (numbering order: west to east, north to south).

    Raises
    ------
    TopologyEditError
        If the line does not cut the polygon into at least two parts (it must cross it from
        outside to outside) or is not a simple line.
    """
    if not isinstance(line, LineString) or line.is_empty or not line.is_simple:
        raise TopologyEditError(
            "the split line must be one simple LineString (no self-crossing)", field="line"
        )
    parts = [p for g in _polygons(poly) for p in shapely.get_parts(_split(g, line).geoms)]
    parts = [p for p in parts if isinstance(p, Polygon) and p.area > 0]
    if len(parts) < 2:
        raise TopologyEditError(
            "the line does not cut the grid in two; draw it across the grid from a point "
            "outside to a point outside",
            field="line",
        )
    return _reading_order(parts)


def union_coverage(geoms: Sequence[shapely.Geometry]) -> shapely.Geometry:
    """Union of polygons that tile an area: exact coverage union when they form a valid
    coverage (shared edges drop out, no vertex moves), a general overlay otherwise."""
    arr = np.asarray(list(geoms), dtype=object)
    if len(arr) == 1:
        return arr[0]
    if shapely.coverage_is_valid(arr):
        return shapely.coverage_union_all(arr)
    return shapely.union_all(arr)


def merge_polygons(a: shapely.Geometry, b: shapely.Geometry) -> Polygon:
    """The union of two neighbouring polygons, one polygon.

    Raises
    ------
    TopologyEditError
        If they do not share an edge or the union is not a single polygon.
    """
    if not shares_edge(a, b):
        raise TopologyEditError(
            "the two grids do not share a boundary line; merge only neighbouring grids",
            field="codes",
        )
    merged = union_coverage([a, b])
    if not isinstance(merged, Polygon):
        raise TopologyEditError(
            "the merged grid would be in several pieces; merge only grids that share an edge",
            field="codes",
        )
    return merged


def as_multipolygon(geom: shapely.Geometry) -> MultiPolygon:
    """A Polygon as a one-part MultiPolygon (how grids are stored); MultiPolygons unchanged."""
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon)]
    return MultiPolygon(parts)
