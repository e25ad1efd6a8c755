"""One definition of "who patrolled a grid on a day" (issue 15, review r15: the front page's grid
panel said today 3.1 %, 1 officer; its link's page and /api/v1/patrol/visits said nobody). Over
real HTTP on fixes sent through ingest and a whole-day coverage run computed over HTTP: for the
walked unit grid, its village and its town, /api/v1/patrol/visits lists exactly as many
officers as the grid panel (/api/v1/dashboard/grid/{code}) counts, from the same run
(``source: coverage_run``, same ``computed_at``), the walker among them with minutes and
metres; a day without a run falls back to the fixes (``source: fixes``)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from layers.workcal import SHANGHAI
from tests.tracks_support import CITY_LAT, CITY_LON, make_device, run_coverage, send_fixes


@pytest.fixture(scope="module")
def walked(engine: Engine, demo_generation: int, live_server: str, tokens) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from api.locators import LocatorCache
    from layers.db import make_sessionmaker, transaction
    from layers.grids import active_generation

    with transaction(make_sessionmaker(engine)) as session:
        gen = active_generation(session=session)
        city = LocatorCache().get(session=session, generation_id=gen.id)
        code = city.locator.locate([CITY_LON], [CITY_LAT]).l3[0]
    now = datetime.now(SHANGHAI)
    day = now.date() if now.time() >= time(1, 0) else now.date() - timedelta(days=1)
    start = datetime.combine(day, time(0, 10), tzinfo=SHANGHAI).astimezone(UTC)
    device = make_device(engine, grid_code=code, name=f"巡{secrets.token_hex(3)}")
    fixes = [
        {"time": (start + timedelta(seconds=5 * i)).isoformat(),
         "lon": CITY_LON + abs(i % 60 - 30) * 3 / 94_500.0, "lat": CITY_LAT, "accuracy_m": 5.0}
        for i in range(240)
    ]  # fmt: skip
    send_fixes(live_server, device, fixes)
    run_coverage(live_server, tokens["planner"], date=day.isoformat())
    return {"code": code, "device": device, "day": day.isoformat()}


def _panel(client: httpx.Client, code: str, day: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/dashboard/grid/{code}")
    assert r.status_code == 200, r.text
    figures = r.json()["coverage"][day]
    assert figures is not None
    return figures


def test_the_panel_and_its_link_count_the_same_officers(client, walked) -> None:  # type: ignore[no-untyped-def]
    code, day = walked["code"], walked["day"]
    for grid in (code, code[:12], code[:9]):
        for _ in range(3):  # the server may recompute today's run between the two requests
            panel = _panel(client, grid, day)
            visits = client.get("/api/v1/patrol/visits", params={"grid": grid, "date": day})
            assert visits.status_code == 200, visits.text
            body = visits.json()
            if body["computed_at"] == panel["computed_at"]:
                break
        assert body["source"] == "coverage_run"
        assert body["computed_at"] == panel["computed_at"]
        assert len(body["officers"]) == panel["officers"] >= 1, (grid, body, panel)
        mine = [o for o in body["officers"] if o["device_id"] == walked["device"].id]
        assert mine and mine[0]["minutes"] > 0 and mine[0]["metres"] > 0
        assert mine[0]["fixes"] > 0 and mine[0]["first"] <= mine[0]["last"]


def test_a_day_without_a_run_lists_the_fixes(client, walked) -> None:  # type: ignore[no-untyped-def]
    body = client.get(
        "/api/v1/patrol/visits", params={"grid": walked["code"], "date": "2001-01-01"}
    ).json()
    assert body["source"] == "fixes" and body["computed_at"] is None and body["officers"] == []


def test_bad_day_and_grid_are_named(client) -> None:  # type: ignore[no-untyped-def]
    for params, field in (({"grid": "xyz", "date": "2026-03-02"}, "grid"),
                          ({"grid": "320281001", "date": "2026-13-40"}, "date")):  # fmt: skip
        r = client.get("/api/v1/patrol/visits", params=params)
        assert r.status_code == 422 and r.json()["field"] == field, r.text
