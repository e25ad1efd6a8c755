"""A refused fix time names where it was (issue 11, task S part 6): a batch fix of 1990 or two
days ahead is ``fixes/1/time`` (a JSON Pointer), a GPX point ``trkpt/1/time``, and the
single-fix protocols name their own key (OsmAnd ``timestamp``, OwnTracks ``tst``, Traccar JSON
``location/timestamp``), never a ``timestamp`` the client did not send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

GPX = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
    'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{points}</trkseg></trk></gpx>'
)
NOW = datetime.now(UTC).replace(microsecond=0)
BAD_TIMES = {"1990": datetime(1990, 5, 1, tzinfo=UTC), "future": NOW + timedelta(days=2)}


@pytest.fixture
def device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine)


def _auth(device: StaffDevice) -> dict[str, str]:
    return {"Authorization": f"Bearer {device.secret}"}


@pytest.mark.parametrize("which", sorted(BAD_TIMES))
def test_a_batch_names_the_fix_time_by_its_pointer(
    anon: httpx.Client, device: StaffDevice, which: str
) -> None:
    times = [NOW - timedelta(minutes=5), BAD_TIMES[which], NOW - timedelta(minutes=4)]
    fixes = [{"time": t.isoformat(), "lon": CITY_LON + i * 1e-5, "lat": CITY_LAT, "seq": i}
             for i, t in enumerate(times)]  # fmt: skip
    r = anon.post(
        "/api/v1/ingest/batch",
        json={"device": device.external_id, "datum": "wgs84", "fixes": fixes},
        headers=_auth(device),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stored"] == 2 and body["rejected"] == 1, body
    [error] = body["errors"]
    assert error["index"] == 1 and error["field"] == "fixes/1/time", error


@pytest.mark.parametrize("which", sorted(BAD_TIMES))
def test_gpx_names_the_track_point_time(
    anon: httpx.Client, device: StaffDevice, which: str
) -> None:
    times = [NOW - timedelta(minutes=5), BAD_TIMES[which], NOW - timedelta(minutes=4)]
    points = "".join(
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON + i * 1e-4}"><time>{t.isoformat()}</time></trkpt>'
        for i, t in enumerate(times)
    )
    r = anon.post(
        "/api/v1/ingest/gpx",
        params={"device": device.external_id},
        content=GPX.format(points=points).encode(),
        headers=_auth(device),
    )
    assert r.status_code == 200, r.text
    errors = r.json()["errors"]
    assert [e["field"] for e in errors] == ["trkpt/1/time"], errors


def test_single_fix_protocols_name_their_own_time_key(
    anon: httpx.Client, device: StaffDevice
) -> None:
    """A time two years ahead is refused (400: the phone keeps the fix) naming its key."""
    ahead = NOW + timedelta(days=730)
    osmand = anon.get(
        "/api/v1/ingest/osmand",
        params={"id": device.external_id, "lat": CITY_LAT, "lon": CITY_LON,
                "timestamp": int(ahead.timestamp()), "key": device.secret},
    )  # fmt: skip
    assert osmand.status_code == 400 and osmand.json()["field"] == "timestamp", osmand.text
    owntracks = anon.post(
        "/api/v1/ingest/owntracks",
        params={"u": "x", "d": device.external_id},
        json={"_type": "location", "lat": CITY_LAT, "lon": CITY_LON,
              "tst": int(ahead.timestamp())},
        auth=("x", device.secret),
    )  # fmt: skip
    assert owntracks.status_code == 400 and owntracks.json()["field"] == "tst", owntracks.text
    coords = {"latitude": CITY_LAT, "longitude": CITY_LON}
    traccar = anon.post(
        "/api/v1/ingest/osmand",
        params={"key": device.secret},
        json={"device_id": device.external_id,
              "location": {"timestamp": ahead.isoformat(), "coords": coords}},
    )  # fmt: skip
    assert traccar.status_code == 400, traccar.text
    assert traccar.json()["field"] == "location/timestamp", traccar.text
