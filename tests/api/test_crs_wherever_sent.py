"""``crs`` is honoured wherever a client may send it (issue 14 item 2, F14a): the query of
``POST /api/v1/events`` (was ignored: 201 with a grid ~500 m off), a multipart form field, a
``crs`` column of a ``POST /api/v1/locate`` CSV (was ignored), the OsmAnd/Traccar query or form
and OwnTracks' query; one reader (api.coords.client_crs); an unknown name, or a query and a body
that disagree, is a 422 naming the field. The datum pairs come from gis.crs, GCJ-02 ~500 m off
CGCS2000 in the city."""

from __future__ import annotations

import csv
import io
import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from gis.crs import Datum, from_cgcs2000
from tests.planning_fixtures import token_client
from tests.tracks_support import make_device


@pytest.fixture(scope="module")
def spot(demo_grids):  # type: ignore[no-untyped-def]
    """A unit grid's middle (the GCJ-02 shift is ~500 m) in each datum."""
    l3 = demo_grids[demo_grids.level == 3].iloc[260]
    p = l3.geometry.representative_point()
    out: dict[str, Any] = {"code": str(l3.code), "cgcs2000": (p.x, p.y)}
    for d in (Datum.WGS84, Datum.GCJ02, Datum.BD09):
        lon, lat = from_cgcs2000([p.x], [p.y], d)
        out[d.value] = (float(lon[0]), float(lat[0]))
    return out


def _event(lon: float, lat: float, **kw: Any) -> dict[str, Any]:
    return {"lon": lon, "lat": lat, "subclass": "0401", "description": "crs query test",
            "ignore_duplicates": True} | kw  # fmt: skip


def _problem(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field, r.json()


def test_events_take_crs_from_the_query_and_a_form_field(live_server, tokens, spot) -> None:
    lon, lat = spot["gcj02"]
    with token_client(live_server, tokens["officer"]) as officer:
        r = officer.post("/api/v1/events", params={"crs": "gcj02"}, json=_event(lon, lat))
        assert r.status_code == 201, r.text
        assert r.json()["routing"]["grid_code"] == spot["code"]
        # the same as the body's crs, in both: taken
        r = officer.post(
            "/api/v1/events", params={"crs": "GCJ02"}, json=_event(lon, lat, crs="gcj02")
        )
        assert r.status_code == 201 and r.json()["routing"]["grid_code"] == spot["code"], r.text
        # a multipart form (the phone's report with photos) with a crs field
        form = {k: (None, str(v).lower()) for k, v in _event(lon, lat).items()}
        r = officer.post("/api/v1/events", files=form | {"crs": (None, "gcj02")})
        assert r.status_code == 201, r.text
        assert r.json()["routing"]["grid_code"] == spot["code"]
        bx, by = spot["bd09"]
        r = officer.post("/api/v1/events", params={"crs": "bd09"}, files=form | {
            "lon": (None, str(bx)), "lat": (None, str(by))})  # fmt: skip
        assert r.status_code == 201 and r.json()["routing"]["grid_code"] == spot["code"], r.text
        # bad cases: unknown names, disagreement between query and body
        _problem(
            officer.post("/api/v1/events", params={"crs": "utm"}, json=_event(lon, lat)), "crs"
        )
        _problem(officer.post("/api/v1/events", json=_event(lon, lat, crs="mars")), "crs")
        _problem(
            officer.post(
                "/api/v1/events", params={"crs": "wgs84"}, json=_event(lon, lat, crs="gcj02")
            ),
            "crs",
        )
        _problem(officer.post("/api/v1/events", params={"crs": "x"}, files=form), "crs")
        # duplicates (GET): its crs query parameter
        near = {"lon": lon, "lat": lat, "subclass": "0401"}
        r = officer.get("/api/v1/events/duplicates", params=near | {"crs": "gcj02"})
        assert r.status_code == 200 and r.json()["count"] >= 1, r.text
        _problem(officer.get("/api/v1/events/duplicates", params=near | {"crs": "?"}), "crs")


def test_locate_csv_takes_a_crs_column_and_the_query(live_server, tokens, spot) -> None:
    g, w, c = spot["gcj02"], spot["wgs84"], spot["cgcs2000"]
    csv_head = "id,lon,lat,crs\n"
    rows = f"a,{g[0]},{g[1]},gcj02\nb,{w[0]},{w[1]},EPSG:4326\nc,{c[0]},{c[1]},\n"
    csv_type = {"Content-Type": "text/csv"}
    with token_client(live_server, tokens["viewer"]) as viewer:
        r = viewer.post("/api/v1/locate", content=(csv_head + rows).encode(), headers=csv_type)
        assert _l3s(r) == [spot["code"]] * 3
        # no column: the query's crs
        body = f"lon,lat\n{g[0]},{g[1]}\n".encode()
        r = viewer.post("/api/v1/locate", params={"crs": "gcj02"}, content=body, headers=csv_type)
        assert _l3s(r) == [spot["code"]]
        # an empty cell takes the query's
        body = f"lon,lat,crs\n{g[0]},{g[1]},\n".encode()
        r = viewer.post("/api/v1/locate", params={"crs": "gcj02"}, content=body, headers=csv_type)
        assert _l3s(r) == [spot["code"]]
        # bad: an unknown name in a row (the line is named), a row disagreeing with the query
        bad = csv_head + f"a,{g[0]},{g[1]},gcj02\nb,{g[0]},{g[1]},amap-ish\n"
        r = viewer.post("/api/v1/locate", content=bad.encode(), headers=csv_type)
        _problem(r, "crs")
        assert "line 3" in r.json()["detail"], r.json()
        r = viewer.post(
            "/api/v1/locate", params={"crs": "wgs84"}, content=(csv_head + rows).encode(),
            headers=csv_type,
        )  # fmt: skip
        _problem(r, "crs")
        # JSON: body crs and query crs disagree; an unknown query crs
        r = viewer.post("/api/v1/locate", params={"crs": "bd09"},
                        json={"crs": "gcj02", "points": [list(g)]})  # fmt: skip
        _problem(r, "crs")
        for odd in (["gcj02"], 4326, {"name": "gcj02"}):  # not a name: refused, never ignored
            _problem(viewer.post("/api/v1/locate", json={"crs": odd, "points": [list(g)]}), "crs")
        r = viewer.post("/api/v1/locate", params={"crs": "gcj02"}, json={"points": [list(g)]})
        assert r.status_code == 200 and r.json()["results"][0]["l3"] == spot["code"], r.text
        _problem(viewer.post("/api/v1/locate", params={"crs": "nope"},
                             json={"points": [list(g)]}), "crs")  # fmt: skip


def _l3s(r: httpx.Response) -> list[str]:
    """The l3 column of a CSV answer (a CSV upload is answered in CSV)."""
    assert r.status_code == 200, r.text
    return [row["l3"] for row in csv.DictReader(io.StringIO(r.text))]


def _stored(engine: Engine, device_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text(
                    "SELECT grid_code, lon AS x, lat AS y, datum FROM position WHERE device_id = :d"
                ),
                {"d": device_id},
            ).mappings()
        ]


def test_phones_take_crs_in_the_osmand_query_or_form_and_owntracks_query(
    anon: httpx.Client, engine: Engine, spot: dict[str, Any]
) -> None:
    lon, lat = spot["gcj02"]
    cx, cy = spot["cgcs2000"]
    for how in ("query", "form", "owntracks"):
        device = make_device(engine)
        if how == "owntracks":
            r = anon.post(
                "/api/v1/ingest/owntracks",
                params={"d": device.external_id, "crs": "gcj02"},
                json={"_type": "location", "lat": lat, "lon": lon, "tst": 1_780_000_000},
                auth=("x", device.secret or ""),
            )
        else:
            params = {"id": device.external_id, "lat": lat, "lon": lon, "crs": "gcj02",
                      "key": device.secret}  # fmt: skip
            if how == "query":
                r = anon.get("/api/v1/ingest/osmand", params=params)
            else:
                r = anon.post("/api/v1/ingest/osmand", data=params)
        assert r.status_code == 200, (how, r.text)
        [row] = _stored(engine, device.id)
        assert row["x"] == pytest.approx(cx, abs=1e-5) and row["y"] == pytest.approx(cy, abs=1e-5)
        assert row["grid_code"] == spot["code"], how
    device = make_device(engine)
    r = anon.get(
        "/api/v1/ingest/osmand",
        params={"id": device.external_id, "lat": lat, "lon": lon, "crs": "gcj-2",
                "key": device.secret},
    )  # fmt: skip
    _problem(r, "crs")
    assert _stored(engine, device.id) == []


def test_households_take_a_query_crs_and_refuse_a_disagreeing_body(
    live_server, tokens, spot
) -> None:
    lon, lat = spot["gcj02"]
    body = {"code": f"CRSQ-{secrets.token_hex(4)}", "address": "测试路2号", "lon": lon,
            "lat": lat, "head_name": "李四"}  # fmt: skip
    with token_client(live_server, tokens["officer"]) as officer:
        r = officer.post("/api/v1/households", params={"crs": "gcj02"}, json=body)
        assert r.status_code == 201 and r.json()["grid_code"] == spot["code"], r.text
        r = officer.post(
            "/api/v1/households", params={"crs": "bd09"},
            json=body | {"code": body["code"] + "b", "crs": "gcj02"},
        )  # fmt: skip
        _problem(r, "crs")
        # an explicit cgcs2000 in the query disagrees with the body's gcj02 too
        r = officer.post(
            "/api/v1/households", params={"crs": "cgcs2000"},
            json=body | {"code": body["code"] + "c", "crs": "gcj02"},
        )  # fmt: skip
        _problem(r, "crs")
        _problem(officer.post("/api/v1/households", params={"crs": "amap"}, json=body), "crs")


def test_hotline_import_takes_the_query_crs_and_each_rows_crs(live_server, tokens, spot) -> None:
    g, b = spot["gcj02"], spot["bd09"]
    tag = secrets.token_hex(3)
    head = "ticket_no,received_at,subclass,description,lon,lat,crs\n"
    body = (
        head
        + f"C{tag}1,2026-06-01 10:00,0103,道路脏,{g[0]},{g[1]},\n"  # the query's gcj02
        + f"C{tag}2,2026-06-01 10:05,0103,道路脏,{g[0]},{g[1]},GCJ02\n"  # the same: taken
    )
    own = head + f"C{tag}3,2026-06-01 10:10,0103,道路脏,{b[0]},{b[1]},bd09\n"  # its own
    url = "/api/v1/events/import/hotline"
    with token_client(live_server, tokens["dispatcher"]) as dispatcher:
        r = dispatcher.post(url, params={"crs": "gcj02"}, files={"file": ("t.csv", body.encode())})
        assert r.status_code == 201, r.text
        ids = r.json()["event_ids"]
        assert len(ids) == 2, r.json()
        grids = {dispatcher.get(f"/api/v1/events/{i}").json()["routing"]["grid_code"] for i in ids}
        assert grids == {spot["code"]}
        r = dispatcher.post(url, files={"file": ("t.csv", own.encode())})
        assert r.status_code == 201, r.text
        [i] = r.json()["event_ids"]
        assert dispatcher.get(f"/api/v1/events/{i}").json()["routing"]["grid_code"] == spot["code"]
        bad = head + f"D{tag}1,2026-06-01 10:00,0103,道路脏,{g[0]},{g[1]},gcj02\n"
        r = dispatcher.post(url, params={"crs": "bd09"}, files={"file": ("t.csv", bad.encode())})
        _problem(r, "crs")
        assert "row" in r.json()["detail"], r.json()
        r = dispatcher.post(url, params={"crs": "mars"}, files={"file": ("t.csv", bad.encode())})
        _problem(r, "crs")
