"""The rows a front-page panel leaves out (issue 15, the operator's re-trial): "另有 N 项未列出 ·
查看全部" counts the server's true total (the page receives only 30 of the overdue cases) and
links to a page listing all of them: the overdue cases to /events/map?overdue=true (all of
them on its map and in its list's count), today's events to /events/map?from=<today>, the
offline officers to /live?offline_min=…; the big screen shows the true count and no link.
The KPI panel's figures follow one rule: a rate with no denominator is "—" with a tooltip
saying why, never 0.0% or blank. Headless Chromium at 1920×1080, zh and en. Screenshots
test-artifacts/home_more_*.png."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.home_support import open_home_at, overdue_cases, settle
from tests.tracks_support import make_device, send_fixes

pytestmark = pytest.mark.browser

OVERDUE = 36  # more than the 30 rows the panel receives
WORDS = {"zh": ("另有", "查看全部"), "en": ("more not listed", "see all")}


@pytest.fixture(scope="module")
def many_overdue(engine, live_server, tokens, demo_grids) -> Any:  # type: ignore[no-untyped-def]
    yield from overdue_cases(
        engine, live_server, tokens["officer"], demo_grids, first=300, n=OVERDUE
    )


@pytest.fixture(scope="module")
def silent_officers(engine, live_server, demo_grids) -> int:  # type: ignore[no-untyped-def]
    """Nine officers whose last fix (in a grid of the city) is 2 to 3 hours old."""
    l3 = demo_grids[demo_grids.level == 3].sort_values("code")
    now = datetime.now(UTC)
    for k in range(9):
        p = l3.iloc[400 + 7 * k].geometry.representative_point()
        device = make_device(engine, name=f"静默{k}")
        fix = {"time": (now - timedelta(minutes=120 + 5 * k)).isoformat(), "lon": p.x,
               "lat": p.y, "accuracy_m": 5.0}  # fmt: skip
        assert send_fixes(live_server, device, [fix])["stored"] == 1
    time.sleep(5.5)  # an earlier page's patrols panel, cached 5 s (GRIDGIS_DASHBOARD_CACHE_S)
    return 9


def _figure(page: Any, selector: str) -> int:
    return int(re.sub(r"[^0-9]", "", page.inner_text(selector)))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_see_all_of_the_overdue_leads_to_a_list_holding_all_of_them(
    browser, live_server, tokens, artifacts, many_overdue, lang
) -> None:  # type: ignore[no-untyped-def]
    page = open_home_at(browser, live_server, tokens["viewer"], lang=lang, big=False, layers=True)
    try:
        wait_until(page, "document.querySelector('#panel-overdue .fit-more a.fit-more-link')")
        settle(page)
        page.screenshot(path=str(artifacts / f"home_more_{lang}.png"))
        total = _figure(page, "#panel-events .now-figures .kv.alert .v")
        assert total >= OVERDUE
        shown = page.locator("#panel-overdue li.event-item:visible").count()
        assert 1 <= shown < total
        note = page.inner_text("#panel-overdue .fit-more")
        for word in WORDS[lang]:
            assert word in note, note
        assert re.search(rf"\b{total - shown}\b", note), (note, total, shown)
        href = page.get_attribute("#panel-overdue .fit-more a", "href")
        assert href.startswith("/events/map?") and "overdue=true" in href, href
        assert ("lang=en" in href) == (lang == "en"), href
        # every panel's list that leaves rows out links to its page, the live feed included
        live = page.get_attribute("#panel-live .panel-body", "data-more-href")
        assert "from=" in live and live.startswith("/events/map?"), live
        page.click("#panel-overdue .fit-more a")
        page.wait_for_url(re.compile(r"/events/map\?"))
        wait_until(page, "window.gridgisEvents && window.gridgisEvents.ready")
        listed = page.evaluate("window.gridgisEvents.count")
        on_map = page.evaluate("window.gridgisEvents.events")
        assert listed == on_map == total, (listed, on_map, total)
        markers = page.evaluate("Object.keys(window.gridgisEvents.markers).map(Number)")
        assert set(many_overdue) <= set(markers)
        assert page.evaluate("window.gridgisEvents.overdue") == total
        page.screenshot(path=str(artifacts / f"home_more_events_list_{lang}.png"))
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_big_screen_counts_true_and_has_no_link(
    browser, live_server, tokens, artifacts, many_overdue, lang
) -> None:  # type: ignore[no-untyped-def]
    page = open_home_at(browser, live_server, tokens["viewer"], lang=lang, big=True)
    try:
        wait_until(page, "document.querySelector('#panel-overdue .fit-more')")
        settle(page)
        page.screenshot(path=str(artifacts / f"home_more_big_{lang}.png"))
        total = _figure(page, "#panel-events .now-figures .kv.alert .v")
        shown = page.locator("#panel-overdue li.event-item:visible").count()
        note = page.inner_text("#panel-overdue .fit-more")
        assert re.search(rf"\b{total - shown}\b", note), (note, total, shown)
        assert WORDS[lang][1] not in note
        assert page.locator(".fit-more a").count() == 0
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_offline_officers_see_all_opens_live_filtered(
    browser, live_server, tokens, artifacts, silent_officers, lang
) -> None:  # type: ignore[no-untyped-def]
    page = open_home_at(browser, live_server, tokens["viewer"], lang=lang, big=False)
    try:
        wait_until(page, "document.querySelector('#panel-patrols ul.silent')")
        settle(page)
        offline = _figure(page, "#panel-patrols .now-figures .kv.alert .v")
        assert offline >= silent_officers
        assert page.get_attribute("#panel-patrols ul.silent", "data-total") == str(offline)
        shown = page.locator("#panel-patrols ul.silent li:visible").count()
        href = page.get_attribute("#panel-patrols ul.silent", "data-more-href")
        assert href.startswith("/live?") and "offline_min=30" in href, href
        if shown < offline:  # the note counts the rest and links to them
            note = page.inner_text("#panel-patrols ul.silent + .fit-more")
            assert re.search(rf"\b{offline - shown}\b", note), (note, offline, shown)
            assert page.get_attribute("#panel-patrols ul.silent + .fit-more a", "href") == href
        page.goto(live_server + href)
        wait_until(page, "window.gridgisLive && window.gridgisLive.updated")
        assert page.evaluate("window.gridgisLive.count") == offline
        assert page.evaluate("window.gridgisLive.online") == 0
        assert page.locator(".gridgis-live-filter a").count() == 1
        page.screenshot(path=str(artifacts / f"home_more_live_{lang}.png"))
    finally:
        page.context.close()


def test_offline_officers_of_a_town_open_live_filtered_to_the_town(
    browser, live_server, tokens, demo_grids, silent_officers
) -> None:  # type: ignore[no-untyped-def]
    town = demo_grids[demo_grids.level == 3].sort_values("code").iloc[400].code[:9]
    page = open_home_at(browser, live_server, tokens["viewer"], lang="zh", big=False)
    try:
        page.evaluate(f"GridGIS.home.select('{town}', true)")
        wait_until(
            page, f"document.querySelector('#panel-patrols ul.silent')?.dataset.moreHref"
            f"?.includes('scope={town}')",
        )  # fmt: skip
        offline = _figure(page, "#panel-patrols .now-figures .kv.alert .v")
        assert offline >= 1
        href = page.get_attribute("#panel-patrols ul.silent", "data-more-href")
        page.goto(live_server + href)
        wait_until(page, "window.gridgisLive && window.gridgisLive.updated")
        assert page.evaluate("window.gridgisLive.count") == offline
        assert page.get_attribute(".gridgis-live-filter span", "title") == town
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_kpi_figures_follow_one_rule(browser, live_server, tokens, lang) -> None:  # type: ignore[no-untyped-def]
    """Every "—" of the tiles and the ranking carries its reason; a count is a number."""
    page = open_home_at(browser, live_server, tokens["viewer"], lang=lang, big=False)
    try:
        wait_until(page, "document.querySelectorAll('#panel-kpis .kpi').length === 7")
        cells = page.evaluate(
            "[...document.querySelectorAll('#panel-kpis .kpi-v, #panel-kpis table.ranking td.num')]"
            ".map(e => [e.textContent, e.title, e.closest('.kpi')?.className || ''])"
        )
        for text_, title, cls in cells:
            assert text_ != "", cells
            if text_ == "—":
                assert title, (text_, cls)  # the reason in the tooltip
            if "kpi-patrol" in cls:
                assert re.fullmatch(r"[0-9,]+", text_), text_  # a count is a number
    finally:
        page.context.close()
