"""The real client inputs of issue 14 (../shared/cases/clients/, one test per case file).

01 Traccar Client JSON with -1 for unknown values: stored as NULL, never as data.
02 a GPX declared as GBK: read in its encoding (2 fixes, track name 澄江街道巡查).
05 OsmAnd with the phone's clock days ahead: stored with the future_time flag (never 200 with
   nothing stored), the received time kept.
06 the OsmAnd app (speed in m/s, hdop): 13.9 m/s for a device set to mps; accuracy from hdop.

Each case file is read as it is; ``phone-1``/``phone-2`` become devices of the test database.
Skipped (with the reason) where the shared cases folder is absent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import Engine, text

from api.ingest.pipeline import HDOP_UERE_M
from gis.tracks import FixFlag
from tests.tracks_support import StaffDevice, make_device

PROJECT_DIR = Path(__file__).resolve().parents[2]
CASES = PROJECT_DIR.parent / "shared" / "cases" / "clients"


def case(name: str) -> Path:
    path = CASES / name
    if not path.exists():
        pytest.skip(f"client case {path} is absent (the shared cases folder is not here)")
    return path


@pytest.fixture
def device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine)


def rows(engine: Engine, device_id: int) -> list[dict]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text("SELECT * FROM position WHERE device_id = :d ORDER BY fix_time"),
                {"d": device_id},
            ).mappings()
        ]


def test_case_01_traccar_json_unknown_values_are_null(anon, engine, device) -> None:
    body = json.loads(case("01-traccar-json-unknown-values.json").read_text("utf-8"))
    body["device_id"] = device.external_id
    r = anon.post(
        "/api/v1/ingest/osmand", json=body, headers={"Authorization": f"Bearer {device.secret}"}
    )
    assert r.status_code == 200, r.text
    [row] = rows(engine, device.id)
    assert row["speed_mps"] is None and row["course_deg"] is None
    assert row["battery_pct"] is None
    # altitude has no sentinel: -1 m is a real altitude near sea level (docs/ingest.md)
    assert row["altitude_m"] == pytest.approx(-1.0)
    assert row["accuracy_m"] == pytest.approx(35.2, rel=1e-6)
    assert row["fix_time"] == datetime(2026, 11, 20, 1, 0, 0, 123000, tzinfo=UTC)


def test_case_02_gpx_declared_gbk(anon, engine, device) -> None:
    data = case("02-gpx-declared-gbk.gpx").read_bytes()
    r = anon.post(
        "/api/v1/ingest/gpx", params={"device": device.external_id}, content=data,
        headers={"Authorization": f"Bearer {device.secret}"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 2 and r.json()["track_name"] == "澄江街道巡查"
    assert len(rows(engine, device.id)) == 2


def test_case_05_osmand_clock_days_ahead_is_stored_flagged(anon, engine, device) -> None:
    params = dict(parse_qsl(case("05-osmand-clock-days-ahead.query").read_text().strip()))
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    params.update(id=device.external_id, key=device.secret, timestamp=str(int(ahead.timestamp())))
    before = datetime.now(UTC)
    r = anon.get("/api/v1/ingest/osmand", params=params)
    assert r.status_code == 200, r.text
    [row] = rows(engine, device.id)  # acknowledged, so stored
    assert row["fix_time"] == ahead
    assert row["flags"] & FixFlag.FUTURE_TIME
    assert before - timedelta(seconds=5) <= row["server_time"] <= datetime.now(UTC)
    # the resend the phone may make is a duplicate, not a second row
    assert anon.get("/api/v1/ingest/osmand", params=params).status_code == 200
    assert len(rows(engine, device.id)) == 1


def test_case_06_osmand_app_speed_in_mps_and_hdop(live_server, tokens, anon, engine) -> None:
    params = dict(parse_qsl(case("06-osmand-app-speed-mps.query").read_text().strip()))
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['admin']}"}
    ) as admin:
        made = admin.post(
            "/api/v1/devices",
            json={"external_id": f"osmand-app-{datetime.now(UTC).timestamp():.0f}-{id(params)}",
                  "speed_unit": "mps"},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        dev = made.json()
        assert dev["speed_unit"] == "mps"
    params.update(id=dev["external_id"], key=dev["secret"])
    r = anon.get("/api/v1/ingest/osmand", params=params)
    assert r.status_code == 200, r.text
    [row] = rows(engine, dev["id"])
    assert row["speed_mps"] == pytest.approx(13.9, rel=1e-6)
    assert row["accuracy_m"] == pytest.approx(4.0 * HDOP_UERE_M, rel=1e-6)
    assert row["course_deg"] == pytest.approx(90.0)
    # the same query from a Traccar Client device (default unit: knots) is read as knots
    knots = make_device(engine)
    anon.get(
        "/api/v1/ingest/osmand", params={**params, "id": knots.external_id, "key": knots.secret}
    ).raise_for_status()
    [row] = rows(engine, knots.id)
    assert row["speed_mps"] == pytest.approx(13.9 * 1852 / 3600, rel=1e-6)
