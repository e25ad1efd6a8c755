"""/plan with a draft behind the active generation, in headless Chromium: the Rebase button
(with the number of grids the newer publication changed) rebases a clean draft and opens the
new one; a draft whose edit the newer publication touched lists the conflict, zoomable; and
publishing an approved draft that would undo newer work lists the grids and publishes only
after the explicit "publish anyway, undo newer work" (``revert_newer``). zh and en."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.api.accounts_support import make_token, make_user
from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_plan_page import open_plan

pytestmark = pytest.mark.browser


def _api(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=300
    )


def _renamed(api: httpx.Client, name: str, code: str, new_name: str) -> int:
    made = api.post("/api/v1/generations", json={"from": "active", "name": name})
    assert made.status_code == 201, made.text
    gid = int(made.json()["generation"]["id"])
    r = api.post(
        f"/api/v1/generations/{gid}/edits",
        json={"op": "rename", "code": code, "name": new_name, "reason": "r", "version": 1},
    )
    assert r.status_code == 200, r.text
    return gid


def _active_name(engine: Engine, code: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(
            text("SELECT g.name FROM grid g JOIN generation n ON n.id = g.generation_id "
                 "WHERE n.status = 'active' AND g.code = :c"), {"c": code},
        ).scalar_one())  # fmt: skip


def _open(page: Any, draft: int) -> None:
    page.select_option("#draft-select", str(draft))
    page.click("#draft-open")
    wait_until(page, f"(window.gridgisPlan.state.draft || {{}}).id === {draft}", 90_000)


def test_plan_page_rebase_and_publish_anyway(  # type: ignore[no-untyped-def]
    browser, live_server, engine, tokens, demo_generation, artifacts, restore_demo
) -> None:
    author, reviewer = (
        make_token(engine, make_user(engine, "planner", prefix="rebase")["id"])["token"]
        for _ in range(2)
    )
    with engine.connect() as conn:
        x, y, z = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
                 "ORDER BY code DESC LIMIT 3"), {"g": demo_generation},
        ).scalars().all()  # fmt: skip
    with _api(live_server, author) as api, _api(live_server, reviewer) as second, _api(
        live_server, tokens["admin"]
    ) as admin:  # fmt: skip
        clean = _renamed(api, "page rebase clean", y, "页面 Y")
        clash = _renamed(api, "page rebase clash", x, "页面 X")
        late = _renamed(api, "page publish late", z, "页面 Z")
        newer = _renamed(api, "page newer", x, "较新 X")
        assert api.post(f"/api/v1/generations/{late}/submit", json={"reason": "s"}).is_success
        assert second.post(f"/api/v1/generations/{late}/approve", json={"reason": "a"}).is_success
        done = admin.post(
            f"/api/v1/generations/{newer}/publish",
            json={"reason": "newer", "commit": True, "emergency": True},
        )
        assert done.status_code == 200, done.text
        behind = api.get(f"/api/v1/generations/{clean}/newer").json()
        assert behind["behind"] is True and behind["newer_publications"]["changed_since"] >= 1
        assert api.get(f"/api/v1/generations/{newer}/newer").json() == {
            "behind": False, "newer_publications": None,
        }  # fmt: skip

        page, seen = open_plan(browser, live_server, author, f"/plan?draft={clean}")
        try:
            # the offer, with the count of newer changes; the rebase opens the new draft
            wait_until(page, "!document.getElementById('rebase-box').hidden", 90_000)
            note = page.inner_text("#rebase-note")
            assert f"#{demo_generation}" in note and f"#{newer}" in note and "修改 1 个网格" in note
            page.click("#rebase-run")
            wait_until(page, "window.gridgisPlan.rebased !== undefined", 120_000)
            rebased = page.evaluate("window.gridgisPlan.rebased")
            new_id = rebased["generation"]["id"]
            assert rebased["base"] == newer and rebased["edits"] == 1
            wait_until(page, f"window.gridgisPlan.state.draft.id === {new_id}", 90_000)
            wait_until(page, "document.getElementById('rebase-answer').innerText.length > 0")
            assert f"已变基为新草案 #{new_id}" in page.inner_text("#rebase-answer")
            wait_until(page, "document.getElementById('rebase-box').hidden")  # on the active one

            # a draft whose rename the newer publication touched: the conflict, zoomable
            _open(page, clash)
            wait_until(page, "!document.getElementById('rebase-box').hidden", 90_000)
            page.click("#rebase-run")
            wait_until(page, "document.querySelector('#rebase-conflicts li') !== null", 120_000)
            item = page.locator("#rebase-conflicts li").first
            assert x in item.inner_text() and "rename" in item.inner_text()
            item.click()
            wait_until(page, "window.gridgisPlan.zoomedTo !== undefined", 60_000)
            page.screenshot(path=str(artifacts / "plan_page_rebase_conflict.png"))

            # publishing an approved draft over newer work: the grids, then the explicit choice
            _open(page, late)
            page.fill("#review-reason", "上线")
            page.click("#publish-dry")
            wait_until(page, "window.gridgisPlan.state.dryRun === true", 120_000)
            page.click("#publish-commit")
            wait_until(page, "!document.getElementById('revert-confirm').hidden", 120_000)
            assert x in page.inner_text("#revert-grids")
            assert "撤销" in page.inner_text("#review-answer")
            assert _active_name(engine, x) == "较新 X"  # nothing published yet
            assert page.inner_text("#revert-anyway") == "仍然发布，撤销较新的修改"
            page.screenshot(path=str(artifacts / "plan_page_revert_newer.png"))
            page.click("#revert-anyway")
            wait_until(page, "window.gridgisPlan.state.draft.status === 'active'", 120_000)
            assert _active_name(engine, z) == "页面 Z" and _active_name(engine, x) != "较新 X"
            steps = api.get(f"/api/v1/generations/{late}/review").json()["steps"]
            assert steps[-1]["details"]["revert_newer"]["reverted"]["codes"] == [x]
            # the refusals (409) are the failed responses; nothing else failed
            assert [f for f in seen["failed"] if "/rebase" not in f and "/publish" not in f] == []
            seen["failed"] = []
            seen["errors"] = [e for e in seen["errors"] if "409" not in e]
            assert_offline_and_clean(seen)
        finally:
            page.context.close()

        # English: the offer's words
        page, seen = open_plan(browser, live_server, author, f"/plan?lang=en&draft={clash}")
        try:
            wait_until(page, "!document.getElementById('rebase-box').hidden", 90_000)
            assert page.inner_text("#rebase-run") == "Rebase onto the active generation"
            assert "is no longer in force" in page.inner_text("#rebase-note")
            assert page.text_content("#revert-anyway") == "Publish anyway, undo newer work"
        finally:
            page.context.close()


def test_plan_page_rebases_an_imported_draft_settling_conflicts(  # type: ignore[no-untyped-def]
    browser, live_server, engine, tokens, demo_generation, artifacts, restore_demo
) -> None:
    """An imported draft (no edit log) and a newer publication both renamed one grid: the page
    lists the conflict (what each side did) and settles it with "take the active version of
    all", then opens the rebased draft."""
    from layers.db import make_sessionmaker, transaction
    from tests.layers.test_impact import copy_draft

    author = make_token(engine, make_user(engine, "planner", prefix="rebimp")["id"])["token"]
    with engine.connect() as conn:
        z = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
                 "ORDER BY code DESC OFFSET 5 LIMIT 1"), {"g": demo_generation},
        ).scalar_one()  # fmt: skip
    with transaction(make_sessionmaker(engine)) as session:
        imported = copy_draft(session, demo_generation)  # stored as an import is: no base
    with _api(live_server, author) as api, _api(live_server, tokens["admin"]) as admin:
        r = api.post(
            f"/api/v1/generations/{imported}/edits",
            json={"op": "rename", "code": z, "name": "导入 Z", "reason": "r", "version": 1},
        )
        assert r.status_code == 200, r.text
        newer = _renamed(api, "page newer import", z, "现行 Z")
        done = admin.post(
            f"/api/v1/generations/{newer}/publish",
            json={"reason": "newer", "commit": True, "emergency": True},
        )
        assert done.status_code == 200, done.text
        page, seen = open_plan(browser, live_server, author, f"/plan?draft={imported}")
        try:
            wait_until(page, "!document.getElementById('rebase-box').hidden", 90_000)
            assert f"#{newer}" in page.inner_text("#rebase-note")
            page.click("#rebase-run")
            wait_until(page, "document.querySelector('#rebase-conflicts li') !== null", 120_000)
            row = page.inner_text("#rebase-conflicts li")
            assert z in row and "草案修改" in row and "现行版本修改" in row
            page.locator("#rebase-conflicts li").first.click()
            wait_until(page, "window.gridgisPlan.zoomedTo !== undefined", 60_000)
            page.click("#rebase-prefer-active")
            wait_until(page, "window.gridgisPlan.rebased !== undefined", 120_000)
            rebased = page.evaluate("window.gridgisPlan.rebased")
            assert rebased["mode"] == "three-way" and rebased["conflicts"][0]["chosen"] == "active"
            new_id = rebased["generation"]["id"]
            wait_until(page, f"window.gridgisPlan.state.draft.id === {new_id}", 90_000)
            wait_until(page, "document.getElementById('rebase-answer').innerText.length > 0")
            assert f"冲突 {z}：采用现行版本" in page.inner_text("#rebase-answer")
            page.screenshot(path=str(artifacts / "plan_page_rebase_import.png"))
            name = api.get(f"/api/v1/grids/{z}", params={"generation": new_id}).json()
            assert name["properties"]["name"] == "现行 Z"
            assert [f for f in seen["failed"] if "/rebase" not in f] == []
            seen["failed"] = []
            seen["errors"] = [e for e in seen["errors"] if "409" not in e]
            assert_offline_and_clean(seen)
        finally:
            page.context.close()
