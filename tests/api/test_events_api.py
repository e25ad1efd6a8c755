"""Events over real HTTP on the live server: intake, workflow, bad input, imports, KPIs, Open311."""

from __future__ import annotations

import io
import itertools
import os
from datetime import datetime

import httpx
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gis.crs import Datum, from_cgcs2000
from layers.events.workflow import TRANSITIONS

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def place(demo_grids):  # type: ignore[no-untyped-def]
    """A unit grid (code, lon, lat in CGCS2000) and its village name, inside the city."""
    l3 = demo_grids[demo_grids.level == 3].iloc[100]
    p = l3.geometry.representative_point()
    village = demo_grids[demo_grids.code == l3.parent_code].iloc[0]
    return {"code": l3.code, "lon": p.x, "lat": p.y, "village": village["name"]}


def _as(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.fixture
def officer(live_server, tokens):  # type: ignore[no-untyped-def]
    with _as(live_server, tokens["officer"]) as c:
        yield c


@pytest.fixture
def dispatcher(live_server, tokens):  # type: ignore[no-untyped-def]
    with _as(live_server, tokens["dispatcher"]) as c:
        yield c


@pytest.fixture
def admin(live_server, tokens):  # type: ignore[no-untyped-def]
    with _as(live_server, tokens["admin"]) as c:
        yield c


def _png(size=(64, 48)) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buf, "PNG")
    return buf.getvalue()


def _problem(r: httpx.Response, status: int, field: str) -> dict:  # type: ignore[type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["field"] == field, body
    return body


def _count(client: httpx.Client) -> int:
    return int(client.get("/api/v1/events", params={"limit": 1}).json()["count"])


def _report(client, place, **kw):  # type: ignore[no-untyped-def]
    body = {
        "lon": place["lon"],
        "lat": place["lat"],
        "subclass": "0401",
        "description": "占道经营 流动摊贩",
        "ignore_duplicates": True,
    } | kw
    return client.post("/api/v1/events", json=body)


def test_report_in_gcj02_routes_to_the_same_grid_as_locate(officer, place) -> None:
    lon, lat = from_cgcs2000([place["lon"]], [place["lat"]], Datum.GCJ02)
    r = _report(officer, place, lon=float(lon[0]), lat=float(lat[0]), crs="gcj02")
    assert r.status_code == 201, r.text
    event = r.json()
    located = officer.get(
        "/api/v1/locate", params={"lon": float(lon[0]), "lat": float(lat[0]), "crs": "gcj02"}
    ).json()
    assert event["routing"]["grid_code"] == located["l3"]["code"] == place["code"]
    assert event["routing"]["department"] == "市城管局"
    full = officer.get(f"/api/v1/events/{event['id']}").json()
    assert [s["action"] for s in full["timeline"]] == ["report"]
    assert "start" not in full["allowed_actions"]  # officer on a reported case: nothing to do


def test_report_with_photo_is_stored_and_served(officer, place) -> None:
    png = _png()
    r = officer.post(
        "/api/v1/events",
        data={
            "lon": str(place["lon"]),
            "lat": str(place["lat"]),
            "subclass": "0201",
            "description": "小广告",
            "ignore_duplicates": "true",
        },
        files=[("photos", ("scene.png", png, "image/png"))],
    )
    assert r.status_code == 201, r.text
    full = officer.get(f"/api/v1/events/{r.json()['id']}").json()
    assert full["photos"][0]["media_type"] == "image/png"
    assert full["timeline"][0]["attachments"] == [full["photos"][0]["id"]]
    assert officer.get(full["photos"][0]["url"]).content == png


@pytest.mark.parametrize(
    ("content", "status"),
    [(b"GIF89a not really" * 10, 415), (b"%PDF-1.7\n" + b"0" * 100, 415)],
)
def test_wrong_type_photo_is_refused_and_nothing_written(officer, place, content, status) -> None:
    before = _count(officer)
    r = officer.post(
        "/api/v1/events",
        data={
            "lon": str(place["lon"]),
            "lat": str(place["lat"]),
            "subclass": "0101",
            "description": "x",
            "ignore_duplicates": "true",
        },
        files=[("photos", ("photo.jpg", content, "image/jpeg"))],  # the name lies
    )
    _problem(r, status, "photos")
    assert _count(officer) == before


def test_oversized_photo(officer, place) -> None:
    before = _count(officer)
    big = _png() + os.urandom(5 * 1024 * 1024)
    r = officer.post(
        "/api/v1/events",
        data={
            "lon": str(place["lon"]),
            "lat": str(place["lat"]),
            "subclass": "0101",
            "description": "x",
            "ignore_duplicates": "true",
        },
        files=[("photos", ("big.png", big, "image/png"))],
    )
    assert "limit is 5 MB" in _problem(r, 413, "photos")["detail"]
    assert _count(officer) == before


def test_bad_reports(officer, client, place) -> None:
    _problem(_report(officer, place, subclass="9999"), 422, "subclass")
    assert (
        "outside the city"
        in _problem(_report(officer, place, lon=116.4, lat=39.9), 422, "lon")["detail"]
    )
    _problem(_report(officer, place, lon=31.9, lat=120.3), 422, "lat")  # swapped
    _problem(_report(client, place), 403, "Authorization")  # viewers do not report
    _problem(
        officer.post("/api/v1/events", content=b"{", headers={"content-type": "application/json"}),
        422,
        "body",
    )


def test_full_loop_with_roles_and_illegal_steps(officer, dispatcher, place) -> None:
    event = _report(officer, place).json()
    url = f"/api/v1/events/{event['id']}/actions"
    body = _problem(dispatcher.post(url, json={"action": "close"}), 409, "action")
    assert body["allowed"] == ["accept", "reject"]
    _problem(officer.post(url, json={"action": "accept"}), 403, "action")
    _problem(dispatcher.post(url, json={"action": "reject"}), 422, "note")
    _problem(dispatcher.post(url, json={"action": "fly"}), 422, "action")
    _problem(officer.post(url, json={"action": "start", "at": "2026-01-01"}), 422, "at")
    for client, action in [
        (dispatcher, "accept"),
        (dispatcher, "dispatch"),
        (officer, "start"),
        (officer, "handle"),
        (dispatcher, "verify_fail"),
        (officer, "start"),
        (officer, "handle"),
        (dispatcher, "verify"),
        (dispatcher, "close"),
    ]:
        r = client.post(url, json={"action": action, "note": "理由"})
        assert r.status_code == 200, (action, r.text)
    done = officer.get(f"/api/v1/events/{event['id']}").json()
    assert done["status"] == "closed" and done["rework_count"] == 1
    steps = [(s["from"], s["to"]) for s in done["timeline"]]
    assert steps[0] == (None, "reported") and steps[-1] == ("verified", "closed")
    assert all(a[1] == b[0] for a, b in itertools.pairwise(steps))


def test_overdue_listing_and_escalation(officer, admin, place) -> None:
    event = _report(officer, place, reported_at="2026-01-05T09:00:00+08:00").json()
    url = f"/api/v1/events/{event['id']}/actions"
    for action, at in (
        ("accept", "2026-01-05T09:10:00+08:00"),
        ("dispatch", "2026-01-05T09:20:00+08:00"),
    ):
        assert admin.post(url, json={"action": action, "at": at}).status_code == 200
    overdue = officer.get("/api/v1/events/overdue").json()["data"]
    mine = next(e for e in overdue if e["id"] == event["id"])
    # 0401 has 2 work-hours: dispatched 09:20 -> due 11:20 Shanghai (03:20 UTC)
    assert mine["overdue"] and mine["deadline_at"].startswith("2026-01-05T03:20")
    assert admin.post("/api/v1/events/overdue/escalate").json()["escalated"] >= 1
    timeline = officer.get(f"/api/v1/events/{event['id']}").json()["timeline"]
    assert timeline[-1]["action"] == "escalate"
    # the system's note in the reader's language, never both (layers/events/notes.py)
    assert timeline[-1]["note"] == "超时督办"
    for ask in ("?lang=en", ""):
        headers = {} if ask else {"Accept-Language": "en-GB,en;q=0.9"}
        english = officer.get(f"/api/v1/events/{event['id']}{ask}", headers=headers).json()
        assert english["timeline"][-1]["note"] == "overdue: escalated"
    assert admin.post("/api/v1/events/overdue/escalate").json()["escalated"] == 0  # once


def test_duplicates_are_offered_before_creating(officer, place) -> None:
    first = _report(officer, place, subclass="0502", description="井盖缺失").json()
    r = _report(officer, place, subclass="0502", description="井盖没了", ignore_duplicates=False)
    body = _problem(r, 409, "ignore_duplicates")
    assert first["id"] in [d["id"] for d in body["duplicates"]]
    found = officer.get(
        "/api/v1/events/duplicates",
        params={"lon": place["lon"], "lat": place["lat"], "subclass": "0502"},
    ).json()
    assert first["id"] in [d["id"] for d in found["data"]]
    assert _report(officer, place, subclass="0502", ignore_duplicates=True).status_code == 201


def test_reroute_is_logged(officer, dispatcher, place) -> None:
    event = _report(officer, place).json()
    url = f"/api/v1/events/{event['id']}/routing"
    _problem(dispatcher.post(url, json={"changes": {"department": "x"}}), 422, "reason")
    _problem(
        officer.post(url, json={"changes": {"department": "x"}, "reason": "r"}),
        403,
        "Authorization",
    )
    r = dispatcher.post(url, json={"changes": {"department": "市住建局"}, "reason": "属住建"})
    assert r.json()["routing"]["department"] == "市住建局"
    last = officer.get(f"/api/v1/events/{event['id']}").json()["timeline"][-1]
    assert last["action"] == "reroute" and last["data"]["before"]["department"] == "市城管局"


def test_wrongly_typed_values_are_clear_errors_and_store_nothing(
    officer, dispatcher, place
) -> None:  # type: ignore[no-untyped-def]
    before = _count(officer)
    # a number where a date string belongs, and a reroute whose changes are not an object
    _problem(_report(officer, place, reported_at=20260105), 422, "reported_at")
    event = _report(officer, place, subclass="0601").json()
    url = f"/api/v1/events/{event['id']}/routing"
    for bad in (["department"], "department=x", 7):
        _problem(dispatcher.post(url, json={"changes": bad, "reason": "r"}), 422, "changes")
    # a value longer than its column: the database refuses it, the caller gets a 422
    long_kind = dispatcher.put("/api/v1/event-dictionary/classes/98",
                               json={"name": "测试", "kind": "k" * 300})  # fmt: skip
    assert long_kind.status_code == 422, long_kind.text
    assert long_kind.headers["content-type"].startswith(PROBLEM)
    assert "nothing was stored" in long_kind.json()["detail"]
    classes = dispatcher.get("/api/v1/event-dictionary").json()["data"]
    assert "98" not in [c["code"] for c in classes]
    assert _count(officer) == before + 1  # only the one good report


def test_dictionary_crud_and_import(dispatcher, client) -> None:
    data = client.get("/api/v1/event-dictionary").json()["data"]
    names = {c["name"] for c in data}
    assert {"市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件", "其他"} <= names
    demolition = client.get("/api/v1/event-dictionary/subclasses/0304").json()
    assert (demolition["limit_value"], demolition["limit_unit"]) == (20, "work_days")
    row = {
        "class_code": "06",
        "name": "共享单车堆积",
        "accept_rule": "a",
        "limit_value": 4,
        "limit_unit": "work_hours",
        "close_rule": "c",
        "department": "市城管局",
    }
    assert dispatcher.put("/api/v1/event-dictionary/subclasses/0690", json=row).status_code == 200
    _problem(client.put("/api/v1/event-dictionary/subclasses/0691", json=row), 403, "Authorization")
    header = "code,class_code,name,accept_rule,limit_value,limit_unit,close_rule,department\n"
    good = header + "0692,06,井盖异响,有异响,2,work_days,修复,市住建局\n"
    r = dispatcher.post("/api/v1/event-dictionary/import", files={"file": ("d.csv", good.encode())})
    assert r.json() == {"imported": 1}
    bad = header + "0693,06,a,b,2,work_days,c,d\n0694,06,a,b,2,weeks,c,d\n"
    r = dispatcher.post("/api/v1/event-dictionary/import", files={"file": ("d.csv", bad.encode())})
    assert "row 3" in _problem(r, 422, "limit_unit")["detail"]
    _problem(client.get("/api/v1/event-dictionary/subclasses/0693"), 422, "code")  # not written
    book = openpyxl.Workbook()
    book.active.append(header.strip().split(","))
    book.active.append(["0695", "06", "桥梁护栏", "x", 3, "work_days", "y", "市交通运输局"])
    buf = io.BytesIO()
    book.save(buf)
    r = dispatcher.post(
        "/api/v1/event-dictionary/import", files={"file": ("d.xlsx", buf.getvalue())}
    )
    assert r.json() == {"imported": 1}


def test_hotline_import(dispatcher, place) -> None:
    header = "ticket_no,received_at,subclass,description,lon,lat,crs,address\n"
    good = (
        header
        + f"H1,2026-06-01 10:00,0103,道路脏,{place['lon']},{place['lat']},cgcs2000,\n"
        + f"H2,2026-06-01 11:00,0401,有人摆摊,,,,江阴市{place['village']}门口\n"
    )
    r = dispatcher.post("/api/v1/events/import/hotline", files={"file": ("t.csv", good.encode())})
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 2
    again = dispatcher.post(
        "/api/v1/events/import/hotline", files={"file": ("t.csv", good.encode())}
    )
    assert again.json()["skipped_tickets"] == ["H1", "H2"]
    before = _count(dispatcher)
    bad = (
        header
        + f"H3,2026-06-02 10:00,0103,a,{place['lon']},{place['lat']},,\nH4,yesterday,0103,b,1,2,,\n"
    )
    r = dispatcher.post("/api/v1/events/import/hotline", files={"file": ("t.csv", bad.encode())})
    assert "row 3" in _problem(r, 422, "received_at")["detail"]
    assert _count(dispatcher) == before  # H3 was not kept either
    r = dispatcher.post("/api/v1/events/import/hotline", files={"file": ("t.csv", b"\xff\xfe\x00")})
    _problem(r, 422, "file")


def test_kpis_json_csv_xlsx_and_ranking(client, officer, place) -> None:
    assert _report(officer, place, reported_at="2026-03-02T09:00:00+08:00").status_code == 201
    params = {"by": "town", "from": "2026-01-01", "to": "2027-01-01"}
    rows = client.get("/api/v1/kpis", params=params).json()["data"]
    assert rows and all(r["reported"] >= r["accepted"] for r in rows)
    csv_text = client.get("/api/v1/kpis", params=params | {"format": "csv"}).text
    assert csv_text.lstrip("\ufeff").startswith("单位,")
    xlsx = client.get("/api/v1/kpis", params=params | {"format": "xlsx"}).content
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    assert sheet.cell(1, 1).value == "单位" and sheet.max_row == len(rows) + 1
    ranking = client.get("/api/v1/kpis/ranking", params=params | {"by": "grid"}).json()["data"]
    ranks = [r["rank"] for r in ranking if r["rank"] is not None]
    assert ranks == sorted(ranks)
    _problem(
        client.get(
            "/api/v1/kpis", params={"by": "planet", "from": "2026-01-01", "to": "2026-02-01"}
        ),
        422,
        "by",
    )
    _problem(client.get("/api/v1/kpis", params={"by": "town"}), 422, "from")


def test_open311(anon, tokens, place) -> None:
    services = anon.get("/open311/v2/services.json").json()
    assert {"service_code": "0101", "group": "市容环境"}.items() <= next(
        s for s in services if s["service_code"] == "0101"
    ).items()
    assert anon.get("/open311/v2/services/0101.json").json()["service_code"] == "0101"
    lon, lat = from_cgcs2000([place["lon"]], [place["lat"]], Datum.WGS84)
    form = {
        "api_key": tokens["viewer"],
        "service_code": "0104",
        "lat": str(lat[0]),
        "long": str(lon[0]),
        "description": "垃圾桶满了",
        "first_name": "王",
    }
    r = anon.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    public = anon.get(f"/open311/v2/requests/{rid}.json")  # reading needs no key (GeoReport)
    assert public.status_code == 200 and "reporter_name" not in public.json()[0]
    denied = anon.get(f"/open311/v2/requests/{rid}.json", params={"api_key": "wrong"})
    assert denied.status_code == 403 and denied.json()[0]["code"] == 403  # GeoReport errors
    got = anon.get(f"/open311/v2/requests/{rid}.json", params={"api_key": tokens["viewer"]}).json()
    assert got[0]["status"] == "open" and got[0]["service_code"] == "0104"
    assert datetime.fromisoformat(got[0]["requested_datetime"]).utcoffset() is not None
    assert abs(got[0]["lat"] - float(lat[0])) < 1e-5
    listed = anon.get(
        "/open311/v2/requests.json", params={"api_key": tokens["viewer"], "status": "open"}
    ).json()
    assert rid in [x["service_request_id"] for x in listed]
    unknown = anon.post("/open311/v2/requests.json", data=form | {"service_code": "7777"})
    assert unknown.status_code == 404 and "service_code" in unknown.json()[0]["description"]


ACTIONS = sorted(TRANSITIONS)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(ACTIONS), st.sampled_from(["officer", "dispatcher", "viewer"])),
        min_size=1,
        max_size=14,
    )
)
def test_no_api_sequence_reaches_an_illegal_state(live_server, tokens, place, steps) -> None:
    clients = {k: _as(live_server, tokens[k]) for k in ("officer", "dispatcher", "viewer")}
    try:
        event = _report(clients["officer"], place).json()
        url = f"/api/v1/events/{event['id']}/actions"
        status = "reported"
        for action, who in steps:
            r = clients[who].post(url, json={"action": action, "note": "n"})
            t = TRANSITIONS[action]
            legal = status in t.sources and who in {x.value for x in t.roles}
            assert r.status_code == (
                200 if legal else 403 if who not in {x.value for x in t.roles} else 409
            ), (status, action, who, r.text)
            if legal:
                status = t.target.value
        full = clients["viewer"].get(f"/api/v1/events/{event['id']}").json()
        assert full["status"] == status
        chain = [(s["from"], s["to"]) for s in full["timeline"]]
        assert all(a[1] == b[0] for a, b in itertools.pairwise(chain))
    finally:
        for c in clients.values():
            c.close()
