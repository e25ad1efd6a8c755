"""One rule for "not known" values on every ingest path (issue 14 item 3, F14a): -1 for speed,
course, accuracy, HDOP or battery is stored NULL whether it comes in the OsmAnd/Traccar query
or form, the Traccar Client JSON body, OwnTracks or our batch (never a 400 that makes a phone
resend forever, never stored as data); an altitude of -1 m is a real altitude, stored as sent;
other out-of-range values are still refused, naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.tracks_support import make_device

LON, LAT = 120.2751, 31.9123


def _rows(engine: Engine, device_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text("SELECT * FROM position WHERE device_id = :d ORDER BY fix_time"),
                {"d": device_id},
            ).mappings()
        ]


def _unknowns(row: dict[str, Any]) -> None:
    assert row["speed_mps"] is None, row
    assert row["course_deg"] is None, row
    assert row["accuracy_m"] is None, row
    assert row["battery_pct"] is None, row
    assert row["altitude_m"] == pytest.approx(-1.0), row  # a real altitude, kept


def _stamp(minutes: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


QUERY_SENTINELS = {
    "speed": "-1",
    "bearing": "-1",
    "accuracy": "-1",
    "hdop": "-1",
    "batt": "-1",
    "altitude": "-1",
}


@pytest.mark.parametrize("how", ["query", "form", "query-hdop-only"])
def test_osmand_query_and_form_minus_one_is_unknown(
    anon: httpx.Client, engine: Engine, demo_generation: int, how: str
) -> None:
    device = make_device(engine)
    params = {
        "id": device.external_id,
        "lat": str(LAT),
        "lon": str(LON),
        "timestamp": str(int(_stamp(5).timestamp())),
        "key": device.secret or "",
        **QUERY_SENTINELS,
    }
    if how == "query-hdop-only":  # the OsmAnd app sends hdop, no accuracy
        del params["accuracy"]
    if how == "form":
        r = anon.post("/api/v1/ingest/osmand", data=params)
    else:
        r = anon.get("/api/v1/ingest/osmand", params=params)
    assert r.status_code == 200, r.text
    [row] = _rows(engine, device.id)
    _unknowns(row)
    assert "hdop" not in (row["attributes"] or {}), row["attributes"]


def test_traccar_json_body_minus_one_is_unknown(
    anon: httpx.Client, engine: Engine, demo_generation: int
) -> None:
    device = make_device(engine)
    body = {
        "device_id": device.external_id,
        "location": {
            "timestamp": _stamp(4).isoformat(),
            "coords": {
                "latitude": LAT,
                "longitude": LON,
                "accuracy": -1,
                "speed": -1,
                "heading": -1,
                "altitude": -1,
            },
            "battery": {"level": -1},
        },
    }
    r = anon.post(
        "/api/v1/ingest/osmand", json=body, headers={"Authorization": f"Bearer {device.secret}"}
    )
    assert r.status_code == 200, r.text
    [row] = _rows(engine, device.id)
    _unknowns(row)


def test_owntracks_minus_one_is_unknown(
    anon: httpx.Client, engine: Engine, demo_generation: int
) -> None:
    device = make_device(engine)
    r = anon.post(
        "/api/v1/ingest/owntracks",
        params={"d": device.external_id},
        json={"_type": "location", "lat": LAT, "lon": LON, "tst": int(_stamp(3).timestamp()),
              "acc": -1, "vel": -1, "cog": -1, "batt": -1, "alt": -1},
        auth=("ignored", device.secret or ""),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    [row] = _rows(engine, device.id)
    _unknowns(row)


def test_batch_minus_one_is_unknown_and_other_negatives_are_refused(
    anon: httpx.Client, engine: Engine, demo_generation: int
) -> None:
    device = make_device(engine)
    sentinel = {"accuracy_m": -1, "speed_mps": -1, "course_deg": -1, "battery_pct": -1}
    fixes = [
        {"time": _stamp(2).isoformat(), "lon": LON, "lat": LAT, "seq": 0, "altitude_m": -1}
        | sentinel,
        {"time": _stamp(1).isoformat(), "lon": LON, "lat": LAT, "seq": 1, "speed_mps": -2.5},
    ]
    r = anon.post(
        "/api/v1/ingest/batch",
        json={"device": device.external_id, "crs": "wgs84", "fixes": fixes},
        headers={"Authorization": f"Bearer {device.secret}"},
    )
    assert r.status_code in (200, 422), r.text
    errors = r.json().get("errors") or []
    assert [e["field"] for e in errors] == ["fixes/1/speed_mps"], errors
    [row] = _rows(engine, device.id)
    _unknowns(row)


def test_query_values_out_of_range_other_than_the_sentinel_are_still_400(
    anon: httpx.Client, engine: Engine, demo_generation: int
) -> None:
    device = make_device(engine)
    for field, value in (("accuracy", "-2"), ("hdop", "-0.5"), ("batt", "150")):
        r = anon.get(
            "/api/v1/ingest/osmand",
            params={"id": device.external_id, "lat": LAT, "lon": LON, field: value,
                    "key": device.secret},
        )  # fmt: skip
        assert r.status_code == 400, (field, r.text)
        assert r.json()["field"] == field, r.json()
    assert _rows(engine, device.id) == []
