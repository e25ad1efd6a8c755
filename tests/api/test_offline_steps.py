"""Issue 13 on the API: an action taken on a phone without network keeps the phone's time
(``acted_at``, bounded) as the step's time and the receipt time beside it; the phone's position
accuracy is stored on the event (``location_accuracy_m``) from the API, the officer app and
Open311, and returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gis.crs import Datum, from_cgcs2000

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def place(demo_grids: Any) -> dict[str, Any]:
    l3 = demo_grids[demo_grids.level == 3].iloc[230]
    p = l3.geometry.representative_point()
    return {"code": l3.code, "lon": p.x, "lat": p.y}


def _as(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.fixture
def officer(live_server: str, tokens: dict[str, str]) -> Any:
    with _as(live_server, tokens["officer"]) as c:
        yield c


@pytest.fixture
def admin(live_server: str, tokens: dict[str, str]) -> Any:
    with _as(live_server, tokens["admin"]) as c:
        yield c


def _problem(r: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["field"] == field, body
    return body


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def _case(
    admin: httpx.Client, place: dict[str, Any], dispatched: datetime, subclass: str = "0401"
) -> int:
    """A case of 0401 (2 work hours) reported, accepted and dispatched at ``dispatched``
    (back-dated by an admin, as a data migration would)."""
    body = {"lon": place["lon"], "lat": place["lat"], "subclass": subclass,
            "description": "离线处置 test", "ignore_duplicates": True,
            "reported_at": _iso(dispatched - timedelta(minutes=2))}  # fmt: skip
    r = admin.post("/api/v1/events", json=body)
    assert r.status_code == 201, r.text
    event_id = int(r.json()["id"])
    for action, at in (("accept", dispatched - timedelta(minutes=1)), ("dispatch", dispatched)):
        step = admin.post(
            f"/api/v1/events/{event_id}/actions", json={"action": action, "at": _iso(at)}
        )
        assert step.status_code == 200, step.text
    return event_id


def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 140, 90)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize("subclass", ["0101", "0401"])
def test_handled_needs_a_note_and_the_photo_the_subclass_asks_for(
    officer: httpx.Client, admin: httpx.Client, place: dict[str, Any], subclass: str
) -> None:
    """处理反馈 (issue 13): a note always, as JSON and as the phone's multipart; a photo after
    handling when the subclass's closing rule asks for one (0101 "…有处置后照片"), not for 0401;
    refused as problem+json naming the field and the fix, in Chinese for a Chinese request."""
    case = _case(admin, place, datetime.now(UTC) - timedelta(minutes=5), subclass)
    url = f"/api/v1/events/{case}/actions"
    assert officer.post(url, json={"action": "start"}).status_code == 200
    body = _problem(officer.post(url, json={"action": "handle"}), 422, "note")
    assert "note" in body["detail"]
    photo = [("photos", ("after.jpg", _jpeg(), "image/jpeg"))]
    _problem(officer.post(url, data={"action": "handle", "note": " "}, files=photo), 422, "note")
    body = _problem(
        officer.post(url + "?lang=zh", data={"action": "handle"}, files=[
            ("photos", ("after.jpg", _jpeg(), "image/jpeg"))]), 422, "note")  # fmt: skip
    assert "处置说明" in body["detail"], body
    if subclass == "0101":
        body = _problem(
            officer.post(url, json={"action": "handle", "note": "已清理"}), 422, "photos"
        )
        assert "photo" in body["detail"] and "0101" in body["detail"]
        zh = _problem(officer.post(url + "?lang=zh", json={"action": "handle", "note": "已清理"}),
                      422, "photos")  # fmt: skip
        assert "处置后照片" in zh["detail"], zh
        assert officer.get(f"/api/v1/events/{case}").json()["status"] == "in_handling"
        r = officer.post(url, data={"action": "handle", "note": "已清理"},
                         files=[("photos", ("after.jpg", _jpeg(), "image/jpeg"))])  # fmt: skip
    else:
        r = officer.post(url, json={"action": "handle", "note": "已疏导"})
    assert r.status_code == 200, r.text
    event = officer.get(f"/api/v1/events/{case}").json()
    assert event["status"] == "handled"
    (step,) = [s for s in event["timeline"] if s["action"] == "handle"]
    assert step["note"] in ("已清理", "已疏导")
    assert len(event["photos"]) == (1 if subclass == "0101" else 0)


def test_an_offline_action_is_logged_at_the_phones_time(
    officer: httpx.Client, admin: httpx.Client, place: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    dispatched = now - timedelta(hours=71)
    case = _case(admin, place, dispatched)
    url = f"/api/v1/events/{case}/actions"
    started = dispatched + timedelta(minutes=1)
    r = officer.post(url, json={"action": "start", "acted_at": _iso(started)})
    assert r.status_code == 200, r.text
    # the overdue escalation was logged (now) while the phone was still offline
    assert admin.post("/api/v1/events/overdue/escalate").status_code == 200
    handled = dispatched + timedelta(minutes=30)  # before the 2 work-hour deadline
    r = officer.post(url, json={"action": "handle", "note": "已处理", "acted_at": _iso(handled)})
    assert r.status_code == 200, r.text
    event = r.json()
    assert datetime.fromisoformat(event["handled_at"]) == handled
    assert datetime.fromisoformat(event["deadline_at"]) > handled
    assert event["overdue"] is False and event["status"] == "handled"
    timeline = officer.get(f"/api/v1/events/{case}").json()["timeline"]
    steps = {s["action"]: s for s in timeline}
    for action, at in (("start", started), ("handle", handled)):
        assert datetime.fromisoformat(steps[action]["at"]) == at  # the phone's time
        received = datetime.fromisoformat(steps[action]["recorded_at"])
        assert received >= now - timedelta(minutes=1)  # the receipt time, kept apart
    # the KPIs read the step time: handled, not overdue (judged now)
    day = dispatched.astimezone(UTC).date()
    kpis = officer.get("/api/v1/kpis", params={
        "by": "grid", "from": (day - timedelta(days=1)).isoformat(),
        "to": (day + timedelta(days=2)).isoformat()}).json()["data"]  # fmt: skip
    overdue = officer.get("/api/v1/events", params={"overdue": "true", "grid": place["code"],
                                                    "limit": 10_000}).json()["data"]  # fmt: skip
    assert case not in {e["id"] for e in overdue}
    row = next(r for r in kpis if r["key"] == place["code"])
    assert row["handled"] >= 1


def test_the_phones_time_is_bounded(
    officer: httpx.Client, admin: httpx.Client, place: dict[str, Any]
) -> None:
    now = datetime.now(UTC)
    case = _case(admin, place, now - timedelta(hours=2))
    url = f"/api/v1/events/{case}/actions"
    for acted_at in (
        _iso(now + timedelta(hours=1)),  # ahead of the server beyond the clock skew
        _iso(now - timedelta(hours=73)),  # waited longer than 72 h
        _iso(now - timedelta(hours=3)),  # before the case was dispatched
        "yesterday",
        "2026-13-01T00:00:00Z",
    ):
        body = _problem(officer.post(url, json={"action": "start", "acted_at": acted_at}), 422,
                        "acted_at")  # fmt: skip
        assert "acted_at" in body["detail"]
    _problem(officer.post(url, json={"action": "start", "acted_at": 12}), 422, "acted_at")
    both = {"action": "start", "at": _iso(now), "acted_at": _iso(now)}
    _problem(admin.post(url, json=both), 422, "acted_at")
    timeline = officer.get(f"/api/v1/events/{case}").json()["timeline"]
    assert [s["action"] for s in timeline] == ["report", "accept", "dispatch"]  # nothing logged
    # a small clock skew is accepted, as multipart too (the phone sends photos that way)
    ahead = _iso(now + timedelta(minutes=2))
    r = officer.post(url, files={"action": (None, "start"), "acted_at": (None, ahead)})
    assert r.status_code == 200, r.text


def test_position_accuracy_is_stored_and_returned(
    officer: httpx.Client, anon: httpx.Client, tokens: dict[str, str], place: dict[str, Any]
) -> None:
    base = {"lon": place["lon"], "lat": place["lat"], "subclass": "0402",
            "description": "精度 test", "ignore_duplicates": True}  # fmt: skip
    r = officer.post("/api/v1/events", json=base | {"location_accuracy_m": 12.5})
    assert r.status_code == 201, r.text
    assert officer.get(f"/api/v1/events/{r.json()['id']}").json()["location_accuracy_m"] == 12.5
    form = {k: (None, str(v)) for k, v in base.items()} | {"location_accuracy_m": (None, "8")}
    r = officer.post("/api/v1/events", files=form)  # multipart, as the phone sends photos
    assert r.status_code == 201 and r.json()["location_accuracy_m"] == 8
    r = officer.post("/api/v1/events", json=base | {"accuracy_m": 30})  # the app's first name
    assert r.status_code == 201 and r.json()["location_accuracy_m"] == 30
    r = officer.post("/api/v1/events", json=base)
    assert r.status_code == 201 and r.json()["location_accuracy_m"] is None
    before = officer.get("/api/v1/events", params={"limit": 1}).json()["count"]
    for bad in (-1, 1e9, "abc", [3], "nan"):
        _problem(officer.post("/api/v1/events", json=base | {"location_accuracy_m": bad}), 422,
                 "location_accuracy_m")  # fmt: skip
    assert officer.get("/api/v1/events", params={"limit": 1}).json()["count"] == before

    lon, lat = from_cgcs2000([place["lon"]], [place["lat"]], Datum.WGS84)
    request = {"api_key": tokens["viewer"], "service_code": "0104", "lat": str(lat[0]),
               "long": str(lon[0]), "description": "垃圾桶满了",
               "location_accuracy_m": "25"}  # fmt: skip
    r = anon.post("/open311/v2/requests.json", data=request)
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    assert officer.get(f"/api/v1/events/{rid}").json()["location_accuracy_m"] == 25
    bad = anon.post("/open311/v2/requests.json", data=request | {"location_accuracy_m": "far"})
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400
