"""A GPX ``<time>`` that is no time is named as invalid, not as missing (issue 11, fault 6).

Proves: ``T25:00:00Z`` is rejected as an invalid time of that track point (``trkpt/1/time``),
the other points stored; a point without ``<time>`` is still named as having none; a file of
only bad times is a 422 saying which.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

GPX = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
    'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>t</name><trkseg>{points}'
    "</trkseg></trk></gpx>"
)


@pytest.fixture
def device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine)


def _post(anon, device: StaffDevice, points: str):  # type: ignore[no-untyped-def]
    return anon.post(
        "/api/v1/ingest/gpx",
        params={"device": device.external_id},
        content=GPX.format(points=points).encode(),
        headers={"Authorization": f"Bearer {device.secret}"},
    )


def _pt(i: int, time: str | None) -> str:
    when = "" if time is None else f"<time>{time}</time>"
    return f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON + i * 1e-4}">{when}</trkpt>'


def test_invalid_time_is_named_invalid_with_its_point(anon, device) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    day = t0.date().isoformat()
    points = [_pt(0, t0.isoformat()), _pt(1, f"{day}T25:00:00Z"), _pt(2, None),
              _pt(3, (t0 + timedelta(seconds=20)).isoformat())]  # fmt: skip
    r = _post(anon, device, "".join(points))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stored"] == 2
    errors = {e["index"]: e for e in body["errors"]}
    assert errors[1]["field"] == "trkpt/1/time"
    assert "not a valid time" in errors[1]["detail"] and "T25:00:00Z" in errors[1]["detail"]
    assert errors[2]["field"] == "trkpt/2/time" and "no <time>" in errors[2]["detail"]


def test_only_invalid_times_is_a_422_saying_so(anon, device) -> None:
    r = _post(anon, device, _pt(0, "2026-01-01T25:00:00Z") + _pt(1, "yesterday"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "body" and "not a valid time" in body["detail"]
    assert [e["field"] for e in body["errors"]] == ["trkpt/0/time", "trkpt/1/time"]
