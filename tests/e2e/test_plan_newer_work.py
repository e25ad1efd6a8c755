"""Issue 10 on /plan: drafts A and B both copied from the city in force; A is published; B's
publish dry run on the page warns (zh) that it would revert A's grid and names A and the base
(the commit's 409 is tested over HTTP in tests/api/test_publish_newer_work.py).
``restore_demo`` puts the demo city back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.e2e.conftest import wait_until
from tests.e2e.test_plan_page import open_plan

pytestmark = pytest.mark.browser


def _api(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=300
    )


def _draft_with_rename(api: httpx.Client, name: str, code: str, new_name: str) -> int:
    r = api.post("/api/v1/generations", json={"from": "active", "name": name})
    assert r.status_code == 201, r.text
    gid = int(r.json()["generation"]["id"])
    version = api.get(f"/api/v1/generations/{gid}").json()["version"]
    r = api.post(
        f"/api/v1/generations/{gid}/edits",
        json={"op": "rename", "code": code, "name": new_name, "reason": "r"},
        headers={"If-Match": f'"{version}"'},
    )
    assert r.status_code == 200, r.text
    return gid


def test_plan_page_warns_before_reverting_a_newer_publication(  # type: ignore[no-untyped-def]
    browser, live_server, tokens, engine: Engine, demo_generation: int, restore_demo: Any
) -> None:
    with engine.connect() as conn:
        x, y = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
                 "ORDER BY code DESC LIMIT 2"), {"g": demo_generation},
        ).scalars().all()  # fmt: skip
    with _api(live_server, tokens["planner"]) as api, _api(live_server, tokens["admin"]) as adm:
        a = _draft_with_rename(api, "page newer A", x, "页面 A")
        b = _draft_with_rename(api, "page newer B", y, "页面 B")
        r = adm.post(
            f"/api/v1/generations/{a}/publish",
            json={"reason": "先发布", "commit": True, "emergency": True},
        )
        assert r.status_code == 200, r.text
        page, _seen = open_plan(browser, live_server, tokens["planner"], f"/plan?draft={b}")
        try:
            wait_until(page, f"(window.gridgisPlan.state.draft || {{}}).id === {b}")
            page.fill("#review-reason", "预演")
            page.click("#publish-dry")
            wait_until(page, "document.getElementById('review-answer').dataset.dryRun === '1'")
            dry = page.inner_text("#review-answer")
            assert f"复制自版本 #{demo_generation}" in dry and f"#{a}" in dry, dry
            assert "撤销 1 个网格" in dry and x in dry, dry
        finally:
            page.context.close()
        assert adm.get(f"/api/v1/generations/{b}").json()["status"] == "draft"
