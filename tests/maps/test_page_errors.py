"""Pages that say what went wrong (issue 15, "What an operator found"), in headless Chromium
against the real app:

- /live whose session ends says so and offers to log in again (back to /live, same language)
  instead of silently showing nobody; it keeps its markers between polls (an open popup stays
  open), shows online/offline counts, and links an officer silent for more than 24 h to the
  last day with fixes (never an empty replay of 1970);
- /playback of an unknown device, of a malformed one or without one says so instead of
  "0.00 km".

Screenshots in test-artifacts/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine

from tests.api.test_tracks_api import patrol
from tests.e2e.conftest import open_logged_in, wait_until
from tests.tracks_support import CITY_LAT, CITY_LON, make_device, send_fixes

pytestmark = pytest.mark.browser

LIVE_READY = "window.gridgisLive && window.gridgisLive.count >= 1"
PLAYBACK_DONE = "window.gridgisPlayback !== undefined"
SILENT_DAY = datetime(2026, 3, 5, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _send(live_server: str, device: Any, fixes: list[dict[str, Any]]) -> None:
    answer = send_fixes(live_server, device, fixes)
    assert answer["stored"] == len(fixes), answer


@pytest.fixture(scope="module")
def officers(engine: Engine, live_server: str) -> dict[str, Any]:
    """One officer on patrol now, one silent since a day in March (both apart from other
    tests' officers, who start from the same point)."""
    now = make_device(engine, name="在岗巡查员")
    started = datetime.now(UTC) - timedelta(minutes=76)  # last fix 1 min ago: online
    _send(live_server, now, [{**f, "lat": f["lat"] - 0.006} for f in patrol(started)])
    silent = make_device(engine, name="失联巡查员")
    _send(live_server, silent, [{**f, "lat": f["lat"] - 0.009} for f in patrol(SILENT_DAY)])
    return {"now": now, "silent": silent}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_live_says_the_session_ended_and_offers_to_log_in(
    browser: Any, live_server: str, tokens: dict[str, str], officers: dict[str, Any],
    artifacts: Any, lang: str,
) -> None:  # fmt: skip
    path = "/live" if lang == "zh" else "/live?lang=en"
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], path, LIVE_READY)
    try:
        drawn = page.locator("path.gridgis-officer").count()
        assert drawn >= 1
        page.context.clear_cookies()  # the session is gone (expired, logged out, revoked)
        notice = page.locator("#gridgis-notice.gridgis-notice-expired")
        notice.wait_for(timeout=30_000)
        text = notice.inner_text()
        assert ("登录已过期" in text) if lang == "zh" else ("session has expired" in text)
        link = notice.locator("a.gridgis-notice-login")
        href = link.get_attribute("href")
        assert href == f"/login?next={'%2Flive' if lang == 'zh' else '%2Flive%3Flang%3Den'}" + (
            f"&lang={lang}"
        )
        # the last positions stay on the map under the message, not "nobody on patrol"
        assert page.locator("path.gridgis-officer").count() == drawn
        page.screenshot(path=str(artifacts / f"live_session_expired_{lang}.png"))
        link.click()
        page.wait_for_url("**/login**")
        assert page.locator("#token").count() == 1  # the login page, in the page's language
        assert page.evaluate("document.documentElement.lang").startswith(
            "zh" if lang == "zh" else "en"
        )
    finally:
        page.context.close()


def test_live_keeps_markers_and_open_popup_between_polls(
    browser: Any, live_server: str, tokens: dict[str, str], officers: dict[str, Any],
    artifacts: Any,
) -> None:  # fmt: skip
    page, seen = open_logged_in(browser, live_server, tokens["viewer"], "/live", LIVE_READY)
    try:
        device = officers["now"].id
        page.evaluate(f"window.gridgisLiveMarkers['{device}'].openPopup() && null")
        assert "在岗巡查员" in page.locator(".leaflet-popup-content").inner_text()
        before = page.evaluate(f"window.gridgisLiveMarkers['{device}']._leaflet_id")
        # he moves on (a fix now: online whatever time the tests before took)
        moved = {"time": datetime.now(UTC).isoformat(), "lon": CITY_LON + 0.004,
                 "lat": CITY_LAT - 0.006, "accuracy_m": 5.0}  # fmt: skip
        _send(live_server, officers["now"], [moved])
        updated = page.evaluate("window.gridgisLive.updated")
        wait_until(page, f"window.gridgisLive.updated > {updated}", timeout=30_000)  # a poll
        wait_until(
            page, f"window.gridgisLiveMarkers['{device}'].getLatLng().lng > {CITY_LON + 0.003}"
        )
        assert page.locator(".leaflet-popup").count() == 1  # still open, on the moved marker
        assert page.evaluate(f"window.gridgisLiveMarkers['{device}']._leaflet_id") == before
        live = page.evaluate("window.gridgisLive")
        assert page.locator("path.gridgis-officer").count() == live["count"]
        counts = page.locator(".gridgis-live-counts")
        assert f"在线 {live['online']}" in counts.inner_text()
        assert f"离线 {live['count'] - live['online']}" in counts.inner_text()
        assert live["online"] >= 1 and live["offline"] >= 1
        assert seen["errors"] == []
        page.screenshot(path=str(artifacts / "live_counts_popup.png"))
    finally:
        page.context.close()


def test_live_links_a_silent_officer_to_his_last_day(
    browser: Any, live_server: str, tokens: dict[str, str], officers: dict[str, Any],
    artifacts: Any,
) -> None:  # fmt: skip
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], "/live", LIVE_READY)
    try:
        device = officers["silent"].id
        page.evaluate(f"window.gridgisLiveMarkers['{device}'].openPopup() && null")
        href = page.locator(".leaflet-popup-content a.gridgis-playback-link").get_attribute("href")
        assert href == f"/playback?device={device}&from=2026-03-05&to=2026-03-06"
        page.click(".leaflet-popup-content a.gridgis-playback-link")
        wait_until(page, "window.gridgisPlayback && window.gridgisPlayback.ready", 60_000)
        state = page.evaluate("window.gridgisPlayback")
        assert state["vertices"] == 540
        clock = page.locator("#gg-clock").inner_text()
        assert clock.startswith("2026-03-05") and "1970" not in clock  # Shanghai time
        page.screenshot(path=str(artifacts / "playback_silent_officer.png"))
    finally:
        page.context.close()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("device=999999999", "999999999"),  # no such device: the API's 404 detail
        ("device=abc&lang=en", "Could not load the track"),
        ("", "缺少设备编号"),
    ],
)
def test_playback_says_what_failed(
    browser: Any, live_server: str, tokens: dict[str, str], artifacts: Any, query: str,
    expected: str,
) -> None:  # fmt: skip
    page, _ = open_logged_in(
        browser, live_server, tokens["viewer"], f"/playback?{query}", PLAYBACK_DONE
    )
    try:
        state = page.evaluate("window.gridgisPlayback")
        assert state["ready"] is False and state["error"]
        summary = page.locator("#gg-summary")
        assert "gridgis-playback-error" in (summary.get_attribute("class") or "")
        shown = page.locator("body").inner_text()
        assert expected in shown, shown
        assert "0.00 km" not in shown and "1970" not in shown
        assert page.locator("#gg-play").is_disabled()
        page.screenshot(path=str(artifacts / f"playback_error_{query.split('&')[0] or 'none'}.png"))
    finally:
        page.context.close()


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/zones?resolution=99", 422, "resolution"),
        ("/events/map?days=0", 422, "days"),
        ("/map?generation=abc", 422, "generation"),
        ("/coverage?threshold=2&lang=en", 422, "threshold"),
        ("/draws/999999", 404, "draw_id"),
    ],
)
def test_bad_page_addresses_are_pages_for_browsers(
    live_server: str, tokens: dict[str, str], path: str, status: int, field: str
) -> None:
    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    with httpx.Client(base_url=live_server, timeout=60) as c:
        page = c.get(path, headers={**auth, "Accept": "text/html,application/xhtml+xml,*/*"})
        assert page.status_code == status
        assert page.headers["content-type"].startswith("text/html")
        assert '<nav class="gridgis-nav"' in page.text and f"<code>{field}</code>" in page.text
        assert ("Back to " if "lang=en" in path else "返回") in page.text  # its own page
        assert "script-src 'self'" in page.headers["content-security-policy"]
        api = c.get(path, headers=auth)  # an API client keeps the problem
        assert api.status_code == status
        assert api.headers["content-type"] == "application/problem+json"
        assert api.json()["field"] == field


def test_bad_page_address_in_the_browser(
    browser: Any, live_server: str, tokens: dict[str, str], artifacts: Any
) -> None:
    page, _ = open_logged_in(
        browser, live_server, tokens["viewer"], "/map", "window.gridgisReady !== undefined"
    )
    try:
        response = page.goto(f"{live_server}/zones?resolution=99")
        assert response is not None and response.status == 422
        assert "resolution" in page.locator("#problem").inner_text()
        assert page.locator("nav.gridgis-nav a[href='/zones']").count() == 1
        page.screenshot(path=str(artifacts / "page_bad_address.png"))
    finally:
        page.context.close()
