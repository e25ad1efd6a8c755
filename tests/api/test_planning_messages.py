"""Planners' answers without noise: no meaningless nulls, no "None m²", no Python dict syntax
in messages, and `gridgis grids publish` printing a summary (full JSON with --json)."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from api.cli import app
from api.routes.drafts import _areas
from layers.planning.drafts import kinds_text, problem_dict


def test_text_helpers() -> None:
    assert kinds_text({"gap": 2, "overlap": 1}) == "gap 2, overlap 1"
    assert _areas(None, 20.1) == "→ 20.1 m²"
    assert _areas(12.5, None) == "12.5 m² →"
    assert _areas(12.5, 20.1) == "12.5 m² → 20.1 m²"
    assert problem_dict({"kind": "gap", "area_m2": None, "width_m": 0.5}) == {
        "kind": "gap",
        "width_m": 0.5,
    }


def test_answers_leave_out_nulls(live_server, tokens, database_url) -> None:  # type: ignore[no-untyped-def]
    import httpx

    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=120) as c:
        r = c.post("/api/v1/generations", json={"from": "active", "name": "quiet answers"})
        assert r.status_code == 201, r.text
        assert "file" not in r.json() and r.json()["counts"]
        gid = r.json()["generation"]["id"]
        steps = c.get(f"/api/v1/generations/{gid}/review").json()["steps"]
        assert steps and all(v is not None for s in steps for v in s.values()), steps
        code = c.get("/api/v1/grids", params={"level": 3, "limit": 1}).json()
        first = (code.get("data") or code.get("features"))[0]
        code = first.get("code") or first.get("id") or first["properties"]["code"]
        history = c.get(f"/api/v1/grids/{code}/history").json()["history"]
        assert history and all("scheduled_for" not in h for h in history)

    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "200"}
    out = runner.invoke(app, ["grids", "publish", str(gid)], env=env)
    assert out.exit_code == 0, out.output
    assert "households whose grid changes" in out.output and "dry run" in out.output
    assert max(len(line) for line in out.output.splitlines()) <= 200
    out = runner.invoke(app, ["grids", "publish", str(gid), "--json"], env=env)
    assert out.exit_code == 0, out.output
    answer = orjson.loads(out.output)
    assert answer["dry_run"] is True and answer["generation"] == gid


def test_review_refusals_in_the_language_asked(live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    import httpx

    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=120) as c:
        r = c.post("/api/v1/generations", json={"from": "active", "name": "zh refusals"})
        assert r.status_code == 201, r.text
        gid = r.json()["generation"]["id"]
        r = c.post(f"/api/v1/generations/{gid}/submit", json={"reason": " "},
                   headers={"Accept-Language": "zh"})  # fmt: skip
        assert r.status_code == 422 and "请填写理由" in r.json()["detail"], r.text
        assert c.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).is_success
        url = f"/api/v1/generations/{gid}/approve"
        r = c.post(url, json={"reason": "ok"}, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert r.status_code == 403 and "双人审核" in r.json()["detail"], r.text
        r = c.post(url + "?lang=zh", json={"reason": "ok"})
        assert r.status_code == 403 and "双人审核" in r.json()["detail"], r.text
        r = c.post(url, json={"reason": "ok"}, headers={"Accept-Language": "en"})
        assert r.status_code == 403 and "four eyes" in r.json()["detail"], r.text
        r = c.post(url, json={"reason": "ok"})  # no language named: English, as before
        assert r.status_code == 403 and "four eyes" in r.json()["detail"], r.text
