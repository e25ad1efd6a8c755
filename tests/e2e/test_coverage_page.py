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
    DAY2,
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


def path_of(level: int, code: str) -> str:
    """The SVG paths of one grid (drawn from vector tiles: one path per tile it crosses)."""
    return f"path.gridgis-cov-l{level}.gridgis-code-{code}"


def fill_of(page: Any, level: int, code: str) -> str:
    return str(page.locator(path_of(level, code)).first.get_attribute("fill"))


DRAWN = (
    "window.gridgisCoverageDrawn = (level => Object.fromEntries([...document.querySelectorAll("
    "'path.gridgis-cov-l' + level)].map(p => [[...p.classList].find(c =>"
    " c.startsWith('gridgis-code-')).slice(13), p.getAttribute('fill')])))"
)


def drawn(page: Any, level: int) -> dict[str, str]:
    """Grid code -> fill of every grid of ``level`` drawn now (from the paths' classes)."""
    page.evaluate(DRAWN)
    return dict(page.evaluate(f"window.gridgisCoverageDrawn({level})"))


def wait_drawn(page: Any, level: int, code: str) -> None:
    """Until the level's tiles have arrived and drawn the grid (clicks need its path)."""
    wait_until(
        page,
        f"document.querySelector('{path_of(level, code)}') !== null"
        " && !window.gridgisCoverageLayer.isLoading()",
    )


def union_box(page: Any, selector: str) -> dict[str, float]:
    boxes = [b for b in (x.bounding_box() for x in page.locator(selector).all()) if b]
    x0, y0 = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
    x1 = max(b["x"] + b["width"] for b in boxes)
    y1 = max(b["y"] + b["height"] for b in boxes)
    return {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}


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
        page.evaluate(DRAWN)  # a test helper in the page (evaluate is not bound by its CSP)
        wait_until(page, "Object.keys(window.gridgisCoverageDrawn(1)).length >= 17")
        wait_drawn(page, 1, town)
        fills = drawn(page, 1)
        assert len(fills) == 17
        assert {c for c, f in fills.items() if f != NOT_PATROLLED.lower()} == {town}
        # names on the map: the towns are wide enough at the city's zoom
        assert page.locator(".gridgis-cov-label").count() >= 10
        # only the towns' class limits are shown in the legend
        assert page.locator(".gridgis-cov-classes[data-level='1']").is_visible()
        assert not page.locator(".gridgis-cov-classes[data-level='3']").is_visible()
        body = page.inner_text("body")
        assert label("coverage_legend_title", lang) in body
        assert label("coverage_method_h3", lang, r=10, d="30") in body  # method and parameters
        assert label("coverage_method_gap", lang, s="300") in body
        assert page.input_value("input[name=date]") == DAY
        # readable on a wall screen (1920x1080): legend, form and panels at least 14 px
        smallest = page.evaluate(
            "Math.min(...[...document.querySelectorAll('.gridgis-cov-legend *, .gridgis-cov-form *,"
            " .gridgis-cov-panel *, .gridgis-cov-label')].filter(e => e.offsetParent &&"
            " e.childElementCount === 0 && e.textContent.trim() && !e.closest('svg'))"
            ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
        )
        assert smallest >= 14
        # the page carries no polygon: shapes come from the vector tiles
        assert "Polygon" not in page.content()
        assert any("/tiles/grids-l1/" in u for u in seen["requests"])
        page.screenshot(path=str(artifacts / f"coverage_page_towns_{lang}.png"))

        click_city_point(page)  # town -> its villages
        wait_until(page, "window.gridgisCoverage.level === 2")
        wait_drawn(page, 2, village)
        s = state(page)
        assert s["parent"] == town
        assert page.locator("path.gridgis-cov-l1").count() == 0
        villages = drawn(page, 2)
        assert 0 < len(villages) <= s["shown"] and all(c[:9] == town for c in villages)
        assert fill_of(page, 2, village) != NOT_PATROLLED
        assert urlsplit(page.url).query.endswith(f"area={town}")  # the drill-down in the URL

        click_city_point(page)  # village -> its unit grids
        wait_until(page, "window.gridgisCoverage.level === 3")
        wait_drawn(page, 3, code)
        s = state(page)
        assert s["parent"] == village
        codes = set(drawn(page, 3))
        assert code in codes and all(c.startswith(village) for c in codes)
        assert len(codes) <= s["shown"]

        before = fill_of(page, 3, code)
        assert before != NOT_PATROLLED.lower()
        click_city_point(page)  # unit grid -> blind spots and who covered it
        wait_until(page, "window.gridgisCoverage.blind !== null", timeout=30_000)
        s = state(page)
        assert s["selected"] == code and s["who"] >= 1
        assert fill_of(page, 3, code) == before  # outlined when selected, its colour kept
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
        wait_drawn(page, 3, code)
        track, grid = box_of(page, mine), union_box(page, path_of(3, code))
        assert grid["x"] <= track["x"] <= grid["x"] + grid["width"]
        assert grid["y"] <= track["y"] <= grid["y"] + grid["height"]
        panel = page.inner_text(".gridgis-cov-panel")
        assert label("coverage_tracks", lang) in panel
        # the selected grid's trend: DAY2 and DAY in the last 14 days, two series
        assert x["trend"] == 2
        trend = page.locator(".gridgis-cov-panel svg.gridgis-cov-trend")
        assert trend.get_attribute("data-points") == "2"
        # its axis is fitted to the data (not 0-100 %) and names its unit
        rows = client.get(
            "/api/v1/coverage/trend",
            params={"code": code, "from": DAY2, "to": DAY, "shift": SHIFT, "resolution": 10},
        ).json()["data"]
        top = max(max(r["h3_share"], r["buffer_share"]) for r in rows)
        assert top < float(trend.get_attribute("data-axis-max")) <= 2 * top < 1
        assert label("coverage_trend_axis", lang) in trend.text_content()
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

        # reload keeps the grid selected (its code is in the URL); Back returns to the village
        page.reload()
        wait_until(page, READY + f" && window.gridgisCoverage.selected === '{code}'")
        assert state(page)["parent"] == village
        page.go_back()
        wait_until(
            page, "window.gridgisCoverage.level === 3 && window.gridgisCoverage.selected === null"
        )
        assert state(page)["parent"] == village
        page.locator(".gridgis-cov-crumbs a").first.click()  # back to the whole city
        wait_until(page, "window.gridgisCoverage.level === 1")
        assert page.locator("path.gridgis-cov-blind").count() == 0
        assert "area=" not in page.url
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


def test_legend_names_only_the_classes_drawn(
    browser,
    live_server,
    tokens,
    client,
    covered,  # noqa: F811  (the imported module fixture)
    demo_grids,
    artifacts,
) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 (review r15): in a village where every grid is 0 % the legend showed the
    city's classes; it names the classes of the grids drawn: none there (the grey row says
    "not patrolled"), the covered grid's class in its own village."""
    q = {"date": DAY, "shift": SHIFT}
    covered_village = covered["code"][:12]
    idle = None
    for village in sorted(demo_grids[demo_grids.level == 2].code):
        if village == covered_village:
            continue
        rows = client.get("/api/v1/coverage/figures", params={**q, "parent": village}).json()
        if rows["rows"] and all(not r[4] for r in rows["rows"]):  # h3 share 0 or none
            idle = village
            break
    assert idle is not None
    visible = """(level) => [...document.querySelectorAll(
      `.gridgis-cov-classes[data-level='${level}'] .gridgis-cov-class`)]
      .filter(r => r.offsetHeight > 0).map(r => r.getAttribute('data-fill'))"""
    page, seen = open_page(
        browser, live_server, tokens["viewer"], f"/coverage?date={DAY}&shift={SHIFT}&area={idle}"
    )
    try:
        wait_until(page, f"window.gridgisCoverage.parent === '{idle}'")
        assert page.evaluate(visible, 3) == []
        assert page.evaluate(
            "!document.querySelector(\".gridgis-cov-classes[data-level='3']\").hidden"
        )
        page.screenshot(path=str(artifacts / "coverage_legend_idle_village.png"))
        page.goto(f"{live_server}/coverage?date={DAY}&shift={SHIFT}&area={covered_village}")
        wait_until(page, READY + f" && window.gridgisCoverage.parent === '{covered_village}'")
        fills = page.evaluate(visible, 3)
        rows = client.get("/api/v1/coverage/figures", params={**q, "parent": covered_village})
        drawn = {r[3] for r in rows.json()["rows"] if r[4]}
        assert fills and set(fills) == drawn, (fills, drawn)
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


@pytest.mark.parametrize(("lang", "words"), [("zh", "area=abc"), ("en", "area=abc")])
def test_a_bad_area_is_named(
    browser,
    live_server,
    tokens,
    covered,  # noqa: F811  (the imported module fixture)
    lang,
    words,
) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 (review r15): /coverage?area=abc silently showed the city."""
    suffix = "&lang=en" if lang == "en" else ""
    page, _ = open_page(
        browser,
        live_server,
        tokens["viewer"],
        f"/coverage?date={DAY}&shift={SHIFT}&area=abc{suffix}",
    )
    try:
        wait_until(page, "document.querySelector('.gridgis-cov-bad-area')")
        text = page.inner_text(".gridgis-cov-bad-area")
        assert words in text and ("全市" in text if lang == "zh" else "showing the city" in text)
        assert state(page)["level"] == 1 and state(page)["parent"] is None
        assert state(page)["badArea"] == "abc"
    finally:
        page.context.close()
