"""Issue 13's user trial of the officer app (/m/, headless Chromium, 390×844, offline): handled
needs a note and, for a subclass whose closing rule asks for one, a photo (refused on the phone
before queuing; a queued one the server refuses is set aside with the reason); switching
language offline shows the cached tasks and grid in the other language, with no uncaught error;
the expired banner counts waiting items only when there are some; the report form starts
afresh after a report; the outbox's 放弃 never wraps; My grid draws my position above the event
dots and counts a case rerouted to me from outside my grid apart.
Screenshots in test-artifacts/mobile_trial_*.png."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.api.accounts_support import PASSWORD
from tests.e2e.conftest import wait_until
from tests.e2e.test_mobile_app import (  # fixtures and helpers (no test is imported)
    OFFLINE_READY,
    dispatched_case,
    dispatcher,
    jpeg,
    log_in,
    officer,
    outbox_count,
    outbox_sent,
    phone,
    photos_of,
    report,
    steps,
    tab,
)
from tests.people_fixtures import *  # noqa: F403  (session fixtures of issue 3)

pytestmark = pytest.mark.browser
__all__ = ["dispatcher", "officer"]  # fixtures used by name
READY = "window.GridGISMobile && window.GridGISMobile.ready === true"


def _admin(live_server: str, tokens: dict[str, str]) -> httpx.Client:
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    return httpx.Client(base_url=live_server, headers=headers, timeout=60)


def _in_handling(live_server: str, tokens: dict[str, str], officer: dict[str, Any],
                 dispatcher: httpx.Client, subclass: str) -> int:  # fmt: skip
    """A case of ``subclass`` in my grid, dispatched and started (in handling)."""
    case = dispatched_case(dispatcher, officer["lon"], officer["lat"], subclass)
    with _admin(live_server, tokens) as admin:
        r = admin.post(f"/api/v1/events/{case}/actions", json={"action": "start"})
        assert r.status_code == 200, r.text
    return case


def _open_handle_form(page: Any, case: int) -> None:
    tab(page, "tasks")
    wait_until(page, f"document.querySelector('li[data-id=\"{case}\"]')")
    page.click(f"li[data-id='{case}']")
    wait_until(page, "document.querySelector(\"button.ggm-action[data-action='handle']\")")
    page.click("button.ggm-action[data-action='handle']")


def _form_error(page: Any) -> str:
    wait_until(page, "!document.querySelector('.ggm-action-form .ggm-error').hidden")
    return str(page.inner_text(".ggm-action-form .ggm-error"))


def test_handled_needs_a_note_and_the_photo_on_the_phone(
    browser: Any, live_server: str, engine: Engine, officer: dict[str, Any],
    dispatcher: httpx.Client, tokens: dict[str, str], artifacts: Any,
) -> None:  # fmt: skip
    photo_case = _in_handling(live_server, tokens, officer, dispatcher, "0101")
    note_case = _in_handling(live_server, tokens, officer, dispatcher, "0401")
    context, page, seen = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        _open_handle_form(page, photo_case)
        assert "必填" in page.inner_text(".ggm-action-form")  # the photo is asked for
        page.click(".ggm-action-form button[type=submit]")
        assert "处置说明" in _form_error(page)
        page.fill(".ggm-action-form textarea", "垃圾已清运")
        page.click(".ggm-action-form button[type=submit]")
        assert "处置后照片" in _form_error(page)
        page.screenshot(path=str(artifacts / "mobile_trial_handled_refused.png"))
        assert outbox_count(page) == 0  # refused before queuing
        page.set_input_files(
            ".ggm-action-photos",
            files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg(800, 600)}],
        )
        wait_until(page, "document.querySelectorAll('.ggm-action-form .ggm-thumb').length === 1")
        page.click(".ggm-action-form button[type=submit]")
        outbox_sent(page)
        (handled,) = steps(engine, photo_case, "handle")
        assert handled["note"] == "垃圾已清运" and len(handled["attachments"]) == 1
        assert len(photos_of(engine, photo_case)) == 1

        # a subclass without a photo rule: the note is enough; without it, refused
        _open_handle_form(page, note_case)
        assert "必填" not in page.inner_text(".ggm-action-form")
        page.click(".ggm-action-form button[type=submit]")
        assert "处置说明" in _form_error(page)
        page.fill(".ggm-action-form textarea", "摊贩已劝离")
        page.click(".ggm-action-form button[type=submit]")
        outbox_sent(page)
        (handled,) = steps(engine, note_case, "handle")
        assert handled["note"] == "摊贩已劝离" and handled["attachments"] == []
        assert seen["errors"] == []
    finally:
        context.close()


def test_a_queued_handled_the_server_refuses_is_set_aside_with_the_reason(
    browser: Any, live_server: str, engine: Engine, officer: dict[str, Any],
    dispatcher: httpx.Client, tokens: dict[str, str], artifacts: Any,
) -> None:  # fmt: skip
    """A handled queued by an older app version (no note, no photo) is refused by the server
    when sent: set aside, the reason in the app's words, nothing logged."""
    case = _in_handling(live_server, tokens, officer, dispatcher, "0101")
    context, page, _ = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        page.evaluate(
            "id => GridGISMobile.outbox.add('action', '/api/v1/events/' + id + '/actions',"
            " {action: 'handle', acted_at: new Date().toISOString()}, [],"
            " {event: id, action: 'handle'}).then(() => GridGISMobile.outbox.flush())",
            case,
        )
        tab(page, "outbox")
        wait_until(page, "document.querySelector('#outbox-list li.ggm-failed')", 30_000)
        shown = page.inner_text("#outbox-list li.ggm-failed")
        assert "处置说明" in shown, shown
        assert page.is_visible("#outbox-list li.ggm-failed button.ggm-discard")
        page.screenshot(path=str(artifacts / "mobile_trial_handled_set_aside.png"))
        assert steps(engine, case, "handle") == []
    finally:
        context.close()


def test_switching_language_offline_keeps_tasks_and_grid(
    browser: Any, live_server: str, officer: dict[str, Any], dispatcher: httpx.Client,
    artifacts: Any,
) -> None:  # fmt: skip
    """The trial: offline, 中文 → English left the app empty ("加载中…", My grid "—", an
    uncaught "无法连接服务器"). The cached tasks and grid serve both languages; the names come
    from the dictionary (kept in both)."""
    case = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0401")
    context, page, seen = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        wait_until(page, OFFLINE_READY, 60_000)
        wait_until(page, f"document.querySelector('li[data-id=\"{case}\"]')")
        tab(page, "grid")  # read once online, as the officer would have
        wait_until(page, "document.querySelector('#stat-households').textContent !== '—'")
        households = page.inner_text("#stat-households")
        context.set_offline(True)
        wait_until(page, "document.querySelector('#net.ggm-offline')")
        for lang, name, loading in (
            ("en", "Street vending", "Loading"),
            ("zh", "占道经营", "加载中"),
        ):
            page.click(".ggm-bar a[href*='lang=']")  # the language switch in the header
            page.wait_for_url(f"**/m/?lang={lang}")
            wait_until(page, READY, 60_000)
            assert page.evaluate("GridGISMobile.config.lang") == lang  # the page of that language
            wait_until(page, "document.querySelector('#net.ggm-offline')")
            wait_until(page, f"document.querySelector('li.ggm-task[data-id=\"{case}\"]')")
            wait_until(page, f"document.querySelector('li[data-id=\"{case}\"]').textContent"
                       f".includes({name!r})")  # fmt: skip
            assert loading not in page.inner_text("#task-list")
            page.screenshot(path=str(artifacts / f"mobile_trial_offline_{lang}.png"))
            tab(page, "grid")
            wait_until(page, "document.querySelector('#stat-households').textContent !== '—'")
            assert page.inner_text("#stat-households") == households
            page.screenshot(path=str(artifacts / f"mobile_trial_offline_grid_{lang}.png"))
            tab(page, "tasks")
        assert seen["errors"] == [], seen["errors"]  # nothing uncaught offline
    finally:
        context.close()


def test_expired_banner_counts_only_what_waits(
    browser: Any, live_server: str, officer: dict[str, Any], artifacts: Any
) -> None:
    context, page, _ = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        page.evaluate("GridGISMobile.emit('expired')")
        wait_until(page, "!document.querySelector('#alert').hidden")
        wait_until(page, "document.querySelector('#alert-text').textContent.length > 0")
        assert page.inner_text("#alert-text") == "登录已过期，请重新登录"
        context.set_offline(True)
        wait_until(page, "document.querySelector('#net.ggm-offline')")
        report(page, "0602", f"waits for a login {uuid.uuid4()}")
        assert outbox_count(page) == 1
        page.evaluate("GridGISMobile.emit('expired')")
        wait_until(page, "document.querySelector('#alert-text').textContent.includes('1 条')")
        assert "待发送的 1 条已保存" in page.inner_text("#alert-text")
        page.screenshot(path=str(artifacts / "mobile_trial_expired_banner.png"))
        page.evaluate(
            "GridGISMobile.outbox.items().then(i => GridGISMobile.outbox.discard(i[0].seq))"
        )
    finally:
        context.close()


def test_report_form_starts_afresh_and_the_outbox_buttons_stay_whole(
    browser: Any, live_server: str, officer: dict[str, Any], artifacts: Any
) -> None:
    context, page, _ = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        context.set_offline(True)
        wait_until(page, "document.querySelector('#net.ggm-offline')")
        report(page, "0603", f"the form resets {uuid.uuid4()}")
        assert page.input_value("#subclass") == ""  # the next report chooses again
        assert page.input_value("#subclass-search") == ""
        tab(page, "outbox")
        wait_until(page, "document.querySelector('#outbox-list li button.ggm-discard')")
        lines = page.evaluate(
            """() => [...document.querySelectorAll('#outbox-list button')].map(b => {
                 const r = document.createRange();
                 r.selectNodeContents(b);
                 return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;
               })"""
        )
        assert lines and set(lines) == {1}, lines  # 放弃 on one line at 390 px
        page.screenshot(path=str(artifacts / "mobile_trial_outbox.png"))
        page.evaluate(
            "GridGISMobile.outbox.items().then(i => GridGISMobile.outbox.discard(i[0].seq))"
        )
    finally:
        context.close()


def test_my_grid_shows_me_on_top_and_rerouted_cases_apart(
    browser: Any, live_server: str, officer: dict[str, Any], dispatcher: httpx.Client,
    artifacts: Any,
) -> None:  # fmt: skip
    here = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0402")  # under my dot
    away = dispatched_case(dispatcher, officer["other_lon"], officer["other_lat"], "0403")
    r = dispatcher.post(f"/api/v1/events/{away}/routing", json={
        "changes": {"worker_person_id": officer["person_id"]}, "reason": "熟悉情况"})  # fmt: skip
    assert r.status_code == 200, r.text
    with httpx.Client(base_url=live_server, timeout=30, headers={"Origin": live_server}) as b:
        assert b.post("/login", data={"username": officer["name"], "password": PASSWORD,
                                      "next": "/m/"}).status_code == 303  # fmt: skip
        grid = b.get("/api/v1/me/grid").json()
    where = {f["properties"]["id"]: f["properties"]["in_grid"] for f in grid["events"]["features"]}
    assert where[here] is True and where[away] is False
    assert grid["open_events"] == sum(where.values())
    assert grid["open_events_rerouted"] == len(where) - sum(where.values()) >= 1
    context, page, seen = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        tab(page, "grid")
        wait_until(page, "document.querySelector('#grid-map .ggm-me-marker')", 30_000)
        wait_until(page, "document.querySelectorAll('#grid-map path.leaflet-interactive').length")
        order = page.evaluate(
            """() => {
                const me = document.querySelector('#grid-map .ggm-me-marker');
                const dot = document.querySelector('#grid-map path.leaflet-interactive');
                const z = (el) => Number(getComputedStyle(el.closest('.leaflet-pane')).zIndex);
                return {me: z(me), dot: z(dot)};
            }"""
        )
        assert order["me"] > order["dot"], order
        wait_until(page, "!document.querySelector('#stat-rerouted').hidden")
        assert int(page.inner_text("#stat-open")) == grid["open_events"]
        assert int(page.inner_text("#stat-rerouted")) == grid["open_events_rerouted"]
        assert page.locator(f"#rerouted-list li[data-id='{away}']").count() == 1
        page.screenshot(path=str(artifacts / "mobile_trial_grid_me_on_top.png"))
        assert seen["errors"] == []
    finally:
        context.close()
