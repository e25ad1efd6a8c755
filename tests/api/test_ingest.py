"""Ingest over real HTTP: Traccar/OsmAnd (GET, POST form, JSON), OwnTracks, batch, GPX.

Proves: each protocol stores its fixes converted to CGCS2000 with the L3 grid; resends are
no-ops counted as duplicates; bad items are rejected with index, field and reason while the
rest are stored; unknown devices get 400 (as Traccar), wrong secrets 401; never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, text

from gis.crs import wgs84_to_bd09, wgs84_to_gcj02
from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

PROBLEM = "application/problem+json"


@pytest.fixture
def device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine)


@pytest.fixture
def open_device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine, with_secret=False)


def rows(engine: Engine, device_id: int) -> list[dict]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text("SELECT * FROM position WHERE device_id = :d ORDER BY fix_time"),
                {"d": device_id},
            ).mappings()
        ]


def batch_body(device: StaffDevice, fixes: list[dict], datum: str = "wgs84") -> dict:
    return {"device": device.external_id, "datum": datum, "fixes": fixes}


def auth(device: StaffDevice) -> dict[str, str]:
    return {"Authorization": f"Bearer {device.secret}"}


def walk(n: int, start: datetime, step_s: float = 5.0) -> list[dict]:
    return [
        {
            "time": (start + timedelta(seconds=i * step_s)).isoformat(),
            "lon": CITY_LON + i * 1e-5,
            "lat": CITY_LAT,
            "accuracy_m": 5.0,
            "seq": i,
        }
        for i in range(n)
    ]


def test_osmand_get_query_with_knots_and_attributes(anon, engine, device) -> None:
    ts = int(datetime.now(UTC).timestamp()) - 60
    r = anon.get(
        "/api/v1/ingest/osmand",
        params={"id": device.external_id, "lat": CITY_LAT, "lon": CITY_LON, "timestamp": ts,
                "speed": 10, "bearing": 90, "altitude": 5, "accuracy": 8, "batt": 77,
                "key": device.secret, "driverUniqueId": "42"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    [row] = rows(engine, device.id)
    assert row["fix_time"] == datetime.fromtimestamp(ts, UTC)
    assert row["speed_mps"] == pytest.approx(10 * 1852 / 3600, rel=1e-6)
    assert row["grid_code"] is not None and len(row["grid_code"]) == 15
    assert row["attributes"] == {"driverUniqueId": "42"}
    assert row["source"] == "osmand" and row["datum"] == "wgs84"
    assert row["server_time"] >= row["fix_time"]
    # the same fix again: accepted (the client must stop resending) and stored once
    again = anon.get(
        "/api/v1/ingest/osmand",
        params={"id": device.external_id, "lat": CITY_LAT, "lon": CITY_LON, "timestamp": ts,
                "key": device.secret},
    )  # fmt: skip
    assert again.status_code == 200 and len(rows(engine, device.id)) == 1


@pytest.mark.parametrize(
    "stamp",
    ["1714552200", "1714552200000", "2024-05-01T08:30:00Z", "2024-05-01 08:30:00",
     "2024-05-01T16:30:00+08:00"],
)  # fmt: skip
def test_osmand_post_form_timestamp_formats(anon, engine, open_device, stamp) -> None:
    r = anon.post(
        "/api/v1/ingest/osmand",
        data={"deviceid": open_device.external_id, "location": f"{CITY_LAT},{CITY_LON}",
              "timestamp": stamp},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    [row] = rows(engine, open_device.id)
    assert row["fix_time"] == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert row["flags"] & 8  # far_past_time: a 2024 fix is long past, flagged and kept


def test_osmand_json_body(anon, engine, open_device) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    r = anon.post(
        "/api/v1/ingest/osmand",
        json={"device_id": open_device.external_id,
              "location": {"timestamp": now.isoformat(), "is_moving": True, "odometer": 12.5,
                           "coords": {"latitude": CITY_LAT, "longitude": CITY_LON,
                                      "accuracy": 4, "speed": 1.4, "heading": 180},
                           "battery": {"level": 0.5, "is_charging": False},
                           "activity": {"type": "walking"}}},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    [row] = rows(engine, open_device.id)
    assert row["speed_mps"] == pytest.approx(1.4) and row["battery_pct"] == pytest.approx(50)
    assert row["attributes"]["activity"] == {"type": "walking"}
    assert row["source"] == "osmand_json"


def test_osmand_errors_are_problems(anon, device) -> None:
    unknown = anon.get("/api/v1/ingest/osmand", params={"id": "nobody", "lat": 31, "lon": 120})
    assert unknown.status_code == 400 and unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["field"] == "id"
    wrong = anon.get(
        "/api/v1/ingest/osmand",
        params={"id": device.external_id, "lat": CITY_LAT, "lon": CITY_LON, "key": "ggd_nope"},
    )
    assert wrong.status_code == 401 and wrong.json()["field"] == "key"
    missing = anon.get(
        "/api/v1/ingest/osmand", params={"id": device.external_id, "lat": 31, "lon": 120}
    )
    assert missing.status_code == 401
    swapped = anon.get(
        "/api/v1/ingest/osmand",
        params={"id": device.external_id, "lat": CITY_LON, "lon": CITY_LAT, "key": device.secret},
    )
    assert swapped.status_code == 400 and "swapped" in swapped.json()["detail"]
    bad_time = anon.get(
        "/api/v1/ingest/osmand",
        params={"id": device.external_id, "lat": CITY_LAT, "lon": CITY_LON,
                "timestamp": "yesterday", "key": device.secret},
    )  # fmt: skip
    assert bad_time.status_code == 400 and bad_time.json()["field"] == "timestamp"


def test_owntracks_location_replies_empty_list(anon, engine, device) -> None:
    tst = int(datetime.now(UTC).timestamp())
    r = anon.post(
        "/api/v1/ingest/owntracks",
        params={"u": "ignored", "d": device.external_id},
        json={"_type": "location", "lat": CITY_LAT, "lon": CITY_LON, "tst": tst, "acc": 10,
              "vel": 18, "batt": 80, "tid": "zs"},
        auth=("ignored", device.secret),
    )  # fmt: skip
    assert r.status_code == 200 and r.json() == []
    [row] = rows(engine, device.id)
    assert row["speed_mps"] == pytest.approx(5.0) and row["source"] == "owntracks"
    other = anon.post(
        "/api/v1/ingest/owntracks",
        headers={"X-Limit-D": device.external_id},
        json={"_type": "transition", "event": "enter"},
    )
    assert other.status_code == 200 and other.json() == []


def test_batch_is_idempotent_and_reports_duplicates(anon, engine, device) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    fixes = walk(100, start)
    first = anon.post("/api/v1/ingest/batch", json=batch_body(device, fixes), headers=auth(device))
    assert first.status_code == 200, first.text
    assert first.json() | {"flagged": {}} == {
        "received": 100, "stored": 100, "duplicates": 0, "rejected": 0, "flagged": {},
        "errors": [],
    }  # fmt: skip
    # resend an overlapping part (a client that never got the first answer)
    second = anon.post(
        "/api/v1/ingest/batch", json=batch_body(device, fixes[50:] + walk(120, start)[100:]),
        headers=auth(device),
    )  # fmt: skip
    assert second.json()["stored"] == 20 and second.json()["duplicates"] == 50
    assert len(rows(engine, device.id)) == 120


def test_batch_rejects_bad_items_and_stores_the_rest(anon, engine, device) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    fixes = walk(10, start)
    fixes[2]["time"] = "31/12/2025"
    fixes[4]["lat"], fixes[4]["lon"] = CITY_LON, CITY_LAT  # swapped
    fixes[5]["lon"] = "east"
    fixes[6]["datum"] = "itrf"
    fixes[7] = "not a fix"
    fixes[8]["time"] = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    r = anon.post("/api/v1/ingest/batch", json=batch_body(device, fixes), headers=auth(device))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stored"] == 4 and body["rejected"] == 6
    by_index = {e["index"]: e for e in body["errors"]}
    assert sorted(by_index) == [2, 4, 5, 6, 7, 8]
    assert by_index[2]["field"] == "fixes/2/time"
    assert "swapped" in by_index[4]["detail"]
    assert by_index[5]["field"] == "fixes/5/lon"
    assert by_index[6]["field"] == "fixes/6/datum"
    assert "clock" in by_index[8]["detail"]
    assert [r["seq"] for r in rows(engine, device.id)] == [0, 1, 3, 9]


def test_batch_converts_datums_and_flags(anon, engine, device) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    glon, glat = wgs84_to_gcj02(np.array([CITY_LON]), np.array([CITY_LAT]))
    blon, blat = wgs84_to_bd09(np.array([CITY_LON + 0.001]), np.array([CITY_LAT]))
    fixes = [
        {"time": t0.isoformat(), "lon": float(glon[0]), "lat": float(glat[0]), "datum": "gcj02"},
        {"time": (t0 + timedelta(seconds=30)).isoformat(), "lon": float(blon[0]),
         "lat": float(blat[0]), "datum": "bd09", "accuracy_m": 500},
        # 20 km in 10 s: an impossible jump, stored and flagged
        {"time": (t0 + timedelta(seconds=40)).isoformat(), "lon": CITY_LON + 0.2,
         "lat": CITY_LAT},
        # far outside the city (Beijing)
        {"time": (t0 + timedelta(hours=3)).isoformat(), "lon": 116.4, "lat": 39.9},
    ]  # fmt: skip
    r = anon.post("/api/v1/ingest/batch", json=batch_body(device, fixes), headers=auth(device))
    assert r.status_code == 200, r.text
    flagged = r.json()["flagged"]
    assert flagged["poor_accuracy"] == 1 and flagged["impossible_jump"] == 1
    assert flagged["future_time"] == 1 and flagged["outside_city"] >= 1
    stored = rows(engine, device.id)
    assert stored[0]["lon"] == pytest.approx(CITY_LON, abs=1e-7)
    assert stored[0]["lat"] == pytest.approx(CITY_LAT, abs=1e-7)
    assert stored[0]["raw_lon"] == pytest.approx(float(glon[0])) and stored[0]["datum"] == "gcj02"
    assert stored[1]["lon"] == pytest.approx(CITY_LON + 0.001, abs=1e-7)
    assert stored[1]["flags"] & 1  # poor accuracy
    assert stored[2]["flags"] & 2  # impossible jump
    assert stored[3]["grid_code"] is None and stored[3]["flags"] & 16  # outside the city


def test_batch_takes_crs_with_datum_as_its_older_alias(anon, engine, device) -> None:
    """``crs`` is the documented name (any name of parse_crs: gcj02, EPSG:4326, OGC URIs);
    ``datum`` still works; both given must agree (422 naming the field otherwise)."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    glon, glat = wgs84_to_gcj02(np.array([CITY_LON]), np.array([CITY_LAT]))
    gcj = {"lon": float(glon[0]), "lat": float(glat[0])}
    url = "/api/v1/ingest/batch"
    body = {"device": device.external_id, "crs": "gcj02",
            "fixes": [{"time": t0.isoformat(), **gcj},
                      {"time": (t0 + timedelta(seconds=5)).isoformat(), "lon": CITY_LON,
                       "lat": CITY_LAT, "crs": "EPSG:4326"},
                      {"time": (t0 + timedelta(seconds=10)).isoformat(), "lon": CITY_LON,
                       "lat": CITY_LAT, "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                       "datum": "wgs84"}]}  # fmt: skip
    r = anon.post(url, json=body, headers=auth(device))
    assert r.status_code == 200 and r.json()["stored"] == 3, r.text
    stored = rows(engine, device.id)
    assert [s["datum"] for s in stored] == ["gcj02", "wgs84", "wgs84"]
    for s in stored:
        assert s["lon"] == pytest.approx(CITY_LON, abs=1e-7)
        assert s["lat"] == pytest.approx(CITY_LAT, abs=1e-7)
    later = (t0 + timedelta(minutes=1)).isoformat()
    both = anon.post(url, json={"device": device.external_id, "crs": "EPSG:4490",
                                "datum": "cgcs2000", "fixes": [{"time": later, **gcj}]},
                     headers=auth(device))  # fmt: skip
    assert both.status_code == 200 and both.json()["stored"] == 1, both.text
    for bad in ({"crs": "gcj02", "datum": "bd09"}, {"crs": "EPSG:4549"}, {"crs": 4326}):
        one = {"device": device.external_id, **bad, "fixes": [{"time": later, **gcj}]}
        r = anon.post(url, json=one, headers=auth(device))
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["field"] == ("datum" if "datum" in bad else "crs"), r.text
    item = {"time": later, **gcj, "crs": "gcj02", "datum": "wgs84"}
    r = anon.post(url, json={"device": device.external_id, "fixes": [item]}, headers=auth(device))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "fixes/0/datum", r.text


def test_batch_whole_request_errors(anon, device) -> None:
    url = "/api/v1/ingest/batch"
    empty = anon.post(url, json=batch_body(device, []), headers=auth(device))
    assert empty.status_code == 422 and empty.json()["field"] == "fixes"
    broken = anon.post(
        url, content=b'{"device": "x", "fixes": [', headers={**auth(device),
        "Content-Type": "application/json"},
    )  # fmt: skip
    assert broken.status_code == 422 and broken.json()["field"] == "body"
    huge = anon.post(
        url, json=batch_body(device, [{"time": 0, "lon": 0.0, "lat": 0.0}] * 50_001),
        headers=auth(device),
    )  # fmt: skip
    assert huge.status_code == 413 and huge.headers["content-type"] == PROBLEM
    unknown = anon.post(
        url, json={"device": "nobody", "fixes": walk(1, datetime.now(UTC))}, headers=auth(device)
    )
    assert unknown.status_code == 400 and unknown.json()["field"] == "device"
    wrong = anon.post(
        url, json=batch_body(device, walk(1, datetime.now(UTC))),
        headers={"Authorization": "Bearer ggd_wrong"},
    )  # fmt: skip
    assert wrong.status_code == 401
    all_bad = anon.post(
        url, json=batch_body(device, [{"time": "x", "lon": 1.0, "lat": 1.0}]), headers=auth(device)
    )
    assert all_bad.status_code == 422 and all_bad.json()["errors"][0]["index"] == 0


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
{points}
</trkseg></trk></gpx>"""


def test_gpx_upload(anon, engine, device) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    pts = "\n".join(
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON + i * 1e-4}"><ele>5</ele>'
        + (f"<time>{(t0 + timedelta(seconds=10 * i)).isoformat()}</time>" if i != 3 else "")
        + "</trkpt>"
        for i in range(6)
    )
    r = anon.post(
        "/api/v1/ingest/gpx", params={"device": device.external_id},
        content=GPX.format(points=pts).encode(), headers=auth(device),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 5 and r.json()["errors"][0]["index"] == 3
    no_times = GPX.format(points=f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON}"></trkpt>')
    r = anon.post(
        "/api/v1/ingest/gpx", params={"device": device.external_id},
        content=no_times.encode(), headers=auth(device),
    )  # fmt: skip
    assert r.status_code == 422 and "time" in r.json()["detail"]
    broken = anon.post(
        "/api/v1/ingest/gpx", params={"device": device.external_id},
        content=b"<gpx><trk>", headers=auth(device),
    )  # fmt: skip
    assert broken.status_code == 422 and broken.json()["field"] == "body"


def test_late_backlog_lands_in_order(anon, engine, device) -> None:
    """A phone offline for an hour uploads its backlog after newer live fixes."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    live = walk(10, t0 + timedelta(hours=1))
    backlog = walk(10, t0)
    for part in (live, backlog):
        r = anon.post("/api/v1/ingest/batch", json=batch_body(device, part), headers=auth(device))
        assert r.status_code == 200 and r.json()["stored"] == 10
    times = [r["fix_time"] for r in rows(engine, device.id)]
    assert times == sorted(times) and len(times) == 20


def test_never_500_on_garbage(anon, device) -> None:
    for body in (b"null", b"[]", b'"x"', b"{}", b'{"fixes": {}}', b"\xff\xfe"):
        r = anon.post(
            "/api/v1/ingest/batch", content=body,
            headers={**auth(device), "Content-Type": "application/json"},
        )  # fmt: skip
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
    for body in (b"[]", b"{", b"null"):
        r = anon.post("/api/v1/ingest/owntracks?d=x", content=body)
        assert 400 <= r.status_code < 500 or r.json() == []
    r = anon.post("/api/v1/ingest/osmand", content=b"\x00\x01", headers={"Content-Type":
                  "application/x-www-form-urlencoded"})  # fmt: skip
    assert 400 <= r.status_code < 500


# -- issue 11.7: nothing a single-fix client was told is stored is lost --------------------------
def _times(now: datetime) -> dict[str, str]:
    return {
        "two_days_ahead": str(int((now + timedelta(days=2)).timestamp())),
        "zero": "0",
        "negative": "-1000",
        "in_1990": str(int(datetime(1990, 6, 1, tzinfo=UTC).timestamp())),
        "ms_overflow": "99999999999999999",
        "ms_far_ahead": str(int((now + timedelta(days=3650)).timestamp() * 1000)),
        "not_finite": "nan",
    }


@pytest.mark.parametrize("protocol", ["osmand", "osmand_json", "owntracks"])
def test_single_fix_clients_never_lose_an_acknowledged_fix(anon, engine, protocol) -> None:
    """Every 2xx answer means the fix is stored (flagged if its time is doubtful); a fix that
    cannot be stored is a 4xx, so the phone keeps it (docs/ingest.md)."""
    now = datetime.now(UTC).replace(microsecond=0)
    expected_flag = {"two_days_ahead": 4, "in_1990": 8}
    for name, stamp in _times(now).items():
        dev = make_device(engine)
        if protocol == "osmand":
            r = anon.get(
                "/api/v1/ingest/osmand",
                params={"id": dev.external_id, "lat": CITY_LAT, "lon": CITY_LON,
                        "timestamp": stamp, "key": dev.secret},
            )  # fmt: skip
        elif protocol == "osmand_json":
            r = anon.post(
                "/api/v1/ingest/osmand",
                json={"device_id": dev.external_id,
                      "location": {"timestamp": stamp, "coords": {"latitude": CITY_LAT,
                                                                  "longitude": CITY_LON}}},
                headers=auth(dev),
            )  # fmt: skip
        else:
            r = anon.post(
                f"/api/v1/ingest/owntracks?d={dev.external_id}",
                json={"_type": "location", "lat": CITY_LAT, "lon": CITY_LON, "tst": stamp},
                headers=auth(dev),
            )
        stored = rows(engine, dev.id)
        if 200 <= r.status_code < 300:
            assert len(stored) == 1, (name, r.status_code, r.text)
            assert stored[0]["flags"] & expected_flag.get(name, 0), name
            assert stored[0]["server_time"] >= now - timedelta(seconds=5)
        else:
            assert 400 <= r.status_code < 500 and stored == [], (name, r.status_code)
            assert r.headers["content-type"] == PROBLEM and r.json()["field"].endswith(
                ("timestamp", "tst")
            ), (name, r.text)
        if name in expected_flag:
            assert 200 <= r.status_code < 300, (name, r.text)


def test_device_speed_unit_is_settable(live_server, tokens, anon, engine) -> None:
    import httpx

    dev = make_device(engine)
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['admin']}"}
    ) as admin:
        r = admin.patch(f"/api/v1/devices/{dev.id}", json={"speed_unit": "kmh"})
        assert r.status_code == 200 and r.json()["speed_unit"] == "kmh", r.text
        assert (
            admin.patch(f"/api/v1/devices/{dev.id}", json={"speed_unit": None}).status_code == 422
        )
    ts = int(datetime.now(UTC).timestamp()) - 30
    r = anon.get(
        "/api/v1/ingest/osmand",
        params={"id": dev.external_id, "lat": CITY_LAT, "lon": CITY_LON, "timestamp": ts,
                "speed": 36, "key": dev.secret},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert rows(engine, dev.id)[0]["speed_mps"] == pytest.approx(10.0, rel=1e-6)
