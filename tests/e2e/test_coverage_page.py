"""The coverage page (/coverage, issue 6) in headless Chromium on the real app.

Proves: with fixes sent through ingest and a run computed over HTTP (the fixture of
tests/api/test_coverage_api.py), a logged-in viewer sees every town coloured by its H3 share,
the patrolled town in a coverage colour; real clicks at the patrolled point drill town ->
village -> unit grid; the unit grid's blind-spot hexagons (fetched from the API with the
session cookie) are drawn, as many as the API reports, and its officer is listed; the legend
states method and parameters; a date without a run names the command that computes it; nothing
is requested from anywhere but 127.0.0.1 and the console stays clean. Screenshots in
test-artifacts/.

Panels (maps/coverage_panels.py): the selected grid's covering tracks are drawn over it in the
officer's colour, as many as the tracks API returns; the trend of the selected area is an SVG
with one point per day that has a run in the last 14 days; the ranking of the level shown
lists its grids best first, each click drilling town -> village -> grid; the compliance panel
lists exactly the people below the threshold (``?threshold=`` changes who), and the export
links download CSV/XLSX; all in English with ``?lang=en``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from maps.coverage_map import NOT_PATROLLED
from maps.coverage_panels import TRACK_PALETTE
from maps.styles import label
from tests.api.test_coverage_api import (  # noqa: F401  (module fixtures)
    DAY,
    SHIFT,
    covered,
    second_day,
)
from tests.e2e.conftest import assert_offline_and_clean, open_logged_in, wait_until
from tests.tracks_support import CITY_LAT, CITY_LON

pytestmark = pytest.mark.browser
READY = "window.gridgisCoverage !== undefined"


def open_page(browser: Any, live_server: str, token: str, path: str) -> tuple[Any, dict]:
    return open_logged_in(browser, live_server, token, path, READY)


def click_city_point(page: Any) -> None:
    """A real mouse click at the patrolled point (inside the covered grid, village, town)."""
    x, y = page.evaluate(
        "(([lat, lon]) => { var m = window.gridgisCoverageMap;"
        " var p = m.latLngToContainerPoint([lat, lon]); var r = m.getContainer()"
        ".getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; })",
        [CITY_LAT, CITY_LON],
    )
    page.mouse.click(x, y)


def state(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("window.gridgisCoverage"))


def extras(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("window.gridgisCoverageExtras"))


def box_of(page: Any, selector: str) -> dict[str, float]:
    return dict(page.locator(selector).first.bounding_box())


def fill_of(page: Any, level: int, code: str) -> str:
    return str(page.get_attribute(f"path.gridgis-cov-l{level}[data-code='{code}']", "fill"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_coverage_page_drills_down_to_blind_spots(
    browser,
    live_server,
    tokens,
    client,
    covered,  # noqa: F811  (the imported module fixture)
    second_day,  # noqa: F811  (a second day with a run: two points in the trend)
    artifacts,
    lang,
) -> None:  # type: ignore[no-untyped-def]
    code = covered["code"]
    town, village = code[:9], code[:12]
    detail = client.get(f"/api/v1/coverage/grids/{code}", params={"date": DAY, "shift": SHIFT})
    blind_expected = len(detail.json()["blind_spots"]["features"])
    tracks = client.get(
        f"/api/v1/coverage/grids/{code}/tracks", params={"date": DAY, "shift": SHIFT}
    ).json()["features"]
    everyone_below = client.get(
        "/api/v1/coverage/compliance", params={"date": DAY, "shift": SHIFT, "below_only": True}
    ).json()["data"]
    below = [r for r in everyone_below if not r["absent"]]  # sent fixes, but too few inside
    absent = len(everyone_below) - len(below)
    suffix = "&lang=en" if lang == "en" else ""
    page, seen = open_page(
        browser, live_server, tokens["viewer"], f"/coverage?date={DAY}&shift={SHIFT}{suffix}"
    )
    try:
        # towns: all drawn, the patrolled one in a coverage colour, the rest "not patrolled"
        assert state(page) == {
            "level": 1, "parent": None, "shown": 17, "selected": None, "blind": None,
            "who": None, "missing": False,
        }  # fmt: skip
        assert page.locator("path.gridgis-cov-l1").count() == 17
        fills = page.evaluate(
            "[...document.querySelectorAll('path.gridgis-cov-l1')]"
            ".map(p => [p.dataset.code, p.getAttribute('fill')])"
        )
        assert {c for c, f in fills if f != NOT_PATROLLED.lower()} == {town}
        body = page.inner_text("body")
        assert label("coverage_legend_title", lang) in body
        assert label("coverage_method_h3", lang, r=10, d="30") in body  # method and parameters
        assert label("coverage_method_gap", lang, s="300") in body
        assert page.input_value("input[name=date]") == DAY
        page.screenshot(path=str(artifacts / f"coverage_page_towns_{lang}.png"))

        click_city_point(page)  # town -> its villages
        wait_until(page, "window.gridgisCoverage.level === 2")
        s = state(page)
        assert s["parent"] == town and s["shown"] == page.locator("path.gridgis-cov-l2").count()
        assert page.locator("path.gridgis-cov-l1").count() == 0
        assert fill_of(page, 2, village) != NOT_PATROLLED

        click_city_point(page)  # village -> its unit grids
        wait_until(page, "window.gridgisCoverage.level === 3")
        s = state(page)
        assert s["parent"] == village and s["shown"] == page.locator("path.gridgis-cov-l3").count()
        codes = page.evaluate(
            "[...document.querySelectorAll('path.gridgis-cov-l3')].map(p => p.dataset.code)"
        )
        assert code in codes and all(c.startswith(village) for c in codes)

        click_city_point(page)  # unit grid -> blind spots and who covered it
        wait_until(page, "window.gridgisCoverage.blind !== null", timeout=30_000)
        s = state(page)
        assert s["selected"] == code and s["who"] >= 1
        assert s["blind"] == blind_expected > 0
        assert page.locator("path.gridgis-cov-blind").count() == blind_expected
        panel = page.inner_text(".gridgis-cov-panel")
        assert "王五" in panel and label("coverage_who", lang) in panel
        assert label("coverage_blind_count", lang, n=blind_expected) in panel

        # its covering tracks, one colour per officer, over the grid
        wait_until(
            page,
            f"window.gridgisCoverageExtras.tracksCode === '{code}'"
            f" && window.gridgisCoverageExtras.trendCode === '{code}'",
        )
        x = extras(page)
        assert x["tracks"] == len(tracks) == page.locator("path.gridgis-cov-track").count() >= 1
        mine = f"path.gridgis-cov-track[data-device='{covered['device'].external_id}']"
        colour = next(
            f["properties"]["colour"] for f in tracks
            if f["properties"]["device_id"] == covered["device"].id
        )  # fmt: skip
        assert page.get_attribute(mine, "stroke") == TRACK_PALETTE[colour]
        track, grid = box_of(page, mine), box_of(page, f"path.gridgis-cov-l3[data-code='{code}']")
        assert grid["x"] <= track["x"] <= grid["x"] + grid["width"]
        assert grid["y"] <= track["y"] <= grid["y"] + grid["height"]
        panel = page.inner_text(".gridgis-cov-panel")
        assert label("coverage_tracks", lang) in panel
        # the selected grid's trend: DAY2 and DAY in the last 14 days, two series
        assert x["trend"] == 2
        trend = page.locator(".gridgis-cov-panel svg.gridgis-cov-trend")
        assert trend.get_attribute("data-points") == "2"
        assert trend.locator("circle.gridgis-cov-trend-point").count() == 4
        assert label("coverage_trend", lang, n=14) in panel
        # the ranking of the village's unit grids: the patrolled one first
        items = page.locator(".gridgis-cov-rank-item")
        assert items.count() == x["ranking"] == min(s["shown"], 10)
        assert items.first.get_attribute("data-code") == code
        csv = page.get_attribute(".gridgis-cov-panel .gridgis-cov-export-csv", "href")
        asked = parse_qs(urlsplit(csv).query)
        assert (asked["level"], asked["parent"], asked["format"]) == (["3"], [village], ["csv"])
        assert client.get(csv).text.startswith("\ufeff排名,网格编码")
        # the compliance panel: exactly the people below the threshold
        wait_until(page, "window.gridgisCoverageExtras.compliance !== null")
        rows = page.locator(".gridgis-cov-compliance-row")
        assert extras(page)["compliance"] == rows.count() == len(below) >= 1
        if absent:  # people with no fix at all are counted, not listed one by one
            hint = page.inner_text(".gridgis-cov-absent")
            assert hint == label("coverage_absent", lang, n=absent)
        me = page.inner_text(
            f".gridgis-cov-compliance-row[data-person='{covered['device'].person_id}']"
        )
        assert "王五" in me and "41.4%" in me and "0:35" in me  # inside share, 35 min silent
        assert label("coverage_compliance", lang, p="80%") in page.inner_text("body")
        xlsx = page.get_attribute(".gridgis-cov-compliance .gridgis-cov-export-xlsx", "href")
        assert "below_only=true" in xlsx and client.get(xlsx).content[:2] == b"PK"
        page.wait_for_load_state("networkidle")
        name = "coverage_page.png" if lang == "zh" else "coverage_page_en.png"
        page.screenshot(path=str(artifacts / name))

        page.locator(".gridgis-cov-crumbs a").first.click()  # back to the whole city
        wait_until(page, "window.gridgisCoverage.level === 1")
        assert page.locator("path.gridgis-cov-blind").count() == 0
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_coverage_page_without_run_says_how_to_compute(
    browser,
    live_server,
    tokens,
    covered,  # noqa: F811  (the imported module fixture)
    artifacts,
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_page(browser, live_server, tokens["viewer"], "/coverage?date=2020-01-01")
    try:
        assert state(page)["missing"] is True and state(page)["shown"] == 17
        message = page.inner_text(".gridgis-cov-missing")
        assert label("coverage_no_run", "zh", date="2020-01-01", shift="全天") in message
        assert "gridgis coverage --date 2020-01-01" in message
        page.screenshot(path=str(artifacts / "coverage_page_missing.png"))
        # the date picker reloads the page for the day that has a run
        page.fill("input[name=date]", DAY)
        page.fill("input[name=shift]", SHIFT)
        page.click(".gridgis-cov-form button[type=submit]")
        page.wait_for_url(f"**/coverage?date={DAY}**")
        wait_until(page, READY + " && window.gridgisCoverage.missing === false")
        assert page.locator(".gridgis-cov-missing").count() == 0
        page.screenshot(path=str(artifacts / "coverage_page_after_date_form.png"))
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_ranking_drills_to_a_grid_and_threshold_picks_who_is_listed(
    browser,
    live_server,
    tokens,
    covered,  # noqa: F811  (the imported module fixture)
    second_day,  # noqa: F811
    artifacts,
) -> None:  # type: ignore[no-untyped-def]
    code = covered["code"]
    page, seen = open_page(
        browser, live_server, tokens["viewer"],
        f"/coverage?date={DAY}&shift={SHIFT}&threshold=0.3&lang=en",
    )  # fmt: skip
    try:
        assert page.input_value("input[name=threshold]") == "0.3"
        body = page.inner_text("body")
        assert (
            label("coverage_ranking", "en") in body and label("coverage_trend", "en", n=14) in body
        )
        wait_until(page, "window.gridgisCoverageExtras.compliance !== null")
        listed = page.eval_on_selector_all(
            ".gridgis-cov-compliance-row", "rs => rs.map(r => Number(r.dataset.person))"
        )
        assert covered["device"].person_id not in listed  # 41 % inside: above 30 %
        # no fix at all on DAY (it walked on DAY2): counted as absent, not listed
        assert second_day["device"].person_id not in listed
        assert "sent no GPS fix" in page.inner_text(".gridgis-cov-absent")
        assert label("coverage_compliance", "en", p="30%") in body
        # towns best first: the patrolled town, then its village, then the grid itself
        for level, want in ((1, code[:9]), (2, code[:12]), (3, code)):
            assert page.locator(".gridgis-cov-rank-item").first.get_attribute("data-code") == want
            page.locator(".gridgis-cov-rank-item").first.click()
            if level < 3:
                wait_until(page, f"window.gridgisCoverage.level === {level + 1}")
                assert page.evaluate("window.gridgisCoverage.parent") == want
        wait_until(
            page,
            f"window.gridgisCoverage.selected === '{code}' && window.gridgisCoverage.blind !== null"
            f" && window.gridgisCoverageExtras.tracksCode === '{code}'",
        )
        assert page.locator("path.gridgis-cov-track").count() >= 1
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(artifacts / "coverage_page_ranking_en.png"))
        assert_offline_and_clean(seen)
    finally:
        page.context.close()
