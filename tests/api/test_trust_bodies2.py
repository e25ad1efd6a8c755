"""Bodies, second round (issue 11): a draft edit takes only its op's own parameters, each by
its schema (api/schemas/bodies.py EDIT_PARAMS); a generation body refuses unknown fields; every
problem ``field`` inside a body or a file is a JSON pointer without the leading slash
(docs/problems.md): ``points/1/lat``, ``properties/name``, ``trkpt/0/time``,
``fixes/0/attributes/a/0``, never dots or brackets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.api.accounts_support import problem
from tests.planning_fixtures import *  # noqa: F403  (the draft and planner fixtures)
from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device


def _unit(engine: Engine, draft: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 ORDER BY code "
                 "LIMIT 1"), {"g": draft},
        ).scalar_one())  # fmt: skip


def _edit(client: httpx.Client, draft: int, **body: Any) -> httpx.Response:
    r = client.get(f"/api/v1/generations/{draft}/edits")
    version = int(r.headers["ETag"].strip('"'))
    return client.post(f"/api/v1/generations/{draft}/edits",
                       json={"reason": "test", "version": version, **body})  # fmt: skip


def test_edit_params_are_checked_by_their_schema(planner, engine, draft) -> None:  # type: ignore[no-untyped-def]
    code = _unit(engine, draft)
    at = [CITY_LON, CITY_LAT]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"op": "rename", "code": code, "name": "x", "nmae": "typo"}, "nmae"),
        ({"op": "rename", "code": code, "name": "x", "to": at}, "to"),  # another op's
        ({"op": "move_vertex", "at": at, "to": at, "snapm": 3}, "snapm"),
        ({"op": "move_vertex", "at": at, "to": at, "snap_m": "3"}, "snap_m"),
        ({"op": "move_vertex", "at": at, "to": at, "snap_m": 1e39}, "snap_m"),
        ({"op": "move_vertex", "at": ["120.3", "31.9"], "to": at}, "at/0"),
        ({"op": "move_vertex", "at": [120.3], "to": at}, "at"),
        ({"op": "move_vertex", "at": at, "to": [1, 2, 3]}, "to"),
        ({"op": "merge", "codes": [code, 5], "name": "x"}, "codes/1"),
        ({"op": "split", "code": code, "line": at, "names": ["a", ""]}, "names/1"),
        ({"op": "split", "code": code, "line": [at] * 10_001}, "line"),
        ({"op": "rename", "code": code, "name": "x" * 201}, "name"),
        ({"op": "rename", "code": code, "name": "a\x00b"}, "name"),
        ({"op": "recode", "code": code, "new_code": True}, "new_code"),
        ({"op": 7, "code": code}, "op"),
        ({"op": "rotate", "code": code}, "op"),
        ({"op": "rename", "code": code, "name": "x", "reason": 5}, "reason"),
    ]
    for body, field in bad:
        r = _edit(planner, draft, **body)
        problem(r, 422, field)
    # nothing was changed by any of them; a good edit still works
    assert planner.get(f"/api/v1/generations/{draft}/edits").json()["edits"] == []
    ok = _edit(planner, draft, op="rename", code=code, name="新名字")
    assert ok.status_code == 200, ok.text


def test_generation_bodies_refuse_unknown_fields(planner) -> None:  # type: ignore[no-untyped-def]
    r = planner.post("/api/v1/generations", json={"from": "active", "name": "x", "nmae": "y"})
    problem(r, 422, "nmae")
    r = planner.post("/api/v1/generations", json={"from": "active", "name": "a\x00b"})
    assert r.status_code == 422, r.text


def test_the_edit_body_is_documented_closed(live_server) -> None:  # type: ignore[no-untyped-def]
    doc = httpx.get(f"{live_server}/openapi.json", timeout=60).json()
    post = doc["paths"]["/api/v1/generations/{generation_id}/edits"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False
    assert {"at", "to", "snap_m", "codes", "offset_m", "line", "names", "to_parent",
            "new_code", "geometry"} <= set(schema["properties"])  # fmt: skip


def test_fields_are_json_pointers(client, live_server, engine, demo_generation) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/locate", json={"points": [[120.3, 31.9], [31.9, 120.3]]})
    problem(r, 422, "points/1/lat")
    r = client.post("/api/v1/locate", json={"points": [[120.3, 31.9], [120.3]]})
    problem(r, 422, "points/1")
    device: StaffDevice = make_device(engine)
    auth = {"Authorization": f"Bearer {device.secret}"}
    t = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    body = {"device": device.external_id, "fixes": [
        {"time": t, "lon": CITY_LON, "lat": CITY_LAT, "attributes": {"a": ["ok", "x\x00"]}},
    ]}  # fmt: skip
    r = httpx.post(f"{live_server}/api/v1/ingest/batch", json=body, headers=auth, timeout=60)
    assert r.status_code == 422, r.text  # the only fix refused, named by its pointer
    assert r.json()["errors"][0]["field"] == "fixes/0/attributes/a/1"
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="t" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON}"><time>9999-12-31T23:59:59Z</time></trkpt>'
        "</trkseg></trk></gpx>"
    )
    r = httpx.post(f"{live_server}/api/v1/ingest/gpx", params={"device": device.external_id},
                   content=gpx.encode(), headers=auth, timeout=60)  # fmt: skip
    fields = [e.get("field") for e in r.json().get("errors", [])] or [r.json().get("field")]
    assert all("[" not in str(f) and "." not in str(f) for f in fields), r.text
    assert any(str(f).startswith("trkpt/0/") for f in fields), r.text
