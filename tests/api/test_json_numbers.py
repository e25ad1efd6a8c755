"""Numbers are numbers in every JSON body of the API (issue 11, kind of fault 4).

Proves: the ingest batch rejects a fix whose ``lon``, ``lat`` or a measured value is a string
or a boolean (that fix, by index and JSON pointer; the good ones stored), as /events refuses
it; the batch locate refuses strings in ``points`` and in ``lon``/``lat`` lists (422 naming
the field). Client protocols that send strings (OsmAnd query/form) still convert them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

PROBLEM = "application/problem+json"


@pytest.fixture
def device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine)


def test_batch_refuses_strings_and_booleans_for_numbers(anon, device) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    fixes = [
        {"time": (start + timedelta(seconds=5 * i)).isoformat(), "lon": CITY_LON + i * 1e-5,
         "lat": CITY_LAT, "seq": i}
        for i in range(6)
    ]  # fmt: skip
    fixes[1]["lon"] = str(CITY_LON)
    fixes[2]["lat"] = str(CITY_LAT)
    fixes[3]["accuracy_m"] = "5"
    fixes[4]["battery_pct"] = True
    r = anon.post(
        "/api/v1/ingest/batch",
        json={"device": device.external_id, "crs": "wgs84", "fixes": fixes},
        headers={"Authorization": f"Bearer {device.secret}"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stored"] == 2 and body["rejected"] == 4
    fields = {e["index"]: e["field"] for e in body["errors"]}
    assert fields == {1: "fixes/1/lon", 2: "fixes/2/lat", 3: "fixes/3/accuracy_m",
                      4: "fixes/4/battery_pct"}  # fmt: skip
    assert all("JSON number" in e["detail"] for e in body["errors"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": [[str(CITY_LON), str(CITY_LAT)]]}, "points/0"),
        ({"points": [[CITY_LON, CITY_LAT], [True, False]]}, "points/1"),
        ({"lon": [str(CITY_LON)], "lat": [CITY_LAT]}, "lon"),
    ],
)
def test_locate_refuses_strings_for_numbers(client, body, field) -> None:
    r = client.post("/api/v1/locate", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["field"] == field


def test_locate_still_takes_numbers(client) -> None:
    r = client.post("/api/v1/locate", json={"crs": "wgs84", "points": [[CITY_LON, CITY_LAT]]})
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/locate", json={"crs": "wgs84", "lon": [CITY_LON], "lat": [CITY_LAT]})
    assert r.status_code == 200, r.text
