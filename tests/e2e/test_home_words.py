"""The front page's words (issue 15): event statuses named from the one table every page uses
(maps/status_names.event_status_names), never raw codes; a coordinate the search cannot take
says why in place of the old result. Headless Chromium at 1920×1080, zh and en."""

from __future__ import annotations

import httpx
import pytest

from maps.status_names import event_status_names
from tests.e2e.conftest import open_logged_in, wait_until
from tests.e2e.test_home_page import READY, SCREEN

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def reported(live_server, tokens, demo_grids) -> int:  # type: ignore[no-untyped-def]
    """A newly reported event (status ``reported``), the newest in the list."""
    grid = demo_grids[demo_grids.level == 3].sort_values("code").iloc[11]
    p = grid.geometry.representative_point()
    with httpx.Client(base_url=live_server, timeout=60,
                      headers={"Authorization": f"Bearer {tokens['officer']}"}) as c:  # fmt: skip
        body = {"lon": p.x, "lat": p.y, "subclass": "0401", "description": "status words",
                "ignore_duplicates": True}  # fmt: skip
        r = c.post("/api/v1/events", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_newest_events_name_statuses_in_the_page_language(
    browser, live_server, tokens, reported, lang
) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], f"/?lang={lang}", READY)
    try:
        page.set_viewport_size(SCREEN)
        wait_until(page, "document.querySelectorAll('#panel-live .ev-status').length > 0")
        shown = page.eval_on_selector_all(
            "#panel-live .ev-status", "els => els.map(e => e.textContent)"
        )
        names = event_status_names(lang)
        assert shown and set(shown) <= set(names.values()), shown
        assert names["reported"] in shown  # the event just reported: 已上报 / Reported
        assert not set(shown) & set(names), shown  # no raw code ("reported", "rejected")
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_coordinate_the_search_cannot_take_says_why(
    browser, live_server, tokens, demo_grids, lang
) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], f"/?lang={lang}", READY)
    try:
        page.set_viewport_size(SCREEN)
        page.fill("#home-search-input", "富")  # an old result list (places or nothing found)
        page.press("#home-search-input", "Enter")
        wait_until(page, "!document.getElementById('home-search-results').hidden")
        page.fill("#home-search-input", "200,95 wgs84")  # no such longitude/latitude
        page.press("#home-search-input", "Enter")
        wait_until(page, "document.querySelector('#home-search-results li.search-hint')"
                         "?.textContent.includes('200,95 wgs84 — ')")  # fmt: skip
        text = page.text_content("#home-search-results")
        assert "—" in text and len(text.split("—", 1)[1].strip()) > 3, text
        assert page.locator("#home-search-results li.result").count() == 0
    finally:
        page.context.close()


def test_person_search_finds_staff_without_a_device(
    browser, live_server, tokens, engine, people_demo
) -> None:  # type: ignore[no-untyped-def]
    from tests.api.test_people_search import _chief_without_device

    chief = _chief_without_device(engine)
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], "/", READY)
    try:
        page.set_viewport_size(SCREEN)
        page.fill("#home-search-input", chief["name"])
        page.press("#home-search-input", "Enter")
        wait_until(page, "!document.getElementById('home-search-results').hidden || "
                         f"GridGIS.home.state.sel === '{chief['grid']}'")  # fmt: skip
        if page.evaluate("GridGIS.home.state.sel") != chief["grid"]:
            page.click(
                f"#home-search-results li.result:has-text('网格长'):has-text('{chief['name']}')"
            )
        wait_until(page, f"GridGIS.home.state.sel === '{chief['grid']}'")
    finally:
        page.context.close()
