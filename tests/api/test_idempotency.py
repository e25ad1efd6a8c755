"""``Idempotency-Key`` on event reports and workflow actions: a resent request acts once and
answers the first result; another key acts again; a key reused for another request, or a
malformed key, is refused naming the fix; a failed request leaves the key free."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine, func, select

from layers.db import make_sessionmaker, transaction

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def place(demo_grids: Any) -> dict[str, Any]:
    l3 = demo_grids[demo_grids.level == 3].iloc[321]
    p = l3.geometry.representative_point()
    return {"code": l3.code, "lon": p.x, "lat": p.y}


def _as(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def _report(place: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "lon": place["lon"],
        "lat": place["lat"],
        "subclass": "0401",
        "description": text,
        "ignore_duplicates": True,
    }


def _events_with(engine: Engine, text: str) -> int:
    from layers.events.models import Event

    with transaction(make_sessionmaker(engine)) as session:
        return int(
            session.scalar(select(func.count()).select_from(Event).where(Event.description == text))
            or 0
        )


def _log_steps(engine: Engine, event_id: int, action: str) -> int:
    from layers.events.models import EventLog

    with transaction(make_sessionmaker(engine)) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(EventLog)
                .where(EventLog.event_id == event_id, EventLog.action == action)
            )
            or 0
        )


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def test_same_key_twice_is_one_event_with_the_same_answer(
    live_server: str, tokens: dict[str, str], engine: Engine, place: dict[str, Any]
) -> None:
    text = f"idempotent report {uuid.uuid4()}"
    key = str(uuid.uuid4())
    with _as(live_server, tokens["officer"]) as c:
        first = c.post(
            "/api/v1/events", json=_report(place, text), headers={"Idempotency-Key": key}
        )
        again = c.post(
            "/api/v1/events", json=_report(place, text), headers={"Idempotency-Key": key}
        )
    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert _events_with(engine, text) == 1


def test_multipart_report_with_photo_replayed_once(
    live_server: str, tokens: dict[str, str], engine: Engine, place: dict[str, Any]
) -> None:
    text = f"idempotent photo report {uuid.uuid4()}"
    key = str(uuid.uuid4())
    fields = {k: str(v) for k, v in _report(place, text).items()}
    with _as(live_server, tokens["officer"]) as c:
        answers = [
            c.post(
                "/api/v1/events",
                data=fields,
                files={"photos": ("a.jpg", _jpeg(), "image/jpeg")},
                headers={"Idempotency-Key": key},
            )
            for _ in range(2)
        ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert _events_with(engine, text) == 1


def test_different_keys_make_two_events(
    live_server: str, tokens: dict[str, str], engine: Engine, place: dict[str, Any]
) -> None:
    text = f"two keys {uuid.uuid4()}"
    with _as(live_server, tokens["officer"]) as c:
        ids = {
            c.post(
                "/api/v1/events",
                json=_report(place, text),
                headers={"Idempotency-Key": str(uuid.uuid4())},
            ).json()["id"]
            for _ in range(2)
        }
        plain = c.post("/api/v1/events", json=_report(place, text))  # no key: no replay
    assert len(ids) == 2 and plain.status_code == 201
    assert _events_with(engine, text) == 3


def test_keys_belong_to_their_caller(
    live_server: str, tokens: dict[str, str], engine: Engine, place: dict[str, Any]
) -> None:
    """The same key from another caller is that caller's own first request."""
    text = f"two callers {uuid.uuid4()}"
    key = str(uuid.uuid4())
    for role in ("officer", "dispatcher"):
        with _as(live_server, tokens[role]) as c:
            r = c.post(
                "/api/v1/events", json=_report(place, text), headers={"Idempotency-Key": key}
            )
            assert r.status_code == 201, r.text
    assert _events_with(engine, text) == 2


def test_action_replayed_once(
    live_server: str, tokens: dict[str, str], engine: Engine, place: dict[str, Any]
) -> None:
    with _as(live_server, tokens["dispatcher"]) as d:
        event = d.post("/api/v1/events", json=_report(place, f"act {uuid.uuid4()}")).json()
        key = str(uuid.uuid4())
        body = {"action": "accept"}
        first = d.post(
            f"/api/v1/events/{event['id']}/actions", json=body, headers={"Idempotency-Key": key}
        )
        again = d.post(
            f"/api/v1/events/{event['id']}/actions", json=body, headers={"Idempotency-Key": key}
        )
        assert first.status_code == again.status_code == 200, again.text
        assert again.json() == first.json() and first.json()["status"] == "accepted"
        # a new key is a new request: accept is not possible twice
        third = d.post(
            f"/api/v1/events/{event['id']}/actions",
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert third.status_code == 409, third.text
    assert _log_steps(engine, event["id"], "accept") == 1


def test_failed_request_leaves_the_key_free(
    live_server: str, tokens: dict[str, str], engine: Engine, place: dict[str, Any]
) -> None:
    text = f"retry after failure {uuid.uuid4()}"
    key = str(uuid.uuid4())
    with _as(live_server, tokens["officer"]) as c:
        bad = c.post(
            "/api/v1/events",
            json={**_report(place, text), "subclass": "9999"},
            headers={"Idempotency-Key": key},
        )
        assert bad.status_code >= 400 and bad.status_code != 500
        good = c.post("/api/v1/events", json=_report(place, text), headers={"Idempotency-Key": key})
    assert good.status_code == 201, good.text
    assert _events_with(engine, text) == 1


def test_key_reused_for_another_request_is_refused(
    live_server: str, tokens: dict[str, str], place: dict[str, Any]
) -> None:
    key = str(uuid.uuid4())
    with _as(live_server, tokens["officer"]) as c:
        ok = c.post(
            "/api/v1/events",
            json=_report(place, f"a {uuid.uuid4()}"),
            headers={"Idempotency-Key": key},
        )
        assert ok.status_code == 201
        other = c.post(
            "/api/v1/events",
            json=_report(place, f"b {uuid.uuid4()}"),
            headers={"Idempotency-Key": key},
        )
    assert other.status_code == 422, other.text
    assert other.headers["content-type"].startswith(PROBLEM)
    assert other.json()["field"] == "Idempotency-Key"
    assert "new key" in other.json()["detail"]


@pytest.mark.parametrize("key", ["short", "has space in it", "x" * 101, "ключ-не-ascii"])
def test_malformed_key_is_refused(
    live_server: str, tokens: dict[str, str], place: dict[str, Any], key: str
) -> None:
    with _as(live_server, tokens["officer"]) as c:
        r = c.post(
            "/api/v1/events",
            json=_report(place, "bad key"),
            headers={"Idempotency-Key": key.encode()},
        )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "Idempotency-Key"


def test_two_racing_requests_with_one_key_make_one_event(
    live_server: str, tokens: dict[str, str], engine: Engine, place: dict[str, Any]
) -> None:
    """The second request waits for the first one's claim and then answers its result."""
    from concurrent.futures import ThreadPoolExecutor

    text = f"racing {uuid.uuid4()}"
    key = str(uuid.uuid4())

    def send(_: int) -> httpx.Response:
        with _as(live_server, tokens["officer"]) as c:
            return c.post(
                "/api/v1/events", json=_report(place, text), headers={"Idempotency-Key": key}
            )

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert _events_with(engine, text) == 1
