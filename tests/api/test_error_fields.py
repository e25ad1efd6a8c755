"""Error answers name their field the one way (issue 11, kind of fault 1 and 2).

Proves: every multipart or urlencoded form failure is a problem+json naming the part (413 for a
part over 1 MiB, 422 for a form that is none), on the events, GPX and OsmAnd routes; Open311
answers the same failures as its GeoReport error array; OsmAnd/Traccar JSON errors name
JSON pointers (``location/coords/accuracy``), never dotted paths.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

PROBLEM = "application/problem+json"
NAMELESS_PART = b"--x\r\nContent-Disposition: form-data\r\n\r\na\r\n--x--\r\n"
OVER_1_MIB = "长" * (400 * 1024)  # 1.2 MB of UTF-8


@pytest.fixture
def device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine)


def _problem(r, status: int, field: str) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["field"] == field, body
    return body


def test_event_report_with_a_part_over_1_mib_names_the_part(live_server, tokens, anon) -> None:
    r = anon.post(
        "/api/v1/events",
        headers={"Authorization": f"Bearer {tokens['admin']}"},
        data={"lon": "120.28", "lat": "31.9", "subclass": "0201", "description": OVER_1_MIB},
        files=[("photos", ("scene.png", b"\x89PNG", "image/png"))],
    )
    body = _problem(r, 413, "description")
    assert "description" in body["detail"] and "1024 KiB" in body["detail"]


@pytest.mark.parametrize(
    ("content_type", "body", "field"),
    [
        ("multipart/form-data", b"--x\r\n", "Content-Type"),  # no boundary
        ("multipart/form-data; boundary=x", NAMELESS_PART, "body"),
        ("multipart/form-data; boundary=x", b"garbage without any boundary", "body"),
    ],
)  # fmt: skip
def test_malformed_multipart_is_a_422_naming_where(anon, tokens, content_type, body, field) -> None:
    r = anon.post(
        "/api/v1/events",
        headers={"Authorization": f"Bearer {tokens['admin']}", "Content-Type": content_type},
        content=body,
    )
    assert r.status_code in (413, 422), r.text
    if r.status_code == 422:
        _problem(r, 422, field)
    assert r.headers["content-type"] == PROBLEM


def test_gpx_part_problems_name_the_part(device, anon) -> None:
    r = anon.post(
        "/api/v1/ingest/gpx",
        params={"device": device.external_id},
        headers={"Authorization": f"Bearer {device.secret}"},
        data={"comment": OVER_1_MIB},
        files={"file": ("x.gpx", b"<gpx/>", "application/gpx+xml")},
    )
    _problem(r, 413, "comment")


def test_open311_form_failures_are_georeport_errors(anon, tokens) -> None:
    form = {"api_key": tokens["viewer"], "service_code": "0104", "lat": "31.9",
            "long": "120.28", "description": OVER_1_MIB}  # fmt: skip
    for files in (None, {"media": ("m.txt", b"x", "text/plain")}):
        r = anon.post("/open311/v2/requests.json", data=form, files=files)
        assert r.status_code == 413, r.text
        assert r.headers["content-type"].startswith("application/json")
        [error] = r.json()
        assert error["code"] == 413 and "description" in error["description"]


def test_osmand_json_errors_name_json_pointers(device, anon) -> None:
    for key, value in (("accuracy", "abc"), ("speed", "fast"), ("latitude", "north")):
        coords = {"latitude": CITY_LAT, "longitude": CITY_LON, key: value}
        r = anon.post(
            "/api/v1/ingest/osmand",
            params={"key": device.secret},
            json={"device_id": device.external_id,
                  "location": {"timestamp": "2026-01-01T00:00:00Z", "coords": coords}},
        )  # fmt: skip
        body = r.json()
        assert r.status_code in (400, 422), r.text
        assert body["field"] == f"location/coords/{key}", body
        assert "." not in body["field"]
