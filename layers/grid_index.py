"""A light index of a generation's grids for pages drawn from vector tiles: no polygons.

``grid_index(session=, generation_id=)`` -> level (1, 2, 3) -> rows ``{code, name, parent,
bbox, point}`` in code order, where ``bbox`` is ``[west, south, east, north]`` and ``point`` is
``[lon, lat]`` where its name goes (the centre of its maximum inscribed circle, the rule of
layers/grid_labels.py: inside the grid and as far from its edges as possible),
both in degrees of the storage CRS (CGCS2000, EPSG:4490; what Leaflet takes as WGS84, within
centimetres), rounded to 5 decimals (about 1 m). A page uses it to fit the view to a grid, to
place names and to know a grid's parent without loading any geometry (the shapes come from
``/tiles``). About 120 bytes of JSON a grid (1,846 grids: ~0.2 MB before gzip, which the
pages are served with); one query, ~0.3 s for the demo city (pages cache it per generation).

Errors: none of its own; an unknown generation gives empty levels.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

DECIMALS = 5
"""Decimals of the degrees sent to pages: 1e-5 degree is about 1.1 m."""

_SQL = text(
    """
    SELECT level, code, name, parent_code,
           ST_XMin(geom) AS w, ST_YMin(geom) AS s, ST_XMax(geom) AS e, ST_YMax(geom) AS n,
           ST_X(p) AS x, ST_Y(p) AS y
    FROM (SELECT level, code, name, parent_code, geom, (ST_MaximumInscribedCircle(geom)).center AS p
          FROM grid WHERE generation_id = :g AND geom IS NOT NULL) g
    ORDER BY level, code
    """
)


def grid_index(*, session: Session, generation_id: int) -> dict[int, list[dict[str, Any]]]:
    """Level -> ``[{code, name, parent, bbox, point}]`` of the generation (see the module)."""
    out: dict[int, list[dict[str, Any]]] = {1: [], 2: [], 3: []}
    for r in session.execute(_SQL, {"g": generation_id}):
        out.setdefault(int(r.level), []).append(
            {
                "code": str(r.code),
                "name": str(r.name or r.code),
                "parent": str(r.parent_code or ""),
                "bbox": [round(float(v), DECIMALS) for v in (r.w, r.s, r.e, r.n)],
                "point": [round(float(r.x), DECIMALS), round(float(r.y), DECIMALS)],
            }
        )
    return out
