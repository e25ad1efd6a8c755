"""Grid features for the OGC API collections: a page of one level of any generation, filtered
by a bbox that tests the geometries (not their envelopes), and one grid.

Coordinates are EPSG:4490 lon/lat as stored (7 decimals, ~1 cm); the API turns them into the
requested CRS's axis order (api/ogc_crs.py). Features have the same properties as
``layers.grids.grid_features`` (code, name, level, parent_code, area_m2).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import GridNotFound

Bbox = tuple[float, float, float, float]
Feature = dict[str, Any]

# ``geom && env`` picks candidates by the GiST index, ``ST_Intersects`` keeps those whose
# geometry really meets the box (an L-shaped grid whose envelope alone touches it is left out).
_BBOX = (
    " AND geom && ST_MakeEnvelope(:w, :s, :e, :n, 4490)"
    " AND ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4490))"
)


def _where(generation_id: int, level: int, bbox: Bbox | None) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"g": generation_id, "level": level}
    where = "generation_id = :g AND level = :level"
    if bbox is not None:
        where += _BBOX
        params.update(dict(zip("wsen", bbox, strict=True)))
    return where, params


def grid_feature(row: Any) -> Feature:
    """A GeoJSON feature of a grid row (``code, name, level, parent_code, area_m2`` and ``gj``,
    its ``ST_AsGeoJSON`` text): id the code, area rounded to 0.1 m2; the one feature shape of
    ``layers.grids.grid_features`` and the OGC items."""
    return {
        "type": "Feature",
        "id": row.code,
        "geometry": orjson.loads(row.gj),
        "properties": {
            "code": row.code,
            "name": row.name,
            "level": row.level,
            "parent_code": row.parent_code,
            "area_m2": round(row.area_m2, 1),
        },
    }


_COLUMNS = "code, name, level, parent_code, area_m2, ST_AsGeoJSON(geom, 7, 0) AS gj"


def grid_page(
    *, session: Session, generation_id: int, level: int, bbox: Bbox | None, limit: int,
    offset: int,
) -> tuple[int, list[Feature]]:  # fmt: skip
    """(number matched, the page of features ordered by code) of one level of a generation;
    ``bbox`` (west, south, east, north) in EPSG:4490 degrees."""
    where, params = _where(generation_id, level, bbox)
    matched = int(
        session.execute(text(f"SELECT count(*) FROM grid WHERE {where}"), params).scalar_one()
    )
    rows = session.execute(
        text(f"SELECT {_COLUMNS} FROM grid WHERE {where} ORDER BY code LIMIT :lim OFFSET :off"),
        {**params, "lim": limit, "off": offset},
    )
    return matched, [grid_feature(r) for r in rows]


def grid_item(*, session: Session, generation_id: int, level: int, code: str) -> Feature:
    """One grid of the level; GridNotFound (404) naming the collection otherwise."""
    row = session.execute(
        text(f"SELECT {_COLUMNS} FROM grid WHERE generation_id = :g AND code = :c"),
        {"g": generation_id, "c": code},
    ).one_or_none()
    if row is None or row.level != level:
        where = "" if row is None else f" (it is level {row.level})"
        raise GridNotFound(
            f"no grid {code!r} in grids-l{level} of generation {generation_id}{where}; list "
            f"them at /ogc/collections/grids-l{level}@{generation_id}/items",
            field="featureId",
        )
    return grid_feature(row)


def grid_extent(*, session: Session, generation_id: int, level: int) -> list[float] | None:
    """[west, south, east, north] of one level of a generation (EPSG:4490), None if empty."""
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM grid WHERE generation_id = :g AND level = :l) s"
        ),
        {"g": generation_id, "l": level},
    ).one()
    return None if row[0] is None else [round(float(v), 7) for v in row]


def zone_extent(*, session: Session, generation_id: int) -> list[float] | None:
    """[west, south, east, north] of the unit grids some zone covers (a member code stands
    for the grids under it), EPSG:4490; None if no zone."""
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(g.geom) AS e FROM grid g JOIN zone_member m "
            " ON left(g.code, length(m.grid_code)) = m.grid_code "
            " WHERE g.generation_id = :g AND g.level = 3) s"
        ),
        {"g": generation_id},
    ).one()
    return None if row[0] is None else [round(float(v), 7) for v in row]


def same_village_neighbours(*, session: Session, generation_id: int, code: str) -> list[str]:
    """Unit grids of the same village sharing an edge (a line, not a point) with ``code``."""
    rows = session.execute(
        text(
            "SELECT b.code FROM grid a JOIN grid b ON b.generation_id = a.generation_id "
            "AND b.level = a.level AND b.parent_code = a.parent_code AND b.code <> a.code "
            "AND b.geom && a.geom AND ST_Relate(a.geom, b.geom, 'F***1****') "
            "WHERE a.generation_id = :g AND a.code = :c ORDER BY b.code"
        ),
        {"g": generation_id, "c": code},
    )
    return [r.code for r in rows]
