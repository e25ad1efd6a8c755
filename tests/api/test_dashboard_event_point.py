"""GET /api/v1/dashboard/events/{id}/point (issue 15, the front page's search opens an event
by its number): the case's point (EPSG:4490), status, overdue flag and grid, as the database
has them, uncached (a case reported a moment ago is there); 404 naming event_id for no such
case, 422 for a number that is not one."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.e2e.test_home_page import _report


def test_a_case_point_is_the_database_one(client, live_server, tokens, demo_grids, engine) -> None:  # type: ignore[no-untyped-def]
    # a points list of the city asked just before does not hide the new case
    assert client.get("/api/v1/dashboard/events/points").status_code == 200
    event_id = _report(live_server, tokens["officer"], demo_grids, 13)
    r = client.get(f"/api/v1/dashboard/events/{event_id}/point")
    assert r.status_code == 200, r.text
    body = r.json()
    with engine.connect() as c:
        x, y, status, grid = c.execute(
            text("SELECT ST_X(geom), ST_Y(geom), status::text, grid_code FROM event WHERE id = :i"),
            {"i": event_id},
        ).one()
    assert body["id"] == event_id and body["grid_code"] == grid and body["status"] == status
    assert body["lon"] == pytest.approx(x, abs=1e-6) and body["lat"] == pytest.approx(y, abs=1e-6)
    assert body["overdue"] is False


@pytest.mark.parametrize(("path", "status"), [("999999999", 404), ("0", 422), ("abc", 422)])
def test_bad_numbers_are_problems(client, path, status) -> None:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/dashboard/events/{path}/point")
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "event_id"


def test_needs_a_token(live_server) -> None:  # type: ignore[no-untyped-def]
    import httpx

    assert httpx.get(f"{live_server}/api/v1/dashboard/events/1/point").status_code == 401
