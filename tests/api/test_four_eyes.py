"""Four eyes for everyone: whoever submitted a draft (an admin, the command line as a named user)
may not approve it too; another account may."""

from __future__ import annotations

import secrets

import httpx
from sqlalchemy import Engine
from typer.testing import CliRunner

from api.cli import app
from layers.accounts import create_user
from layers.db import make_sessionmaker, transaction


def _draft(live_server: str, token: str, name: str) -> int:
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as c:
        r = c.post("/api/v1/generations", json={"from": "active", "name": name})
        assert r.status_code == 201, r.text
        return int(r.json()["generation"]["id"])


def test_admin_may_not_approve_own_submission(live_server: str, tokens: dict[str, str]) -> None:
    gid = _draft(live_server, tokens["planner"], "four eyes admin")
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=120
    ) as admin:
        assert admin.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).is_success
        r = admin.post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"})
        assert r.status_code == 403, r.text
        assert r.json()["field"] == "Authorization" and "four eyes" in r.json()["detail"]
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['planner']}"}, timeout=120
    ) as other:
        assert other.post(f"/api/v1/generations/{gid}/approve", json={"reason": "ok"}).is_success


def test_cli_acts_as_a_named_user(
    live_server: str, tokens: dict[str, str], database_url: str, engine: Engine
) -> None:
    tag = secrets.token_hex(3)
    first, second, viewer = f"plan-a-{tag}", f"plan-b-{tag}", f"view-{tag}"
    with transaction(make_sessionmaker(engine)) as session:
        create_user(session=session, name=first, role="planner")
        create_user(session=session, name=second, role="planner")
        create_user(session=session, name=viewer, role="viewer")
    gid = str(_draft(live_server, tokens["planner"], "four eyes cli"))
    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}

    def run(*args: str, code: int = 0, operator: str | None = None) -> str:
        extra = {"GRIDGIS_OPERATOR": operator} if operator else {}
        r = runner.invoke(app, ["grids", *args], env={**env, **extra})
        assert r.exit_code == code, r.output
        return str(r.output)

    run("submit", gid, "--reason", "s", operator=first)
    assert "may not approve" in run("approve", gid, "--reason", "ok", "--as", first, code=1)
    assert "may not approve" in run("approve", gid, "--reason", "ok", code=1, operator=first)
    assert "does not exist" in run("approve", gid, "--reason", "ok", "--as", f"x-{tag}", code=1)
    assert "planner or admin" in run("approve", gid, "--reason", "ok", "--as", viewer, code=1)
    assert "is approved" in run("approve", gid, "--reason", "ok", "--as", second)
