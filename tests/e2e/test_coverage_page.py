"""The coverage page (/coverage, issue 6) in headless Chromium on the real app.

Proves: with fixes sent through ingest and a run computed over HTTP (the fixture of
tests/api/test_coverage_api.py), a logged-in viewer sees every town coloured by its H3 share,
the patrolled town in a coverage colour; real clicks at the patrolled point drill town ->
village -> unit grid; the unit grid's blind-spot hexagons (fetched from the API with the
session cookie) are drawn, as many as the API reports, and its officer is listed; the legend
states method and parameters; a date without a run names the command that computes it; nothing
is requested from anywhere but 127.0.0.1 and the console stays clean. Screenshots in
test-artifacts/.
"""

from __future__ import annotations

from typing import Any

import pytest

from maps.coverage_map import NOT_PATROLLED
from maps.styles import label
from tests.api.test_coverage_api import DAY, SHIFT, covered  # noqa: F401  (module fixture)
from tests.e2e.conftest import assert_offline_and_clean, open_logged_in
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


def fill_of(page: Any, level: int, code: str) -> str:
    return str(page.get_attribute(f"path.gridgis-cov-l{level}[data-code='{code}']", "fill"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_coverage_page_drills_down_to_blind_spots(
    browser,
    live_server,
    tokens,
    client,
    covered,  # noqa: F811  (the imported module fixture)
    artifacts,
    lang,
) -> None:  # type: ignore[no-untyped-def]
    code = covered["code"]
    town, village = code[:9], code[:12]
    detail = client.get(f"/api/v1/coverage/grids/{code}", params={"date": DAY, "shift": SHIFT})
    blind_expected = len(detail.json()["blind_spots"]["features"])
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
        page.wait_for_function("window.gridgisCoverage.level === 2")
        s = state(page)
        assert s["parent"] == town and s["shown"] == page.locator("path.gridgis-cov-l2").count()
        assert page.locator("path.gridgis-cov-l1").count() == 0
        assert fill_of(page, 2, village) != NOT_PATROLLED

        click_city_point(page)  # village -> its unit grids
        page.wait_for_function("window.gridgisCoverage.level === 3")
        s = state(page)
        assert s["parent"] == village and s["shown"] == page.locator("path.gridgis-cov-l3").count()
        codes = page.evaluate(
            "[...document.querySelectorAll('path.gridgis-cov-l3')].map(p => p.dataset.code)"
        )
        assert code in codes and all(c.startswith(village) for c in codes)

        click_city_point(page)  # unit grid -> blind spots and who covered it
        page.wait_for_function("window.gridgisCoverage.blind !== null", timeout=30_000)
        s = state(page)
        assert s["selected"] == code and s["who"] >= 1
        assert s["blind"] == blind_expected > 0
        assert page.locator("path.gridgis-cov-blind").count() == blind_expected
        panel = page.inner_text(".gridgis-cov-panel")
        assert "王五" in panel and label("coverage_who", lang) in panel
        assert label("coverage_blind_count", lang, n=blind_expected) in panel
        page.wait_for_load_state("networkidle")
        name = "coverage_page.png" if lang == "zh" else "coverage_page_en.png"
        page.screenshot(path=str(artifacts / name))

        page.locator(".gridgis-cov-crumbs a").first.click()  # back to the whole city
        page.wait_for_function("window.gridgisCoverage.level === 1")
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
        page.wait_for_function(READY + " && window.gridgisCoverage.missing === false")
        assert page.locator(".gridgis-cov-missing").count() == 0
        page.screenshot(path=str(artifacts / "coverage_page_after_date_form.png"))
        assert_offline_and_clean(seen)
    finally:
        page.context.close()
