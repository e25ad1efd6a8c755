"""The front page's search (issue 15, review r15), headless Chromium at 1920×1080: a coordinate
the server refuses is explained in the page's language (no "lat 500.0 is outside -90..90" on a
Chinese page); projected CGCS2000 metres (EPSG:4549, northing/easting in either order, with or
without the zone number 40) find the same grid as the degrees; an event number opens the event
(its grid selected and its popup on the map), not just its grid."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pyproj import Transformer

from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_home_page import CASE_POPUP, _report, _wait_selected, open_home

pytestmark = pytest.mark.browser

RESULTS = "#home-search-results"


def _search(page: Any, q: str) -> None:
    page.evaluate("document.getElementById('home-search-results').hidden = true")
    page.fill("#home-search-input", q)
    page.press("#home-search-input", "Enter")


@pytest.mark.parametrize(
    ("lang", "words"),
    [("zh", ("纬度超出范围", "经度超出范围")), ("en", ("latitude out of range", "longitude"))],
)
def test_a_refused_coordinate_is_said_in_the_page_language(
    browser, live_server, tokens, lang, words
) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_home(browser, live_server, tokens["viewer"], f"/?lang={lang}")
    try:
        _search(page, "120.28,95")  # latitude 95
        wait_until(page, f"!document.querySelector('{RESULTS}').hidden")
        text = page.inner_text(RESULTS)
        assert words[0] in text, text
        if lang == "zh":
            assert not re.search(r"outside|lat |lon ", text), text
        _search(page, "200.5,31.9")  # longitude 200.5
        wait_until(page, f"!document.querySelector('{RESULTS}').hidden")
        assert words[1] in page.inner_text(RESULTS)
    finally:
        page.context.close()


def test_projected_metres_find_the_grid(browser, live_server, tokens, client, demo_grids) -> None:  # type: ignore[no-untyped-def]
    l3 = demo_grids[demo_grids.level == 3].sort_values("code").iloc[11]
    p = l3.geometry.representative_point()
    east, north = Transformer.from_crs(4490, 4549, always_xy=True).transform(p.x, p.y)
    page, seen = open_home(browser, live_server, tokens["viewer"], "/?lang=en")
    try:
        for q in (f"{north:.2f},{east:.2f} cgcs2000", f"EPSG:4549 {east:.2f},{north:.2f}",
                  f"{north:.2f} {40_000_000 + east:.2f}"):  # fmt: skip
            page.evaluate("GridGIS.home.select('', false)")
            _search(page, q)
            _wait_selected(page, l3.code)
        # a projected point outside the city says so, in words
        _search(page, "4000000,500000 cgcs2000")
        wait_until(page, f"!document.querySelector('{RESULTS}').hidden")
        assert "outside the city" in page.inner_text(RESULTS)
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


def test_an_event_number_opens_the_event(browser, live_server, tokens, demo_grids) -> None:  # type: ignore[no-untyped-def]
    event_id = _report(live_server, tokens["officer"], demo_grids, 9)
    page, _ = open_home(browser, live_server, tokens["dispatcher"], "/")
    try:
        _search(page, f"#{event_id}")
        # one answer opens by itself; among several the event is picked
        wait_until(page, f"GridGIS.home.state.openedEvent === {event_id} || "
                         f"!document.querySelector('{RESULTS}').hidden")  # fmt: skip
        if page.evaluate(f"GridGIS.home.state.openedEvent !== {event_id}"):
            page.click(f"{RESULTS} li:has-text('#{event_id}')")
        wait_until(page, f"GridGIS.home.state.openedEvent === {event_id}")
        wait_until(page, CASE_POPUP)
        assert f"#{event_id}" in page.inner_text(".leaflet-popup-content")
        assert len(page.evaluate("GridGIS.home.state.sel")) == 15  # the event's unit grid
    finally:
        page.context.close()
