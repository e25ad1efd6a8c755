"""The operator trial of issue 15 on the pages other than the front page, in headless Chromium
(zh and en) against the real app:

- a bad address of every page is an error page in the page's language (title and detail; no
  English sentence on a Chinese page) whose link goes back to the same page without the bad
  parameter;
- /playback opened from /live's link (``from``/``to``) shows the address's day in the picker
  and the title; ``date=2026-13-45`` is the 422 page; stop labels that would collide are
  hidden (their words stay in the stop's popup);
- /events/map whose list request fails says what failed, in the page's language, with retry;
- /coverage and /map whose session ended say so at the first failed tile (gridgis-tiles.js);
- every map's scale bar is metric only.

Screenshots in test-artifacts/.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from tests.e2e.conftest import open_logged_in, wait_until
from tests.tracks_support import CITY_LAT, CITY_LON, make_device, send_fixes

pytestmark = pytest.mark.browser

# (address, parameter at fault, status, the page the link goes back to, its zh and en label)
BAD = [
    ("/?date=xx", "date", 422, "/", "指挥中心", "Command centre"),
    ("/map?generation=999999", "generation", 404, "/map", "网格地图", "Grid map"),
    ("/map?generation=abc", "generation", 422, "/map", "网格地图", "Grid map"),
    ("/playback?device=35&date=2026-13-45", "date", 422, "/playback", "轨迹回放", "Playback"),
    ("/playback?device=35&from=bogus", "from", 422, "/playback", "轨迹回放", "Playback"),
    ("/coverage?date=bogus&shift=08:00-12:00", "date", 422, "/coverage", "巡查覆盖率",
     "Coverage"),
    ("/coverage?threshold=2", "threshold", 422, "/coverage", "巡查覆盖率", "Coverage"),
    ("/zones?resolution=99", "resolution", 422, "/zones", "执法片区与户数", "Zones & households"),
    ("/events/map?days=0", "days", 422, "/events/map", "事件地图", "Events"),
    ("/draws/999999", "draw_id", 404, "/", "指挥中心", "Command centre"),
]  # fmt: skip
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]+ [A-Za-z]+")
EXPIRED = "document.querySelector('#gridgis-notice.gridgis-notice-expired') !== null"
MAP = "window[document.querySelector('.folium-map').id]"


def _with_lang(path: str, lang: str) -> str:
    return path if lang == "zh" else path + ("&" if "?" in path else "?") + "lang=en"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bad_addresses_are_error_pages_in_the_page_language(
    browser: Any, live_server: str, tokens: dict[str, str], artifacts: Any, lang: str
) -> None:
    page, _ = open_logged_in(
        browser, live_server, tokens["viewer"], _with_lang("/map", lang),
        "window.gridgisReady !== undefined",
    )  # fmt: skip
    try:
        for path, field, status, back, zh, en in BAD:
            address = _with_lang(path, lang)
            answer = page.goto(f"{live_server}{address}")
            assert answer is not None and answer.status == status, address
            assert answer.headers["content-type"].startswith("text/html")
            assert page.inner_text("#problem code") == field, address
            words = page.inner_text("header") + "\n" + page.inner_text("#problem")
            link = page.locator("a.gridgis-error-back")
            href = link.get_attribute("href") or ""
            kept = [
                (k, v) for k, v in parse_qsl(urlsplit(address).query, keep_blank_values=True)
                if k != field and not path.startswith("/draws/")
            ]  # fmt: skip
            if path.startswith("/draws/") and lang == "en":
                kept = [("lang", "en")]
            assert urlsplit(href).path == back, (address, href)
            assert parse_qsl(urlsplit(href).query, keep_blank_values=True) == kept, href
            if lang == "zh":
                assert link.inner_text() == f"返回{zh}"
                assert page.title().startswith("页面地址有误")
                shown = words.replace(field, "")
                assert not ENGLISH_SENTENCE.search(shown), (address, words)
                assert re.search(r"[\u4e00-\u9fff]", page.inner_text(".gridgis-error-detail"))
            else:
                assert link.inner_text() == f"Back to {en}"
                assert page.title().startswith("This address cannot be shown")
                assert not re.search(r"[\u4e00-\u9fff]", words), (address, words)
            # the link goes back to the page, which now opens
            if not path.startswith("/draws/"):
                again = page.goto(f"{live_server}{href}")
                assert again is not None and again.status == 200, href
        page.goto(f"{live_server}{_with_lang('/coverage?date=bogus', lang)}")
        page.screenshot(path=str(artifacts / f"error_page_coverage_{lang}.png"))
    finally:
        page.context.close()


# --- /playback -----------------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
TRIAL_DAY = "2026-11-27"
M_PER_DEG_LON = 111_320 * 0.8488  # at 31.92° N


@pytest.fixture(scope="module")
def stopper(engine: Engine, live_server: str) -> Any:
    """An officer who stops six times for 3 minutes, 45 m apart, on 2026-11-27 (Beijing)."""
    device = make_device(engine, name="停留巡查员")
    t = datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
    lon, lat = CITY_LON + 0.01, CITY_LAT + 0.004
    fixes = []
    for _ in range(6):
        for _ in range(36):  # 3 min still
            fixes.append({"time": t.isoformat(), "lon": lon, "lat": lat, "accuracy_m": 5.0})
            t += timedelta(seconds=5)
        for _ in range(6):  # 30 s at 1.5 m/s: 45 m east
            lon += 1.5 * 5 / M_PER_DEG_LON
            fixes.append({"time": t.isoformat(), "lon": lon, "lat": lat, "accuracy_m": 5.0})
            t += timedelta(seconds=5)
    answer = send_fixes(live_server, device, fixes)
    assert answer["stored"] == len(fixes), answer
    return device


LABELS_APART = """() => {
  const boxes = [...document.querySelectorAll('.gridgis-stop-label')]
    .filter((e) => getComputedStyle(e).visibility !== 'hidden')
    .map((e) => e.getBoundingClientRect());
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) return false;
  }
  return boxes.length;
}"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_playback_from_lives_link_shows_its_day_and_declutters_stops(
    browser: Any, live_server: str, tokens: dict[str, str], stopper: Any, artifacts: Any,
    lang: str,
) -> None:  # fmt: skip
    path = _with_lang(f"/playback?device={stopper.id}&from={TRIAL_DAY}&to=2026-11-28", lang)
    page, seen = open_logged_in(
        browser, live_server, tokens["viewer"], path,
        "window.gridgisPlayback && window.gridgisPlayback.ready",
    )  # fmt: skip
    try:
        assert page.input_value("#gg-day") == TRIAL_DAY  # not today's day
        assert TRIAL_DAY in page.inner_text("#gg-head")
        state = page.evaluate("window.gridgisPlayback")
        assert state["stops"] >= 4, state
        # zoomed out, the six labels would cover one another: only some are shown, none overlap
        page.evaluate(f"{MAP}.setZoom(15, {{animate: false}})")
        wait_until(
            page, f"{MAP}.getZoom() === 15 && window.gridgisPlayback.labels < {state['stops']}"
        )
        shown = page.evaluate(LABELS_APART)
        assert shown is not False and 1 <= shown < state["stops"], shown
        assert page.evaluate("window.gridgisPlayback.labels") == shown
        page.screenshot(path=str(artifacts / f"playback_stops_decluttered_{lang}.png"))
        # a hidden label's words are in its stop's popup
        page.evaluate(
            "document.querySelector('.gridgis-stop-label.gridgis-label-hidden') && "
            f"Object.values({MAP}._layers).filter((l) => l.gridgisDuration !== undefined && "
            "l.getTooltip().getElement().classList.contains('gridgis-label-hidden'))[0]"
            ".openPopup() && null"
        )
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert ("停留 3 分钟" in popup) if lang == "zh" else ("Stop 3 min" in popup), popup
        # zoomed in, they are apart: more labels are shown, still none overlapping
        page.evaluate(f"{MAP}.closePopup(); {MAP}.setZoom(19, {{animate: false}})")
        wait_until(page, f"window.gridgisPlayback.labels > {shown}")
        assert page.evaluate(LABELS_APART) is not False
        # the scale bar: metric only
        scale = page.locator(".leaflet-control-scale-line")
        assert scale.count() == 1 and re.fullmatch(r"\d+ (m|km)", scale.inner_text())
        assert seen["errors"] == []
    finally:
        page.context.close()


# --- /events/map ---------------------------------------------------------------------------

EVENTS_READY = "window.gridgisEvents && window.gridgisEvents.ready"


@pytest.mark.parametrize(
    ("lang", "words", "retry"),
    [("zh", "加载事件列表失败：服务器出错（503）", "重试"),
     ("en", "Could not load the list of events: the server answered 503", "Retry")],
)  # fmt: skip
def test_events_list_that_fails_says_so_and_retries(
    browser: Any, live_server: str, tokens: dict[str, str], artifacts: Any, lang: str,
    words: str, retry: str,
) -> None:  # fmt: skip
    page, _ = open_logged_in(
        browser, live_server, tokens["viewer"], _with_lang("/events/map?days=3660", lang),
        EVENTS_READY,
    )  # fmt: skip
    try:
        failing = "**/api/v1/event-map/rows?**"
        page.route(failing, lambda route: route.fulfill(
            status=503, content_type="application/problem+json",
            body='{"title": "Service unavailable", "status": 503, '
                 '"detail": "the database is not answering"}'))  # fmt: skip
        page.evaluate("window.gridgisEvents.refresh(false) && null")  # the list asked again
        wait_until(page, "window.gridgisEvents.rowsFailed === true")
        item = page.locator("#events-list li.gridgis-events-failed")
        assert words in item.inner_text()
        if lang == "zh":
            assert not ENGLISH_SENTENCE.search(item.inner_text())
        page.screenshot(path=str(artifacts / f"events_list_failed_{lang}.png"))
        page.unroute(failing)
        page.click(f"#events-list button.gridgis-events-retry:has-text('{retry}')")
        wait_until(page, "window.gridgisEvents.rowsFailed === false")
        assert page.locator("#events-list li.gridgis-events-failed").count() == 0
        assert page.locator(".leaflet-control-scale-line").count() == 1
        assert re.fullmatch(r"\d+ (m|km)", page.inner_text(".leaflet-control-scale-line"))
    finally:
        page.context.close()


# --- tiles after the session ended ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/coverage", "window.gridgisCoverage !== undefined"),
        ("/map?lang=en", "window.gridgisReady !== undefined"),
        ("/map", "window.gridgisReady !== undefined"),
    ],
)
def test_a_tile_refused_after_the_session_ended_says_so(
    browser: Any, live_server: str, tokens: dict[str, str], artifacts: Any, path: str,
    ready: str,
) -> None:  # fmt: skip
    page, seen = open_logged_in(browser, live_server, tokens["viewer"], path, ready)
    try:
        page.wait_for_load_state("networkidle")
        assert page.evaluate(EXPIRED) is False
        scale = page.locator(".leaflet-control-scale-line")  # metric only, zh and en
        assert scale.count() == 1 and re.fullmatch(r"\d+ (m|km)", scale.inner_text())
        asked_before = len(seen["requests"])
        page.context.clear_cookies()  # the session is gone
        page.evaluate(f"{MAP}.setZoom({MAP}.getZoom() + 2) && null")  # new tiles
        wait_until(page, EXPIRED, timeout=20_000)
        asked = seen["requests"][asked_before:]
        assert any("/tiles/" in u for u in asked), asked
        assert any(f.startswith("401 ") and "/tiles/" in f for f in seen["failed"]), seen["failed"]
        text = page.inner_text("#gridgis-notice")
        assert ("session has expired" in text) if "lang=en" in path else ("登录已过期" in text)
        href = page.get_attribute(".gridgis-notice-login", "href") or ""
        assert href.startswith("/login?next=")
        name = path.strip("/").replace("?", "_").replace("=", "_")
        page.screenshot(path=str(artifacts / f"tiles_expired_{name}.png"))
    finally:
        page.context.close()


@pytest.mark.parametrize("path", ["/live", "/zones", "/playback?lang=en"])
def test_scale_bars_are_metric(
    browser: Any, live_server: str, tokens: dict[str, str], path: str
) -> None:
    page, _ = open_logged_in(
        browser, live_server, tokens["viewer"], path, "document.querySelector("
        "'.leaflet-control-scale-line') !== null",
    )  # fmt: skip
    try:
        scale = page.locator(".leaflet-control-scale-line")
        assert scale.count() == 1
        assert re.fullmatch(r"\d+ (m|km)", scale.inner_text()), scale.inner_text()
    finally:
        page.context.close()
