"""Track, live positions and daily statistics over real HTTP on fixes sent through ingest.

Proves: the track splits at GPS silences, has per-vertex times and the stop with its duration,
mileage and moving time; simplification keeps times and statistics; latest positions carry
staff name, role, grid and online state; daily statistics count own-grid time and silences and
export as CSV (with BOM) and XLSX.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

DAY = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
M_PER_DEG_LON = 94_500.0  # at 31.9°N


def patrol(start: datetime) -> list[dict]:
    """20 min walking east at 1.5 m/s, 10 min stopped, 5 min walking; then 30 min silence and
    10 more minutes walking. Fixes every 5 s."""
    fixes = []
    t, lon = start, CITY_LON

    def add(seconds: int, speed_mps: float) -> None:
        nonlocal t, lon
        for _ in range(seconds // 5):
            fixes.append({"time": t.isoformat(), "lon": lon, "lat": CITY_LAT, "accuracy_m": 5.0})
            t += timedelta(seconds=5)
            lon += speed_mps * 5 / M_PER_DEG_LON

    add(1200, 1.5)
    add(600, 0.0)
    add(300, 1.5)
    t += timedelta(minutes=30)
    add(600, 1.5)
    return fixes


@pytest.fixture(scope="module")
def patrolled(engine: Engine, demo_generation: int, live_server: str) -> StaffDevice:
    import httpx

    from api.locators import LocatorCache
    from layers.db import make_sessionmaker, transaction
    from layers.grids import active_generation

    with transaction(make_sessionmaker(engine)) as session:
        gen = active_generation(session=session)
        city = LocatorCache().get(session=session, generation_id=gen.id)
        code = city.locator.locate([CITY_LON], [CITY_LAT]).l3[0]
    device = make_device(engine, grid_code=code[:12], name="李四")
    body = {"device": device.external_id, "fixes": patrol(DAY.astimezone(UTC))}
    r = httpx.post(f"{live_server}/api/v1/ingest/batch", json=body,
                   headers={"Authorization": f"Bearer {device.secret}"}, timeout=60)  # fmt: skip
    assert r.status_code == 200 and r.json()["stored"] == 540, r.text
    return device


def test_track_segments_stops_and_mileage(client, patrolled) -> None:
    r = client.get(
        f"/api/v1/devices/{patrolled.id}/track",
        params={"from": DAY.isoformat(), "to": (DAY + timedelta(hours=3)).isoformat()},
    )
    assert r.status_code == 200, r.text
    track = r.json()
    segments = [f for f in track["features"] if f["properties"]["kind"] == "segment"]
    stops = [f for f in track["features"] if f["properties"]["kind"] == "stop"]
    assert len(segments) == 2
    assert all(len(f["properties"]["times"]) == len(f["geometry"]["coordinates"]) for f in segments)
    assert segments[0]["properties"]["times"] == sorted(segments[0]["properties"]["times"])
    # the 30 m radius also takes in the ~20 s of walking into and out of the stop
    assert len(stops) == 1 and 595 <= stops[0]["properties"]["duration_s"] <= 650
    s = track["summary"]
    walked = (1200 + 300 + 600) * 1.5
    assert s["mileage_m"] == pytest.approx(walked, rel=0.02)
    assert s["fixes"] == 540 and s["segments"] == 2
    assert len(s["silences"]) == 1 and s["silences"][0]["duration_s"] == 1805
    assert s["moving_time_s"] == s["patrol_time_s"] - stops[0]["properties"]["duration_s"]
    simple = client.get(
        f"/api/v1/devices/{patrolled.id}/track",
        params={"from": DAY.isoformat(), "to": (DAY + timedelta(hours=3)).isoformat(),
                "simplify": 5},
    ).json()  # fmt: skip
    first = next(f for f in simple["features"] if f["properties"]["kind"] == "segment")
    assert len(first["geometry"]["coordinates"]) < 10
    assert len(first["properties"]["times"]) == len(first["geometry"]["coordinates"])
    assert simple["summary"]["mileage_m"] == s["mileage_m"]


def test_track_errors(client, patrolled) -> None:
    missing = client.get("/api/v1/devices/999999/track")
    assert missing.status_code == 404 and missing.json()["field"] == "device_id"
    backwards = client.get(
        f"/api/v1/devices/{patrolled.id}/track", params={"from": "2026-03-02", "to": "2026-03-01"}
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "to"
    bad = client.get(f"/api/v1/devices/{patrolled.id}/track", params={"from": "soon"})
    assert bad.status_code == 422 and bad.json()["field"] == "from"


def test_latest_positions(client, anon, patrolled) -> None:
    r = client.get("/api/v1/positions/latest")
    assert r.status_code == 200
    mine = [f for f in r.json()["features"] if f["id"] == patrolled.id]
    assert len(mine) == 1
    props = mine[0]["properties"]
    assert props["name"] == "李四" and props["role"] == "grid_worker"
    assert props["grid"] and props["grid_name"] and props["online"] is False
    assert anon.get("/api/v1/positions/latest").status_code == 401


def test_daily_stats_and_exports(client, patrolled) -> None:
    r = client.get("/api/v1/patrol/daily", params={"date": "2026-03-02",
                                                   "person": patrolled.person_id})  # fmt: skip
    assert r.status_code == 200
    [row] = r.json()["data"]
    assert row["name"] == "李四" and row["stops"] == 1 and row["silences"] == 1
    assert row["mileage_m"] == pytest.approx(3150, rel=0.02)
    assert row["own_grid_time_s"] > 0 and 0 < row["own_grid_share"] <= 1
    csv = client.get("/api/v1/patrol/daily", params={"date": "2026-03-02", "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode()) and "李四" in csv.text
    xlsx = client.get("/api/v1/patrol/daily", params={"date": "2026-03-02", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    assert "里程(km)" in header and any(c.value == "李四" for c in sheet["E"])
    bad = client.get("/api/v1/patrol/daily", params={"date": "2026-13-02"})
    assert bad.status_code == 422 and bad.json()["field"] == "date"
    for path in ("/api/v1/patrol/daily", "/api/v1/kpis"):  # refused before any work is done
        bad = client.get(path, params={"format": "pdf"})
        assert bad.status_code == 422 and bad.json()["field"] == "format"
