"""Bad values never make a 500 (issue 11.5, 11.8): each is a 4xx problem naming its field,
and in a batch only the bad fix is refused (with its index) while the good ones are stored.

Covers: 64-bit overflowing ``seq``, NUL characters, attributes nested 500 deep, 1e39 and 1e30
values (never stored as Infinity), negative speeds, years 1 and 9999 in every date parameter
and in GPX times, a point outside the metric CRS in ``events/duplicates``, a PNG declaring
40000 x 40000 pixels, ``grid=%`` in the event list, strings where booleans or counts belong,
an unknown device in a secret rotation (404).
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

PROBLEM = "application/problem+json"


@pytest.fixture
def device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine)


def stored(engine: Engine, device_id: int) -> list[dict]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text("SELECT * FROM position WHERE device_id = :d ORDER BY fix_time"),
                {"d": device_id},
            ).mappings()
        ]


def problem(r, status: int | None = None, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if status is not None:
        assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"] == PROBLEM, r.text[:300]
    body = r.json()
    if field is not None:
        assert body.get("field") == field, body
    return body


def fix(i: int, **extra: object) -> dict:
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30) + timedelta(seconds=i)
    return {"time": t.isoformat(), "lon": CITY_LON + i * 1e-5, "lat": CITY_LAT, **extra}


def nested(depth: int) -> dict:
    node: dict = {"leaf": 1}
    for _ in range(depth):
        node = {"a": node}
    return node


def test_batch_bad_values_are_refused_by_index_and_the_rest_stored(anon, engine, device) -> None:
    fixes = [
        fix(0, seq=1),
        fix(1, seq=2**63),  # one past bigint
        fix(2, attributes={"note": "a\x00b"}),  # NUL in a string
        fix(3, attributes=nested(500)),  # 500 levels deep
        fix(4, accuracy_m=1e39),  # Infinity as REAL
        fix(5, battery_pct=1e30),
        fix(6, speed_mps=-3),
        fix(7, valid="false"),  # a string is not a boolean
        fix(8, time="0001-01-01T00:00:00+08:00"),
        fix(9, time="9999-12-31T23:59:59Z"),
        fix(10, seq=-1),
        fix(11, attributes={"k\x00": 1}),
        fix(12, seq=True),  # true is not a count
        fix(13, seq=2**63 - 1, attributes=nested(3)),
    ]
    r = anon.post(
        "/api/v1/ingest/batch",
        json={"device": device.external_id, "fixes": fixes},
        headers={"Authorization": f"Bearer {device.secret}"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    by_index = {e["index"]: e for e in body["errors"]}
    assert sorted(by_index) == list(range(1, 13)), body["errors"]
    assert by_index[1]["field"] == "fixes/1/seq"
    assert by_index[2]["field"].startswith("fixes/2/attributes")
    assert "nested" in by_index[3]["detail"]
    assert by_index[4]["field"] == "fixes/4/accuracy_m"
    assert by_index[5]["field"] == "fixes/5/battery_pct"
    assert by_index[6]["field"] == "fixes/6/speed_mps"
    assert by_index[7]["field"] == "fixes/7/valid"
    assert by_index[8]["field"] == "fixes/8/time" and by_index[9]["field"] == "fixes/9/time"
    assert by_index[12]["field"] == "fixes/12/seq"
    rows = stored(engine, device.id)
    assert [row["seq"] for row in rows] == [1, 2**63 - 1]
    assert body["stored"] == 2


def test_batch_device_with_nul_is_a_problem(anon, device) -> None:
    r = anon.post(
        "/api/v1/ingest/batch",
        json={"device": "x\x00y", "fixes": [fix(0)]},
        headers={"Authorization": f"Bearer {device.secret}"},
    )
    problem(r, field="device")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"accuracy": "1e39"}, "accuracy"),
        ({"batt": "1e30"}, "batt"),
        ({"speed": "-5"}, "speed"),
        ({"bearing": "720"}, "bearing"),
        ({"note": "a\x00b"}, "note"),
        ({"timestamp": "0001-01-01T00:00:00+08:00"}, "timestamp"),
        ({"timestamp": "9999-12-31T23:59:59"}, "timestamp"),
        ({"timestamp": "1e300"}, "timestamp"),
    ],
)
def test_osmand_bad_value_is_400_naming_the_field(anon, engine, device, params, field) -> None:
    query = {"id": device.external_id, "lat": CITY_LAT, "lon": CITY_LON, "key": device.secret}
    r = anon.get("/api/v1/ingest/osmand", params={**query, **params})
    problem(r, 400, field)
    assert stored(engine, device.id) == []


def test_osmand_never_stores_infinity(anon, engine, device) -> None:
    query = {"id": device.external_id, "lat": CITY_LAT, "lon": CITY_LON, "key": device.secret}
    ok = anon.get("/api/v1/ingest/osmand", params={**query, "accuracy": "99999", "batt": "100"})
    assert ok.status_code == 200, ok.text
    with engine.connect() as conn:
        infinite = conn.execute(
            text(
                "SELECT count(*) FROM position WHERE accuracy_m = 'Infinity'::real "
                "OR speed_mps = 'Infinity'::real OR battery_pct = 'Infinity'::real "
                "OR altitude_m = 'Infinity'::real OR course_deg = 'Infinity'::real"
            )
        ).scalar_one()
    assert infinite == 0


@pytest.mark.parametrize("year", ["0001", "9999"])
def test_dates_out_of_range_are_422_on_every_endpoint(client, live_server, tokens, year) -> None:
    day = f"{year}-01-01"
    stamp = f"{year}-01-01T00:00:00+08:00"
    cases = [
        ("/api/v1/locate", {"lon": CITY_LON, "lat": CITY_LAT, "at": stamp}, "at"),
        ("/api/v1/locate", {"lon": CITY_LON, "lat": CITY_LAT, "at": day}, "at"),
        ("/api/v1/grids", {"level": 1, "at": stamp}, "at"),
        ("/api/v1/events", {"from": stamp}, "from"),
        ("/api/v1/events", {"to": day}, "to"),
        ("/api/v1/kpis", {"from": stamp, "to": "2026-01-01T00:00:00+08:00"}, "from"),
        ("/api/v1/devices/1/track", {"from": stamp}, "from"),
        ("/api/v1/patrol/daily", {"date": day}, "date"),
        ("/api/v1/coverage", {"date": day}, "date"),
        ("/api/v1/coverage/trend", {"from": day}, "from"),
    ]
    for path, params, field in cases:
        r = client.get(path, params=params)
        assert r.status_code != 500, (path, r.text[:300])
        problem(r, 422, field)


def test_reported_at_out_of_range_is_422(live_server, tokens) -> None:
    import httpx

    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['dispatcher']}"}
    ) as c:
        for stamp in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59Z"):
            r = c.post(
                "/api/v1/events",
                json={"lon": CITY_LON, "lat": CITY_LAT, "subclass": "0101",
                      "description": "x", "reported_at": stamp},
            )  # fmt: skip
            problem(r, 422, "reported_at")


def test_gpx_time_out_of_range_is_refused_per_point(anon, engine, device) -> None:
    t = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="t" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON}"><time>0001-01-01T00:00:00+08:00</time></trkpt>'
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON}"><time>9999-12-31T23:59:59Z</time></trkpt>'
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON}"><time>{t}</time></trkpt>'
        "</trkseg></trk></gpx>"
    )
    r = anon.post(
        "/api/v1/ingest/gpx",
        params={"device": device.external_id},
        content=gpx.encode(),
        headers={"Authorization": f"Bearer {device.secret}"},
    )
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert r.json()["stored"] == 1
        assert {e["index"] for e in r.json()["errors"]} == {0, 1}


def test_duplicates_outside_the_metric_crs_is_422(client) -> None:
    for lon, lat in ((0.0, 0.0), (-120.0, 45.0), (120.0, -89.0)):
        r = client.get(
            "/api/v1/events/duplicates",
            params={"lon": lon, "lat": lat, "subclass": "0101", "crs": "wgs84"},
        )
        problem(r, 422, "lon")


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def test_photo_declaring_40000_square_pixels_is_refused(live_server, tokens) -> None:
    import httpx

    bomb = _png_header_only(40_000, 40_000)
    assert len(bomb) < 200
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['officer']}"}
    ) as c:
        r = c.post(
            "/api/v1/events",
            data={"lon": str(CITY_LON), "lat": str(CITY_LAT), "subclass": "0101",
                  "description": "bomb", "ignore_duplicates": "true"},
            files={"photos": ("bomb.png", io.BytesIO(bomb), "image/png")},
        )  # fmt: skip
        body = problem(r, 413, "photos")
        assert "megapixels" in body["detail"]


def test_photo_check_refuses_a_bomb_directly() -> None:
    from layers.events.intake import Photo, PhotoTooLarge, check_photo

    with pytest.raises(PhotoTooLarge):
        check_photo(Photo("bomb.png", _png_header_only(40_000, 40_000)))


def test_event_grid_filter_is_a_literal_prefix(client) -> None:
    everything = client.get("/api/v1/events", params={"limit": 1}).json()["count"]
    for pattern in ("%", "_", "3202%"):
        r = client.get("/api/v1/events", params={"grid": pattern, "limit": 1})
        assert r.status_code == 200, r.text
        assert r.json()["count"] == 0 or everything == 0


def test_long_description_is_refused(live_server, tokens) -> None:
    import httpx

    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['officer']}"}
    ) as c:
        r = c.post(
            "/api/v1/events",
            json={"lon": CITY_LON, "lat": CITY_LAT, "subclass": "0101",
                  "description": "长" * 100_000},
        )  # fmt: skip
        problem(r, 422, "description")


def test_device_api_strict_types_and_unknown_device_404(live_server, tokens) -> None:
    import httpx

    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['admin']}"}
    ) as c:
        r = c.post("/api/v1/devices/2147483000/secret")
        problem(r, 404, "device_id")
        r = c.post("/api/v1/devices", json={"external_id": "strict-1", "with_secret": "false"})
        problem(r, 422, "with_secret")
        r = c.post("/api/v1/devices", json={"external_id": "strict-2", "person_id": True})
        problem(r, 422, "person_id")
        r = c.post("/api/v1/devices", json={"external_id": "x" * 101})
        problem(r, 422, "external_id")
        r = c.post("/api/v1/devices", json={"external_id": "nul\x00id"})
        problem(r, 422, "external_id")
        r = c.post("/api/v1/devices", json={"external_id": "strict-3", "speed_unit": "furlong"})
        problem(r, 422, "speed_unit")
        r = c.patch("/api/v1/devices/2147483000", json={"speed_unit": "mps"})
        problem(r, 404, "device_id")


def test_request_bodies_refuse_loose_types_infinity_and_nul(live_server, tokens) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/json"}
    with httpx.Client(base_url=live_server, headers=headers) as c:
        r = c.post(
            "/api/v1/draws",
            content=b'{"title": "t", "seed": "s", "n_targets": true}',
        )
        problem(r, 422, "n_targets")
        r = c.post(
            "/api/v1/households",
            json={"code": "H-strict", "address": "x", "lon": CITY_LON, "lat": CITY_LAT,
                  "head_name": "x", "low_income": "false"},
        )  # fmt: skip
        problem(r, 422, "low_income")
        r = c.post(
            "/api/v1/market-entities",
            content=b'{"credit_code": "x", "name": "n", "category": "c", "lon": 1e400, '
            b'"lat": 31.9}',
        )
        problem(r, 422, "lon")
        r = c.post(
            "/api/v1/households",
            json={"code": "H-nul", "address": "a\x00b", "lon": CITY_LON, "lat": CITY_LAT,
                  "head_name": "x"},
        )  # fmt: skip
        problem(r, 422, "address")


def test_a_broken_or_wrong_json_body_names_the_body(live_server, tokens) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {tokens['admin']}", "Content-Type": "application/json"}
    with httpx.Client(base_url=live_server, headers=headers) as c:
        problem(c.post("/api/v1/devices", content=b'{"external_id": '), 422, "body")
        problem(c.post("/api/v1/devices", content=b"[1, 2]"), 422, "body")
        deep = b'{"external_id": "deep", "label": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        problem(c.post("/api/v1/devices", content=deep), 400, "body")


def test_event_text_fields_must_be_text(live_server, tokens) -> None:
    import httpx

    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['officer']}"}
    ) as c:
        r = c.post(
            "/api/v1/events",
            json={"lon": CITY_LON, "lat": CITY_LAT, "subclass": "0101", "description": "x",
                  "address": {"nested": ["no"]}, "ignore_duplicates": True},
        )  # fmt: skip
        problem(r, 422, "address")
