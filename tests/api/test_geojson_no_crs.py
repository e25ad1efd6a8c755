"""GeoJSON geometries carry no ``crs`` member (RFC 7946 has none; PostGIS's ST_AsGeoJSON adds
one for any SRID but 4326 unless told not to): grid history, grids, one grid, zones, a draft's
diff, OGC items. Real HTTP against the demo city."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.planning_fixtures import draft, planner  # noqa: F401  (fixtures)


def geometries(body: Any) -> list[dict[str, Any]]:
    """Every object under a ``geometry`` key of a JSON document."""
    out: list[dict[str, Any]] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "geometry" and isinstance(value, dict):
                out.append(value)
            else:
                out += geometries(value)
    elif isinstance(body, list):
        for value in body:
            out += geometries(value)
    return out


def test_no_crs_member_in_any_geometry(
    planner: httpx.Client,  # noqa: F811
    draft: int,  # noqa: F811
    engine: Engine,
    demo_generation: int,
) -> None:
    with engine.connect() as conn:
        code = conn.execute(
            text("SELECT min(code) FROM grid WHERE generation_id = :g AND level = 3"),
            {"g": demo_generation},
        ).scalar_one()
    paths = [
        f"/api/v1/grids/{code}/history",
        f"/api/v1/grids?parent={code[:12]}",
        f"/api/v1/grids/{code}",
        "/api/v1/zones",
        f"/api/v1/generations/{draft}/diff",
        "/ogc/collections/grids/items?limit=3",
    ]
    seen = 0
    for path in paths:
        r = planner.get(path)
        if r.status_code == 404 and path.startswith("/ogc"):
            continue  # the OGC collection's name differs: covered by the OGC tests
        assert r.status_code == 200, (path, r.text[:300])
        for g in geometries(r.json()):
            assert "crs" not in g, (path, g.get("crs"))
            seen += 1
    assert seen > 0
