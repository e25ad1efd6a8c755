"""The impact report as a map (issue 10): the objects whose grid a publication changes, as
GeoJSON points by kind, for /plan's impact panel (maps/static/gridgis-plan-impact-map.js).

:func:`impact_points` takes an impact report (``layers.planning.impact.impact_report``) and
answers a FeatureCollection (EPSG:4490 longitude, latitude, CRS84 axis order; no ``crs``
member): ``kind`` ``household`` (its point; ``old_grid``, ``new_grid``), ``event`` (its point;
``grid_at_report``, ``new_grid``: events keep their report-time grid), ``assignment`` (a point
on the surface of the assignment's grid in the old generation: people have no place of their
own; ``name``, ``role``, ``action``, ``new_grid``) and ``grid_role`` (a point on the new grid
left without a role: ``role``, ``candidates``). ``counts`` by kind. Exact: the same objects
as the report (points read by id, no second spatial query).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

POINT_KINDS = ("household", "event", "assignment", "grid_role")


def _points(session: Session, table: str, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = session.execute(
        text(f"SELECT id, ST_AsGeoJSON(geom, 7, 0) AS gj FROM {table} WHERE id = ANY(:ids)"),
        {"ids": ids},
    )
    return {r.id: orjson.loads(r.gj) for r in rows if r.gj}


def _grid_points(session: Session, generation_id: int, codes: list[str]) -> dict[str, Any]:
    if not codes:
        return {}
    rows = session.execute(
        text(
            "SELECT code, ST_AsGeoJSON(ST_PointOnSurface(geom), 7, 0) AS gj FROM grid "
            "WHERE generation_id = :g AND code = ANY(:c)"
        ),
        {"g": generation_id, "c": codes},
    )
    return {r.code: orjson.loads(r.gj) for r in rows}


def impact_points(session: Session, report: dict[str, Any]) -> dict[str, Any]:
    """The report's objects as GeoJSON points by kind (module docstring)."""
    households = report["households"]["items"]
    events = report["events"]["items"]
    assignments = report["assignments"]["items"]
    to_staff = report.get("grids_to_staff", {}).get("items", [])
    h_at = _points(session, "household", [h["id"] for h in households])
    e_at = _points(session, "event", [e["id"] for e in events])
    a_at = _grid_points(session, report["against"], sorted({a["grid_code"] for a in assignments}))
    s_at = _grid_points(session, report["draft"], sorted({s["grid_code"] for s in to_staff}))
    features: list[dict[str, Any]] = []

    def add(kind: str, fid: str, geometry: Any, props: dict[str, Any]) -> None:
        if geometry is not None:
            features.append({"type": "Feature", "id": f"{kind}:{fid}", "geometry": geometry,
                             "properties": {"kind": kind, **props}})  # fmt: skip

    for h in households:
        add("household", str(h["id"]), h_at.get(h["id"]), h)
    for e in events:
        add("event", str(e["id"]), e_at.get(e["id"]), e)
    for a in assignments:
        add("assignment", str(a["id"]), a_at.get(a["grid_code"]), a)
    for s in to_staff:
        add("grid_role", f"{s['grid_code']}:{s['role']}", s_at.get(s["grid_code"]), s)
    counts = {k: sum(1 for f in features if f["properties"]["kind"] == k) for k in POINT_KINDS}
    return {"type": "FeatureCollection", "draft": report["draft"], "against": report["against"],
            "counts": counts, "features": features}  # fmt: skip


__all__ = ["POINT_KINDS", "impact_points"]
