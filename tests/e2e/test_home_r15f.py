"""The front page after the re-trial R15f of issue 15 (headless Chromium at 1920×1080):

- another selection starts the live feed afresh: going from a village to the city does not
  call the city's older events "新事件";
- the event dots that cannot be refreshed say so under their legend, with a Retry (they
  disappeared silently);
- a failure answered without words in the page's language (a proxy's bare 502, an English
  problem title on a Chinese page) reads "服务器暂不可用（HTTP 502）", never a bare "502";
- a village's failed detail names the village ("村（社区）详情"), not "网格详情";
- the KPI ranking's "查看全部" lists the panel's own rows (the selection's units, as at the
  panel's time) in the dialog, with its header, rather than downloading another ranking.
Screenshots test-artifacts/home_r15f_*.png."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.home_support import ALL_OPEN, open_home_at, settle
from tests.e2e.test_home_case_popup import POPUP, centre_on_dot
from tests.e2e.test_home_page import _report, open_home

pytestmark = pytest.mark.browser

LOADED = "(GridGIS.home.state.loaded['panel-live'] || 0)"


def _path_is(path: str) -> Any:
    return lambda url: urlsplit(url).path == path


def test_another_selection_starts_the_live_feed_afresh(
    browser, live_server, tokens, demo_grids
) -> None:  # type: ignore[no-untyped-def]
    units = demo_grids[demo_grids.level == 3].sort_values("code")
    _report(live_server, tokens["officer"], demo_grids, 3)  # the city's newest event
    elsewhere = sorted(set(demo_grids[demo_grids.level == 2].code)
                       - {units.iloc[3]["parent_code"]})[-1]  # fmt: skip
    page, _ = open_home(browser, live_server, tokens["viewer"], f"/?sel={elsewhere}")
    try:
        wait_until(page, f"{LOADED} > 0 && GridGIS.home.state.sel === '{elsewhere}'")
        before = page.evaluate(LOADED)
        wait_until(page, "document.querySelector('#home-crumbs a.crumb')")
        page.click("#home-crumbs a.crumb >> nth=0")  # 全市
        wait_until(page, f"{LOADED} > {before} && GridGIS.home.state.sel === ''")
        assert page.locator("#panel-live .fresh").count() == 0, page.inner_text("#panel-live")
        assert page.locator("#panel-live li.new").count() == 0
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_event_dots_that_fail_say_so_under_their_legend(
    browser, live_server, tokens, artifacts, lang
) -> None:  # type: ignore[no-untyped-def]
    page = open_home_at(browser, live_server, tokens["viewer"], lang=lang, big=False)
    path = _path_is("/api/v1/dashboard/events/points")

    def bad_gateway(route: Any) -> None:  # a proxy's answer: no JSON, no words
        route.fulfill(status=502, body="<html>Bad Gateway</html>", content_type="text/html")

    try:
        wait_until(page, "GridGIS.home.events.getLayers().length > 0")
        dots = page.evaluate("GridGIS.home.events.getLayers().length")
        page.route(path, bad_gateway)
        page.evaluate("GridGIS.home.select(GridGIS.home.state.sel, false)")
        wait_until(page, "document.querySelector('.home-legend .legend-failed')")
        page.screenshot(path=str(artifacts / f"home_r15f_points_failed_{lang}.png"))
        said = page.inner_text(".home-legend .legend-failed")
        words = {
            "zh": "加载事件（按状态）失败：服务器暂不可用（HTTP 502）",
            "en": "Could not load the events on the map: the server is unavailable (HTTP 502)",
        }[lang]
        assert words in said, said
        # the dots of the last answer stay on the map
        assert page.evaluate("GridGIS.home.events.getLayers().length") == dots
        page.unroute(path, bad_gateway)
        page.click(".home-legend .legend-failed button.panel-retry")
        wait_until(page, "!document.querySelector('.home-legend .legend-failed')")
    finally:
        page.context.close()


# a village's detail answered by (status, content type, body): what its panel must say
DETAIL_FAILURES = {
    # an English problem on a Chinese page: its kind in Chinese, not its words
    "english-problem": (500, "application/problem+json",
                        '{"title": "Internal error", "detail": "an unexpected error"}',
                        "加载村（社区）详情失败：服务器内部错误（HTTP 500）"),
    # re-trial R15g: a proxy's 404 page on a valid code was called "不是本市的网格编码" and the
    # page switched to the city
    "proxy-404": (404, "text/html", "<html>Not Found</html>",
                  "加载村（社区）详情失败：未找到（HTTP 404）"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(DETAIL_FAILURES))
def test_a_failed_village_detail_names_the_village_in_chinese(
    browser, live_server, tokens, demo_grids, case
) -> None:  # type: ignore[no-untyped-def]
    status, content_type, body, words = DETAIL_FAILURES[case]
    village = sorted(demo_grids[demo_grids.level == 2].code)[0]
    page, _ = open_home(browser, live_server, tokens["viewer"], f"/?sel={village}")

    def failing(route: Any) -> None:
        route.fulfill(status=status, content_type=content_type, body=body)

    try:
        match = lambda url: urlsplit(url).path.startswith("/api/v1/dashboard/grid/")  # noqa: E731
        page.route(match, failing)
        page.evaluate("GridGIS.home.select(GridGIS.home.state.sel, false)")
        wait_until(page, "document.querySelector('#panel-selection .panel-failed')")
        said = page.inner_text("#panel-selection .panel-failed")
        assert words in said, said
        assert "unexpected" not in said and "网格详情" not in said, said
        # a failure, not a bad address: the village stays selected, with no warning
        assert page.evaluate("GridGIS.home.state.sel") == village
        assert page.locator("#panel-selection .sel-warning").count() == 0
    finally:
        page.context.close()


LONG_NAME = "江阴高新技术产业开发区澄江街道办事处"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_rankings_see_all_lists_the_panels_own_rows(
    browser, live_server, tokens, demo_grids, artifacts, lang
) -> None:  # type: ignore[no-untyped-def]
    # the test city has no case in the period: the server's answer is given a ranking of
    # every town (the panel draws what the server ranked; the dialog must list the same)
    towns = sorted(demo_grids[demo_grids.level == 1].code)

    # the city's real answer, given a ranking of every town; answered at once (no request in
    # flight when the page closes)
    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    body = httpx.get(f"{live_server}/api/v1/dashboard/kpis?scope=", headers=auth, timeout=60).json()
    body["ranking_level"] = 1
    body["ranking"] = [
        {"key": code, "name": LONG_NAME if k == 0 else f"镇{k:02d}", "rank": k + 1,
         "closure_rate": 0.9 - k / 100, "proper_handling_rate": 0.95 - k / 100}
        for k, code in enumerate(towns)
    ]  # fmt: skip

    def ranked(route: Any) -> None:
        route.fulfill(json=body)

    page = open_home_at(browser, live_server, tokens["viewer"], lang=lang, big=False)
    try:
        page.route(_path_is("/api/v1/dashboard/kpis"), ranked)
        page.evaluate("GridGIS.home.select('', false)")
        # the faked answer drawn (not a real ranking the page showed before)
        wait_until(page, "document.querySelectorAll('#panel-kpis table.ranking tr.link').length"
                         f" === {len(towns)}")  # fmt: skip
        page.set_viewport_size({"width": 1920, "height": 760})  # too short for every town
        settle(page)
        rows = page.evaluate("[...document.querySelectorAll('#panel-kpis table.ranking tr.link')]"
                             ".map(r => r.getAttribute('data-code'))")  # fmt: skip
        more = page.locator("#panel-kpis .fit-more")
        assert more.count() == 1, "the short screen was expected to leave rankings out"
        assert page.locator("#panel-kpis .fit-more a").count() == 0  # no download
        more.locator("button.fit-more-all").click()
        wait_until(page, ALL_OPEN)
        page.screenshot(path=str(artifacts / f"home_r15f_ranking_all_{lang}.png"))
        listed = page.evaluate("[...document.querySelectorAll('#home-all-body tr.link')]"
                               ".map(r => r.getAttribute('data-code'))")  # fmt: skip
        assert listed == rows
        # a long name is cut with "…" in its fixed column: whole in its tooltip (dialog, panel)
        for where in ("#home-all-body", "#panel-kpis table.ranking"):
            cell = page.locator(f"{where} tr[data-code='{towns[0]}'] td:nth-child(2)")
            assert cell.get_attribute("title") == LONG_NAME, where
        header = page.inner_text("#home-all-body tr:first-child")
        assert ("名次" if lang == "zh" else "Rank") in header, header
        # a row chosen in the dialog selects it, as in the panel
        page.click(f"#home-all-body tr[data-code='{rows[-1]}']")
        wait_until(page, f"GridGIS.home.state.sel === '{rows[-1]}'")
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_case_that_cannot_be_loaded_says_what_failed_with_a_retry(
    browser, live_server, tokens, demo_grids, lang
) -> None:  # type: ignore[no-untyped-def]
    """Re-trial R15g: the case popup said "操作失败（502）。" when the case could not be
    loaded (nothing was acted on, and a bare 502)."""
    event_id = _report(live_server, tokens["officer"], demo_grids, 9)
    page = open_home_at(browser, live_server, tokens["dispatcher"], lang=lang, big=False)
    path = _path_is(f"/api/v1/events/{event_id}")

    def bad_gateway(route: Any) -> None:
        route.fulfill(status=502, body="<html>Bad Gateway</html>", content_type="text/html")

    try:
        page.route(path, bad_gateway)
        page.evaluate(f"GridGIS.home.openCase({event_id}, GridGIS.home.map.getCenter()) && null")
        wait_until(page, "document.querySelector('.leaflet-popup-content .gridgis-event-error')")
        said = page.inner_text(".leaflet-popup-content .gridgis-event-error")
        words = {
            "zh": "加载事件详情失败：服务器暂不可用（HTTP 502）",
            "en": "Could not load the event: the server is unavailable (HTTP 502)",
        }[lang]
        assert words in said, said
        page.unroute(path, bad_gateway)
        page.click(".leaflet-popup-content button.gridgis-event-retry")
        wait_until(page, "document.querySelector('.leaflet-popup-content .gridgis-event-popup"
                         f"[data-id]')?.getAttribute('data-id') === '{event_id}'")  # fmt: skip
    finally:
        page.context.close()


def test_events_under_one_dot_are_each_reachable(browser, live_server, tokens, demo_grids) -> None:  # type: ignore[no-untyped-def]
    """Two cases reported at one place: the popup of the dot on top lists the other, which
    opens its own case (only the top one could be clicked)."""
    first = _report(live_server, tokens["officer"], demo_grids, 1201)
    second = _report(live_server, tokens["officer"], demo_grids, 1201)
    page = open_home_at(browser, live_server, tokens["dispatcher"], lang="zh", big=False)
    try:
        wait_until(page, f"GridGIS.home.events.getLayers().some(m => m.gridgisEventId === {first})")
        xy = centre_on_dot(page, first)
        page.wait_for_timeout(300)
        page.mouse.click(xy[0], xy[1])
        wait_until(page, "document.querySelector('.leaflet-popup-content .home-case-others')")
        top = page.get_attribute(POPUP, "data-id")
        other = str(second if top == str(first) else first)
        assert top in (str(first), str(second)), top
        assert "此处还有" in page.inner_text(".leaflet-popup-content .home-case-others")
        page.click(f".leaflet-popup-content .home-case-other[data-id='{other}']")
        shown = f"document.querySelector('{POPUP}')?.getAttribute('data-id')"
        wait_until(page, f"{shown} === '{other}'")
        # and back: the one first shown is listed under the other
        page.click(f".leaflet-popup-content .home-case-other[data-id='{top}']")
        wait_until(page, f"{shown} === '{top}'")
    finally:
        page.context.close()


def test_english_counts_of_one_are_singular(browser, live_server, tokens, demo_grids) -> None:  # type: ignore[no-untyped-def]
    page = open_home_at(browser, live_server, tokens["viewer"], lang="en", big=False)
    try:
        said = page.evaluate(
            "[GridGIS.home.words('new_events', {n: 1}), GridGIS.home.words('new_events', {n: 3}),"
            " GridGIS.home.words('persons', {n: '1'}), GridGIS.home.words('persons', {n: 2})]"
        )
        assert said == ["1 new event", "3 new events", "1 officer", "2 officers"], said
    finally:
        page.context.close()
