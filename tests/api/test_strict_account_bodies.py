"""The users, tokens and generations request bodies derive from api.deps.RequestBody: no NUL
in a string, strings bounded, booleans and counts strict ("false" is not a boolean, true is
not an id) — each a 422 problem+json naming the field, never a 500 or a silent coercion."""

from __future__ import annotations

import httpx
import pytest

PROBLEM = "application/problem+json"


@pytest.fixture
def admin(live_server: str, tokens: dict[str, str]) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=60
    )


def _refused(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["field"] == field, r.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "nul\x00user", "role": "viewer"}, "name"),
        ({"name": "strict-1", "role": "viewer", "person_id": True}, "person_id"),
        ({"name": "strict-2", "role": "viewer", "display_name": "x" * 10_001}, "display_name"),
    ],
)
def test_user_create_is_strict(admin: httpx.Client, body: dict, field: str) -> None:
    _refused(admin.post("/api/v1/users", json=body), field)


def test_user_update_and_token_create_are_strict(admin: httpx.Client) -> None:
    _refused(admin.patch("/api/v1/users/1", json={"disabled": "false"}), "disabled")
    _refused(admin.post("/api/v1/tokens", json={"user_id": True}), "user_id")
    _refused(admin.post("/api/v1/tokens", json={"user": "admin", "name": "a\x00b"}), "name")


def test_generation_bodies_are_strict(
    live_server: str, tokens: dict[str, str], demo_generation: int
) -> None:
    planner = httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['planner']}"}, timeout=60
    )
    _refused(planner.post("/api/v1/generations", json={"from": True, "name": "x"}), "from")
    _refused(planner.post("/api/v1/generations", json={"name": "bad\x00name"}), "name")
    publish = f"/api/v1/generations/{demo_generation}/publish"
    _refused(planner.post(publish, json={"commit": "false", "reason": "r"}), "commit")
    _refused(planner.post(publish, json={"reason": "r", "version": True}), "version")
