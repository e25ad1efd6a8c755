"""The front page's search box with every kind of query a command-centre operator types, and the
front page's bad URL parameters (issue 15: a partial grid code found nothing, "40540000,
3530000" was refused with no hint, ``/?date=bogus`` and ``/?sel=999`` were silently ignored).
Headless Chromium, offline, on the demo city."""

from __future__ import annotations

from typing import Any

import pytest
from pyproj import Transformer

from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_home_page import _wait_selected, open_home

pytestmark = pytest.mark.browser

RESULTS = "#home-search-results"


def _search(page: Any, q: str) -> None:
    page.evaluate("document.getElementById('home-search-results').hidden = true")
    page.evaluate("GridGIS.home.select('', false)")
    page.fill("#home-search-input", q)
    page.press("#home-search-input", "Enter")


def _rows(page: Any) -> list[str]:
    wait_until(page, f"!document.querySelector('{RESULTS}').hidden")
    return list(page.locator(f"{RESULTS} li").all_inner_texts())


def test_partial_codes_names_and_a_gauss_kruger_point(
    browser, live_server, tokens, demo_grids, artifacts
) -> None:  # type: ignore[no-untyped-def]
    l3 = demo_grids[demo_grids.level == 3].sort_values("code").iloc[60]
    village = demo_grids[demo_grids.code == l3.code[:12]].iloc[0]
    page, seen = open_home(browser, live_server, tokens["viewer"], "/?lang=en")
    try:
        # the first 11 digits: the village and its grids are listed, the village first
        _search(page, l3.code[:11])
        rows = _rows(page)
        assert any(village.code in r for r in rows), rows
        assert all(r.split("(")[-1].startswith(l3.code[:11]) for r in rows), rows
        page.click(f"{RESULTS} li:has-text('{village.code}')")
        _wait_selected(page, village.code)

        # the last six digits: the grid is among the codes ending with them
        _search(page, l3.code[-6:])
        rows = _rows(page)
        assert any(l3.code in r for r in rows), rows
        page.click(f"{RESULTS} li:has-text('{l3.code}')")
        _wait_selected(page, l3.code)

        # a grid by its name: opened at once (the exact match), the list stays
        _search(page, l3["name"])
        _wait_selected(page, l3.code)

        # zone-prefixed Gauss-Krüger metres (zone 40, EPSG:4528) of a point inside the grid
        p = l3.geometry.representative_point()
        east, north = Transformer.from_crs(4490, 4528, always_xy=True).transform(p.x, p.y)
        _search(page, f"{east:.1f}, {north:.1f}")
        _wait_selected(page, l3.code)
        wait_until(page, "document.querySelector('.leaflet-popup-content')")
        page.screenshot(path=str(artifacts / "home_search_gauss_kruger.png"))
        # the same without the zone number (CM 120E, EPSG:4549), northing first
        _search(page, f"{north:.1f} {east - 40_000_000:.1f}")
        _wait_selected(page, l3.code)
        # digits are also looked up as an event number: "no such event" is a 404, expected
        seen["failed"] = [
            u for u in seen["failed"] if "404 " not in u or "/api/v1/events/" not in u
        ]
        seen["errors"] = [e for e in seen["errors"] if "status of 404" not in e]
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


@pytest.mark.parametrize(
    ("lang", "nothing", "forms"),
    [("zh", "未找到", "可搜索"), ("en", "Nothing found", "Search takes")],
)
def test_nonsense_shows_the_accepted_forms(
    browser, live_server, tokens, lang, nothing, forms
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_home(browser, live_server, tokens["viewer"], f"/?lang={lang}")
    try:
        _search(page, "qwxz zzkq")
        wait_until(page, f"document.querySelector('{RESULTS} .search-hint')")
        text = page.inner_text(RESULTS)
        assert nothing in text and forms in text and "40540000,3530000" in text, text
        # numbers that are no coordinate: the reason and the forms, in the page's language
        _search(page, "31.9, 60")
        wait_until(page, f"document.querySelector('{RESULTS} .search-hint')?.textContent"
                   ".includes('31.9, 60')")  # fmt: skip
        text = page.inner_text(RESULTS)
        assert "40540000,3530000" in text, text
        assert ("经度" in text) if lang == "zh" else ("longitude" in text), text
        seen["failed"] = [u for u in seen["failed"] if not u.startswith("422 ")]
        seen["errors"] = [e for e in seen["errors"] if "status of 422" not in e]
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


@pytest.mark.parametrize(
    ("path", "field", "words"),
    [
        ("/?date=bogus", "date", "YYYY-MM-DD"),
        ("/?lang=en&date=2026-13-40", "date", "YYYY-MM-DD"),
        ("/?screen=huge", "screen", "screen=big"),
    ],
)
def test_bad_url_parameters_show_the_error_page(
    browser, live_server, tokens, path, field, words
) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_home(browser, live_server, tokens["viewer"], "/")
    try:
        answer = page.goto(f"{live_server}{path}")
        assert answer is not None and answer.status == 422
        assert answer.headers["content-type"].startswith("text/html")
        assert page.inner_text("#problem code") == field
        assert words in page.inner_text(".gridgis-error-detail")
        if "lang=en" not in path:  # a Chinese page says it in Chinese
            assert "请写" in page.inner_text(".gridgis-error-detail")
    finally:
        page.context.close()


@pytest.mark.parametrize(("lang", "words"), [("zh", "9 位"), ("en", "9 digits")])
def test_a_bad_selection_names_the_parameter_and_the_codes(
    browser, live_server, tokens, lang, words
) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_home(browser, live_server, tokens["viewer"], f"/?lang={lang}&sel=999")
    try:
        wait_until(page, "document.querySelector('#panel-selection .sel-warning')")
        warning = page.inner_text("#panel-selection .sel-warning")
        assert "sel=999" in warning and words in warning, warning
        assert page.evaluate("GridGIS.home.state.sel") == ""
        assert_offline_and_clean(seen)
    finally:
        page.context.close()
