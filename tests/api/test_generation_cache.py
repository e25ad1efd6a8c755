"""What a server keeps between requests never outlives a change: a draft's locator follows its
edits, and the cached generation in force is never used past a scheduled publication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, text

from layers.grids import ACTIVE_CACHE, active_generation, mark_generations_changed

POINT = {"lon": 120.285, "lat": 31.92}


def test_locating_in_a_draft_follows_its_edits(
    engine: Engine, live_server: str, tokens: dict[str, str], client: httpx.Client
) -> None:
    planner = {"Authorization": f"Bearer {tokens['planner']}"}
    r = httpx.post(f"{live_server}/api/v1/generations", headers=planner, timeout=120,
                   json={"from": "active", "name": "locator cache check"})  # fmt: skip
    assert r.status_code == 201, r.text
    draft = r.json()["generation"]["id"] if "generation" in r.json() else r.json()["id"]
    first = client.get("/api/v1/locate", params={**POINT, "generation": draft}).json()
    code = first["l3"]["code"]
    with engine.begin() as conn:  # an edit of the draft, by any means
        conn.execute(text("UPDATE grid SET name = 'renamed in draft' WHERE generation_id = :g "
                          "AND code = :c"), {"g": draft, "c": code})  # fmt: skip
    again = client.get("/api/v1/locate", params={**POINT, "generation": draft}).json()
    assert again["l3"] == {"code": code, "name": "renamed in draft"}
    active = client.get("/api/v1/locate", params=POINT).json()
    assert active["l3"]["code"] == code and active["l3"]["name"] != "renamed in draft"


def test_cached_generation_is_bypassed_by_the_session_that_publishes(db_session, demo_generation):  # type: ignore[no-untyped-def]
    ACTIVE_CACHE.set_enabled(True)
    try:
        first = active_generation(session=db_session)
        assert active_generation(session=db_session).id == first.id  # from the cache
        mark_generations_changed(db_session)
        assert ACTIVE_CACHE.get(db_session) is None  # this transaction is changing it
    finally:
        ACTIVE_CACHE.set_enabled(False)


def test_cached_generation_expires_at_the_next_scheduled_publication(db_session, demo_generation):  # type: ignore[no-untyped-def]
    ACTIVE_CACHE.set_enabled(True)
    try:
        at = datetime.now(UTC) + timedelta(hours=1)
        db_session.execute(
            text("INSERT INTO generation (name, status, effective_at) VALUES "
                 "('scheduled', 'approved', :at)"),
            {"at": at},
        )  # fmt: skip
        current = active_generation(session=db_session)
        assert ACTIVE_CACHE.get(db_session).id == current.id
        cached, until = ACTIVE_CACHE._entry
        assert until == at  # kept until the scheduled publication, not a moment longer
        ACTIVE_CACHE._entry = (cached, datetime.now(UTC) - timedelta(seconds=1))
        assert ACTIVE_CACHE.get(db_session) is None  # the time has come: looked up again
    finally:
        ACTIVE_CACHE.set_enabled(False)
