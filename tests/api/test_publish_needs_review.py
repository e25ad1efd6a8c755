"""Publishing over HTTP needs an approved draft (four eyes) for everyone, admins included; the
one exception, ``emergency``, is an admin's, takes effect now, needs a reason and is logged as
unreviewed."""

from __future__ import annotations

import httpx

from tests.planning_fixtures import *  # noqa: F403  (the admin and planner fixtures)

PROBLEM = "application/problem+json"


def _refused(r: httpx.Response, status: int, field: str) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["field"] == field, r.json()
    return str(r.json()["detail"])


def test_unreviewed_publication_is_refused_except_an_admins_emergency(
    planner: httpx.Client, admin: httpx.Client, demo_generation: int, restore_demo: None
) -> None:
    made = planner.post("/api/v1/generations", json={"from": "active", "name": "no review"})
    assert made.status_code == 201, made.text
    gid = made.json()["generation"]["id"]
    url = f"/api/v1/generations/{gid}/publish"
    commit = {"reason": "now", "commit": True}
    for who in (planner, admin):
        detail = _refused(who.post(url, json=commit), 409, "status")
        assert "approve" in detail
    # emergency: not a planner's, not scheduled, not without a reason
    detail = _refused(planner.post(url, json={**commit, "emergency": True}), 403, "Authorization")
    assert "without review" in detail
    later = {**commit, "emergency": True, "at": "2099-01-01T00:00:00+08:00"}
    _refused(admin.post(url, json=later), 422, "at")
    blank = {"commit": True, "emergency": True, "reason": " "}
    _refused(admin.post(url, json=blank), 422, "reason")
    _refused(admin.post(url, json={**commit, "emergency": "yes"}), 422, "emergency")
    # a submitted draft is still not publishable without approval
    assert planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).is_success
    _refused(admin.post(url, json=commit), 409, "status")
    assert admin.get(f"/api/v1/generations/{gid}").json()["status"] == "submitted"
    # the admin's emergency publication: done, and the log says it was not reviewed
    done = admin.post(url, json={**commit, "reason": "storm damage", "emergency": True})
    assert done.status_code == 200, done.text
    assert done.json()["published"] == gid
    steps = admin.get(f"/api/v1/generations/{gid}/review").json()["steps"]
    last = steps[-1]
    assert last["action"] == "publish" and last["reason"] == "storm damage"
    assert last["details"]["unreviewed"] is True and last["actor_role"] == "admin"
    assert "approve" not in [s["action"] for s in steps]


def test_emergency_flag_on_an_approved_draft_is_an_ordinary_publication(
    planner: httpx.Client,
    admin: httpx.Client,
    live_server: str,
    demo_generation: int,
    restore_demo: None,
) -> None:
    made = planner.post("/api/v1/generations", json={"from": "active", "name": "reviewed"})
    gid = made.json()["generation"]["id"]
    assert planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).is_success
    assert admin.post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"}).is_success
    done = admin.post(
        f"/api/v1/generations/{gid}/publish",
        json={"reason": "go", "commit": True, "emergency": True},
    )
    assert done.status_code == 200, done.text
    last = admin.get(f"/api/v1/generations/{gid}/review").json()["steps"][-1]
    assert last["action"] == "publish" and "unreviewed" not in last.get("details", {})
