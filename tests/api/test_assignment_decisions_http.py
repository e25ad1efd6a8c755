"""Assignments to decide over HTTP and the command line: listing, and every bad request a
clear problem (the decisions themselves: tests/layers/test_assignment_decisions.py)."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from api.cli import app

PROBLEM = "application/problem+json"


def _active(client: httpx.Client) -> int:
    rows = client.get("/api/v1/generations").json()["data"]
    return next(g["id"] for g in rows if g["status"] == "active")


def test_list_and_bad_decisions(client: httpx.Client, tokens: dict[str, str]) -> None:
    gen = _active(client)
    r = client.get(f"/api/v1/generations/{gen}/assignments-to-decide")
    assert r.status_code == 200, r.text
    assert r.json()["generation"] == gen and r.json()["count"] == len(r.json()["data"])
    assert client.get("/api/v1/generations/999999/assignments-to-decide").status_code == 404

    url = f"/api/v1/generations/{gen}/assignments-to-decide/999999"
    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    cases = [
        ({"decision": "end", "reason": "r"}, 409, "assignment"),
        ({"decision": "keep", "reason": "r"}, 422, "decision"),
        ({"decision": "end"}, 422, "reason"),
        ({"decision": "end", "reason": "r", "why": 1}, 422, "why"),
        ({"decision": 3, "reason": "r"}, 422, "decision"),
        ([1], 422, "body"),
    ]
    for body, status, field in cases:
        r = client.post(url, json=body, headers=headers)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["field"] == field, (body, r.json())
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert (
        client.post(url, json={"decision": "end", "reason": "r"}, headers=viewer).status_code == 403
    )


def test_cli_lists_and_refuses(database_url: str, client: httpx.Client) -> None:
    gen = _active(client)
    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}
    out = runner.invoke(app, ["grids", "decide", str(gen)], env=env)
    assert out.exit_code == 0, out.output
    assert "to decide" in out.output
    out = runner.invoke(app, ["grids", "decide", str(gen), "999999", "--reason", "r"], env=env)
    assert out.exit_code == 2 and "--move CODE or --end" in out.output
    out = runner.invoke(
        app, ["grids", "decide", str(gen), "999999", "--end", "--reason", "r"], env=env
    )
    assert out.exit_code == 1 and "not one to decide" in out.output
