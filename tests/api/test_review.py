"""Review and publication over HTTP: submit, approve by another planner, dry run, publish now or
at a scheduled time, roll back, the history of a grid and optimistic locking.

Publishing changes the session's active generation; every test that publishes restores the demo
generation afterwards (``restore_demo``), so other tests see the demo city as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from layers.auth import create_token
from layers.db import make_sessionmaker, transaction
from layers.models import Role
from tests.planning_fixtures import *  # noqa: F403  (the admin and planner fixtures)
from tests.planning_fixtures import token_client

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def second_token(engine: Engine) -> str:
    with transaction(make_sessionmaker(engine)) as session:
        _, value = create_token(session=session, name="second planner", role=Role.PLANNER)
    return value


@pytest.fixture
def reviewer(live_server: str, second_token: str) -> Iterator[httpx.Client]:
    with token_client(live_server, second_token) as c:
        yield c


def _problem(r: httpx.Response, status: int, field: str) -> dict:  # type: ignore[type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["field"] == field, r.json()
    return r.json()  # type: ignore[no-any-return]


def _draft(client: httpx.Client, name: str = "review draft") -> dict:  # type: ignore[type-arg]
    r = client.post("/api/v1/generations", json={"from": "active", "name": name})
    assert r.status_code == 201, r.text
    return r.json()["generation"]  # type: ignore[no-any-return]


def _active_id(client: httpx.Client) -> int:
    rows = client.get("/api/v1/generations").json()["data"]
    return next(g["id"] for g in rows if g["status"] == "active")


def _point(demo_grids) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    p = demo_grids[demo_grids.level == 3].geometry.iloc[42].representative_point()
    return p.x, p.y


def _locate(client: httpx.Client, lonlat: tuple[float, float], at: str | None = None) -> dict:  # type: ignore[type-arg]
    params = {"lon": lonlat[0], "lat": lonlat[1], **({"at": at} if at else {})}
    r = client.get("/api/v1/locate", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_submit_approve_dry_run_publish(  # type: ignore[no-untyped-def]
    planner, reviewer, client, demo_generation, demo_grids, restore_demo
) -> None:
    gen = _draft(planner)
    gid = gen["id"]
    # publishing a draft that is not approved: the dry run answers, the commit is refused
    dry = planner.post(f"/api/v1/generations/{gid}/publish", json={"reason": "look"})
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    _problem(
        planner.post(f"/api/v1/generations/{gid}/publish", json={"reason": "x", "commit": True}),
        409,
        "status",
    )
    _problem(planner.post(f"/api/v1/generations/{gid}/submit", json={}), 422, "reason")
    r = planner.post(
        f"/api/v1/generations/{gid}/submit", json={"reason": "new grid for the port", "version": 1}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted" and r.headers["etag"] == '"2"'
    # the submitter may not approve their own submission
    body = _problem(
        planner.post(f"/api/v1/generations/{gid}/approve", json={"reason": "fine"}),
        403,
        "Authorization",
    )
    assert "another planner" in body["detail"]
    # a viewer may not approve either
    _problem(
        client.post(f"/api/v1/generations/{gid}/approve", json={"reason": "fine"}),
        403,
        "Authorization",
    )
    r = reviewer.post(f"/api/v1/generations/{gid}/approve", json={"reason": "checked on site"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    # dry run: what would happen, nothing changes
    dry = planner.post(f"/api/v1/generations/{gid}/publish", json={"reason": "go"})
    assert dry.status_code == 200, dry.text
    answer = dry.json()
    assert answer["dry_run"] is True and answer["replaces"]["id"] == demo_generation
    assert answer["validation"]["ok"] is True
    assert answer["comparison"]["codes"]["changed_count"] == 0
    assert answer["impact"] is not None  # the report, or "impact: not available"
    assert _active_id(client) == demo_generation
    assert client.get(f"/api/v1/generations/{gid}").json()["status"] == "approved"
    # commit: the draft is active, the demo retired at the same instant
    done = planner.post(f"/api/v1/generations/{gid}/publish", json={"reason": "go", "commit": True})
    assert done.status_code == 200, done.text
    assert done.json()["published"] == gid and done.json()["dry_run"] is False
    assert _active_id(client) == gid
    new = client.get(f"/api/v1/generations/{gid}").json()
    old = client.get(f"/api/v1/generations/{demo_generation}").json()
    assert old["status"] == "retired" and old["retired_at"] == new["activated_at"]
    located = _locate(client, _point(demo_grids))
    assert located["generation"]["id"] == gid
    steps = client.get(f"/api/v1/generations/{gid}/review").json()["steps"]
    assert [s["action"] for s in steps] == ["create", "submit", "approve", "publish"]
    assert [s["actor"] for s in steps] == [
        "test planner", "test planner", "second planner", "test planner"
    ]  # fmt: skip
    assert steps[1]["reason"] == "new grid for the port"
    assert all(s["at"] for s in steps)


def test_scheduled_publication_takes_effect_at_its_time(  # type: ignore[no-untyped-def]
    planner, admin, client, demo_generation, demo_grids, restore_demo
) -> None:
    gid = _draft(planner, "scheduled")["id"]
    assert planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).is_success
    assert admin.post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"}).is_success
    # far enough ahead for the checks before it on a busy machine (they took > 3 s under load)
    when = datetime.now(UTC) + timedelta(seconds=15)
    r = planner.post(
        f"/api/v1/generations/{gid}/publish",
        json={"reason": "from Monday", "commit": True, "at": when.isoformat()},
    )
    assert r.status_code == 200, r.text
    assert r.json()["scheduled"] is True
    assert client.get(f"/api/v1/generations/{gid}").json()["effective_at"] is not None
    point = _point(demo_grids)
    before = (when - timedelta(seconds=1)).isoformat()
    assert _locate(client, point)["generation"]["id"] == demo_generation
    assert _locate(client, point, at=before)["generation"]["id"] == demo_generation
    deadline = time.monotonic() + 60
    while _locate(client, point)["generation"]["id"] != gid:  # applied at the first lookup after
        assert time.monotonic() < deadline, "the scheduled generation never took effect"
        time.sleep(0.5)
    new = client.get(f"/api/v1/generations/{gid}").json()
    assert datetime.fromisoformat(new["activated_at"]) == when.replace(microsecond=when.microsecond)
    assert _locate(client, point, at=before)["generation"]["id"] == demo_generation
    after = (when + timedelta(milliseconds=500)).isoformat()
    assert _locate(client, point, at=after)["generation"]["id"] == gid
    steps = client.get(f"/api/v1/generations/{gid}/review").json()["steps"]
    assert [s["action"] for s in steps][-2:] == ["schedule", "publish"]
    assert steps[-1]["actor"] == "scheduler"


def test_scheduled_time_in_the_past_is_refused(planner, admin, restore_demo) -> None:  # type: ignore[no-untyped-def]
    gid = _draft(planner, "late")["id"]
    assert planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).is_success
    assert admin.post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"}).is_success
    r = planner.post(
        f"/api/v1/generations/{gid}/publish",
        json={"reason": "x", "commit": True, "at": "2020-01-01"},
    )
    _problem(r, 422, "at")
    _problem(
        planner.post(f"/api/v1/generations/{gid}/publish", json={"reason": "x", "at": "soon"}),
        422,
        "at",
    )


def test_rollback_publishes_the_earlier_generation_again(  # type: ignore[no-untyped-def]
    planner, reviewer, admin, client, demo_generation, restore_demo
) -> None:
    gid = _draft(planner, "to be rolled back")["id"]
    planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"})
    reviewer.post(f"/api/v1/generations/{gid}/approve", json={"reason": "a"})
    assert planner.post(
        f"/api/v1/generations/{gid}/publish", json={"reason": "p", "commit": True}
    ).is_success
    # a planner may not roll back alone; an admin may, dry run first
    _problem(
        planner.post(f"/api/v1/generations/{demo_generation}/publish", json={"reason": "back"}),
        403,
        "Authorization",
    )
    dry = admin.post(f"/api/v1/generations/{demo_generation}/publish", json={"reason": "back"})
    assert dry.status_code == 200, dry.text
    assert dry.json()["rollback"] is True and dry.json()["replaces"]["id"] == gid
    assert dry.json()["generation"] == dry.json()["rollback_of"] == demo_generation
    # a dry run has no keys without meaning (no "published": null, no "id"/"status": null)
    assert not {"published", "reanchor", "id", "status"} & dry.json().keys()
    assert _active_id(client) == gid
    done = admin.post(
        f"/api/v1/generations/{demo_generation}/publish", json={"reason": "back", "commit": True}
    )
    assert done.status_code == 200, done.text
    copy_id = done.json()["published"]
    assert copy_id not in (gid, demo_generation) and _active_id(client) == copy_id
    # the answer names the generation now in force, the one it copies and the one it retires
    assert done.json()["generation"] == copy_id and done.json()["rollback_of"] == demo_generation
    assert done.json()["replaces"]["id"] == gid and f"generation {copy_id} " in done.json()[
        "message"]  # fmt: skip
    assert "reanchor" in done.json() and not {"id", "status"} & done.json().keys()
    copy = client.get(f"/api/v1/generations/{copy_id}").json()
    assert copy["created_from"] == demo_generation
    steps = client.get(f"/api/v1/generations/{copy_id}/review").json()["steps"]
    assert [s["action"] for s in steps] == ["create", "rollback", "publish"]
    # the already active one cannot be published again
    _problem(
        admin.post(f"/api/v1/generations/{copy_id}/publish", json={"reason": "x"}), 409, "status"
    )


def test_history_of_a_grid(
    planner, reviewer, client, demo_generation, demo_grids, restore_demo
) -> None:  # type: ignore[no-untyped-def]
    code = demo_grids[demo_grids.level == 3].code.iloc[7]
    gid = _draft(planner, "history")["id"]
    planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"})
    reviewer.post(f"/api/v1/generations/{gid}/approve", json={"reason": "a"})
    planner.post(f"/api/v1/generations/{gid}/publish", json={"reason": "p", "commit": True})
    body = client.get(f"/api/v1/grids/{code}/history").json()
    assert body["code"] == code
    ids = [h["generation"]["id"] for h in body["history"]]
    assert ids.index(demo_generation) < ids.index(gid)
    demo_row = body["history"][ids.index(demo_generation)]
    new_row = body["history"][ids.index(gid)]
    assert demo_row["valid_to"] == new_row["valid_from"] and new_row["valid_to"] is None
    assert demo_row["geometry"]["type"] == "MultiPolygon"
    assert new_row["area_m2"] == demo_row["area_m2"]
    assert "lineage" in body
    drafts = client.get(f"/api/v1/grids/{code}/history", params={"drafts": "true"}).json()
    assert len(drafts["history"]) >= len(body["history"])
    _problem(client.get("/api/v1/grids/320281999999999/history"), 404, "code")
    _problem(client.get("/api/v1/grids/12345/history"), 422, "code")


def test_concurrent_edits_get_409_with_the_current_version(planner, reviewer) -> None:  # type: ignore[no-untyped-def]
    gen = _draft(planner, "shared")
    gid = gen["id"]
    read = planner.get(f"/api/v1/generations/{gid}")
    etag = read.headers["etag"]
    assert etag == '"1"'
    first = reviewer.patch(
        f"/api/v1/generations/{gid}", json={"note": "mine"}, headers={"If-Match": etag}
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    late = planner.patch(
        f"/api/v1/generations/{gid}", json={"name": "theirs"}, headers={"If-Match": etag}
    )
    body = _problem(late, 409, "version")
    assert body["current_version"] == 2
    stale = planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s", "version": 1})
    assert _problem(stale, 409, "version")["current_version"] == 2
    again = planner.patch(f"/api/v1/generations/{gid}", json={"name": "theirs", "version": 2})
    assert again.status_code == 200 and again.json()["name"] == "theirs"
    _problem(
        planner.patch(f"/api/v1/generations/{gid}", json={"name": "x"}, headers={"If-Match": "v?"}),
        422,
        "If-Match",
    )
    # a submitted generation is no longer editable
    assert planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).is_success
    _problem(planner.patch(f"/api/v1/generations/{gid}", json={"note": "late"}), 409, "status")
    # sent back with a reason, it is a draft again
    r = reviewer.post(f"/api/v1/generations/{gid}/reject", json={"reason": "wrong river"})
    assert r.status_code == 200 and r.json()["status"] == "draft"


def test_publish_works_without_the_impact_module_and_is_all_or_nothing(  # type: ignore[no-untyped-def]
    db_session, demo_generation, monkeypatch
) -> None:
    """In a rolled-back session: without layers.planning.impact the dry run says so and the
    publication still works; a failing re-anchoring leaves the demo city in force."""
    import sys

    from layers.grids import active_generation
    from layers.planning import review
    from layers.planning.drafts import Actor, copy_generation

    admin = Actor(name="test admin", role="admin")
    draft = copy_generation(
        session=db_session, source_id=demo_generation, name="no impact", note=None, actor=admin
    )
    monkeypatch.setitem(sys.modules, "layers.planning.impact", None)  # import fails
    dry = review.publish(
        session=db_session, generation_id=draft.id, actor=admin, reason="r", metric_srid=4549,
        emergency=True,
    )  # fmt: skip
    assert dry["impact"] == "impact: not available" and dry["dry_run"] is True
    assert active_generation(session=db_session).id == demo_generation
    monkeypatch.undo()

    import layers.planning.impact as impact

    def broken(**_: object) -> None:
        raise RuntimeError("re-anchoring failed")

    monkeypatch.setattr(impact, "reanchor", broken)
    savepoint = db_session.begin_nested()
    with pytest.raises(RuntimeError):
        review.publish(
            session=db_session, generation_id=draft.id, actor=admin, reason="r",
            metric_srid=4549, commit=True, emergency=True,
        )  # fmt: skip
    savepoint.rollback()
    db_session.expire_all()
    assert active_generation(session=db_session).id == demo_generation
    monkeypatch.setitem(sys.modules, "layers.planning.impact", None)
    done = review.publish(
        session=db_session, generation_id=draft.id, actor=admin, reason="r", metric_srid=4549,
        commit=True, emergency=True,
    )  # fmt: skip
    assert done["reanchor"] == "re-anchoring: not available"
    assert active_generation(session=db_session).id == draft.id


def test_one_planner_with_two_tokens_may_not_approve_their_own_submission(
    live_server: str, engine: Engine, planner: httpx.Client, demo_generation: int
) -> None:
    """The four-eyes rule compares accounts: a second token of the same user is the same
    person."""
    from tests.api.accounts_support import make_token, make_user

    user = make_user(engine, "planner")
    first, second = make_token(engine, user["id"]), make_token(engine, user["id"])
    with (
        token_client(live_server, first["token"]) as a,
        token_client(live_server, second["token"]) as b,
    ):
        gid = _draft(a, "four eyes")["id"]
        r = a.post(f"/api/v1/generations/{gid}/submit", json={"reason": "two tokens"})
        assert r.status_code == 200, r.text
        _problem(b.post(f"/api/v1/generations/{gid}/approve", json={"reason": "me again"}),
                 403, "Authorization")  # fmt: skip
        ok = planner.post(f"/api/v1/generations/{gid}/approve", json={"reason": "another one"})
        assert ok.status_code == 200, ok.text
