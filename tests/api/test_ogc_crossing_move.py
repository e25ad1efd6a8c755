"""OGC API Features Part 4: a PUT or PATCH whose new outline crosses a grid that is not a
neighbour of the moved vertex (the neighbours follow, but the moved boundary runs over another
grid) is refused with 422 problem+json naming the fix; nothing is stored (the ETag, the
outlines and the edit log stay as they were)."""

from __future__ import annotations

import httpx
import pytest
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Engine, text

from tests.api.test_ogc_planners import etag, interior_pair, item_url, shared_vertex
from tests.planning_fixtures import *  # noqa: F403  (the draft and planner fixtures)

PROBLEM = "application/problem+json"


def crossing_target(engine: Engine, draft: int, a: str, b: str, vertex: tuple[float, float]):  # type: ignore[no-untyped-def]
    """A unit grid touching neither ``a`` nor the vertex, beyond ``b`` seen from ``a`` (the
    nearest to the vertex), and a point inside it 1/4 of the way from its boundary to its
    centre (moving the vertex there runs ``a``'s and ``b``'s shared boundary across it)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT c.code, ST_AsBinary(c.geom) AS g FROM grid c, grid a "
                "WHERE c.generation_id = :g AND a.generation_id = :g AND a.code = :a "
                "AND c.level = 3 AND c.code NOT IN (:a, :b) AND NOT ST_Intersects(c.geom, a.geom) "
                "AND NOT ST_DWithin(c.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4490), 1e-7) "
                "ORDER BY ST_Distance(c.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4490)) LIMIT 1"
            ),
            {"g": draft, "a": a, "b": b, "x": vertex[0], "y": vertex[1]},
        ).one()
    c = shapely.from_wkb(bytes(row.g))
    inside = c.representative_point()
    return row.code, (inside.x, inside.y)


def _moved(geometry: dict, at: tuple[float, float], to: tuple[float, float]) -> dict:  # type: ignore[type-arg]
    def move(coords):  # type: ignore[no-untyped-def]
        out = coords.copy()
        hit = (abs(coords[:, 0] - at[0]) < 1e-7) & (abs(coords[:, 1] - at[1]) < 1e-7)
        assert hit.any()
        out[hit] = to
        return out

    return mapping(shapely.transform(shape(geometry), move))


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_crossing_move_is_refused_and_nothing_changes(
    planner: httpx.Client, engine: Engine, draft: int, method: str
) -> None:
    a, b = interior_pair(engine, draft)
    vertex = shared_vertex(engine, draft, a, b)
    c, inside_c = crossing_target(engine, draft, a, b, vertex)
    read = planner.get(item_url(draft, a))
    v0, original = etag(read), read.json()
    before = {code: planner.get(item_url(draft, code)).json()["geometry"] for code in (a, b, c)}
    log_before = planner.get(f"/api/v1/generations/{draft}/edits").json()
    geometry = _moved(original["geometry"], vertex, inside_c)
    if method == "PUT":
        body = {"type": "Feature", "properties": original["properties"], "geometry": geometry}
        r = planner.put(item_url(draft, a), json=body, headers={"If-Match": v0})
    else:
        r = planner.patch(
            item_url(draft, a),
            json={"geometry": geometry},
            headers={"If-Match": v0, "Content-Type": "application/merge-patch+json"},
        )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["field"] == "geometry"
    # it names the fix: the edits to use instead
    assert "split" in problem["detail"] and "merge" in problem["detail"], problem["detail"]
    assert {"split", "merge"} <= set(problem["edits"])
    kinds = {p["kind"] for p in problem["problems"]}
    assert kinds & {"overlap", "gap", "invalid_geometry"}, problem["problems"]
    # nothing stored: same version, same outlines, same log
    after = planner.get(item_url(draft, a))
    assert etag(after) == v0
    for code, geom in before.items():
        assert planner.get(item_url(draft, code)).json()["geometry"] == geom, code
    assert planner.get(f"/api/v1/generations/{draft}/edits").json() == log_before
