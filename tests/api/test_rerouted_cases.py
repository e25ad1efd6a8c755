"""A case a dispatcher reroutes to an officer is the officer's to see and act on, wherever it is
(issue 11): one rule (layers.events.access) for /me/tasks, /events/{id}, its photos and actions.
An account scoped to another area than its person still reaches nothing of the person's area
(tests/api/test_trust_scope2.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from layers.db import make_sessionmaker, transaction
from tests.api.accounts_support import problem
from tests.api.test_events_api import _png
from tests.api.test_scope_reads import _client
from tests.api.test_scope_reads import setting as setting  # the module fixture
from tests.api.test_trust_scope2 import _case_in
from tests.people_fixtures import *  # noqa: F403  (people_demo)

PNG = _png()


def _grid_outside(engine: Any, town: str, person: int) -> str:
    """A unit grid of ``town`` the person is not assigned to (today or ever)."""
    from layers.people import GridAssignment

    with transaction(make_sessionmaker(engine)) as session:
        theirs = set(
            session.scalars(select(GridAssignment.grid_code).where(
                GridAssignment.person_id == person))
        )  # fmt: skip
    with engine.connect() as conn:
        codes = conn.execute(
            text("SELECT DISTINCT code FROM grid WHERE level = 3 AND code LIKE :t ORDER BY code"),
            {"t": town + "%"},
        ).scalars()
        return next(c for c in codes if not any(c.startswith(t) for t in theirs))


def test_a_case_rerouted_to_a_grids_officer_is_theirs(live_server, engine, tokens, setting) -> None:  # type: ignore[no-untyped-def]
    town, officer = setting["other"], setting["other_person"]
    grid = _grid_outside(engine, town, officer)
    case = _case_in(live_server, tokens, engine, grid)
    with _client(live_server, engine, "officer", "grids", person_id=officer) as phone:
        assert case not in {t["id"] for t in phone.get("/api/v1/me/tasks").json()["data"]}
        problem(phone.get(f"/api/v1/me/tasks/{case}"), 403, "id")
        problem(phone.get(f"/api/v1/events/{case}"), 403, "scope")
        with _client(live_server, engine, "dispatcher", f"town:{town}") as d:
            for action in ("accept", "dispatch"):
                r = d.post(f"/api/v1/events/{case}/actions", json={"action": action})
                assert r.status_code == 200, r.text
            files = {"photos": ("p.png", PNG, "image/png")}
            r = d.post(f"/api/v1/events/{case}/actions", data={"action": "park", "note": "n"},
                       files=files)  # fmt: skip
            assert r.status_code == 200, r.text
            assert d.post(f"/api/v1/events/{case}/actions", json={"action": "unpark"}).is_success
            body = {"changes": {"worker_person_id": officer}, "reason": "his case now"}
            r = d.post(f"/api/v1/events/{case}/routing", json=body)
            assert r.status_code == 200, r.text
        tasks = phone.get("/api/v1/me/tasks")
        assert tasks.status_code == 200 and case in {t["id"] for t in tasks.json()["data"]}
        assert phone.get(f"/api/v1/me/tasks/{case}").status_code == 200
        read = phone.get(f"/api/v1/events/{case}")
        assert read.status_code == 200, read.text
        listed = phone.get("/api/v1/events", params={"limit": 10_000}).json()["data"]
        assert case in {e["id"] for e in listed}
        photo = read.json()["photos"][0]["url"]
        shot = phone.get(photo)
        assert shot.status_code == 200 and shot.content == PNG
        act = phone.post(f"/api/v1/events/{case}/actions", json={"action": "start"})
        assert act.status_code == 200, act.text
        assert act.json()["status"] == "in_handling"
        # the original grid's case of another town stays out of reach
        problem(phone.get(f"/api/v1/events/{setting['event']}"), 403, "scope")
    with _client(live_server, engine, "officer", "grids", person_id=setting["person"]) as other:
        problem(other.get(f"/api/v1/events/{case}"), 403, "scope")  # not routed to them
        stop = other.post(f"/api/v1/events/{case}/actions", json={"action": "handle"})
        problem(stop, 403, "action")
