"""The officer's phone app (/m/) in headless Chromium with mobile emulation (390×844, touch):
log in as a grid worker, report with a photo, see a case routed to me appear without a reload,
work offline (two reports and one action queued in IndexedDB, sent once and in order when the
network returns), keep the queue across an ended session, never see or touch another town's
cases. Opened offline right after the first login, the app has its tasks, subclasses and grid
(the service worker warms its cache); a queue left by an offline visit goes out when the network
returns (no poll needed), the action logged at the phone's time. Offline, a queued start makes
the case offer "handled" (start then handled go out in order). Names, labels, zoom buttons,
positioning errors and refusals in the page's language; a waiting item can be discarded.
First load within 500 KB.
Screenshots in test-artifacts/mobile_*.png."""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image
from sqlalchemy import Engine, func, select

from layers.db import make_sessionmaker, transaction
from tests.api.accounts_support import PASSWORD, make_user
from tests.e2e.conftest import wait_until
from tests.maps.browser_support import LOCAL_HOST
from tests.people_fixtures import *  # noqa: F403  (session fixtures of issue 3)
from tests.people_fixtures import busiest_grid_worker
from tests.server_support import app_server

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
FIRST_LOAD_MAX_BYTES = 500 * 1024
POLL_WAIT_MS = 60_000  # the app polls every 20 s
NO_POLL_JS = Path(__file__).parent / "js" / "mobile-no-poll.js"


@pytest.fixture(scope="module")
def officer(engine: Engine, people_demo: dict[str, Any], demo_grids: Any) -> dict[str, Any]:
    """A password user (role officer, scope: their grids) speaking for the grid worker of the
    unit grid with most households; a point inside that grid (lon/lat)."""
    with transaction(make_sessionmaker(engine)) as session:
        grid, person_id = busiest_grid_worker(session)
    user = make_user(engine, "officer", scope="grids", person_id=person_id, prefix="m")
    shape = demo_grids[demo_grids.code == grid].iloc[0].geometry
    p = shape.representative_point()
    other = demo_grids[(demo_grids.level == 3) & (demo_grids.code.str[:9] != grid[:9])].iloc[5]
    q = other.geometry.representative_point()
    return {**user, "grid": grid, "person_id": person_id, "lon": p.x, "lat": p.y,
            "other_grid": other.code, "other_lon": q.x, "other_lat": q.y}  # fmt: skip


@pytest.fixture
def dispatcher(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {tokens['dispatcher']}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as c:
        yield c


def dispatched_case(client: httpx.Client, lon: float, lat: float, subclass: str) -> int:
    """A case reported, accepted and dispatched by the centre; its id."""
    text = f"centre case {uuid.uuid4()}"
    body = {"lon": lon, "lat": lat, "subclass": subclass, "description": text,
            "ignore_duplicates": True}  # fmt: skip
    r = client.post("/api/v1/events", json=body)
    assert r.status_code == 201, r.text
    event_id = int(r.json()["id"])
    for action in ("accept", "dispatch"):
        step = client.post(f"/api/v1/events/{event_id}/actions", json={"action": action})
        assert step.status_code == 200, step.text
    return event_id


def phone(browser: Any, officer: dict[str, Any]) -> tuple[Any, Any, dict[str, list[Any]]]:
    """A new phone: mobile emulation, its position in the officer's grid, nothing but
    127.0.0.1 reachable; every request and console error recorded."""
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN",
        geolocation={"longitude": officer["lon"], "latitude": officer["lat"], "accuracy": 8},
        permissions=["geolocation"],
    )  # fmt: skip
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlsplit(route.request.url).hostname == LOCAL_HOST
            else route.abort()
        ),
    )
    # the phone's vibrator, recorded (headless Chromium has none)
    context.add_init_script(
        "navigator.vibrate = (p) => { (window.__vibrations = window.__vibrations || []).push(p);"
        " return true; };"
    )
    page = context.new_page()
    seen: dict[str, list[Any]] = {"requests": [], "errors": []}
    page.on("requestfinished", lambda r: seen["requests"].append(r))
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    return context, page, seen


def log_in(page: Any, live_server: str, officer: dict[str, Any], path: str = "/m") -> None:
    page.goto(f"{live_server}{path}")
    assert "/login" in page.url  # not logged in: the login page first, back to /m/ after
    page.fill("#username", officer["name"])
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/m/**")
    wait_until(page, "window.GridGISMobile && window.GridGISMobile.ready === true", 60_000)


def events_with(engine: Engine, text: str) -> list[dict[str, Any]]:
    from layers.events.models import Event

    with transaction(make_sessionmaker(engine)) as session:
        rows = session.execute(
            select(
                Event.id,
                Event.created_at,
                Event.worker_person_id,
                Event.grid_code,
                Event.location_accuracy_m,
            )
            .where(Event.description == text)
            .order_by(Event.id)
        ).all()
        return [dict(r._mapping) for r in rows]


def steps(engine: Engine, event_id: int, action: str) -> list[dict[str, Any]]:
    from layers.events.models import EventLog

    with transaction(make_sessionmaker(engine)) as session:
        rows = session.execute(
            select(
                EventLog.id,
                EventLog.at,
                EventLog.recorded_at,
                EventLog.actor_person_id,
                EventLog.note,
                EventLog.attachments,
            )
            .where(EventLog.event_id == event_id, EventLog.action == action)
            .order_by(EventLog.id)
        ).all()
        return [dict(r._mapping) for r in rows]


def photos_of(engine: Engine, event_id: int) -> list[bytes]:
    from layers.events.models import EventPhoto

    with transaction(make_sessionmaker(engine)) as session:
        return list(session.scalars(select(EventPhoto.data).where(EventPhoto.event_id == event_id)))


def jpeg(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (30, 140, 90)).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def outbox_sent(page: Any, timeout_ms: float = POLL_WAIT_MS) -> None:
    """Wait until the outbox is empty; on timeout, say what is left in it and why."""
    try:
        wait_until(page, "GridGISMobile.outbox.items().then(i => i.length === 0)", timeout_ms)
    except TimeoutError:
        left = page.evaluate(
            "GridGISMobile.outbox.items().then(items => items.map(i => "
            "({kind: i.kind, state: i.state, error: i.error, url: i.url})))"
        )
        state = page.evaluate("({...GridGISMobile.outbox.state, online: navigator.onLine})")
        raise AssertionError(f"outbox not sent: {left} {state}") from None


def tab(page: Any, name: str) -> None:
    page.click(f"#tab-{name}")


def session_refused(live_server: str, context: Any, timeout_s: float = 30) -> None:
    """Wait until the live server answers the browser's page session with a 401 (a session
    ended from outside the server's process: its identity cache drops it on NOTIFY)."""
    cookies = {c["name"]: c["value"] for c in context.cookies(live_server)}
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=live_server, cookies=cookies, timeout=30) as client:
        while (status := client.get("/api/v1/me").status_code) != 401:
            assert status == 200, status
            if time.monotonic() > deadline:
                raise AssertionError(f"the ended session is still accepted after {timeout_s} s")
            time.sleep(0.1)


def outbox_count(page: Any) -> int:
    return int(page.evaluate("GridGISMobile.outbox.items().then(items => items.length)"))


def report(page: Any, subclass: str, text: str, photo: bytes | None = None) -> None:
    """Fill and send the report form with the phone's position."""
    tab(page, "report")
    wait_until(page, f"document.querySelector('#subclass option[value=\"{subclass}\"]')")
    page.click("#use-gps")
    wait_until(page, "document.querySelector('#position-text').textContent.includes('8')")
    page.select_option("#subclass", subclass)
    page.fill("#description", text)
    if photo is not None:
        page.set_input_files(
            "#photos", files=[{"name": "camera.jpg", "mimeType": "image/jpeg", "buffer": photo}]
        )
        wait_until(page, "document.querySelectorAll('#photo-previews .ggm-thumb').length === 1")
    page.wait_for_timeout(300)  # the duplicate check's answer (online)
    if page.is_visible("#duplicates"):
        page.check("#not-duplicate")
    page.click("#report-submit")
    # Under load the duplicate check may answer after the click (other tests' cases lie in the
    # same grid): the page then refuses and asks to confirm (the box shown, unchecked, the
    # error said); confirm and send again, as the officer would.
    sent = "document.querySelector('#description').value === ''"
    asked = ("!document.querySelector('#duplicates').hidden"
             " && !document.querySelector('#not-duplicate').checked"
             " && !document.querySelector('#report-error').hidden")  # fmt: skip
    for _ in range(3):
        if wait_until(page, f"({sent}) ? 'sent' : ({asked}) ? 'asked' : null") == "sent":
            return
        page.check("#not-duplicate")
        page.click("#report-submit")
    wait_until(page, sent)


def test_officer_reports_works_offline_and_gets_new_cases(
    browser: Any, live_server: str, engine: Engine, officer: dict[str, Any],
    dispatcher: httpx.Client, artifacts: Any,
) -> None:  # fmt: skip
    context, page, seen = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        page.wait_for_load_state("networkidle")
        # first load: the page, scripts, styles, icons and the first API answers
        first = [r for r in seen["requests"] if "/login" not in r.url]
        loaded = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]
                     for r in first)  # fmt: skip
        assert 0 < loaded <= FIRST_LOAD_MAX_BYTES, loaded
        assert any(r.url.endswith("/api/v1/me/tasks?lang=zh") for r in first)
        page.screenshot(path=str(artifacts / "mobile_tasks.png"))

        # report with a photo, online: stored once, photo resized to 1600 px
        text = f"phone report {uuid.uuid4()}"
        report(page, "0502", text, photo=jpeg(4000, 3000))
        outbox_sent(page)
        rows = events_with(engine, text)
        assert len(rows) == 1 and rows[0]["grid_code"] == officer["grid"]
        assert rows[0]["worker_person_id"] == officer["person_id"]  # routed to me
        assert rows[0]["location_accuracy_m"] == 8  # the phone's fix accuracy, kept
        (data,) = photos_of(engine, rows[0]["id"])
        assert max(Image.open(io.BytesIO(data)).size) == 1600
        page.screenshot(path=str(artifacts / "mobile_report.png"))

        # a case the centre routes to me appears without a reload
        tab(page, "tasks")
        case = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0406")
        page.evaluate("window.__sameDocument = true")
        wait_until(page, f"document.querySelector('li.ggm-new[data-id=\"{case}\"]')", POLL_WAIT_MS)
        assert page.evaluate("window.__sameDocument") is True  # never reloaded
        assert page.evaluate("window.__vibrations") == [300]  # the phone buzzed, once
        page.screenshot(path=str(artifacts / "mobile_new_case.png"))
        page.click(f"li[data-id='{case}']")
        wait_until(page, "document.querySelectorAll('.ggm-timeline li').length >= 3")
        assert page.is_visible("button.ggm-action[data-action='start']")
        page.screenshot(path=str(artifacts / "mobile_case.png"))

        # offline: two reports and one action wait in the outbox
        context.set_offline(True)
        wait_until(page, "document.querySelector('#net.ggm-offline')")
        texts = [f"offline report A {uuid.uuid4()}", f"offline report B {uuid.uuid4()}"]
        report(page, "0504", texts[0])
        report(page, "0601", texts[1])
        tab(page, "tasks")
        page.click(f"li[data-id='{case}']")
        page.click("button.ggm-action[data-action='start']")
        page.fill(".ggm-action-form textarea", "到场处置")
        page.click(".ggm-action-form button[type=submit]")
        wait_until(page, "GridGISMobile.outbox.items().then(i => i.length === 3)")
        tab(page, "outbox")
        wait_until(page, "document.querySelectorAll('#outbox-list li').length === 3")
        assert page.inner_text("#queue-count") == "3"
        page.screenshot(path=str(artifacts / "mobile_outbox_offline.png"))
        page.wait_for_timeout(1000)
        assert [events_with(engine, t) for t in texts] == [[], []]
        assert steps(engine, case, "start") == []

        # back online: exactly those three, once each, in order
        context.set_offline(False)
        outbox_sent(page)
        a, b = (events_with(engine, t) for t in texts)
        assert len(a) == len(b) == 1 and a[0]["id"] < b[0]["id"]
        (start,) = steps(engine, case, "start")
        assert start["actor_person_id"] == officer["person_id"]
        assert a[0]["created_at"] < b[0]["created_at"] < start["recorded_at"]
        from layers.idempotency import IdempotencyKey

        with transaction(make_sessionmaker(engine)) as session:
            keys = session.scalar(
                select(func.count()).select_from(IdempotencyKey)
                .where(IdempotencyKey.owner == f"user:{officer['id']}")
            )  # fmt: skip
        assert keys == 4  # the online report, the two offline reports and the action
        wait_until(page, "document.querySelector('#outbox-summary').textContent.length > 0")
        page.screenshot(path=str(artifacts / "mobile_outbox_sent.png"))

        # handled, with a photo and a note (multipart action), once
        tab(page, "tasks")
        wait_until(page, f"document.querySelector('li[data-id=\"{case}\"]')")
        page.click(f"li[data-id='{case}']")
        page.click("button.ggm-action[data-action='handle']")
        page.fill(".ggm-action-form textarea", "摊点已清理")
        page.set_input_files(
            ".ggm-action-photos",
            files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg(1200, 2400)}],
        )
        wait_until(page, "document.querySelectorAll('.ggm-action-form .ggm-thumb').length === 1")
        page.click(".ggm-action-form button[type=submit]")
        outbox_sent(page)
        (handled,) = steps(engine, case, "handle")
        assert handled["note"] == "摊点已清理" and len(handled["attachments"]) == 1
        (after,) = photos_of(engine, case)
        assert Image.open(io.BytesIO(after)).size == (800, 1600)

        tab(page, "grid")
        wait_until(page, "document.querySelector('#stat-households').textContent !== '—'")
        assert int(page.inner_text("#stat-households")) > 0
        wait_until(page, "document.querySelectorAll('#grid-map path.leaflet-interactive, "
                   "#grid-map path').length > 0")  # fmt: skip
        page.screenshot(path=str(artifacts / "mobile_grid.png"))
        assert seen["errors"] == []

        # a later load comes from the service worker's cache
        wait_until(page, "navigator.serviceWorker.controller !== null", 30_000)
        served: list[Any] = []
        page.on("response", lambda r: served.append(r))
        page.reload()
        wait_until(page, "window.GridGISMobile && window.GridGISMobile.ready === true", 60_000)
        statics = [r for r in served if "/static/" in r.url]
        assert statics and all(r.from_service_worker for r in statics)

        # offline, the app still opens from the cache with my last tasks and my grid
        dispatched_case(dispatcher, officer["lon"], officer["lat"], "0402")
        tasks = page.evaluate("GridGISMobile.refreshTasks().then(t => t.length)")
        assert tasks >= 1
        context.set_offline(True)
        page.reload()
        wait_until(page, "window.GridGISMobile && window.GridGISMobile.ready === true", 60_000)
        wait_until(page, "document.querySelector('#net.ggm-offline')")
        assert page.locator("li.ggm-task").count() == tasks
        tab(page, "grid")
        wait_until(page, "document.querySelector('#stat-households').textContent !== '—'")
        tab(page, "tasks")
        page.screenshot(path=str(artifacts / "mobile_offline_reload.png"))
    finally:
        context.close()


def test_ended_session_asks_to_log_in_and_keeps_the_queue(
    browser: Any, live_server: str, engine: Engine, officer: dict[str, Any], artifacts: Any
) -> None:
    from layers import accounts

    context, page, _ = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        context.set_offline(True)
        wait_until(page, "document.querySelector('#net.ggm-offline')")
        text = f"queued across a login {uuid.uuid4()}"
        report(page, "0602", text)
        with transaction(make_sessionmaker(engine)) as session:  # the centre ends the session
            assert accounts.end_sessions(session=session, user_id=officer["id"]) >= 1
        # The server learns it by the database's NOTIFY (api.authcache), a moment after the
        # commit made here, outside it; on a loaded machine the phone's send could come first.
        session_refused(live_server, context)
        context.set_offline(False)
        wait_until(page, "!document.querySelector('#alert').hidden", POLL_WAIT_MS)
        assert page.is_visible("#alert-login")
        assert outbox_count(page) == 1 and events_with(engine, text) == []
        assert "待发送的 1 条已保存在手机上" in page.inner_text("#alert-text")  # what waits, kept
        # the outbox says so in the app's words: not the server's English, not "waiting for
        # the network"
        tab(page, "outbox")
        wait_until(page, "document.querySelector('#outbox-list').innerText.includes('登录已过期')")
        shown = page.inner_text("#outbox-list") + page.inner_text("#outbox-error")
        assert "登录已过期，请重新登录" in page.inner_text("#outbox-error")
        assert "等待网络" not in shown and not re.search(r"[A-Za-z]{3,}", shown), shown
        page.screenshot(path=str(artifacts / "mobile_session_ended.png"))
        page.click("#alert-login")
        page.wait_for_url("**/login**")
        page.fill("#username", officer["name"])
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_url("**/m/**")
        wait_until(page, "GridGISMobile.ready && GridGISMobile.outbox.items().then(i => !i.length)",
                   POLL_WAIT_MS)  # fmt: skip
        assert len(events_with(engine, text)) == 1
    finally:
        context.close()


def test_other_towns_cases_are_neither_listed_nor_open_to_action(
    browser: Any, live_server: str, officer: dict[str, Any], dispatcher: httpx.Client
) -> None:
    foreign = dispatched_case(dispatcher, officer["other_lon"], officer["other_lat"], "0603")
    mine = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0601")
    context, page, _ = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        wait_until(page, f"document.querySelector('li[data-id=\"{mine}\"]')")
        assert page.locator(f"li[data-id='{foreign}']").count() == 0
        answers = page.evaluate(
            """async (id) => {
                const tasks = await (await fetch('/api/v1/me/tasks')).json();
                const one = await fetch('/api/v1/me/tasks/' + id);
                const act = await fetch('/api/v1/events/' + id + '/actions', {method: 'POST',
                  headers: {'Content-Type': 'application/json',
                            'Idempotency-Key': crypto.randomUUID()},
                  body: JSON.stringify({action: 'start'})});
                return {listed: tasks.data.map(t => t.id), one: one.status,
                        act: act.status, field: (await act.json()).field};
            }""",
            foreign,
        )
        assert foreign not in answers["listed"] and mine in answers["listed"]
        assert answers["one"] == 403
        assert answers["act"] == 403 and answers["field"] == "action"
    finally:
        context.close()


def test_manifest_worker_and_redirects(live_server: str, officer: dict[str, Any]) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as anon:
        r = anon.get("/m?lang=en")
        assert r.status_code == 308 and r.headers["location"] == "/m/?lang=en"
        r = anon.get("/m/?lang=en")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        sw = anon.get("/m/sw.js")
        assert sw.status_code == 200 and sw.headers["content-type"].startswith("text/javascript")
        assert sw.headers["service-worker-allowed"] == "/m/"
        manifest = anon.get("/m/manifest.webmanifest?lang=en")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        body = manifest.json()
        assert body["scope"] == "/m/" and body["start_url"] == "/m/?lang=en"
        assert {i["sizes"] for i in body["icons"]} >= {"192x192", "512x512"}
        for icon in body["icons"]:
            assert anon.get(icon["src"]).status_code == 200
        shell = anon.get("/m/shell.json").json()
        for url in shell["urls"]:
            assert anon.get(url).status_code == 200, url
    with httpx.Client(base_url=live_server, timeout=30, headers={"Origin": live_server}) as b:
        r = b.post("/login", data={"username": officer["name"], "password": PASSWORD,
                                   "next": "/m/?lang=en"})  # fmt: skip
        assert r.status_code == 303
        page = b.get("/m/?lang=en")
        assert page.status_code == 200 and "<script>" not in page.text
        assert "onclick" not in page.text and "Report" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        me = b.get("/api/v1/me").json()
        assert me["person_id"] == officer["person_id"] and officer["grid"] in me["grids"]


def test_me_api_answers_and_refuses_plainly(
    live_server: str, tokens: dict[str, str], officer: dict[str, Any], dispatcher: httpx.Client
) -> None:
    case = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0405")
    with httpx.Client(base_url=live_server, timeout=30) as anon:
        r = anon.get("/api/v1/me/tasks")
        assert r.status_code == 401 and r.json()["field"] == "Authorization"
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    with httpx.Client(base_url=live_server, timeout=30, headers=admin) as c:
        me = c.get("/api/v1/me").json()
        assert me["person_id"] is None and me["grids"] == []  # no staff member: nothing routed
        none = c.get("/api/v1/me/tasks").json()
        assert none["data"] == [] and none["count"] == 0
        assert c.get("/api/v1/me/grid").json()["grids"] == []
        missing = c.get("/api/v1/me/tasks/2000000000")
        assert missing.status_code == 404 and missing.json()["field"] == "event_id"
        assert c.get("/api/v1/me/tasks/abc").status_code == 422
    with httpx.Client(base_url=live_server, timeout=30, headers={"Origin": live_server}) as b:
        r = b.post("/login", data={"username": officer["name"], "password": PASSWORD})
        assert r.status_code == 303
        tasks = b.get("/api/v1/me/tasks").json()["data"]
        ours = next(t for t in tasks if t["id"] == case)
        assert ours["work_hours_left"] > 0 and ours["overdue"] is False
        assert ours["allowed_actions"] == ["start", "return", "request_extension"]
        deadlines = [t["deadline_at"] for t in tasks if t["deadline_at"]]
        assert deadlines == sorted(deadlines)
        one = b.get(f"/api/v1/me/tasks/{case}").json()
        assert [s["action"] for s in one["timeline"]] == ["report", "accept", "dispatch"]
        grid = b.get("/api/v1/me/grid").json()
        assert [g["code"] for g in grid["grids"]] == [officer["grid"]]
        assert grid["households"] > 0 and case in {
            f["properties"]["id"] for f in grid["events"]["features"]
        }


def test_english_app(
    browser: Any, live_server: str, officer: dict[str, Any], artifacts: Any
) -> None:
    context, page, seen = phone(browser, officer)
    try:
        log_in(page, live_server, officer, "/m/?lang=en")
        assert page.url.endswith("/m/?lang=en")
        assert page.inner_text("#tab-tasks").startswith("My tasks")
        assert page.evaluate("document.documentElement.lang") == "en"
        tab(page, "report")
        assert page.inner_text("#report-submit") == "Send report"
        assert page.inner_text("label[for=photos]") == "Take or choose photos"
        wait_until(page, "document.querySelector('#subclass option[value=\"0401\"]')")
        assert "Street vending" in page.inner_text("#subclass option[value='0401']")
        tab(page, "tasks")
        page.screenshot(path=str(artifacts / "mobile_tasks_en.png"))
        assert seen["errors"] == []
    finally:
        context.close()


def test_duplicate_warning_and_a_refused_queued_report(
    browser: Any, live_server: str, engine: Engine, officer: dict[str, Any],
    dispatcher: httpx.Client, artifacts: Any,
) -> None:  # fmt: skip
    """Online: a similar open event nearby must be confirmed as different. Offline: the API
    refuses the queued duplicate (409) when the network returns; the officer sends it anyway."""
    dispatched_case(dispatcher, officer["lon"], officer["lat"], "0305")
    context, page, _ = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        tab(page, "report")
        page.click("#use-gps")
        wait_until(page, "document.querySelector('#position-text').textContent.includes('8')")
        page.select_option("#subclass", "0305")
        wait_until(page, "!document.querySelector('#duplicates').hidden")
        text = f"not the same {uuid.uuid4()}"
        page.fill("#description", text)
        page.click("#report-submit")
        assert page.is_visible("#report-error") and outbox_count(page) == 0
        page.screenshot(path=str(artifacts / "mobile_duplicate_warning.png"))
        page.check("#not-duplicate")
        page.click("#report-submit")
        outbox_sent(page)
        assert len(events_with(engine, text)) == 1

        context.set_offline(True)
        wait_until(page, "document.querySelector('#net.ggm-offline')")
        queued = f"queued duplicate {uuid.uuid4()}"
        report(page, "0305", queued)
        context.set_offline(False)
        tab(page, "outbox")
        wait_until(page, "document.querySelector('#outbox-list li.ggm-failed button')",
                   POLL_WAIT_MS)  # fmt: skip
        assert events_with(engine, queued) == []
        page.screenshot(path=str(artifacts / "mobile_outbox_refused.png"))
        # in our words: a similar open event is near (never the API's field name)
        shown = page.inner_text("#view-outbox")
        assert "附近已有相似的未结事件" in shown and "ignore_duplicates" not in shown, shown
        assert page.is_visible("#outbox-list li.ggm-failed button.ggm-discard")
        page.click("#outbox-list li.ggm-failed button >> nth=0")  # report anyway
        outbox_sent(page)
        assert len(events_with(engine, queued)) == 1
    finally:
        context.close()


OFFLINE_READY = (
    "navigator.serviceWorker.controller !== null"
    " && document.body.classList.contains('ggm-offline-ready')"
)


def test_opened_offline_right_after_the_first_login(
    browser: Any, live_server: str, officer: dict[str, Any], dispatcher: httpx.Client,
    artifacts: Any,
) -> None:  # fmt: skip
    """The first requests after the first login run before the service worker controls the
    page; the worker reads and keeps the officer's data itself, so the app opens offline with
    its tasks (and their timelines), the subclasses and the grid."""
    case = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0403")
    context, page, seen = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        wait_until(page, OFFLINE_READY, 60_000)
        context.set_offline(True)
        page.reload()
        wait_until(page, "window.GridGISMobile && window.GridGISMobile.ready === true", 60_000)
        wait_until(page, "document.querySelector('#net.ggm-offline')")
        wait_until(page, f"document.querySelector('li.ggm-task[data-id=\"{case}\"]')")
        assert "加载中" not in page.inner_text("#task-list")
        page.screenshot(path=str(artifacts / "mobile_offline_first_run.png"))
        page.click(f"li[data-id='{case}']")  # its timeline, kept too
        wait_until(page, "document.querySelectorAll('.ggm-timeline li').length >= 3")
        tab(page, "report")
        assert page.locator("#subclass option").count() > 10
        tab(page, "grid")
        wait_until(page, "document.querySelector('#stat-households').textContent !== '—'")
        wait_until(page, "document.querySelectorAll('#grid-map path').length > 0")
        page.screenshot(path=str(artifacts / "mobile_offline_first_run_grid.png"))
        assert seen["errors"] == []
    finally:
        context.close()


def test_a_queue_left_offline_goes_out_when_the_network_returns(
    browser: Any, live_server: str, engine: Engine, officer: dict[str, Any],
    dispatcher: httpx.Client, artifacts: Any,
) -> None:  # fmt: skip
    """A report and an action queued offline, the app reloaded offline, the network back: both
    go out at once (this page never polls), the action logged at the time the officer took it
    and received later."""
    case = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0404")
    context, page, _ = phone(browser, officer)
    context.add_init_script(path=str(NO_POLL_JS))
    try:
        log_in(page, live_server, officer)
        wait_until(page, OFFLINE_READY, 60_000)
        context.set_offline(True)
        wait_until(page, "document.querySelector('#net.ggm-offline')")
        text = f"sent when the network returns {uuid.uuid4()}"
        report(page, "0503", text)
        tab(page, "tasks")
        page.click(f"li[data-id='{case}']")
        page.click("button.ggm-action[data-action='start']")
        page.click(".ggm-action-form button[type=submit]")
        wait_until(page, "GridGISMobile.outbox.items().then(i => i.length === 2)")
        acted_at = page.evaluate(
            "GridGISMobile.outbox.items().then(i => i.filter(x => x.kind === 'action')"
            "[0].fields.acted_at)"
        )
        page.reload()
        wait_until(page, "window.GridGISMobile && window.GridGISMobile.ready === true", 60_000)
        assert outbox_count(page) == 2
        page.wait_for_timeout(2000)  # still out of reach a while
        assert events_with(engine, text) == [] and steps(engine, case, "start") == []
        context.set_offline(False)
        outbox_sent(page, 30_000)
        assert len(events_with(engine, text)) == 1
        (start,) = steps(engine, case, "start")
        assert start["at"] == datetime.fromisoformat(acted_at)  # the phone's time
        assert start["recorded_at"] - start["at"] >= timedelta(seconds=2)  # received later
        page.screenshot(path=str(artifacts / "mobile_sent_on_reconnect.png"))
    finally:
        context.close()


def _contrast_with_white(css_rgb: str) -> float:
    """WCAG contrast ratio of white text on the colour ``rgb(r, g, b)``."""
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css_rgb)[:3])

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return 1.05 / (lum + 0.05)


def test_buttons_speak_the_apps_language_and_differ(
    browser: Any, live_server: str, officer: dict[str, Any], dispatcher: httpx.Client,
    tokens: dict[str, str], artifacts: Any,
) -> None:  # fmt: skip
    """Our own photo button (not the browser's "Choose Files"), a distinct and readable colour
    per workflow action, and the report map with the unit grids around and my grid."""
    case = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0501")
    with httpx.Client(base_url=live_server, timeout=60,
                      headers={"Authorization": f"Bearer {tokens['admin']}"}) as admin:  # fmt: skip
        r = admin.post(f"/api/v1/events/{case}/actions", json={"action": "start"})
        assert r.status_code == 200, r.text  # in handling: return, extension and handled
    context, page, seen = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        tab(page, "report")
        assert page.inner_text("label[for=photos]") == "拍照或选择照片"
        assert page.is_visible("label[for=photos]")
        box = page.locator("#photos").bounding_box()
        assert box is not None and box["width"] <= 1 and box["height"] <= 1
        wait_until(page, "document.querySelectorAll('#report-map path').length > 0")  # my grid
        wait_until(page, OUTLINES_DRAWN)  # the unit grids around
        page.wait_for_timeout(500)  # (for the picture only)
        page.screenshot(path=str(artifacts / "mobile_report_map.png"))
        tab(page, "tasks")
        wait_until(page, f"document.querySelector('li[data-id=\"{case}\"]')")
        page.click(f"li[data-id='{case}']")
        wait_until(page, "document.querySelector(\"button.ggm-action[data-action='handle']\")")
        colours = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('button.ggm-action')].map(b =>"
            " [b.dataset.action, getComputedStyle(b).backgroundColor]))"
        )
        assert set(colours) == {"return", "request_extension", "handle"}, colours
        assert len(set(colours.values())) == len(colours), colours
        assert all(_contrast_with_white(c) >= 4.5 for c in colours.values()), colours
        page.click("button.ggm-action[data-action='handle']")
        assert page.inner_text(".ggm-action-form label.ggm-file-button") == "拍照或选择照片"
        page.screenshot(path=str(artifacts / "mobile_case_actions.png"))
        assert seen["errors"] == []
    finally:
        context.close()


TILE_HOST = "tiles.gridgis.test"  # never resolved: the phone's route answers it
OUTLINES_DRAWN = (  # the unit grids' outlines (vector tiles on canvases) all drawn
    "[...document.querySelectorAll('#report-map .leaflet-overlay-pane canvas')]"
    ".filter(c => c.classList.contains('leaflet-tile-loaded')).length >= 2 && "
    "[...document.querySelectorAll('#report-map .leaflet-overlay-pane canvas')]"
    ".every(c => c.classList.contains('leaflet-tile-loaded'))"
)


def _serve_with(database_url: str, data_dir: Path, settings: dict[str, str]) -> Iterator[str]:
    """A second app on the test database with other map settings (``GRIDGIS_MAP_*``), as a
    city with its own tile server would run it; its base URL."""
    with app_server(database_url, data_dir, **settings) as base:
        yield base


@pytest.fixture(scope="module")
def basemap_server(database_url: str, engine: Engine, tmp_path_factory: Any) -> Iterator[str]:
    """The app with an XYZ basemap (``GRIDGIS_MAP_BASEMAP=xyz``)."""
    yield from _serve_with(database_url, tmp_path_factory.mktemp("gridgis-xyz"), {
        "GRIDGIS_MAP_BASEMAP": "xyz",
        "GRIDGIS_MAP_XYZ_URL": f"http://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png",
        "GRIDGIS_MAP_XYZ_ATTRIBUTION": "City tiles"})  # fmt: skip


@pytest.fixture(scope="module")
def amap_server(database_url: str, engine: Engine, tmp_path_factory: Any) -> Iterator[str]:
    """The app on an Amap (GCJ-02) basemap served by an intranet mirror."""
    yield from _serve_with(database_url, tmp_path_factory.mktemp("gridgis-amap"), {
        "GRIDGIS_MAP_BASEMAP": "amap",
        "GRIDGIS_MAP_AMAP_URL": f"http://{TILE_HOST}/amap/{{z}}/{{x}}/{{y}}.png",
        "GRIDGIS_MAP_AMAP_ATTRIBUTION": "Amap mirror"})  # fmt: skip


def test_report_map_shows_the_configured_basemap(
    browser: Any, basemap_server: str, officer: dict[str, Any], artifacts: Any
) -> None:
    """The report and grid maps lie on the basemap every page uses (maps/basemaps.py), with the
    grid boundary on top; the page's policy lets the tiles in."""
    context, page, seen = phone(browser, officer)
    served: list[str] = []

    def tile(route: Any) -> None:
        served.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=TILE_PNG)

    context.route(f"http://{TILE_HOST}/**", tile)
    try:
        log_in(page, basemap_server, officer)
        tab(page, "report")
        wait_until(page, "document.querySelectorAll('#report-map img.leaflet-tile-loaded').length")
        wait_until(page, "document.querySelectorAll('#report-map path').length > 0")
        assert served and all(u.startswith(f"http://{TILE_HOST}/") for u in served)
        assert "City tiles" in page.inner_text("#report-map .leaflet-control-attribution")
        wait_until(page, OUTLINES_DRAWN)
        page.wait_for_timeout(500)  # (for the picture only)
        page.screenshot(path=str(artifacts / "mobile_report_basemap.png"))
        assert seen["errors"] == []
    finally:
        context.close()


def test_report_map_on_an_amap_basemap_follows_its_datum(
    browser: Any, amap_server: str, officer: dict[str, Any]
) -> None:
    """On a GCJ-02 basemap the phone's maps take its CRS (gridgis-datum.js): the outline tiles
    are asked for in GCJ-02, and a point tapped on the map comes back in WGS 84 (it lands in
    my grid, where the basemap shows it)."""
    context, page, seen = phone(browser, officer)
    context.route(
        f"http://{TILE_HOST}/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=TILE_PNG),
    )
    try:
        log_in(page, amap_server, officer)
        tab(page, "report")
        wait_until(page, "document.querySelectorAll('#report-map img.leaflet-tile-loaded').length")
        wait_until(page, OUTLINES_DRAWN)
        outlines = [r.url for r in seen["requests"] if "/tiles/grids-l" in r.url]
        assert outlines and all(u.endswith("?datum=gcj02") for u in outlines), outlines[:3]
        box = page.locator("#report-map").bounding_box()
        assert box is not None  # my grid is centred: tap the middle of the map
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        text = page.inner_text("#position-text")
        lon, lat = (float(v) for v in text.split(" · ")[0].split(", "))
        located = page.evaluate(
            "(q) => fetch('/api/v1/locate?crs=wgs84&lon=' + q[0] + '&lat=' + q[1])"
            ".then(r => r.json())",
            [lon, lat],
        )
        assert located["l3"]["code"] == officer["grid"], (lon, lat, located)
        assert seen["errors"] == []
    finally:
        context.close()


def _tile_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (236, 232, 220)).save(buf, "PNG")
    return buf.getvalue()


TILE_PNG = _tile_png()


def test_offline_start_then_handled_sent_in_order(
    browser: Any, live_server: str, engine: Engine, officer: dict[str, Any],
    dispatcher: httpx.Client, artifacts: Any,
) -> None:  # fmt: skip
    """In a dead zone the officer starts a case and then finishes it: after the queued start the
    case is in handling (handled offered, no second start), also after a reload offline; back
    online, start then handled reach the server in that order, each at the phone's time."""
    case = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0406")
    context, page, seen = phone(browser, officer)
    try:
        log_in(page, live_server, officer)
        wait_until(page, OFFLINE_READY, 60_000)
        wait_until(page, f"document.querySelector('li[data-id=\"{case}\"]')")
        context.set_offline(True)
        wait_until(page, "document.querySelector('#net.ggm-offline')")
        page.click(f"li[data-id='{case}']")
        page.click("button.ggm-action[data-action='start']")
        page.click(".ggm-action-form button[type=submit]")
        wait_until(page, "GridGISMobile.outbox.items().then(i => i.length === 1)")
        # the list and the case show it as it will be
        wait_until(page, f"document.querySelector('li[data-id=\"{case}\"] .ggm-task-status')"
                   ".textContent.startsWith('处置中')")  # fmt: skip
        page.reload()  # the queue is in IndexedDB: the state ahead survives a reload offline
        wait_until(page, "window.GridGISMobile && window.GridGISMobile.ready === true", 60_000)
        wait_until(page, f"document.querySelector('li[data-id=\"{case}\"]')")
        page.click(f"li[data-id='{case}']")
        wait_until(page, "document.querySelector(\"button.ggm-action[data-action='handle']\")")
        offered = page.eval_on_selector_all(
            "button.ggm-action", "bs => bs.map(b => b.dataset.action)"
        )
        assert "start" not in offered and "handle" in offered, offered
        assert "开始处置" in page.inner_text("#task-detail .ggm-queued")
        page.screenshot(path=str(artifacts / "mobile_offline_start_then_handle.png"))
        page.click("button.ggm-action[data-action='handle']")
        page.fill(".ggm-action-form textarea", "离线处置完毕")
        page.click(".ggm-action-form button[type=submit]")
        wait_until(page, "GridGISMobile.outbox.items().then(i => i.length === 2)")
        acted = page.evaluate(
            "GridGISMobile.outbox.items().then(i => i.map(x => [x.fields.action, "
            "x.fields.acted_at]))"
        )
        assert [a for a, _ in acted] == ["start", "handle"]
        assert steps(engine, case, "start") == []

        context.set_offline(False)
        outbox_sent(page)
        (start,) = steps(engine, case, "start")
        (handled,) = steps(engine, case, "handle")
        assert start["id"] < handled["id"] and handled["note"] == "离线处置完毕"
        assert start["at"] == datetime.fromisoformat(acted[0][1])  # the phone's times
        assert handled["at"] == datetime.fromisoformat(acted[1][1])
        assert start["at"] <= handled["at"]
        wait_until(page, f"!document.querySelector('li[data-id=\"{case}\"]')")  # handled: done
        assert seen["errors"] == []
    finally:
        context.close()


def test_my_tasks_speak_the_requests_language(
    live_server: str, officer: dict[str, Any], dispatcher: httpx.Client
) -> None:
    case = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0401")
    with httpx.Client(base_url=live_server, timeout=30, headers={"Origin": live_server}) as b:
        r = b.post("/login", data={"username": officer["name"], "password": PASSWORD})
        assert r.status_code == 303

        def name(url: str, **headers: str) -> Any:
            body = b.get(url, headers=headers).json()
            rows = body.get("data", [body])
            return next(t["subclass_name"] for t in rows if t["id"] == case)

        assert name("/api/v1/me/tasks") == "占道经营"
        assert name("/api/v1/me/tasks?lang=en") == "Street vending"
        assert name("/api/v1/me/tasks", **{"Accept-Language": "en-GB,en;q=0.9"}) == "Street vending"
        assert name("/api/v1/me/tasks?lang=zh", **{"Accept-Language": "en"}) == "占道经营"
        assert name(f"/api/v1/me/tasks/{case}?lang=en") == "Street vending"
        assert name(f"/api/v1/me/tasks/{case}") == "占道经营"
        grid = b.get("/api/v1/me/grid?lang=en").json()["events"]["features"]
        assert {f["properties"]["id"]: f["properties"]["subclass_name"] for f in grid}[case] == (
            "Street vending"
        )
        moves = b.get("/api/v1/me/tasks").json()["transitions"]
        assert moves["dispatched"]["start"] == "in_handling"
        assert moves["in_handling"]["handle"] == "handled"
        assert "accept" not in {a for m in moves.values() for a in m}  # a dispatcher's step


FAKE_GPS = """
(() => {
  // a phone whose single fix never comes in time while a watch delivers fixes
  const fix = {coords: {latitude: %(lat)s, longitude: %(lon)s, accuracy: 12}, timestamp: 0};
  const geo = {
    getCurrentPosition(ok, fail) {
      setTimeout(() => fail({code: 3, message: "Timeout expired", TIMEOUT: 3}), 50);
    },
    watchPosition(ok) {
      setTimeout(() => ok({...fix, timestamp: Date.now()}), 50);
      return 1;
    },
    clearWatch() {},
  };
  Object.defineProperty(navigator, "geolocation", {get: () => geo});
})();
"""


def test_positions_and_errors_in_our_words(
    browser: Any, live_server: str, officer: dict[str, Any], artifacts: Any
) -> None:
    """A timed-out fix says so in the app's words (not the browser's "Timeout expired"); with
    My grid already watching the position, "use my position" takes the watch's fresh fix."""
    context, page, seen = phone(browser, officer)
    context.add_init_script(FAKE_GPS % {"lat": officer["lat"], "lon": officer["lon"]})
    try:
        log_in(page, live_server, officer)
        tab(page, "report")
        page.click("#use-gps")
        wait_until(page, "!document.querySelector('#report-error').hidden")
        error = page.inner_text("#report-error")
        assert "定位超时" in error and "Timeout" not in error, error
        # the zoom buttons and the attribution in the page's language
        zoom = page.eval_on_selector_all(
            "#report-map .leaflet-control-zoom a",
            "as => as.map(a => [a.title, a.getAttribute('aria-label')])",
        )
        assert zoom == [["放大", "放大"], ["缩小", "缩小"]], zoom
        assert "Leaflet" not in page.inner_text("#report-map .leaflet-control-attribution")
        tab(page, "grid")  # starts watching the position
        wait_until(page, "GridGISMobile.lastFix !== null")
        tab(page, "report")
        page.click("#use-gps")
        wait_until(page, "document.querySelector('#position-text').textContent.includes('±12')")
        assert page.is_hidden("#report-error")
        assert seen["errors"] == []
    finally:
        context.close()


def test_english_names_labels_header_and_discarding_a_waiting_item(
    browser: Any, live_server: str, engine: Engine, officer: dict[str, Any],
    dispatcher: httpx.Client, artifacts: Any,
) -> None:  # fmt: skip
    """A report queued on the Chinese page is listed in English on the English page (the outbox
    keeps codes); the case list speaks English; the header fits at 390 px; a waiting item can
    be discarded, after a confirmation."""
    case = dispatched_case(dispatcher, officer["lon"], officer["lat"], "0401")
    context, page, seen = phone(browser, officer)
    context.add_init_script(path=str(NO_POLL_JS))
    # the report cannot reach the server: it waits in the outbox
    context.route(
        re.compile(r".*/api/v1/events$"),
        lambda route: route.abort() if route.request.method == "POST" else route.continue_(),
    )
    try:
        log_in(page, live_server, officer)
        text = f"waits and is discarded {uuid.uuid4()}"
        report(page, "0401", text)
        tab(page, "outbox")
        wait_until(page, "document.querySelectorAll('#outbox-list li').length === 1")
        assert "占道经营" in page.inner_text("#outbox-list")

        page.goto(f"{live_server}/m/?lang=en")
        wait_until(page, "window.GridGISMobile && window.GridGISMobile.ready === true", 60_000)
        wait_until(page, f"document.querySelector('li[data-id=\"{case}\"]')")
        assert "Street vending" in page.inner_text(f"li[data-id='{case}']")
        # the header at 390 px, with the install button the browser may offer: the user name
        # whole, every link on one line
        header = page.evaluate(
            """() => {
              document.querySelector('#install').hidden = false;
              const user = document.querySelector('.ggm-user');
              const lines = (el) => {
                const r = document.createRange();
                r.selectNodeContents(el);
                return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;
              };
              return {cut: user.scrollWidth > user.clientWidth,
                      lines: [...document.querySelectorAll('.ggm-bar a, .ggm-bar h1, #net, '
                                                         + '#install')]
                        .map(lines),
                      right: Math.max(...[...document.querySelectorAll('.ggm-bar > *')]
                        .map(e => e.getBoundingClientRect().right))};
            }"""
        )
        assert header["cut"] is False and set(header["lines"]) == {1}, header
        assert header["right"] <= PHONE["width"], header
        page.screenshot(path=str(artifacts / "mobile_header_en.png"))
        page.evaluate("document.querySelector('#install').hidden = true")
        tab(page, "report")
        zoom = page.eval_on_selector_all(
            "#report-map .leaflet-control-zoom a", "as => as.map(a => a.title)"
        )
        assert zoom == ["Zoom in", "Zoom out"]
        tab(page, "outbox")
        wait_until(page, "document.querySelectorAll('#outbox-list li').length === 1")
        label = page.inner_text("#outbox-list li")
        assert "Street vending" in label and "占道经营" not in label, label
        page.screenshot(path=str(artifacts / "mobile_outbox_en.png"))

        # discard a waiting item: asked first; "cancel" keeps it
        page.once("dialog", lambda d: d.dismiss())
        page.click("#outbox-list li.ggm-pending button.ggm-discard")
        page.wait_for_timeout(300)
        assert outbox_count(page) == 1
        asked: list[str] = []
        page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
        page.click("#outbox-list li.ggm-pending button.ggm-discard")
        wait_until(page, "GridGISMobile.outbox.items().then(i => i.length === 0)")
        assert "Street vending" in asked[0]
        context.unroute(re.compile(r".*/api/v1/events$"))
        page.evaluate("GridGISMobile.outbox.flush()")
        assert events_with(engine, text) == []
        assert seen["errors"] == []
    finally:
        context.close()
