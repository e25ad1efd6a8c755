"""The officer and day picker of /playback and /live, and the links from a grid to the officers
who patrolled it (issue 15), in headless Chromium on the real app.

Proves: /playback with no device says so in the page's language and offers the picker; a
search by part of a name lists the officer with role and grid; picking him loads his track of
the chosen Beijing day in place (no reload), names him and the day in the header and puts
device and day in the address (Back returns to the empty page); a bad device or day is said
in the page's language (no raw API English on the zh page); /coverage's "who patrolled it"
links to his playback of the run's day; /playback?grid=&date= lists who patrolled that grid;
/live's picker shows an officer; zh and en; nothing is requested from anywhere but 127.0.0.1.
Screenshots in test-artifacts/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.api.test_coverage_api import DAY as COVERAGE_DAY
from tests.api.test_coverage_api import SHIFT, covered  # noqa: F401  (module fixture)
from tests.api.test_patrol_people import walker  # noqa: F401  (module fixture)
from tests.api.test_tracks_api import DAY
from tests.e2e.conftest import assert_offline_and_clean, open_logged_in, wait_until

pytestmark = pytest.mark.browser


def _named(live_server: str, token: str, code: str) -> tuple[str, str]:
    """The grid's name and its town's (GET /api/v1/grid-names): what the pages show instead of
    the raw code (issue 15, fault 6 of the last trial)."""
    import httpx

    r = httpx.get(f"{live_server}/api/v1/grid-names", params={"codes": code},
                  headers={"Authorization": f"Bearer {token}"}, timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text
    n = r.json()["names"][code]
    return n["name"], n["town"]


DONE = "window.gridgisPlayback !== undefined"
READY = "window.gridgisPlayback && window.gridgisPlayback.ready"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pick_an_officer_and_a_day(
    browser: Any, live_server: str, tokens: dict[str, str], artifacts: Any, walker: Any,  # noqa: F811
    lang: str,
) -> None:  # fmt: skip
    suffix = "?lang=en" if lang == "en" else ""
    page, seen = open_logged_in(browser, live_server, tokens["viewer"], f"/playback{suffix}", DONE)
    try:
        body = page.inner_text("body")
        assert ("Pick an officer" if lang == "en" else "请在右上角选择队员") in body
        page.fill("#gg-day", DAY.date().isoformat())
        page.fill("#gg-who", walker["name"][:5])
        option = page.locator(f"#gg-who-list button[data-device='{walker['device'].id}']")
        option.wait_for(timeout=20_000)
        label = option.inner_text()
        name, town = _named(live_server, tokens["viewer"], walker["code"])
        wait_until(page, f"document.querySelector('#gg-who-list').textContent.includes('{town}')")
        label = option.inner_text()
        # the grid by its name and town, never the raw code (the code on hover)
        assert walker["name"] in label and name in label and town in label, label
        assert walker["code"] not in label and option.get_attribute("title") == walker["code"]
        assert ("Grid worker" if lang == "en" else "网格员") in label
        page.evaluate("window.gridgisNoReload = true")  # gone if the page reloaded
        option.click()
        wait_until(page, READY, timeout=30_000)
        assert page.evaluate("window.gridgisNoReload") is True
        assert page.evaluate("window.gridgisPlayback.vertices") == 540
        head = page.inner_text("#gg-head")
        assert walker["name"] in head and DAY.date().isoformat() in head
        assert page.locator("path.gridgis-track").count() == 2
        assert f"device={walker['device'].id}" in page.url
        assert f"date={DAY.date().isoformat()}" in page.url
        assert page.inner_text("#gg-clock").startswith(DAY.strftime("%Y-%m-%d "))  # Beijing time
        page.screenshot(path=str(artifacts / f"playback_picker_{lang}.png"))
        page.go_back()
        wait_until(page, "window.gridgisPlayback && window.gridgisPlayback.error", 20_000)
        assert "device=" not in page.url
        assert page.locator("path.gridgis-track").count() == 0
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ("device=abc", "设备编号 abc 无效", "Input should be"),
        ("device=999999999", "没有编号为 999999999 的设备", "not found"),
        ("device=999999999&lang=en", "there is no device 999999999", "设备"),
        # a day that is no day is the 422 error page (tests/e2e/test_page_errors_language.py)
        # issue 15 (review r15): a bad grid was "the address names no device"
        ("grid=xyz", "网格编码 xyz 无效", "缺少设备编号"),
        ("grid=xyz&lang=en", "grid in the address (xyz)", "names no device"),
    ],
)
def test_bad_addresses_are_said_in_the_page_language(
    browser: Any, live_server: str, tokens: dict[str, str], query: str, expected: str,
    absent: str,
) -> None:  # fmt: skip
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], f"/playback?{query}", DONE)
    try:
        wait_until(page, "window.gridgisPlayback.error", 20_000)
        shown = page.inner_text("#gg-summary")
        assert expected in shown and absent not in shown, shown
    finally:
        page.context.close()


def test_coverage_links_to_the_playback_of_who_patrolled(
    browser: Any, live_server: str, tokens: dict[str, str], artifacts: Any, covered: Any,  # noqa: F811
) -> None:  # fmt: skip
    code = covered["code"]
    path = f"/coverage?date={COVERAGE_DAY}&shift={SHIFT}&area={code}"
    page, seen = open_logged_in(
        browser, live_server, tokens["viewer"], path, "window.gridgisCoverage !== undefined"
    )
    try:
        # other tests' officers may have patrolled the same grid that day: find ours by its link
        href = f"/playback?device={covered['device'].id}&date={COVERAGE_DAY}"
        link = page.locator(f'a.gridgis-cov-who-link[href="{href}"]')
        link.wait_for(timeout=30_000)
        link.click()
        wait_until(page, READY, timeout=60_000)
        assert "王五" in page.inner_text("#gg-head")
        assert COVERAGE_DAY in page.inner_text("#gg-head")
        page.screenshot(path=str(artifacts / "playback_from_coverage.png"))
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_grid_link_lists_who_patrolled_it(
    browser: Any, live_server: str, tokens: dict[str, str], walker: Any, lang: str,  # noqa: F811
) -> None:  # fmt: skip
    day = DAY.date().isoformat()
    suffix = "&lang=en" if lang == "en" else ""
    path = f"/playback?grid={walker['code']}&date={day}{suffix}"
    page, seen = open_logged_in(browser, live_server, tokens["viewer"], path, DONE)
    try:
        option = page.locator(f"#gg-who-list button[data-device='{walker['device'].id}']")
        option.wait_for(timeout=20_000)
        name, town = _named(live_server, tokens["viewer"], walker["code"])
        listed = page.inner_text("#gg-who-list")
        assert name in listed and town in listed and walker["code"] not in listed, listed
        assert ("patrolled grid" if lang == "en" else "巡查过的队员") in listed
        option.click()
        wait_until(page, READY, timeout=30_000)
        assert walker["name"] in page.inner_text("#gg-head")
        assert f"date={day}" in page.url
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_live_picker_opens_another_days_playback(
    browser: Any, live_server: str, tokens: dict[str, str], walker: Any,  # noqa: F811
) -> None:  # fmt: skip
    page, seen = open_logged_in(
        browser, live_server, tokens["viewer"], "/live", "typeof window.gridgisLive === 'object'"
    )
    try:
        page.fill("#gg-day", DAY.date().isoformat())
        page.fill("#gg-who", walker["name"])
        option = page.locator(f"#gg-who-list button[data-device='{walker['device'].id}']")
        option.wait_for(timeout=20_000)
        option.click()
        wait_until(page, READY, timeout=60_000)
        assert "/playback?" in page.url and f"date={DAY.date().isoformat()}" in page.url
        assert walker["name"] in page.inner_text("#gg-head")
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_front_page_grid_links_to_who_patrolled_it_today(
    browser: Any, live_server: str, tokens: dict[str, str], walker: Any,  # noqa: F811
    lang: str,
) -> None:  # fmt: skip
    from tests.e2e.test_home_page import _wait_selected, open_home

    code = walker["code"]
    suffix = "&lang=en" if lang == "en" else ""
    page, seen = open_home(browser, live_server, tokens["viewer"], f"/?sel={code}{suffix}")
    try:
        _wait_selected(page, code)
        link = page.locator("#panel-selection a.gridgis-patrolled-link").first
        today = page.evaluate(
            "new Intl.DateTimeFormat('en-CA', {timeZone: 'Asia/Shanghai', year: 'numeric',"
            " month: '2-digit', day: '2-digit'}).format(new Date())"
        )
        expected = f"/playback?grid={code}&date={today}" + ("&lang=en" if lang == "en" else "")
        assert link.get_attribute("href") == expected
        link.click()
        page.locator("#gg-who-list").wait_for(timeout=30_000)
        wait_until(page, "document.querySelector('#gg-who-list').textContent.length > 0", 60_000)
        listed = page.inner_text("#gg-who-list")
        name, town = _named(live_server, tokens["viewer"], code)
        assert name in listed and town in listed and today in listed, listed
        assert code not in listed, listed
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_event_popup_links_to_who_patrolled_its_grid(
    browser: Any, live_server: str, tokens: dict[str, str], demo_grids: Any,
) -> None:  # fmt: skip
    from tests.e2e.test_home_page import _report

    eid = _report(live_server, tokens["officer"], demo_grids, 7)
    page, seen = open_logged_in(
        browser, live_server, tokens["viewer"], "/events/map?days=3660",
        "window.gridgisEvents && window.gridgisEvents.ready",
    )  # fmt: skip
    try:
        page.evaluate("id => window.gridgisEvents.select(id)", eid)
        link = page.locator(f'.gridgis-event-popup[data-id="{eid}"] a.gridgis-patrolled-link')
        link.wait_for(timeout=30_000)
        href = link.get_attribute("href") or ""
        assert href.startswith("/playback?grid=3202") and "&date=20" in href
        assert link.inner_text() == "当天巡查过此网格的队员"
        link.click()
        wait_until(page, "document.querySelector('#gg-who-list').textContent.length > 0", 60_000)
        assert "巡查" in page.inner_text("#gg-who-list")
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_changing_the_day_is_one_history_entry_and_zh_words(
    browser: Any, live_server: str, tokens: dict[str, str], walker: Any,  # noqa: F811
) -> None:  # fmt: skip
    """Issue 15 (review r15): a day changed on the picker pushed two history entries; the zh
    summary said "km" (elsewhere 公里) and the stop count had no unit."""
    day = DAY.date().isoformat()
    path = f"/playback?device={walker['device'].id}&date={day}"
    page, seen = open_logged_in(browser, live_server, tokens["viewer"], path, READY)
    try:
        summary = page.inner_text("#gg-summary")
        assert "公里" in summary and " km" not in summary, summary
        assert re.search(r"停留 \d+ 次", summary), summary
        before = page.evaluate("history.length")
        other = (DAY.date() - timedelta(days=1)).isoformat()
        page.fill("#gg-day", other)
        wait_until(page, f"location.search.includes('date={other}')")
        page.wait_for_timeout(1000)  # a second push would come within the picker's 400 ms
        assert page.evaluate("history.length") == before + 1
        page.go_back()
        wait_until(page, f"location.search.includes('date={day}')")
        assert_offline_and_clean(seen)
    finally:
        page.context.close()
