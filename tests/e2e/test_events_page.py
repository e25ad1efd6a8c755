"""/events/map in headless Chromium: dots coloured by status (red overdue), clusters coloured by
their most urgent event, the filtered list beside the map (filter in the URL, paging, a row
selects its dot), refresh without reload (an open popup stays), acting on an event (accept,
dispatch to a grid and person) with the API's refusals said in the page's language, no buttons
for a viewer, English pages without Chinese subclass names, town outlines from the vector
tiles; nothing requested outside 127.0.0.1. Screenshots in test-artifacts/events_map*.png."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import assert_offline_and_clean, open_logged_in, wait_until
from tests.people_fixtures import *  # noqa: F403  (the demo roster: people of the grids)

pytestmark = pytest.mark.browser

READY = "window.gridgisEvents && window.gridgisEvents.ready"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 140, 90)).save(out, "PNG")
    return out.getvalue()


def _post(c: httpx.Client, eid: int, action: str, **extra: Any) -> None:
    r = c.post(f"/api/v1/events/{eid}/actions", json={"action": action, **extra})
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def some_events(live_server, tokens, demo_grids) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A closed case, an overdue one, a dispatched one and fresh reports spread over the city
    (subclass 0101, in February 2026: outside the default 30-day window unless still open)."""
    l3 = demo_grids[demo_grids.level == 3]
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    ids: dict[str, Any] = {}
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as c:
        for i in range(22):
            p = l3.iloc[i * 67].geometry.representative_point()
            r = c.post(
                "/api/v1/events",
                json={
                    "lon": p.x,
                    "lat": p.y,
                    "subclass": "0101",
                    "description": f"暴露垃圾 {i}",
                    "source": "hotline" if i == 13 else "patrol",
                    "ignore_duplicates": True,
                    "reported_at": "2026-02-02T09:00:00+08:00",
                },
            )
            assert r.status_code == 201, r.text
            ids[f"e{i}"] = r.json()["id"]
            ids[f"grid{i}"] = r.json()["routing"]["grid_code"]
        steps = ["accept", "dispatch", "start", "handle", "verify", "close"]
        for n, action in enumerate(steps):
            at = f"2026-02-02T09:{10 + n:02d}:00+08:00"
            if action == "handle":  # 0101: handled with a note and a photo (its closing rule)
                r = c.post(f"/api/v1/events/{ids['e0']}/actions",
                           data={"action": action, "at": at, "note": "rubbish cleared"},
                           files=[("photos", ("after.png", _png(), "image/png"))])  # fmt: skip
                assert r.status_code == 200, r.text
                continue
            _post(c, ids["e0"], action, at=at)
        for action in ("accept", "dispatch"):  # dispatched now: not overdue yet
            _post(c, ids["e1"], action)
        for n, action in enumerate(("accept", "dispatch")):  # 4 work-hours in February: overdue
            _post(c, ids["e2"], action, at=f"2026-02-02T09:3{n}:00+08:00")
        ids["l3_other"] = l3.iloc[500].code
    return ids


def _open_popup(page: Any, eid: int) -> None:
    page.evaluate("id => window.gridgisEvents.select(id)", eid)
    page.wait_for_selector(f'.gridgis-event-popup[data-id="{eid}"]', timeout=30_000)


def _api(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def test_events_map_offline_with_overdue_clusters_and_timeline(
    browser, live_server, tokens, artifacts, some_events
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_logged_in(browser, live_server, tokens["viewer"], "/events/map?days=3660",
                                READY)  # fmt: skip
    try:
        hook = page.evaluate("({e: gridgisEvents.events, o: gridgisEvents.overdue})")
        assert hook["e"] >= 22 and hook["o"] >= 1
        # zoomed out, the dots are clustered, each cluster coloured by its most urgent member
        clusters = page.evaluate(
            """() => { const out = []; gridgisEvents.cluster._featureGroup.eachLayer(l => {
                   if (!l.getAllChildMarkers) return;
                   const worst = Math.max(...l.getAllChildMarkers().map(m => m.gridgisUrgency));
                   out.push([worst, l._icon ? l._icon.className : ""]); }); return out; }"""
        )
        assert clusters and all(f"gridgis-cluster-urgency-{w}" in cls for w, cls in clusters)
        assert any(w == 2 for w, _ in clusters)  # the overdue case shows through its cluster
        legend = page.inner_text(".gridgis-legend")
        assert "最紧急" in legend and "超时" in legend
        page.screenshot(path=str(artifacts / "events_map.png"))
        _open_popup(page, some_events["e0"])  # the closed case: the whole timeline
        items = page.locator(".gridgis-timeline li").all_inner_texts()
        assert len(items) == 7 and "已结案" in items[-1]
        assert items[0].startswith("2026-02-02 09:00")  # Shanghai time
        assert page.locator(".gridgis-event-popup button").count() == 0  # a viewer: no buttons
        red = page.evaluate(
            "Object.values(gridgisEvents.markers).filter(m => m.gridgisUrgency === 2)"
            ".map(m => m.options.fillColor)"
        )
        assert red and set(red) == {"#d7191c"}
        # the town outlines come from the vector tiles, never as GeoJSON of the city
        assert any("/tiles/grids-l1/" in u for u in seen["requests"])
        assert not any("/api/v1/grids" in u for u in seen["requests"])
        page.screenshot(path=str(artifacts / "events_map_popup.png"))
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_filtered_list_in_the_url_paging_and_row_selects(
    browser, live_server, tokens, some_events
) -> None:  # type: ignore[no-untyped-def]
    town = some_events["grid10"][:9]
    page, seen = open_logged_in(browser, live_server, tokens["viewer"],
                                f"/events/map?status=reported&town={town}&from=2026-02-02"
                                "&to=2026-02-02", READY)  # fmt: skip
    try:
        with _api(live_server, tokens["viewer"]) as c:
            params = {"status": "reported", "grid": town, "from": "2026-02-02",
                      "to": "2026-02-03", "limit": 1}  # fmt: skip
            expected = c.get("/api/v1/events", params=params).json()["count"]
        assert expected >= 1
        assert page.evaluate("gridgisEvents.count") == expected
        assert page.locator("#events-filter select[name=status]").input_value() == "reported"
        assert page.locator("#events-filter select[name=town]").input_value() == town
        first = page.locator("#events-list li").first
        eid = int(first.get_attribute("data-id"))
        first.click()
        page.wait_for_selector(f'.gridgis-event-popup[data-id="{eid}"]', timeout=30_000)
        assert "selected" in (first.get_attribute("class") or "")
        # a new filter goes into the URL; Back restores the old one
        page.select_option("#events-filter select[name=source]", "hotline")
        page.select_option("#events-filter select[name=town]", "")
        page.click("#events-apply")
        wait_until(page, "location.search.includes('source=hotline')")
        wait_until(page, "[...document.querySelectorAll('#events-list li[data-id]')]"
                         ".every(li => li.textContent.includes('12345'))")  # fmt: skip
        rows = page.locator("#events-list li[data-id]").all_inner_texts()
        assert rows and all("12345" in r for r in rows)
        page.go_back()
        wait_until(page, "location.search.includes('town=')")
        # paging: 20 a page, the page number in the URL
        page.goto(f"{live_server}/events/map?days=3660")
        wait_until(page, READY)
        wait_until(page, "gridgisEvents.count > 20")
        page.click("#events-next")
        wait_until(page, "location.search.includes('page=2')")
        # the page-1 answer, if it comes last, must not be drawn over page 2
        wait_until(page, "/\\b2\\b/.test(document.getElementById('events-page').textContent)")
        page.wait_for_timeout(500)
        assert re.search(r"\b2 /", page.inner_text("#events-page"))
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_bad_filter_is_said_in_the_page_language(browser, live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    page, _seen = open_logged_in(browser, live_server, tokens["viewer"],
                                 "/events/map?class=abc", READY)  # fmt: skip
    try:
        text = page.inner_text("#gridgis-notice")
        assert "筛选条件无效" in text and "类别" in text
    finally:
        page.context.close()


def test_dispatcher_accepts_and_dispatches_from_the_map(
    browser, live_server, tokens, artifacts, some_events, people_demo
) -> None:  # type: ignore[no-untyped-def]
    eid = some_events["e3"]
    page, seen = open_logged_in(browser, live_server, tokens["dispatcher"],
                                "/events/map?days=3660", READY)  # fmt: skip
    try:
        _open_popup(page, eid)
        assert "操作" in page.locator(".gridgis-event-popup h6").all_inner_texts()
        buttons = page.locator(".gridgis-event-popup button.gridgis-action")
        assert sorted(buttons.evaluate_all("b => b.map(x => x.dataset.action)")) == [
            "accept",
            "reject",
        ]
        page.click(".gridgis-event-popup button[data-action=accept]")
        page.click(".gridgis-form-accept button[type=submit]")
        page.wait_for_selector(".gridgis-event-popup .gridgis-event-ok", timeout=30_000)
        assert "已立案" in page.inner_text(".gridgis-event-ok")
        # dispatch to another unit grid and a person of it
        page.click(".gridgis-event-popup button[data-action=dispatch]")
        page.fill(".gridgis-form-dispatch input[name=grid_code]", some_events["l3_other"])
        page.dispatch_event(".gridgis-form-dispatch input[name=grid_code]", "change")
        wait_until(page, "document.querySelectorAll('.gridgis-form-dispatch select option')"
                         ".length > 1")  # fmt: skip
        person = page.locator(".gridgis-form-dispatch select option").nth(1)
        person_id = int(person.get_attribute("value"))
        assert "巡查员" in person.inner_text() or "网格" in person.inner_text()
        page.select_option(".gridgis-form-dispatch select", str(person_id))
        page.fill(".gridgis-form-dispatch textarea", "改派至相邻网格")
        page.click(".gridgis-form-dispatch button[type=submit]")
        wait_until(page, f"document.querySelector('.gridgis-event-popup[data-id=\"{eid}\"]')"
                         ".dataset.status === 'dispatched' || document.querySelector("
                         "'.gridgis-form-dispatch .gridgis-event-error')")  # fmt: skip
        assert page.locator(".gridgis-form-dispatch .gridgis-event-error").count() == 0, (
            page.inner_text(".gridgis-form-dispatch .gridgis-event-error")
        )
        assert "已派遣" in page.inner_text(".gridgis-event-popup .gridgis-event-ok")
        with _api(live_server, tokens["admin"]) as c:
            case = c.get(f"/api/v1/events/{eid}").json()
        assert case["status"] == "dispatched"
        assert case["routing"]["grid_code"] == some_events["l3_other"]
        assert case["routing"]["worker_person_id"] == person_id
        timeline = page.locator(".gridgis-timeline li").all_inner_texts()
        assert any("调整派遣" in t for t in timeline) and "已派遣" in timeline[-1]
        wait_until(page, f"gridgisEvents.markers[{eid}].gridgisStatus === 'dispatched'")
        page.screenshot(path=str(artifacts / "events_map_dispatched.png"))
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_refusals_in_the_page_language(browser, live_server, tokens, some_events) -> None:  # type: ignore[no-untyped-def]
    eid = some_events["e4"]
    for lang, stale, note in (
        ("zh", "事件状态已变化", "需要填写说明"),
        ("en", "is accepted; accept needs it to be reported", "needs a note"),
    ):
        page, _seen = open_logged_in(browser, live_server, tokens["dispatcher"],
                                     f"/events/map?days=3660&lang={lang}", READY)  # fmt: skip
        try:
            _open_popup(page, eid if lang == "zh" else some_events["e5"])
            target = eid if lang == "zh" else some_events["e5"]
            # a reject without its reason: refused, said in the page's language
            page.click(".gridgis-event-popup button[data-action=reject]")
            page.click(".gridgis-form-reject button[type=submit]")
            page.wait_for_selector(".gridgis-event-popup .gridgis-event-error", timeout=30_000)
            assert note in page.inner_text(".gridgis-event-popup .gridgis-event-error")
            # someone else accepts it meanwhile: the page's accept is refused, and reloaded
            page.click(".gridgis-event-popup button[data-action=accept]")
            with _api(live_server, tokens["admin"]) as c:
                _post(c, target, "accept")
            page.click(".gridgis-form-accept button[type=submit]")
            page.wait_for_selector(".gridgis-event-popup .gridgis-event-error", timeout=30_000)
            wait_until(page, "document.querySelector('.gridgis-event-popup .gridgis-event-error')"
                             ".textContent.length > 0")  # fmt: skip
            text = page.inner_text(".gridgis-event-popup")
            assert stale in text, text
            if lang == "zh":
                assert not re.search(r"[A-Za-z]{4,}", page.inner_text(".gridgis-event-error"))
            wait_until(page, "document.querySelector('.gridgis-event-popup button"
                             "[data-action=dispatch]') !== null")  # fmt: skip
        finally:
            page.context.close()


def test_new_reports_appear_without_reload_and_the_popup_stays(
    browser, live_server, tokens, some_events, demo_grids
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_logged_in(browser, live_server, tokens["viewer"],
                                "/events/map?days=3660", READY)  # fmt: skip
    try:
        _open_popup(page, some_events["e1"])
        polls = page.evaluate("gridgisEvents.polls")
        p = demo_grids[demo_grids.level == 3].iloc[1234].geometry.representative_point()
        with _api(live_server, tokens["admin"]) as c:
            body = {"lon": p.x, "lat": p.y, "subclass": "0405", "description": "新上报",
                    "ignore_duplicates": True}  # fmt: skip
            r = c.post("/api/v1/events", json=body)
            assert r.status_code == 201, r.text
            new_id = r.json()["id"]
            _post(c, some_events["e1"], "start")  # the open case changes meanwhile
        # the page's own timer (every 15 s) brings both: no reload, no click
        wait_until(page, f"gridgisEvents.markers[{new_id}] !== undefined", timeout=60_000)
        wait_until(page, f"gridgisEvents.markers[{some_events['e1']}].gridgisStatus === "
                         "'in_handling'", timeout=60_000)  # fmt: skip
        assert page.evaluate("gridgisEvents.polls") > polls
        assert page.locator(f'.gridgis-event-popup[data-id="{some_events["e1"]}"]').count() == 1
        wait_until(page, "document.querySelector('.gridgis-event-popup').textContent"
                         ".includes('处置中')")  # fmt: skip
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_english_page_has_english_names_only(browser, live_server, tokens, some_events) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_logged_in(browser, live_server, tokens["dispatcher"],
                                "/events/map?days=3660&lang=en", READY)  # fmt: skip
    try:
        wait_until(page, "document.querySelectorAll('#events-list li[data-id]').length > 0")
        heads = page.locator("#events-list li .row-head").all_inner_texts()
        assert heads and not any(CJK.search(h) for h in heads)
        # descriptions and places are the reporters' words; the page's own words are English
        for selector in (".gridgis-legend", "#events-filter select[name=status]",
                         "#events-filter select[name=class]", "#events-filter select[name=source]",
                         "#events-count", ".gridgis-events-pager"):  # fmt: skip
            assert not CJK.search(page.inner_text(selector)), selector
        _open_popup(page, some_events["e0"])
        popup = page.inner_text(".gridgis-event-popup")
        assert "Exposed rubbish" in popup and "Closed" in popup and "暴露垃圾 0" in popup
        assert not CJK.search(page.inner_text(".gridgis-timeline"))
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_popup_shows_accuracy_and_late_receipt(browser, live_server, tokens, demo_grids) -> None:  # type: ignore[no-untyped-def]
    """A report queued on a phone for an hour (its time ≠ the server's receipt) says when it was
    received; a step received at once does not; the phone's accuracy is shown rounded."""
    l3 = demo_grids[demo_grids.level == 3]
    p = l3.iloc[777].geometry.representative_point()
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    with _api(live_server, tokens["admin"]) as c:
        r = c.post("/api/v1/events", json={
            "lon": p.x, "lat": p.y, "subclass": "0101", "description": "离线上报",
            "ignore_duplicates": True, "reported_at": an_hour_ago,
            "location_accuracy_m": 12.4})  # fmt: skip
        assert r.status_code == 201, r.text
        eid = r.json()["id"]
        _post(c, eid, "accept")  # received as it happened
        bare = c.post("/api/v1/events", json={
            "lon": p.x, "lat": p.y, "subclass": "0101", "description": "无精度",
            "ignore_duplicates": True})  # fmt: skip
        assert bare.status_code == 201, bare.text
    for lang, accuracy, received in (("zh", "定位精度 ±12 米", "收到"),
                                     ("en", "position accuracy ±12 m", "received")):  # fmt: skip
        path = "/events/map?days=3660" + ("&lang=en" if lang == "en" else "")
        page, seen = open_logged_in(browser, live_server, tokens["viewer"], path, READY)
        try:
            _open_popup(page, eid)
            assert page.inner_text(".gridgis-event-accuracy").strip() == accuracy
            items = page.locator(".gridgis-timeline li").all_inner_texts()
            assert len(items) == 2
            assert received in items[0] and received not in items[1]
            assert page.locator(".gridgis-timeline-received").count() == 1
            bare_id = bare.json()["id"]
            _open_popup(page, bare_id)  # no accuracy sent: no line (the old popup fades out)
            popup = page.locator(f'.gridgis-event-popup[data-id="{bare_id}"]')
            assert popup.locator(".gridgis-timeline li").count() == 1
            assert popup.locator(".gridgis-event-accuracy").count() == 0
            assert popup.locator(".gridgis-timeline-received").count() == 0
            if lang == "en":
                assert not CJK.search(page.inner_text(".gridgis-timeline"))
            assert_offline_and_clean(seen)
        finally:
            page.context.close()


def _case_in_handling(live_server: str, token: str, lon: float, lat: float) -> int:
    """A new 0101 case (its closing rule asks for a photo) at (lon, lat) WGS 84, accepted,
    dispatched and started: the next step is handled. Its id."""
    with _api(live_server, token) as c:
        r = c.post("/api/v1/events", json={
            "lon": lon, "lat": lat, "subclass": "0101", "description": "待清运",
            "ignore_duplicates": True})  # fmt: skip
        assert r.status_code == 201, r.text
        eid = int(r.json()["id"])
        for action in ("accept", "dispatch", "start"):
            _post(c, eid, action)
    return eid


def test_handled_from_the_map_with_a_photo(
    browser, live_server, tokens, artifacts, some_events
) -> None:  # type: ignore[no-untyped-def]
    """0101's closing rule asks for a photo: the popup's handle form takes photos (sent as
    multipart), and without one says why in the page's language."""
    eid = _case_in_handling(live_server, tokens["admin"], 120.2855, 31.9146)
    page, seen = open_logged_in(browser, live_server, tokens["admin"],
                                "/events/map?days=3660", READY)  # fmt: skip
    try:
        _open_popup(page, eid)
        page.click(".gridgis-event-popup button[data-action=handle]")
        page.fill(".gridgis-form-handle textarea", "已清运")
        page.click(".gridgis-form-handle button[type=submit]")
        page.wait_for_selector(".gridgis-form-handle .gridgis-event-error", timeout=30_000)
        assert "照片" in page.inner_text(".gridgis-form-handle .gridgis-event-error")
        page.set_input_files(".gridgis-form-handle input[name=photos]", files=[
            {"name": "after.png", "mimeType": "image/png", "buffer": _png()}])  # fmt: skip
        page.click(".gridgis-form-handle button[type=submit]")
        page.wait_for_selector(".gridgis-event-popup .gridgis-event-ok", timeout=30_000)
        with _api(live_server, tokens["admin"]) as c:
            case = c.get(f"/api/v1/events/{eid}").json()
        assert case["status"] == "handled" and len(case["photos"]) == 1, case
        assert case["timeline"][-1]["note"] == "已清运"
        page.screenshot(path=str(artifacts / "events_map_handled_with_photo.png"))
        assert seen["failed"] == [f"422 {live_server}/api/v1/events/{eid}/actions"], (
            seen
        )  # the refusal
    finally:
        page.context.close()


def test_a_note_being_typed_keeps_its_focus_as_the_popup_grows(
    browser, live_server, tokens, some_events
) -> None:  # type: ignore[no-untyped-def]
    """The popup follows its content's size (a ResizeObserver asks it to re-lay out). Leaflet's
    Popup.update() takes the content out and puts it back, which blurred the note being typed:
    the keys typed next went nowhere and the note was sent empty ("此操作需要填写说明"), the
    fault the full suite met once. GridGIS.updatePopup keeps the focus and the caret."""
    eid = _case_in_handling(live_server, tokens["admin"], 120.2905, 31.9196)
    page, seen = open_logged_in(browser, live_server, tokens["admin"],
                                "/events/map?days=3660", READY)  # fmt: skip
    try:
        _open_popup(page, eid)
        page.click(".gridgis-event-popup button[data-action=handle]")
        page.focus(".gridgis-form-handle textarea")
        page.keyboard.type("已清")
        # the popup's content grows (as when a refusal or a person list arrives): it re-lays out
        page.evaluate("""() => new Promise(done => {
            const box = document.querySelector('.gridgis-event-popup');
            const tall = document.createElement('div');
            tall.style.height = '40px';
            box.appendChild(tall);
            requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 50)));
        })""")
        assert page.evaluate(
            "document.activeElement === document.querySelector('.gridgis-form-handle textarea')"
        )
        page.keyboard.type("运")
        assert page.input_value(".gridgis-form-handle textarea") == "已清运"
        assert seen["failed"] == [], seen
    finally:
        page.context.close()
