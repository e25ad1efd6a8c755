"""A grid's geometry replaced as a whole (OGC API Features Part 4 ``PUT``), made an edit that
keeps the tiling: the replacement is read as *moves of the grid's own vertices*, and those moves
go through ``layers.planning.edits`` like a ``move_vertex`` (every neighbour with the vertex
follows, parents are re-derived, the edit is logged with who and why and is undoable).

A replacement is accepted when it has the grid's vertices, ring by ring, some of them moved
(a client such as QGIS writes back the rings it read, in the same order, or reversed, or from
another start; the best match is found). Coordinates within :data:`SAME_POINT_DEG` (~5 cm) of
the stored ones count as unchanged (the OGC answer rounds to 7 decimals). A replacement with
vertices added or removed, or another shape, is *not* applied: :func:`replacement_problems`
measures the gap and the overlap it would open against the current neighbours, and the caller
answers them (HTTP 422) with the edits to use instead (``move_vertex``, ``split``, ``merge``).

The op is registered in the edit table (``layers.planning.edit_ops.register_operation``) as
``replace_geometry`` (params ``code`` and ``geometry``: a GeoJSON Polygon/MultiPolygon in
EPSG:4490 lon/lat), so
undo/redo and the edit log treat it like every other edit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from sqlalchemy.orm import Session

from gis.crs import to_metric
from layers.errors import InvalidGeometry, with_zh
from layers.planning.draft_rows import Change, GridRow, InvalidEdit, one_row, read_rows
from layers.planning.edit_ops import move_shared_vertices, register_operation
from layers.planning.geometry_guard import geometry_refused, require_valid_outline

OP = "replace_geometry"
SAME_POINT_DEG = 5e-7  # ~5 cm: closer than this to the stored vertex = not moved
RESULT_TOLERANCE_DEG = 2e-6  # ~20 cm: how far the stored result may be from the request
NOISE_AREA_M2 = 0.01


class ReplacementRefused(InvalidEdit):
    """A replacement geometry that cannot be made by moving the grid's vertices (HTTP 422);
    ``extra`` holds ``problems`` (the gap/overlap it would open) and ``edits`` to use."""


def parse_polygon(value: Any, field: str = "geometry") -> Polygon | MultiPolygon:
    """A GeoJSON Polygon/MultiPolygon (lon, lat) as a 2-D shapely geometry."""
    try:
        geom = shape(value) if isinstance(value, dict) else None
    except (TypeError, ValueError, KeyError, AttributeError, shapely.errors.GEOSException):
        geom = None
    if not isinstance(geom, (Polygon, MultiPolygon)) or geom.is_empty:
        raise with_zh(
            InvalidEdit(
                f"{field} must be a GeoJSON Polygon or MultiPolygon (the grid's new outline)",
                field=field,
            ),
            f"{field} 应为 GeoJSON Polygon 或 MultiPolygon（网格的新边界）",
        )
    return shapely.force_2d(geom)


def _parts(geom: shapely.Geometry) -> list[Polygon]:
    return list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]


def _rings(geom: shapely.Geometry) -> list[np.ndarray]:
    """Every ring's distinct vertices (closing point dropped), polygon by polygon."""
    out = []
    for p in _parts(geom):
        for ring in (p.exterior, *p.interiors):
            out.append(np.asarray(ring.coords)[:-1])
    return out


def _ring_moves(old: np.ndarray, new: np.ndarray) -> dict[tuple[float, float], tuple[float, float]]:
    """old vertex -> new position for the rotation/direction of ``new`` that keeps most
    vertices in place; raises if the vertex counts differ."""
    n = len(old)
    best: tuple[int, np.ndarray] | None = None
    for candidate in (new, new[::-1]):
        for k in range(n):
            rolled = np.roll(candidate, -k, axis=0)
            same = int(np.sum(np.hypot(*(rolled - old).T) <= SAME_POINT_DEG))
            if best is None or same > best[0]:
                best = (same, rolled)
    assert best is not None
    moved = np.hypot(*(best[1] - old).T) > SAME_POINT_DEG
    return {
        (float(o[0]), float(o[1])): (float(t[0]), float(t[1]))
        for o, t in zip(old[moved], best[1][moved], strict=True)
    }


def vertex_moves(
    old: shapely.Geometry, new: shapely.Geometry
) -> dict[tuple[float, float], tuple[float, float]] | None:
    """The vertex moves that turn ``old`` into ``new``, or None if ``new`` does not have the
    same polygons, rings and vertex counts (so it is not a move of vertices)."""
    a, b = _rings(old), _rings(new)
    if len(_parts(old)) != len(_parts(new)) or [len(r) for r in a] != [len(r) for r in b]:
        return None
    moves: dict[tuple[float, float], tuple[float, float]] = {}
    for ring_old, ring_new in zip(a, b, strict=True):
        moves.update(_ring_moves(ring_old, ring_new))
    return moves


def _area_m2(geom: shapely.Geometry, metric_srid: int) -> float:
    if geom.is_empty:
        return 0.0

    def project(c: np.ndarray) -> np.ndarray:
        return np.column_stack(to_metric(c[:, 0], c[:, 1], metric_srid))

    return float(shapely.transform(geom, project).area)


def replacement_problems(
    *, row: GridRow, new: shapely.Geometry, neighbours: dict[str, GridRow], metric_srid: int
) -> list[dict[str, Any]]:
    """The gap (ground of the grid the replacement leaves uncovered) and the overlaps (with each
    neighbour) that storing ``new`` as it is would open, in the shape of ``gis.hierarchy``
    problems (kind, codes, level, area_m2, location, geometry)."""
    out: list[dict[str, Any]] = []
    others = [r.geom for r in neighbours.values()]
    uncovered = shapely.difference(row.geom, new)
    if others:
        uncovered = shapely.difference(uncovered, shapely.union_all(others))
    if (area := _area_m2(uncovered, metric_srid)) > NOISE_AREA_M2:
        detail = f"the new outline of {row.code} leaves {area:.1f} m² uncovered"
        out.append(_problem("gap", (row.code,), row.level, uncovered, area, detail))
    for code, other in sorted(neighbours.items()):
        shared = shapely.intersection(new, other.geom)
        if (area := _area_m2(shared, metric_srid)) > NOISE_AREA_M2:
            detail = f"the new outline of {row.code} overlaps {code} by {area:.1f} m²"
            out.append(_problem("overlap", (row.code, code), row.level, shared, area, detail))
    return out


def _problem(
    kind: str, codes: tuple[str, ...], level: int, geom: shapely.Geometry, area: float, detail: str
) -> dict[str, Any]:
    point = geom.representative_point()
    return {
        "kind": kind,
        "codes": list(codes),
        "level": level,
        "location": [round(point.x, 7), round(point.y, 7)],
        "detail": detail,
        "area_m2": round(area, 2),
        "geometry": shapely.geometry.mapping(geom),
    }


def op_replace_geometry(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    """The edit: ``params`` = {code, geometry (GeoJSON, EPSG:4490 lon/lat)}."""
    code = params.get("code")
    if not isinstance(code, str) or not code:
        raise with_zh(
            InvalidEdit("code is required (the grid whose outline is replaced)", field="code"),
            "请填写 code（要替换边界的网格）",
        )
    row = one_row(session, gen, code)
    new = parse_polygon(params.get("geometry"))
    if row.level != 3:
        raise with_zh(
            InvalidEdit(
                f"{code} is a level-{row.level} grid, derived from its unit grids; move the unit "
                "grids' vertices (grids-l3) and the parents follow",
                field="code",
            ),
            f"{code} 是第 {row.level} 级网格，由其单元网格合成；请移动单元网格（grids-l3）的顶点，"
            "上级网格会随之改变",
        )
    require_valid_outline(new)  # a self-crossing ring (swapped vertices, a vertex far across)
    moves = vertex_moves(row.geom, new)
    if moves is None:
        near = read_rows(
            session, gen, "level = :lvl AND code <> :c AND ST_DWithin(geom, ST_GeomFromWKB(:g, "
            "4490), 0.01)", lvl=row.level, c=code, g=shapely.to_wkb(new.union(row.geom)),
        )  # fmt: skip
        problems = replacement_problems(row=row, new=new, neighbours=near, metric_srid=srid)
        raise with_zh(
            ReplacementRefused(
                f"the new outline of {code} adds or removes vertices, so it cannot be made by "
                "moving "
                "its shared boundary; keep the grid's vertices and move them (every neighbour "
                "follows), or use the edits split (cut a grid), merge (join two), move_vertex / "
                f"move_edge at POST /api/v1/generations/{gen}/edits",
                field="geometry",
                extra={
                    "problems": problems,
                    "edits": ["move_vertex", "move_edge", "split", "merge"],
                },
            ),
            f"网格 {code} 的新边界增加或删除了顶点，无法通过移动共享边界得到；"
            "请保留原有顶点只移动它们（相邻网格随之改变），或改用拆分（split）、合并（merge）、"
            "移动顶点/边（move_vertex / move_edge）",
        )
    if not moves:
        return [], [], set()
    try:
        before, after, parents = move_shared_vertices(session, gen, moves)
    except InvalidGeometry as exc:  # the moved boundary crosses another grid (or folds)
        near = read_rows(
            session, gen, "level = 3 AND code <> :c AND ST_DWithin(geom, ST_GeomFromWKB(:g, "
            "4490), 0.01)", c=code, g=shapely.to_wkb(new.union(row.geom)),
        )  # fmt: skip
        problems = replacement_problems(row=row, new=new, neighbours=near, metric_srid=srid)
        raise with_zh(
            ReplacementRefused(
                f"the new outline of {code} cannot be made by moving its vertices: {exc.detail}; "
                "nothing was stored — move the vertices less far (not across another grid), or "
                f"use the edits split (cut a grid), merge (join two) or move_vertex at POST "
                f"/api/v1/generations/{gen}/edits",
                field="geometry",
                extra={"problems": problems, "edits": ["move_vertex", "split", "merge"]},
            ),
            f"网格 {code} 的新边界无法通过移动顶点得到（移动后会越过其他网格或自相交），"
            "未做任何修改；请少移一些（不要越过其他网格），或改用拆分（split）、合并（merge）、"
            "移动顶点（move_vertex）",
        ) from None
    result = next((r.geom for r in after if r.code == code), row.geom)
    if not all(shapely.is_valid(r.geom) for r in after):  # never store what GEOS calls invalid
        raise geometry_refused("geometry", "the moved outlines would cross themselves")
    if shapely.hausdorff_distance(result, new) > RESULT_TOLERANCE_DEG:
        raise with_zh(
            ReplacementRefused(
                f"moving the vertices of {code} as asked also bends its boundary where a "
                "neighbour's vertex lies on it (a T-junction), so the stored outline would differ "
                "from the one sent; include those vertices in the outline, or move vertices one by "
                f"one with move_vertex at POST /api/v1/generations/{gen}/edits",
                field="geometry",
                extra={"problems": [], "edits": ["move_vertex"]},
            ),
            f"按要求移动 {code} 的顶点时，相邻网格位于其边上的顶点（T 形连接）也会使边界弯折，"
            "保存的边界会与提交的不同；请把这些顶点包含在边界中，或用 move_vertex 逐个移动顶点",
        )
    return before, after, parents


TILING_KINDS = ("invalid_geometry", "overlap", "gap", "outside_parent", "not_tiling_parent")


def neighbour_codes(*, session: Session, draft_id: int, code: str) -> set[str]:
    """``code`` and the unit grids touching it (those a vertex move can change)."""
    row = one_row(session, draft_id, code)
    near = read_rows(
        session, draft_id, "level = 3 AND ST_DWithin(geom, ST_GeomFromWKB(:g, 4490), 1e-8)",
        g=shapely.to_wkb(row.geom),
    )  # fmt: skip
    return {code, *near}


def new_tiling_problems(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The gap/overlap/nesting problems of the ``after`` validation (``validate_affected``)
    that the ``before`` one of the same towns did not have."""
    had = {(p["kind"], tuple(p["codes"])) for p in before["problems"]}
    return [
        p
        for p in after["problems"]
        if p["kind"] in TILING_KINDS and (p["kind"], tuple(p["codes"])) not in had
    ]


# Registered like the other ops (undo/redo and the log are op-agnostic).
register_operation(OP, op_replace_geometry)
