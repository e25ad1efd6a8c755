"""/plan's message bar (F10.5): styled once, by gridgis-nav.css (no copy in gridgis-plan.css or
gridgis-map.css): it lies under the navigation bar and pushes the page down instead of floating
over the draft list; closing it gives the room back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.test_plan_page import open_plan

pytestmark = pytest.mark.browser

BOX = """(sel) => { const e = document.querySelector(sel); if (!e) return null;
  const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; }"""
STATIC = Path(__file__).resolve().parents[2] / "maps" / "static"


def test_the_notice_rule_lives_in_one_place() -> None:
    for name in ("gridgis-plan.css", "gridgis-map.css"):
        assert ".gridgis-notice {" not in (STATIC / name).read_text(encoding="utf-8"), name
    assert ".gridgis-notice {" in (STATIC / "gridgis-nav.css").read_text(encoding="utf-8")


def test_the_message_bar_pushes_plan_down(browser, live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_plan(browser, live_server, tokens["planner"], "/plan")
    try:
        page.set_viewport_size({"width": 1600, "height": 900})
        wait_until(page, "document.querySelector('#draft-select') !== null")
        page.evaluate("GridGIS.notice('登录已过期，请重新登录。', {login: true})")
        wait_until(page, "document.documentElement.classList.contains('gridgis-has-notice')")
        bar = page.evaluate(BOX, "#gridgis-notice")
        nav = page.evaluate(BOX, ".gridgis-nav")
        side = page.evaluate(BOX, ".plan")
        assert bar is not None and side is not None and bar["bottom"] > bar["top"]
        if nav is not None:
            assert bar["top"] >= nav["bottom"] - 0.5, (bar, nav)
        assert side["top"] >= bar["bottom"] - 0.5, (side, bar)  # pushed down, not covered
        assert page.evaluate("getComputedStyle(document.querySelector('#gridgis-notice'))"
                             ".position") != "fixed"  # fmt: skip
        page.click(".gridgis-notice-close")
        wait_until(page, "!document.documentElement.classList.contains('gridgis-has-notice')")
    finally:
        page.context.close()


def test_a_draft_outside_the_callers_scope_is_read_only_on_the_page(  # type: ignore[no-untyped-def]
    browser, live_server, engine, tokens, demo_generation
) -> None:
    """A town's planner opening the city's draft: its maker is named, the page says it is read
    only and the actions it may not take (edit, submit, approve, commit) are greyed out — as
    the API's ``may_change`` says (layers/planning/scope.py), not re-coded in JS."""
    from sqlalchemy import text

    from tests.api.accounts_support import make_token, make_user
    from tests.e2e.test_plan_page import _api

    with engine.connect() as conn:
        town = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 1 ORDER BY code "
                 "LIMIT 1"), {"g": demo_generation},
        ).scalar_one()  # fmt: skip
    user = make_user(engine, "planner", scope=f"town:{town}")
    token = make_token(engine, user["id"])["token"]
    with _api(live_server, tokens["planner"]) as city:
        made = city.post("/api/v1/generations", json={"from": "active", "name": "全市的草案"})
        assert made.status_code == 201, made.text
        gid = made.json()["generation"]["id"]
    page = None
    try:
        page, _ = open_plan(browser, live_server, token, f"/plan?draft={gid}")
        wait_until(page, f"document.querySelector('#draft-info').textContent.includes('#{gid}')",
                   timeout=60_000)  # fmt: skip
        info = page.text_content("#draft-info")
        assert "只能查看" in info, info
        for button in (
            "#review-submit",
            "#review-approve",
            "#publish-commit",
            "#edit-split",
            "#rebase-run",
        ):
            assert page.is_disabled(button), button
        option = page.text_content(f"#draft-select option[value='{gid}']")
        assert "只能查看" in option, option
    finally:
        if page is not None:
            page.context.close()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM generation WHERE id = :g"), {"g": gid})
