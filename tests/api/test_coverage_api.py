"""Patrol coverage over real HTTP on fixes sent through ingest (issue 6).

Proves: a planner computes a run for a shift; the patrolled unit grid is covered by both methods
and lists its officer with minutes and metres; blind spots come back as H3 hexagons; roll-ups to
L2 and L1 are area-weighted; compliance counts time inside the officer's own grid, outside it
and without GPS, and lists those below the threshold; CSV and XLSX export; bad date, shift,
resolution, unknown grid and a missing run are problem+json naming the field.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.tracks_support import CITY_LAT, CITY_LON, make_device

START = datetime(2026, 3, 3, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = "2026-03-03"
SHIFT = "08:00-09:00"
M_PER_DEG_LON = 94_500.0  # at 31.9°N


def walk(start: datetime, minutes: int) -> list[dict]:
    """Back and forth 1 m per fix (every 5 s) over 20 m east of the city point."""
    return [
        {
            "time": (start + timedelta(seconds=5 * i)).isoformat(),
            "lon": CITY_LON + abs(i % 40 - 20) / M_PER_DEG_LON,
            "lat": CITY_LAT,
            "accuracy_m": 5.0,
        }
        for i in range(minutes * 12)
    ]


@pytest.fixture(scope="module")
def covered(engine: Engine, demo_generation: int, live_server: str, tokens) -> dict:
    from api.locators import LocatorCache
    from layers.db import make_sessionmaker, transaction
    from layers.grids import active_generation

    with transaction(make_sessionmaker(engine)) as session:
        gen = active_generation(session=session)
        city = LocatorCache().get(session=session, generation_id=gen.id)
        code = city.locator.locate([CITY_LON], [CITY_LAT]).l3[0]
    device = make_device(engine, grid_code=code, name="王五")
    # 20 min walking to and fro, then 20 min of GPS silence, then 5 min more
    fixes = walk(START.astimezone(UTC), 20) + walk(START.astimezone(UTC) + timedelta(minutes=40), 5)
    r = httpx.post(f"{live_server}/api/v1/ingest/batch",
                   json={"device": device.external_id, "fixes": fixes},
                   headers={"Authorization": f"Bearer {device.secret}"}, timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {tokens['planner']}"}
    with httpx.Client(base_url=live_server, timeout=300, headers=auth) as planner:
        run = planner.post("/api/v1/coverage/runs",
                           params={"date": DAY, "shift": SHIFT, "resolution": 10})  # fmt: skip
    assert run.status_code == 200, run.text
    return {"code": code, "device": device, "run": run.json()}


def test_run_reports_its_method_and_window(covered) -> None:
    run = covered["run"]
    assert run["params"]["resolution"] == 10 and run["params"]["distance_m"] == 30.0
    assert run["params"]["max_gap_s"] == 300.0 and "centre" in run["params"]["method_h3"]
    assert run["from"].startswith("2026-03-03T00:00") and run["shift"] == SHIFT


def test_patrolled_grid_is_covered_with_its_officer(client, covered) -> None:
    r = client.get(
        f"/api/v1/coverage/grids/{covered['code']}", params={"date": DAY, "shift": SHIFT}
    )
    assert r.status_code == 200, r.text
    g = r.json()
    assert 0 < g["h3_share"] < 1 and 0 < g["buffer_share"] < 1
    (who,) = [w for w in g["covered_by"] if w["device_id"] == covered["device"].id]
    assert who["name"] == "王五"
    # 25 min of fixes, of which 19m55s + 4m55s inside segments, all inside the grid
    assert who["minutes"] == pytest.approx(24.83, abs=0.05)
    assert who["metres"] == pytest.approx(239 + 59, abs=1)  # 1 m per step
    blind = g["blind_spots"]["features"]
    assert len(blind) == g["cells"] - g["covered_cells"] > 0
    assert blind[0]["geometry"]["type"] == "Polygon" and len(blind[0]["id"]) == 15


def test_levels_roll_up_by_area(client, covered) -> None:
    params = {"date": DAY, "shift": SHIFT}
    l3 = client.get("/api/v1/coverage", params={**params, "level": 3}).json()["data"]
    l1 = client.get("/api/v1/coverage", params={**params, "level": 1}).json()["data"]
    town = next(r for r in l1 if covered["code"].startswith(r["code"]))
    mine = [r for r in l3 if r["code"].startswith(town["code"]) and r["cells"]]
    weighted = sum(r["h3_share"] * r["area_m2"] for r in mine) / sum(r["area_m2"] for r in mine)
    assert town["h3_share"] == pytest.approx(weighted, abs=2e-4)
    assert l3[0]["rank"] == 1 and l3[0]["code"] == covered["code"]  # the only grid patrolled
    l2 = client.get("/api/v1/coverage", params={**params, "level": 2, "parent": town["code"]})
    assert all(r["code"].startswith(town["code"]) for r in l2.json()["data"])


def test_compliance_inside_outside_silent(client, covered) -> None:
    r = client.get("/api/v1/coverage/compliance",
                   params={"date": DAY, "shift": SHIFT, "threshold": 0.8})  # fmt: skip
    row = next(x for x in r.json()["data"] if x["person_id"] == covered["device"].person_id)
    assert row["window_s"] == 3600 and row["silences"] == 1
    assert row["inside_s"] == pytest.approx(1490, abs=2) and row["outside_s"] == 0
    assert row["silence_s"] == 3600 - row["tracked_s"]
    assert row["below"] is True and row["share_inside"] == pytest.approx(1490 / 3600, abs=1e-3)
    below = client.get("/api/v1/coverage/compliance",
                       params={"date": DAY, "shift": SHIFT, "below_only": True}).json()  # fmt: skip
    assert covered["device"].person_id in [x["person_id"] for x in below["data"]]


def test_exports(client, covered) -> None:
    params = {"date": DAY, "shift": SHIFT}
    csv = client.get("/api/v1/coverage", params={**params, "format": "csv"})
    assert csv.text.startswith("\ufeffrank,code,level,name,h3_share")
    assert covered["code"] in csv.text
    xlsx = client.get("/api/v1/coverage/compliance", params={**params, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert next(sheet.iter_rows(values_only=True))[:2] == ("person_id", "name")


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/v1/coverage", {"date": "2026-13-01"}, 422, "date"),
        ("/api/v1/coverage", {"date": DAY, "shift": "8-9"}, 422, "shift"),
        ("/api/v1/coverage", {"date": DAY, "resolution": 16}, 422, "resolution"),
        ("/api/v1/coverage", {"date": DAY, "shift": SHIFT, "level": 4}, 422, "level"),
        ("/api/v1/coverage", {"date": DAY, "shift": SHIFT, "format": "pdf"}, 422, "format"),
        ("/api/v1/coverage/grids/320281999999999", {"date": DAY, "shift": SHIFT}, 404, "code"),
        ("/api/v1/coverage", {"date": "2020-01-01"}, 404, "date"),  # never computed
    ],
)
def test_bad_input_is_problem_json(client, covered, path, params, status, field) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field


def test_readers_cannot_compute(client) -> None:
    assert client.post("/api/v1/coverage/runs", params={"date": DAY}).status_code == 403


def test_cli_computes_the_same_run(monkeypatch, database_url, covered, tmp_path, client) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path / "data"))
    args = ["coverage", "--date", DAY, "--shift", SHIFT, "--resolution", "10"]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "unit grids, 1 with some coverage" in result.output
    r = client.get(
        f"/api/v1/coverage/grids/{covered['code']}", params={"date": DAY, "shift": SHIFT}
    )
    assert r.json()["run"] > covered["run"]["run"]  # replaced, same figures
    bad = CliRunner().invoke(app, ["coverage", "--date", "yesterday"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
